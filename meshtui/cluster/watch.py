"""Watch after list: one stream per listed kind (and namespace), from the list's resourceVersion.

- 410 Gone (the server no longer has our resourceVersion) relists that kind and diffs it against
  what we hold, so deletions missed meanwhile are seen too.
- A dropped connection or a failing server reconnects with capped exponential backoff, resuming
  from the last resourceVersion seen.
- Changes are coalesced for a moment and handed to one callback with the full new list of docs.
"""

from __future__ import annotations

import json
import queue
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import urllib3

from meshtui.cluster.errors import Action, ClusterError, ClusterUnreachable, http_error
from meshtui.cluster.http import KubeHttp, iter_lines
from meshtui.cluster.kinds import ResourceKind
from meshtui.cluster.listing import KindList, list_kind, normalize
from meshtui.cluster.store import ObjectStore

ADDED, MODIFIED, DELETED = "ADDED", "MODIFIED", "DELETED"


@dataclass(frozen=True, slots=True)
class Change:
    type: str  # ADDED, MODIFIED or DELETED
    kind: str  # the model kind: KubernetesGateway for the Gateway API's Gateway
    namespace: str
    name: str


@dataclass(frozen=True, slots=True)
class WatchStatus:
    """For the TUI's status bar: `watching`, `reconnecting`, `relisting`, `stopped`."""

    state: str
    detail: str = ""
    since: float = 0.0  # time.time() of the change of state


@dataclass
class WatchOptions:
    watch_timeout: int = 300  # server-side timeoutSeconds of one watch request
    coalesce: float = 0.2  # gather changes for this long before one callback
    backoff_initial: float = 0.5
    backoff_max: float = 30.0


@dataclass
class _Stream:
    kind: ResourceKind
    namespace: str | None
    resource_version: str
    state: str = "starting"
    detail: str = ""
    response: Any = None


@dataclass
class _Batch:
    changes: list[Change] = field(default_factory=list)
    relisted: bool = False


