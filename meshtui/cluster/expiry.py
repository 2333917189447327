"""Revert cluster edits when they expire, while meshtui runs.

An edit's expiry lives in its annotation on the object, so any meshtui with --allow-write that
starts later also reverts what a crashed one left behind (revert_expired runs at start). What
no running meshtui can do is revert at the very second of expiry after a crash: that needs a
meshtui running somewhere (the README says so)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from meshtui.cluster.writeback import ClusterWriter, WriteResult
from meshtui.errors import MeshtuiError


class ExpiryReverter:
    """A thread that checks for expired meshtui edits every `interval` seconds."""

    def __init__(self, writer: ClusterWriter, *, interval: float = 5.0, namespace: str | None = None,
                 clock: Callable[[], float] = time.time,
                 on_revert: Callable[[WriteResult], None] | None = None,
                 on_error: Callable[[str], None] | None = None) -> None:
        self.writer = writer
        self.interval = max(0.05, interval)
        self.namespace = namespace
        self.clock = clock
        self.on_revert = on_revert
        self.on_error = on_error
        self.reverted: list[WriteResult] = []
        self.last_error = ""
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def check_once(self) -> list[WriteResult]:
        try:
            done = self.writer.revert_expired(self.clock(), self.namespace)
        except MeshtuiError as exc:  # the API server down for a moment: try again next round
            self.last_error = str(exc)
            if self.on_error:
                self.on_error(self.last_error)
            return []
        self.reverted.extend(done)
        for r in done:
            if self.on_revert:
                self.on_revert(r)
        return done

    def start(self) -> ExpiryReverter:
        self._thread = threading.Thread(target=self._run, daemon=True, name="meshtui-expiry")
        self._thread.start()
        return self

    def _run(self) -> None:
        while not self._stop.is_set():
            self.check_once()
            self._stop.wait(self.interval)

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
