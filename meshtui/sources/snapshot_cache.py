"""The snapshot cache: a loaded, validated, indexed snapshot kept per input, so the next command on
the same files skips reading, parsing and validating them (issue 15: a 10,000-service folder).

Where: $XDG_CACHE_HOME/meshtui (else ~/.cache/meshtui), a folder made 0700. One entry per input
(the paths given, the default namespace, the mesh config), named by a hash of them:

    <key>.snap   the LoadResult (snapshot.raw is a FileRaw: where each object is, not its YAML)

Format: pickle, each resource's body packed as bytes of its own and unpacked on first read
(model/packed: a trace reads a few bodies of thousands). That is safe here only because the cache is the user's own: the folder must be
owned by this user and not writable by anyone else, and so must each entry, or the cache is not
used (nothing else is trusted, nothing is read from a shared place). An entry starts with a header
naming the meshtui version and a hash of the code that builds snapshots; any other header is a
miss, so an upgrade or an edit of the model never reads an old layout.

Freshness: an entry records, per file, (size, mtime, ctime, inode) and a BLAKE2 hash of the
content. A file whose stat is unchanged is trusted without reading it, unless it was modified
within _RACY seconds before the entry was written (timestamps are coarse: a second write in the
same tick keeps the mtime, as git's "racy clean" problem); such files, and any file whose stat
changed, are re-hashed, and the entry is used only if every hash matches. The folder walk is
redone each time, so an added or removed file is a miss.

Concurrency: entries are written to a temporary file in the same folder and renamed into place
(atomic on POSIX): a reader sees the old entry, the new one, or none, never half of one. Two runs
writing the same entry both produce a complete one; the last rename wins. At most _KEEP entries
are kept (least recently used are removed)."""

from __future__ import annotations

import copyreg
import hashlib
import os
import pickle
import stat
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import meshtui
from meshtui.heap import paused
from meshtui.model import packed
from meshtui.model.parse import LoadResult

_MAGIC = b"meshtui-snapshot-cache\n"
_RACY = 2.0  # seconds: a file modified this close to the entry's writing is always re-hashed
_KEEP = 16  # entries kept (a few MB to a few hundred MB each)
_CODE_DIRS = ("model", "sources")  # the code that decides what a snapshot holds


@dataclass(frozen=True, slots=True)
class FileStamp:
    path: str
    size: int
    mtime_ns: int
    ctime_ns: int
    inode: int
    digest: bytes

    def __reduce__(self) -> tuple[type[FileStamp], tuple[object, ...]]:  # by value: faster to load than slots __setstate__
        return (FileStamp, (self.path, self.size, self.mtime_ns, self.ctime_ns, self.inode, self.digest))

    def same_stat(self, st: os.stat_result) -> bool:
        return (st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino) == (self.size, self.mtime_ns, self.ctime_ns, self.inode)


def digest(data: bytes) -> bytes:
    return hashlib.blake2b(data, digest_size=16).digest()


_schema: str | None = None


def schema_hash() -> str:
    """A hash of meshtui's version, Python's, and the source of the modules that build snapshots:
    an entry written by other code is never read back."""
    global _schema
    if _schema is None:
        h = hashlib.blake2b(digest_size=12)
        h.update(f"{meshtui.__version__}|{sys.version_info[:2]}|{pickle.HIGHEST_PROTOCOL}".encode())
        root = Path(meshtui.__file__).parent
        for f in code_files():
            h.update(f.relative_to(root).as_posix().encode())
            h.update(f.read_bytes())
        _schema = h.hexdigest()
    return _schema


def code_files() -> list[Path]:
    """The modules whose source is in the schema hash: every one under _CODE_DIRS, subpackages
    included (model/validate decides which objects a snapshot keeps)."""
    root = Path(meshtui.__file__).parent
    return sorted(f for d in _CODE_DIRS for f in (root / d).rglob("*.py"))


def cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "meshtui"


def _private_dir(create: bool) -> Path | None:
    """The cache folder if it is this user's alone (created 0700 if missing), else None."""
    d = cache_dir()
    try:
        if create:
            d.mkdir(mode=0o700, parents=True, exist_ok=True)
        st = d.stat()
    except OSError:
        return None
    if not stat.S_ISDIR(st.st_mode) or st.st_uid != os.getuid() or st.st_mode & 0o022:
        return None
    return d


def _own_file(f: Path) -> bool:
    try:
        st = f.stat()
    except OSError:
        return False
    return stat.S_ISREG(st.st_mode) and st.st_uid == os.getuid() and not st.st_mode & 0o022


