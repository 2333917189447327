"""RE2, as Envoy and Istio use it: full-match semantics, no backtracking. Never Python's `re` for
config regexes. Compiled patterns are cached (the same regex appears on many routes)."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import re2

_OPTIONS = re2.Options()
_OPTIONS.log_errors = False  # RE2 would otherwise print to stderr behind the user's back


class RegexError(ValueError):
    pass


@lru_cache(maxsize=4096)
def compile_re2(pattern: str) -> Any:  # an re2 pattern; re2 ships no type information
    try:
        return re2.compile(pattern, _OPTIONS)
    except Exception as exc:  # noqa: BLE001 - re2's error class is private (re2._re2.Error); its message is bytes
        arg = exc.args[0] if exc.args else exc
        msg = arg.decode(errors="replace") if isinstance(arg, bytes) else str(arg)
        raise RegexError(msg) from None


def regex_error(pattern: str) -> str | None:
    try:
        compile_re2(pattern)
    except RegexError as exc:
        return f"invalid regex {pattern!r}: {exc}"
    return None


def full_match(pattern: str, text: str) -> bool:
    return compile_re2(pattern).fullmatch(text) is not None
