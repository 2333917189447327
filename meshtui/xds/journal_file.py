"""The journal on disk: JSON lines appended to $XDG_STATE_HOME/meshtui/journal.jsonl
(~/.local/state/meshtui when XDG_STATE_HOME is unset). Edit entries are fsynced, so an edit
that was acknowledged to the user survives a crash; push/ACK entries are only flushed."""

from __future__ import annotations

import os
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

    def _open(self):
        if self._fh is None:
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                self._fh = open(self.path, "a", encoding="utf-8")  # noqa: SIM115 - kept open
            except OSError as exc:
                raise MeshtuiError(f"cannot write the journal {self.path}: {exc.strerror or exc}") from None
        return self._fh

    def append(self, entry: JournalEntry) -> None:
        fh = self._open()
        fh.write(encode_line(entry) + "\n")
        fh.flush()
        if entry.kind in EDIT_KINDS:
            try:
                os.fsync(fh.fileno())
            except OSError:
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
        if self._fh is not None:
            try:
                self._fh.close()
            finally:
                self._fh = None