def entry_key(paths: list[str], default_namespace: str, mesh: Any) -> str:
    h = hashlib.blake2b(digest_size=16)
    h.update(repr((sorted(os.path.abspath(p) for p in paths), default_namespace, mesh)).encode())
    return h.hexdigest()


def _quiet_load(fh) -> Any:
    """pickle.load with the cyclic collector off: a snapshot is millions of small acyclic objects,
    and the collector would rescan them many times while they are created."""
    with paused():
        return pickle.load(fh)


@dataclass
class Entry:
    files: list[str]
    stamps: dict[str, FileStamp]
    written: float  # time.time() when the entry was made (the racy window is measured from it)
    result: LoadResult


def _fresh(entry: Entry, files: list[str]) -> bool:
    if entry.files != files:
        return False
    racy_after = int((entry.written - _RACY) * 1e9)
    for f in files:
        stamp = entry.stamps.get(f)
        if stamp is None:
            return False
        try:
            st = os.stat(f)
        except OSError:
            return False
        if stamp.same_stat(st) and st.st_mtime_ns < racy_after:
            continue
        try:
            with open(f, "rb") as fh:
                if digest(fh.read()) != stamp.digest:
                    return False
        except OSError:
            return False
    return True


def read(key: str, files: list[str]) -> LoadResult | None:
    """The cached LoadResult for these files, if one is there, was written by this code, and every
    file is unchanged; else None."""
    d = _private_dir(create=False)
    if d is None:
        return None
    snap_file = d / f"{key}.snap"
    if not _own_file(snap_file):
        return None
    schema = schema_hash()
    try:
        with open(snap_file, "rb") as fh:
            if fh.readline() != _MAGIC or fh.readline().decode().strip() != schema:
                return None
            entry = _quiet_load(fh)
    except (OSError, pickle.UnpicklingError, EOFError, AttributeError, ImportError, TypeError, ValueError, IndexError):
        return None
    if not isinstance(entry, Entry) or not _fresh(entry, files):
        return None
    try:
        os.utime(snap_file)  # recently used: kept when old entries are pruned
    except OSError:
        pass
    return entry.result


def _atomic_write(d: Path, name: str, header: bytes, obj: Any) -> None:
    fd, tmp = tempfile.mkstemp(dir=d, prefix=f".{name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(header)
            pickler = pickle.Pickler(fh, protocol=pickle.HIGHEST_PROTOCOL)
            pickler.dispatch_table = {**copyreg.dispatch_table, **packed.dispatch_table()}
            pickler.dump(obj)
        os.replace(tmp, d / name)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def write(key: str, files: list[str], stamps: dict[str, FileStamp], result: LoadResult, written: float) -> None:
    """Store a LoadResult. Failures (a full disk, a read-only home) only cost the next run time."""
    d = _private_dir(create=True)
    if d is None:
        return
    header = _MAGIC + schema_hash().encode() + b"\n"
    try:
        _atomic_write(d, f"{key}.snap", header, Entry(files, stamps, written, result))
    except (OSError, pickle.PicklingError, TypeError, AttributeError, RecursionError):
        return
    _prune(d)


def _prune(d: Path) -> None:
    try:
        entries = sorted(d.glob("*.snap"), key=lambda f: f.stat().st_mtime, reverse=True)
        for old in entries[_KEEP:]:
            old.unlink(missing_ok=True)
        for tmp in d.glob(".*.tmp"):  # left by a run that was killed while writing
            if time.time() - tmp.stat().st_mtime > 3600:
                tmp.unlink(missing_ok=True)
    except OSError:
        pass


def load_through_cache(files: list[str], paths: list[str], default_namespace: str, mesh: Any,
                       build: Callable[[Callable[[str], bytes]], LoadResult]) -> LoadResult:
    """The cached result for these inputs, or `build(read)`'s (then stored). `read(file)` returns a
    file's bytes and records its stamp as it was read."""
    key = entry_key(paths, default_namespace, mesh)
    hit = read(key, files)
    if hit is not None:
        return hit
    written = time.time()  # before reading: a file changed from here on is re-hashed next time
    stamps: dict[str, FileStamp] = {}

    def read_file(f: str) -> bytes:
        with open(f, "rb") as fh:
            st = os.fstat(fh.fileno())
            data = fh.read()
        stamps[f] = FileStamp(f, st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino, digest(data))
        return data

    result = build(read_file)
    write(key, files, stamps, result, written)
    return result