class ClusterWatch:
    """Runs the watch threads; stop() ends them (and the open responses) promptly."""

    def __init__(self, http: KubeHttp, store: ObjectStore, lists: list[KindList],
                 on_change: Callable[[list[Change], bool], None],
                 on_state: Callable[[WatchStatus], None] | None = None,
                 options: WatchOptions | None = None) -> None:
        self._http = http
        self._store = store
        self._on_change = on_change
        self._on_state = on_state
        self.options = options or WatchOptions()
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._queue: queue.Queue[tuple[Change | None, bool]] = queue.Queue()
        # With -n, Namespaces were fetched one by one (get, not list): nothing to watch there.
        self._streams = [_Stream(kl.kind, kl.namespace, kl.resource_version)
                         for kl in lists if kl.resource_version]
        self._threads: list[threading.Thread] = []
        self._status = WatchStatus("starting", since=time.time())
        self.callback_errors = 0
        self.last_callback_error: str = ""

    # -- lifecycle ----------------------------------------------------------------------------
    def start(self) -> None:
        for s in self._streams:
            t = threading.Thread(target=self._run_stream, args=(s,), daemon=True,
                                 name=f"meshtui-watch-{s.kind.plural}-{s.namespace or 'all'}")
            self._threads.append(t)
        d = threading.Thread(target=self._dispatch, daemon=True, name="meshtui-watch-dispatch")
        self._threads.append(d)
        for t in self._threads:
            t.start()

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        with self._lock:
            responses = [s.response for s in self._streams if s.response is not None]
        for r in responses:
            _shutdown(r)
        deadline = time.monotonic() + timeout
        for t in self._threads:
            t.join(max(0.0, deadline - time.monotonic()))
        self._publish(WatchStatus("stopped", since=time.time()))

    @property
    def status(self) -> WatchStatus:
        return self._status

    @property
    def stopped(self) -> bool:
        return self._stop.is_set()

    def stream_states(self) -> dict[str, str]:
        with self._lock:
            return {f"{s.kind.resource}@{s.namespace or '*'}": s.state for s in self._streams}

    # -- state --------------------------------------------------------------------------------
    def _set_state(self, stream: _Stream, state: str, detail: str = "") -> None:
        with self._lock:
            stream.state, stream.detail = state, detail
            states = [s.state for s in self._streams]
            worst = next((s for s in self._streams if s.state == "reconnecting"), None) \
                or next((s for s in self._streams if s.state == "relisting"), None)
        if self._stop.is_set():
            return
        if worst is not None:
            new = WatchStatus(worst.state, f"{worst.kind.resource}: {worst.detail}".rstrip(": "))
        elif all(s == "watching" for s in states):
            new = WatchStatus("watching", f"{len(states)} streams")
        else:
            new = WatchStatus("starting")
        if (new.state, new.detail) != (self._status.state, self._status.detail):
            self._publish(WatchStatus(new.state, new.detail, time.time()))

    def _publish(self, status: WatchStatus) -> None:
        self._status = status
        if self._on_state:
            try:
                self._on_state(status)
            except Exception:  # noqa: BLE001 - a broken status display must not stop the watch
                pass

    # -- one stream ---------------------------------------------------------------------------
    def _run_stream(self, s: _Stream) -> None:
        attempt = 0
        needs_relist = False
        while not self._stop.is_set():
            started = time.monotonic()
            try:
                if needs_relist:
                    self._set_state(s, "relisting", "resourceVersion expired (410 Gone)")
                    self._relist(s)
                    needs_relist = False
                outcome, events = self._watch_once(s)
            except ClusterError as exc:
                if self._stop.is_set():
                    break
                attempt += 1
                delay = self._backoff(attempt)
                self._set_state(s, "reconnecting", f"{exc} (retry {attempt} in {delay:.1f}s)")
                self._stop.wait(delay)
                continue
            if outcome == "gone":
                needs_relist = True
                continue
            # A watch that ends at once without events is a server in trouble: back off too.
            if events == 0 and time.monotonic() - started < 1.0:
                attempt += 1
                self._stop.wait(self._backoff(attempt))
            else:
                attempt = 0

    def _backoff(self, attempt: int) -> float:
        o = self.options
        base = min(o.backoff_max, o.backoff_initial * (2 ** min(attempt - 1, 16)))
        return base * random.uniform(0.5, 1.0)

    def _watch_once(self, s: _Stream) -> tuple[str, int]:
        action = Action("watch", s.kind.plural, s.kind.group, s.namespace if s.kind.namespaced else None)
        timeout = max(1, int(self.options.watch_timeout))
        query: list[tuple[str, object]] = [
            ("watch", "true"), ("resourceVersion", s.resource_version),
            ("allowWatchBookmarks", "true"), ("timeoutSeconds", timeout),
        ]
        resp = self._http.open_stream(s.kind.collection_path(s.namespace), action, query,
                                      read_timeout=timeout + 30)
        with self._lock:
            s.response = resp
        events = 0
        try:
            if self._stop.is_set():
                return "stopped", 0
            if resp.status == 410:
                return "gone", 0
            if resp.status != 200:
                raise http_error(self._http.endpoint, action, resp.status, resp.read())
            self._set_state(s, "watching")
            for line in iter_lines(resp):
                try:
                    ev = json.loads(line)
                except ValueError:
                    continue
                typ = ev.get("type")
                obj = ev.get("object") or {}
                if typ == "ERROR":
                    if obj.get("code") == 410:
                        return "gone", events
                    raise http_error(self._http.endpoint, action, int(obj.get("code") or 500),
                                     json.dumps(obj).encode())
                rv = str((obj.get("metadata") or {}).get("resourceVersion") or "")
                if typ == "BOOKMARK":
                    if rv:
                        s.resource_version = rv
                    continue
                if typ not in (ADDED, MODIFIED, DELETED) or not isinstance(obj, dict):
                    continue
                normalize(obj, s.kind)
                change = self._store.apply(typ, obj)
                if rv:
                    s.resource_version = rv
                events += 1
                if change is not None:
                    self._queue.put((Change(*change), False))
            return "ended", events
        except (urllib3.exceptions.HTTPError, OSError, ValueError) as exc:
            if self._stop.is_set():
                return "stopped", events
            raise ClusterUnreachable(f"the watch on {s.kind.resource} was cut: {_short(exc)}") from None
        finally:
            with self._lock:
                s.response = None
            _release(resp)

    def _relist(self, s: _Stream) -> None:
        result = list_kind(self._http, s.kind, s.namespace)
        changes = self._store.replace(s.kind.model_kind, s.namespace, result.items)
        s.resource_version = result.resource_version
        # A relist that finds nothing new needs no new snapshot; the state change says it happened.
        for c in changes:
            self._queue.put((Change(*c), True))

    # -- dispatch -----------------------------------------------------------------------------
    def _dispatch(self) -> None:
        while not self._stop.is_set():
            try:
                first = self._queue.get(timeout=0.1)
            except queue.Empty:
                continue
            batch = _Batch()
            self._add(batch, first)
            end = time.monotonic() + self.options.coalesce
            while True:
                left = end - time.monotonic()
                if left <= 0:
                    break
                try:
                    self._add(batch, self._queue.get(timeout=left))
                except queue.Empty:
                    break
            while True:  # whatever else is already waiting joins this batch
                try:
                    self._add(batch, self._queue.get_nowait())
                except queue.Empty:
                    break
            if self._stop.is_set():
                break
            try:
                self._on_change(batch.changes, batch.relisted)
            except Exception as exc:  # noqa: BLE001 - keep watching; the caller can read the error
                self.callback_errors += 1
                self.last_callback_error = f"{type(exc).__name__}: {exc}"

    @staticmethod
    def _add(batch: _Batch, item: tuple[Change | None, bool]) -> None:
        change, relisted = item
        if change is not None:
            batch.changes.append(change)
        batch.relisted = batch.relisted or relisted


def _shutdown(resp: Any) -> None:
    # urllib3 >= 2.3 can unblock a read in another thread by shutting the socket down.
    try:
        resp.shutdown()
    except Exception:  # noqa: BLE001 - best effort on a connection being dropped anyway
        pass


def _release(resp: Any) -> None:
    # Close first: a half-read watch connection must not be reused as if it were clean.
    for step in (resp.close, resp.release_conn):
        try:
            step()
        except Exception:  # noqa: BLE001 - best effort on a connection being dropped anyway
            pass


def _short(exc: BaseException) -> str:
    text = str(exc) or type(exc).__name__
    return text if len(text) < 200 else text[:200] + "..."
