"""Example strings for the RE2 patterns of route matches, so the request generator can satisfy a
regex path, header or query match. Patterns are parsed with Python's regex parser (RE2's syntax
for the constructs routes use is the same); every example is checked with RE2's full match, and a
pattern this cannot satisfy gives None (the caller skips that condition)."""

from __future__ import annotations

import random

# Python's own regex parser (private since 3.11, which the project requires; typeshed has no stubs for it)
from re import _constants as sre_c  # type: ignore[attr-defined]  # private module: no stubs
from re import _parser as sre_parse  # type: ignore[attr-defined]  # private module: no stubs

from meshtui.model.regex import full_match

SAFE = "abcdefghijklmnopqrstuvwxyz0123456789"
_CATEGORY = {
    sre_c.CATEGORY_DIGIT: "0123456789",
    sre_c.CATEGORY_WORD: SAFE + "_",
    sre_c.CATEGORY_SPACE: " ",
    sre_c.CATEGORY_NOT_DIGIT: "abcxyz",
    sre_c.CATEGORY_NOT_WORD: "-.~",
    sre_c.CATEGORY_NOT_SPACE: SAFE,
}


class _Unsupported(Exception):
    pass


def _gen(items, rng: random.Random, groups: dict[int, str], depth: int = 0) -> str:
    if depth > 30:
        raise _Unsupported("too deep")
    out = []
    for op, av in items:
        if op is sre_c.LITERAL:
            out.append(chr(av))
        elif op is sre_c.NOT_LITERAL:
            out.append(next(c for c in SAFE if ord(c) != av))
        elif op is sre_c.ANY:
            out.append(rng.choice(SAFE))
        elif op is sre_c.IN:
            out.append(_in(av, rng))
        elif op in (sre_c.MAX_REPEAT, sre_c.MIN_REPEAT):
            lo, hi, sub = av
            hi = min(hi, lo + 3) if hi != sre_c.MAXREPEAT else lo + 2
            n = rng.randint(lo, max(lo, hi))
            out.append("".join(_gen(sub, rng, groups, depth + 1) for _ in range(n)))
        elif op is sre_c.SUBPATTERN:
            gid, _add, _del, sub = av
            text = _gen(sub, rng, groups, depth + 1)
            if gid is not None:
                groups[gid] = text
            out.append(text)
        elif op is sre_c.BRANCH:
            _, alts = av
            out.append(_gen(rng.choice(alts), rng, groups, depth + 1))
        elif op is sre_c.AT:
            continue  # ^ $ \b: full-match anchors add nothing
        elif op is sre_c.GROUPREF:
            out.append(groups.get(av, ""))
        else:
            raise _Unsupported(str(op))
    return "".join(out)


def _in(av, rng: random.Random) -> str:
    negate = any(op is sre_c.NEGATE for op, _ in av)
    chars: list[str] = []
    for op, v in av:
        if op is sre_c.LITERAL:
            chars.append(chr(v))
        elif op is sre_c.RANGE:
            lo, hi = v
            chars.extend(chr(c) for c in range(lo, min(hi, lo + 40) + 1))
        elif op is sre_c.CATEGORY:
            chars.extend(_CATEGORY.get(v, ""))
    if negate:
        cands = [c for c in SAFE if c not in chars]
        if not cands:
            raise _Unsupported("empty negated class")
        return rng.choice(cands)
    safe = [c for c in chars if c in SAFE + "-_./"]
    pool = safe or chars
    if not pool:
        raise _Unsupported("empty class")
    return rng.choice(pool)


def example(pattern: str, seed: int = 7, avoid: str | None = None) -> str | None:
    """A string RE2 fully matches, made of URL- and header-safe characters where the pattern allows."""
    try:
        parsed = sre_parse.parse(pattern)
    except Exception:  # noqa: BLE001 - RE2-only syntax: give up on this pattern
        return None
    rng = random.Random(seed)
    for _ in range(25):
        try:
            text = _gen(list(parsed), rng, {})
        except (_Unsupported, StopIteration, IndexError):
            return None
        if text != avoid and _ok(text) and full_match(pattern, text):
            return text
    return None


def _ok(text: str) -> bool:
    return all(0x21 <= ord(c) < 0x7F and c not in '#"<>\\^`{|}' for c in text)
