"""The journal on disk: JSON lines appended to $XDG_STATE_HOME/meshtui/journal.jsonl
(~/.local/state/meshtui when XDG_STATE_HOME is unset).

Every entry is written and flushed before the push it describes, so it survives the meshtui
process dying (SIGKILL included). Edit entries are also fsynced, for power loss, but by a
background thread: an fsync costs milliseconds and must not sit between an edit and Envoy."""

from __future__ import annotations

import os
import threading
from pathlib import Path

from meshtui.edits.journal import EDIT_KINDS, JournalEntry, decode_lines, encode_line
from meshtui.errors import MeshtuiError


def state_dir() -> Path:
    base = os.environ.get("XDG_STATE_HOME") or os.path.join(os.path.expanduser("~"), ".local", "state")
    return Path(base) / "meshtui"


def default_journal_path() -> Path:
    return state_dir() / "journal.jsonl"


class JournalFile:
    def __init__(self, path: Path | None = None) -> None:
        self.path = path or default_journal_path()
        self._fh = None
        self._sync_wanted = threading.Event()
        self._syncer: threading.Thread | None = None
        self._closing = False
        self._lock = threading.Lock()

    def _open(self):
        if self._fh is None:
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                self._fh = open(self.path, "a", encoding="utf-8")  # noqa: SIM115 - kept open
            except OSError as exc:
                raise MeshtuiError(f"cannot write the journal {self.path}: {exc.strerror or exc}") from None
        return self._fh

    def append(self, entry: JournalEntry) -> None:
        with self._lock:
            fh = self._open()
            fh.write(encode_line(entry) + "\n")
            fh.flush()
        if entry.kind in EDIT_KINDS:
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
                return decode_lines(fh)
        except FileNotFoundError:
            return [], []
        except OSError as exc:
            raise MeshtuiError(f"cannot read the journal {self.path}: {exc.strerror or exc}") from None

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
                    self._fh.close()
                finally:
                    self._fh = None
