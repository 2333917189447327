"""meshtui's terms with CPython's cyclic garbage collector, in one place.

A snapshot is millions of small acyclic objects, and a full translation of a large mesh adds a
million more that live as long as the snapshot (the rule templates, clusters and virtual hosts
proxies share). Every collection walks every tracked object still in a generation, and all of
these survive, so each walk is wasted: at 10,000 services the collector took 0.7 s of a 2.6 s
first translation, and rescanned a freshly loaded snapshot for 0.8 s.

- `paused()`: the collector off while such structures are built (nested and concurrent users
  share one pause; the collector's previous state comes back when the last one leaves).
- `settle()` / `settling()`: a process that keeps the snapshot it loads (every command, the TUI,
  serve) freezes it out of the generations once loaded and collects the young generation every
  100,000 allocations instead of every 700.
- `keeping()`: what is built later for as long as the snapshot lives (a full translation) is
  frozen likewise, in a process that settled. Translations make no reference cycles (see
  tests/model/test_snapshot_lifetime.py), so frozen ones are still freed by reference counting;
  the garbage made since the last freeze is collected first, so none is frozen with them.
  A library caller that never settled keeps the collector's normal behaviour.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager

# objects allocated between young collections once a snapshot is loaded (CPython's default is 700)
YOUNG_GC_THRESHOLD = 100_000

_lock = threading.Lock()
_depth = 0
_was_on = False
_settled = False


@contextmanager
def paused() -> Iterator[None]:
    """The cyclic collector off for the duration."""
    global _depth, _was_on
    with _lock:
        if _depth == 0:
            _was_on = gc.isenabled()
            gc.disable()
        _depth += 1
    try:
        yield
    finally:
        with _lock:
            _depth -= 1
            if _depth == 0 and _was_on:
                gc.enable()


def settle(collect: bool = False) -> None:
    """Freeze everything alive out of the collector's generations, and collect the young
    generation in bigger batches from now on. Cyclic garbage is still collected. `collect`: the
    garbage made so far is collected first instead of frozen (after a server's setup, say)."""
    global _settled
    if collect:
        gc.collect()
    gc.freeze()
    _, older, oldest = gc.get_threshold()
    gc.set_threshold(YOUNG_GC_THRESHOLD, older, oldest)
    _settled = True


@contextmanager
def settling() -> Iterator[None]:
    """Load inside this when the process keeps what it loads: the collector stays off until
    settle() has frozen it all. Turning the collector back on first would have its next
    collection walk every object just made, each still in the youngest generation."""
    with paused():
        try:
            yield
        finally:
            settle()


@contextmanager
def keeping() -> Iterator[None]:
    """Build something kept as long as the snapshot: with the collector paused, and frozen with
    the snapshot afterwards when the process settled (see the module docstring)."""
    if not _settled:
        with paused():
            yield
        return
    gc.collect()  # only what was made since the last freeze: cheap in a settled process
    with paused():
        yield
        gc.freeze()
