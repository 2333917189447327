"""One finding: what is wrong, where, and what to do (CONTRACT.md `analyze -o json`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from meshtui.analyze.codes import level_rank

FIELDS = ("code", "level", "kind", "namespace", "name", "message", "file", "line", "path")


@dataclass(frozen=True, slots=True)
class Message:
    code: str
    level: str  # Info | Warning | Error
    kind: str
    namespace: str
    name: str
    message: str
    file: str = ""
    line: int | None = None
    path: str = ""

    @property
    def resource(self) -> str:
        """`Kind ns/name` (or `Kind name` for cluster-scoped objects, '' for none)."""
        if not self.kind:
            return ""
        if not self.name:
            return self.kind
        return f"{self.kind} {self.namespace}/{self.name}" if self.namespace else f"{self.kind} {self.name}"

    def to_dict(self) -> dict[str, Any]:
        return {f: getattr(self, f) for f in FIELDS}

    def log_line(self) -> str:
        """`Error [IST0101] (VirtualService default/reviews file.yaml:14) text`."""
        where = self.file if self.line is None else f"{self.file}:{self.line}"
        inner = " ".join(p for p in (self.resource, where) if p)
        head = f"{self.level} [{self.code}]"
        return f"{head} ({inner}) {self.message}" if inner else f"{head} {self.message}"


def sort_key(m: Message) -> tuple[int, str, str, str, int, str, str, str]:
    """Most severe first, then by resource and position, so output is stable."""
    return (-level_rank(m.level), m.kind, m.namespace, m.name, m.line if m.line is not None else 0,
            m.code, m.path, m.message)


def at_or_above(messages: list[Message], level: str) -> list[Message]:
    floor = level_rank(level)
    return [m for m in messages if level_rank(m.level) >= floor]
