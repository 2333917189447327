"""Errors that the shells turn into exit codes (CONTRACT.md). Pure: no I/O here."""

from __future__ import annotations

from dataclasses import dataclass

EXIT_OK = 0
EXIT_INTERNAL = 1
EXIT_USAGE = 2
EXIT_UNREACHABLE = 69
EXIT_ANALYZE_FAILED = 79


class MeshtuiError(Exception):
    """Base for errors that carry their own exit code and a message meant for people."""

    exit_code = EXIT_INTERNAL


class UsageError(MeshtuiError):
    """Bad flags, an unknown workload, a URL without a port for a multi-port service, ..."""

    exit_code = EXIT_USAGE


@dataclass
class InputError(MeshtuiError):
    """Input that cannot be read at all (not YAML): names file, line and what is wrong."""

    file: str
    line: int | None
    reason: str
    column: int | None = None
    exit_code = EXIT_USAGE

    def __str__(self) -> str:
        where = self.file
        if self.line is not None:
            where += f":{self.line}"
            if self.column is not None:
                where += f":{self.column}"
        return f"{where}: {self.reason}"


class UnreachableError(MeshtuiError):
    """The cluster API or a meshtui server could not be reached or refused the credentials."""

    exit_code = EXIT_UNREACHABLE
