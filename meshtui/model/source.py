"""Where a piece of config came from, and the diagnostics that point at it."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Source:
    """A location: file (a path, '<stdin>', or 'cluster:<context>'), 1-based line and column,
    and the field path inside the object (`spec.http[0].route[1].weight`)."""

    file: str = ""
    line: int | None = None
    column: int | None = None
    path: str = ""

    def __reduce__(self) -> tuple[type[Source], tuple[object, ...]]:  # pickled by value: faster to load than dataclasses' slots __setstate__
        return (Source, (self.file, self.line, self.column, self.path))

    def at(self) -> str:
        if not self.file:
            return ""
        if self.line is None:
            return self.file
        return f"{self.file}:{self.line}"

    def child(self, path: str, line: int | None = None, column: int | None = None) -> Source:
        return Source(self.file, line if line is not None else self.line,
                      column if line is not None else self.column, path)


NOWHERE = Source()

ERROR = "Error"
WARNING = "Warning"
INFO = "Info"


@dataclass(frozen=True, slots=True)
class Diagnostic:
    """A problem found while loading: an object left out (Error), an unknown field or a
    duplicate (Warning), a skipped kind (Info). `kind/namespace/name` name the object when known."""

    level: str
    message: str
    source: Source = NOWHERE
    kind: str = ""
    namespace: str = ""
    name: str = ""
    code: str = "IST0106"

    def __reduce__(self) -> tuple[type[Diagnostic], tuple[object, ...]]:
        return (Diagnostic, (self.level, self.message, self.source, self.kind, self.namespace, self.name, self.code))

    def where(self) -> str:
        at = self.source.at()
        parts = [p for p in (at, self.source.path) if p]
        return " ".join(parts)

    def __str__(self) -> str:
        obj = f"{self.kind} {self.namespace}/{self.name}" if self.kind and self.name else self.kind
        head = f"{self.level}: {self.where()}" if self.where() else self.level
        return f"{head}: {obj + ': ' if obj else ''}{self.message}"
