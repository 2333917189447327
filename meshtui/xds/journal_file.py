"""The journal on disk: JSON lines appended to $XDG_STATE_HOME/meshtui/journal.jsonl
(~/.local/state/meshtui when XDG_STATE_HOME is unset).

Every edit entry is written and flushed before the push it causes, so it survives the meshtui
process dying (SIGKILL included). Edit entries are also fsynced, for power loss, but by a
background thread: an fsync costs milliseconds and must not sit between an edit and Envoy. The
xDS traffic records (connects, pushes, ACKs, NACKs) are written together at the end of the loop
turn they happen in (control_plane._journal_soon), after the responses went out: a process killed
in the middle of a fan-out can lose that turn's traffic records, never an edit.

One writer at a time: the server holds an exclusive flock on the file for as long as it runs
(`acquire`), so a second server on the same journal refuses to start instead of interleaving a
history of its own. The file is created 0600 in a 0700 directory: it names every edit and who
made it. A line torn by a crash mid-write is cut off at `acquire` (kept aside in
journal.jsonl.torn and reported), so the next entry starts on a line of its own."""

from __future__ import annotations

import fcntl
import os
import threading
from pathlib import Path

from meshtui.edits.journal import EDIT_KINDS, JournalEntry, decode_lines, encode_line
from meshtui.errors import MeshtuiError, UsageError


def state_dir() -> Path:
    base = os.environ.get("XDG_STATE_HOME") or os.path.join(os.path.expanduser("~"), ".local", "state")
    return Path(base) / "meshtui"


def ensure_state_dir(path: Path | None = None) -> Path:
    """The state directory, created 0700 (only its owner may read tokens and journals)."""
    d = path or state_dir()
    try:
        d.mkdir(mode=0o700, parents=True, exist_ok=True)
    except OSError as exc:
        raise MeshtuiError(f"cannot create {d}: {exc.strerror or exc}") from None
    return d


def default_journal_path() -> Path:
    return state_dir() / "journal.jsonl"


class JournalLocked(UsageError):
    """Another meshtui process holds the journal."""


class JournalFile:
    def __init__(self, path: Path | None = None) -> None:
        self.path = path or default_journal_path()
        self._fh = None
        self._sync_wanted = threading.Event()
        self._syncer: threading.Thread | None = None
        self._closing = False
        self._lock = threading.Lock()
        self.repaired: str = ""  # what acquire() found and fixed, for the server to report

    def acquire(self) -> str:
        """Open for appending, take the writer lock, repair a torn last line. Returns a report
        of the repair ("" when the file was whole). Raises JournalLocked when another process
        writes this journal."""
        with self._lock:
            self._open_locked()
        return self.repaired

    def _open_locked(self):
        if self._fh is not None:
            return self._fh
        try:
            self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_APPEND | os.O_CLOEXEC, 0o600)
        except OSError as exc:
            raise MeshtuiError(f"cannot write the journal {self.path}: {exc.strerror or exc}") from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            raise JournalLocked(f"the journal {self.path} is in use by another running meshtui (serve or demo); "
                                "stop it first, or give this one its own journal (--journal PATH, or another "
                                "XDG_STATE_HOME)") from None
        try:
            if os.fstat(fd).st_mode & 0o077:
                os.fchmod(fd, 0o600)  # a journal from before it was kept private
            self.repaired = self._repair_tail(fd)
        except OSError as exc:
            os.close(fd)
            raise MeshtuiError(f"cannot repair the journal {self.path}: {exc.strerror or exc}") from None
        self._fh = os.fdopen(fd, "a", encoding="utf-8")
        return self._fh

    def _repair_tail(self, fd: int) -> str:
        """A last line without its newline was cut by a crash: appending after it would glue the
        next entry onto it and lose both. Move it aside and cut it off."""
        size = os.fstat(fd).st_size
        if size == 0:
            return ""
        if os.pread(fd, 1, size - 1) == b"\n":
            return ""
        window = min(size, 1 << 20)
        tail = os.pread(fd, window, size - window)
        nl = tail.rfind(b"\n")
        start = size - window + nl + 1 if nl >= 0 else (0 if window == size else size - window)
        torn = os.pread(fd, size - start, start)
        line_no = 1 + _count_newlines(fd, start)
        aside = self.path.with_name(self.path.name + ".torn")
        afd = os.open(aside, os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_CLOEXEC, 0o600)
        try:
            os.write(afd, torn + b"\n")
            os.fsync(afd)
        finally:
            os.close(afd)
        os.ftruncate(fd, start)
        os.fsync(fd)
        preview = torn[:60].decode("utf-8", "replace")
        return (f"{self.path}:{line_no}: the last line was cut short (a crash while writing it): "
                f"{len(torn)} byte(s) {preview!r}{'...' if len(torn) > 60 else ''} moved to {aside}")

    def append(self, entry: JournalEntry) -> None:
        self.append_many([entry])

    def append_many(self, entries: list[JournalEntry]) -> None:
        """Entries in order, in one write and one flush."""
        if not entries:
            return
        self.append_lines([encode_line(e) for e in entries], sync=any(e.kind in EDIT_KINDS for e in entries))

    def append_lines(self, lines: list[str], *, sync: bool = False) -> None:
        """Lines already encoded (encode_line / encode_fields), in order, in one write and one
        flush; `sync` when one is an edit entry (fsynced in the background, see above)."""
        if not lines:
            return
        lines.append("")
        text = "\n".join(lines)
        lines.pop()
        with self._lock:
            fh = self._open_locked()
            fh.write(text)
            fh.flush()
        if sync:
            if self._syncer is None:
                self._syncer = threading.Thread(target=self._sync_loop, name="meshtui-journal-fsync", daemon=True)
                self._syncer.start()
            self._sync_wanted.set()

    def _sync_loop(self) -> None:
        while not self._closing:
            self._sync_wanted.wait()
            self._sync_wanted.clear()
            self._fsync()

    def _fsync(self) -> None:
        with self._lock:
            fh = self._fh
            if fh is None:
                return
            try:
                os.fsync(fh.fileno())
            except (OSError, ValueError):
                pass

    def read(self) -> tuple[list[JournalEntry], list[tuple[int, str]]]:
        try:
            with open(self.path, encoding="utf-8", errors="replace") as fh:
                text = fh.read()
        except FileNotFoundError:
            return [], []
        except OSError as exc:
            raise MeshtuiError(f"cannot read the journal {self.path}: {exc.strerror or exc}") from None
        lines = text.split("\n")
        entries, bad = decode_lines(lines)
        if text and not text.endswith("\n") and bad and bad[-1][0] == len(lines):
            bad[-1] = (bad[-1][0], "the last line was cut short (a crash while writing it); "
                                   "the next meshtui server on this journal moves it aside")
        return entries, bad

    def close(self) -> None:
        self._fsync()
        if self._syncer is not None:
            self._closing = True
            self._sync_wanted.set()
            self._syncer.join(2)
            self._syncer = None
            self._closing = False
        with self._lock:
            if self._fh is not None:
                try:
                    self._fh.close()  # closing the descriptor releases the flock
                finally:
                    self._fh = None


def _count_newlines(fd: int, end: int) -> int:
    n = 0
    pos = 0
    while pos < end:
        chunk = os.pread(fd, min(1 << 20, end - pos), pos)
        if not chunk:
            break
        n += chunk.count(b"\n")
        pos += len(chunk)
    return n
