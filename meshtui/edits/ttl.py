"""Edit lifetimes: durations as people write them, and which edits have expired at a given time.
Pure: the caller passes `now` (epoch seconds)."""

from __future__ import annotations

import math
from collections.abc import Iterable

from meshtui.edits.model import Edit
from meshtui.model.schema import parse_duration as go_duration


def parse_duration(text: str) -> float:
    """A duration in Istio's grammar (Go's time.ParseDuration, as the YAML takes it: '10m', '5s',
    '1h30m', '200ms', '1.5s'), or a bare number of seconds -> seconds. Raises ValueError with a
    message that says what is accepted."""
    t = text.strip()
    if not t:
        raise ValueError("empty duration")
    if len(t) > 64:
        raise ValueError("invalid duration: too long; use e.g. 200ms, 5s, 10m, 1h30m")
    try:
        value = float(t)
    except ValueError:
        parsed = go_duration(t)
        if parsed is None:
            raise ValueError(f"invalid duration {text!r}: use e.g. 200ms, 5s, 10m, 1h30m") from None
        value = parsed
    if not math.isfinite(value):
        raise ValueError(f"invalid duration {text[:40]!r}: must be a finite number, e.g. 200ms, 5s, 10m")
    if value < 0:
        raise ValueError(f"invalid duration {text[:40]!r}: must not be negative")
    return value


def format_duration(seconds: float) -> str:
    """A short human form: 0.2s, 45s, 9m30s, 2h5m."""
    if not math.isfinite(seconds):
        return "forever" if seconds > 0 else "0s"
    if seconds < 0:
        seconds = 0
    if seconds < 10:
        return f"{seconds:.1f}s".replace(".0s", "s")
    s = round(seconds)
    h, rem = divmod(s, 3600)
    m, sec = divmod(rem, 60)
    if h:
        return f"{h}h{m}m" if m else f"{h}h"
    if m:
        return f"{m}m{sec}s" if sec else f"{m}m"
    return f"{sec}s"


def expires_at(edit: Edit) -> float | None:
    return edit.expires_at


def remaining(edit: Edit, now: float) -> float | None:
    exp = edit.expires_at
    return None if exp is None else exp - now


def is_expired(edit: Edit, now: float) -> bool:
    exp = edit.expires_at
    return exp is not None and exp <= now


def split_expired(edits: Iterable[Edit], now: float) -> tuple[list[Edit], list[Edit]]:
    """(still active, expired) in input order."""
    active: list[Edit] = []
    expired: list[Edit] = []
    for e in edits:
        (expired if is_expired(e, now) else active).append(e)
    return active, expired


def next_expiry(edits: Iterable[Edit]) -> float | None:
    times = [e.expires_at for e in edits if e.expires_at is not None]
    return min(times) if times else None
