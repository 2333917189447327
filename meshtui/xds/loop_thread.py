"""An asyncio loop on a background thread, for synchronous callers (CLI, tests, benchmarks)
that drive the async control plane."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

T = TypeVar("T")


class LoopThread:
    def __init__(self, name: str = "meshtui-loop") -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        self.loop.run_forever()

    @property
    def thread_id(self) -> int:
        """The loop thread's id (threading.get_ident), e.g. for its CPU clock."""
        ident = self._thread.ident
        assert ident is not None  # started in __init__
        return ident

    def run(self, coro: Coroutine[Any, Any, T], timeout: float | None = 30.0) -> T:
        """Run a coroutine on the loop and wait for its result."""
        fut = asyncio.run_coroutine_threadsafe(coro, self.loop)
        return fut.result(timeout)

    def call(self, fn: Callable[..., T], *args: Any, timeout: float | None = 30.0) -> T:
        """Call a plain function on the loop thread (the control plane is single-threaded)."""

        async def _call() -> T:
            return fn(*args)

        return self.run(_call(), timeout)

    def stop(self) -> None:
        if self.loop.is_running():
            self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(5)
        if not self.loop.is_running() and not self.loop.is_closed():
            self.loop.close()
