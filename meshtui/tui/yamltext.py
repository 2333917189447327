"""The YAML a person wrote for one object, with the file's own line numbers, so a trace step's
`file:line` lands on the same line in the app as in their editor.

Objects read from files show their document as written (comments included); objects from the
cluster or stdin have no file to show, so their data is dumped as YAML and positions are found
by re-parsing that text."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

from meshtui.model.parse import locate

_FILE_CACHE: dict[str, tuple[float, list[str]]] = {}


@dataclass
class YamlText:
    """Lines of one object's YAML. `first_line` is the file line number of lines[0]."""

    lines: list[str]
    first_line: int = 1
    file: str = ""
    from_file: bool = True  # False: dumped from data (cluster, stdin)
    raw: Any = field(default=None, repr=False)  # position-aware data whose lines match `lines`

    @property
    def text(self) -> str:
        return "\n".join(self.lines) + "\n"

    @property
    def last_line(self) -> int:
        return self.first_line + len(self.lines) - 1

    def line_of(self, path: str) -> int | None:
        """The line (file numbering) of a field path such as `spec.http[0].route`."""
        if self.raw is None or not path:
            return None
        line, _ = locate(self.raw, path)
        if line is None:
            return None
        if not self.from_file:
            return self.first_line + line - 1
        return line


def short_path(path: str) -> str:
    """A file path as a person would type it here: relative to the working directory when it is
    inside it (the demo and absolute -f paths), unchanged otherwise."""
    if not path or not os.path.isabs(path):
        return path
    try:
        rel = os.path.relpath(path)
    except ValueError:
        return path
    return rel if not rel.startswith("..") else path


def read_lines(path: str) -> list[str] | None:
    """A file's lines, cached by modification time (the app shows the same file many times)."""
    try:
        mtime = os.stat(path).st_mtime
    except OSError:
        return None
    hit = _FILE_CACHE.get(path)
    if hit is not None and hit[0] == mtime:
        return hit[1]
    try:
        with open(path, encoding="utf-8-sig", errors="replace") as fh:
            lines = fh.read().splitlines()
    except OSError:
        return None
    _FILE_CACHE[path] = (mtime, lines)
    return lines


def _is_separator(line: str) -> bool:
    return line.startswith("---") or line.rstrip() == "..."


def document_at(lines: list[str], line: int) -> tuple[int, int]:
    """The (first, last) 1-based lines of the YAML document that holds `line`."""
    n = len(lines)
    line = max(1, min(line, n))
    start = line
    while start > 1 and not _is_separator(lines[start - 2]):
        start -= 1
    end = line
    while end < n and not _is_separator(lines[end]):
        end += 1
    # a document never ends with blank lines worth showing
    while end > start and not lines[end - 1].strip():
        end -= 1
    return start, end


def plain(data: Any) -> Any:
    """Position-aware containers as plain dicts and lists (yaml.safe_dump refuses subclasses)."""
    if isinstance(data, dict):
        return {str(k): plain(v) for k, v in data.items()}
    if isinstance(data, (list, tuple)):
        return [plain(v) for v in data]
    if isinstance(data, bool) or data is None:
        return data
    if isinstance(data, int):
        return int(data)
    if isinstance(data, float):
        return float(data)
    if isinstance(data, str):
        return str(data)
    return str(data)


def dump_yaml(data: Any) -> str:
    import yaml

    return yaml.safe_dump(plain(data), sort_keys=False, default_flow_style=False, allow_unicode=True, width=100)


def _dumped(raw: Any, label: str) -> YamlText:
    from meshtui.model.yamlpos import parse_yaml

    text = dump_yaml(raw)
    lines = text.splitlines()
    try:
        docs = parse_yaml(text)
        positioned = docs[0].data if docs else None
    except Exception:  # noqa: BLE001 - positions are a nicety; the text is still right
        positioned = None
    return YamlText(lines, 1, label, from_file=False, raw=positioned)


def yaml_for(file: str, line: int | None, raw: Any) -> YamlText:
    """The YAML of one object: its document in `file` around `line`, or its data dumped."""
    if file and line and not file.startswith(("cluster:", "<")):
        lines = read_lines(file)
        if lines:
            first, last = document_at(lines, line)
            if first <= last:
                return YamlText(lines[first - 1:last], first, file, True, raw)
    return _dumped(raw if raw is not None else {}, file or "(generated)")
