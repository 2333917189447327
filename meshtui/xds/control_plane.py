"""The game-day control plane: sources + live edits -> per-proxy snapshots -> ADS -> Envoys.

`ControlPlane` owns the edits (faults and Sidecar-scope changes), their TTLs, the journal, and
the ADS server. Every change re-translates the known proxies and pushes what changed. It runs on
one asyncio loop; call its methods from that loop (the gRPC control API and the demo do), or go
through `meshtui.demo.session.DemoSession`, which marshals calls from other threads.

Public API (all synchronous unless marked async; run on the control plane's loop):

    cp = ControlPlane(translator, journal=JournalFile(), runtime_ttl=3.0, loopback_only=False)
    addr = await cp.start("127.0.0.1:15010", tls=None, insecure=False)  # ADS + control API
    await cp.stop()

    cp.add_proxy("default/productpage-v1")    # translate now, before its Envoy connects
    cp.proxies() -> [ {"proxy", "connected", "streams", "synced", "types": {CDS: {acked, sent,
                       inFlight, lastNack}, ...}} ]
    cp.add_edit(FaultEdit | ScopeEdit, validate=True) -> dict   # the edit view (below)
    cp.remove_edit(edit_id, detail="") -> dict
    cp.clear_faults() -> [ids]                 # the kill switch: one push
    cp.edits(kind="fault"|"scope"|None, include_ended=False) -> [edit views]
        edit view: {"id", "type", "target"/"namespace"..., "state": active|rejected|expired|
                    removed, "expiresAt", "expiresIn", "proxies": {proxy: pending|acked|rejected}}
    cp.subscribe(callback) -> unsubscribe      # callback(XdsEvent): connect, push, ack, nack,
                                               # edit-add, edit-remove, expire, revert, clear ...
    cp.journal_entries() -> [JournalEntry]
    await cp.wait_synced(proxy, timeout) -> bool   # this proxy ACKed its current snapshot
"""

from __future__ import annotations

import asyncio
import errno
import os
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from meshtui.edits import journal as jr
from meshtui.edits.limits import DEFAULT_LIMITS, EditLimits, validate_edit
from meshtui.edits.model import Edit, FaultEdit, ScopeEdit
from meshtui.edits.overlay import scope_conflict
from meshtui.edits.ttl import format_duration, is_expired, next_expiry
from meshtui.errors import UsageError
from meshtui.xds import events as ev
from meshtui.xds.bootstrap import format_address, is_loopback_host, parse_address
from meshtui.xds.cache import NodeSnapshot, SnapshotCache, build_snapshot, next_generation
from meshtui.xds.credentials import Authenticator
from meshtui.xds.journal_file import JournalFile
from meshtui.xds.resources import (
    ENDPOINT,
    FAULT_LAYER,
    LISTENER,
    PUSH_ORDER,
    RUNTIME,
    SHORT,
    Joined,
    Packer,
    ResourceError,
    SharedList,
    TypeResources,
    non_loopback_addresses,
    runtime_layer,
)
from meshtui.xds.server import AdsServer, add_ads, new_grpc_server
from meshtui.xds.translator import TranslateFailed, Translator

# Extra event kinds the control plane emits on the same bus as the ADS server.
EDIT_ADD = jr.EDIT_ADD
EDIT_REMOVE = jr.EDIT_REMOVE
EXPIRE = jr.EXPIRE
REVERT = jr.REVERT
CLEAR = jr.CLEAR
RESTORE = jr.RESTORE
TRANSLATE_ERROR = "translate-error"

_JOURNALED_XDS = {ev.PUSH: jr.PUSH, ev.ACK: jr.ACK, ev.NACK: jr.NACK, ev.CONNECT: "connect",
                  ev.DISCONNECT: "disconnect", ev.REFUSED: "refused"}


_EMPTY_LAYER = TypeResources.build(RUNTIME, {FAULT_LAYER: runtime_layer({}, FAULT_LAYER)})


@dataclass
class TlsConfig:
    cert: str
    key: str
    client_ca: str | None = None


@dataclass
class EditRecord:
    edit: Edit
    state: str = "active"  # active | rejected | expired | removed
    detail: str = ""
    generation: dict[str, int] = field(default_factory=dict)  # proxy -> first snapshot carrying it
    rejected_by: dict[str, str] = field(default_factory=dict)  # proxy -> Envoy's reason


def new_edit_id(prefix: str, taken=()) -> str:
    """A fresh id: 40 random bits (24 collided about once in a thousand edits at 2,000)."""
    while True:
        eid = f"{prefix}-{secrets.token_hex(5)}"
        if eid not in taken:
            return eid


def default_owner() -> str:
    return os.environ.get("USER") or os.environ.get("USERNAME") or "meshtui"


class ControlPlane:
    def __init__(
        self,
        translator: Translator,
        *,
        journal: JournalFile | None = None,
        clock: Callable[[], float] = time.time,
        runtime_ttl: float | None = 3.0,
        loopback_only: bool = False,
        restore: bool = True,
        readonly: bool = False,
        limits: EditLimits = DEFAULT_LIMITS,
        auth: Authenticator | None = None,
        max_proxies: int = 10_000,
    ) -> None:
        self.translator = translator
        self.journal = journal
        self.clock = clock
        self.loopback_only = loopback_only
        self.bus = ev.EventBus()
        self.cache = SnapshotCache()
        self.auth = auth or Authenticator(None)
        self.max_proxies = max_proxies  # bound on tracked proxies: names only come from connecting Envoys
        self.ads = AdsServer(self.cache, self.bus, runtime_ttl=runtime_ttl, authenticate=self._authenticate,
                             admit=self._admit)
        self.packer = Packer()
        self.records: dict[str, EditRecord] = {}
        self.address: str | None = None
        self.synced_gen: dict[str, int] = {}
        self.translate_errors: dict[str, str] = {}
        self._proxies: set[str] = set()
        self._server = None
        self._expiry_task: asyncio.Task | None = None
        self._edits_changed: asyncio.Event | None = None
        # read-only: the sources' config is served, but no edit is taken, restored or journaled
        self.readonly = readonly
        self.limits = limits
        self.journal_report = ""  # a torn journal tail found and repaired at start
        self._restore = restore and not readonly
        self._stopping = False
        self._sync_waiters: list[tuple[str, asyncio.Future]] = []
        self._journal_buf: list[str] = []  # encoded xDS entries for the end of this loop turn
        self._stopped = False
        self.cache.on_new_key(self._on_proxy_connected)
        self.bus.subscribe(self._on_event)

    # ---- lifecycle --------------------------------------------------------------------------

    async def start(self, listen: str = "127.0.0.1:15010", *, tls: TlsConfig | None = None,
                    insecure: bool = False) -> str:
        host, port = parse_address(listen, "--listen", allow_zero=True)
        if not is_loopback_host(host) and tls is None and not insecure:
            raise UsageError(f"--listen {listen}: not a loopback address; serving edits to the network needs "
                             "--tls-cert and --tls-key (and optionally --tls-client-ca), or an explicit --insecure")
        _probe_bind(host, port, listen)
        if self.journal is not None and not self.readonly:
            # the writer lock first: a second server on this journal must not start at all
            self.journal_report = self.journal.acquire()
            if self.journal_report:
                self.bus.emit(ev.XdsEvent("journal-error", "", detail=self.journal_report))
        self._edits_changed = asyncio.Event()
        from meshtui.xds.control_api import add_control_api

        server = new_grpc_server()
        add_ads(server, self.ads)
        add_control_api(server, self)
        bind = format_address(host, port)
        try:
            if tls is not None:
                bound = server.add_secure_port(bind, _server_credentials(tls))
            else:
                bound = server.add_insecure_port(bind)
        except RuntimeError as exc:
            why = str(exc).split(";")[0]  # gRPC's hint about GRPC_VERBOSITY is not for our users
            bound = 0
        else:
            why = "address in use?"
        if not bound:
            if self.journal is not None:
                self.journal.close()  # release the writer lock
            raise UsageError(f"--listen {listen}: cannot bind ({why})")
        self.address = format_address(host, bound)
        self._journal(jr.JournalEntry(self.clock(), jr.SERVER_START, detail=f"listening on {self.address}"))
        if self._restore:  # before any Envoy can connect, so none sees a config without them
            self._restore_from_journal()
        await server.start()
        self._server = server
        self.ads.start_heartbeats()
        self._expiry_task = asyncio.get_running_loop().create_task(self._expiry_loop())
        for proxy in sorted(self._proxies):
            self._translate_and_set(proxy, ("start",))
        return self.address

    async def stop(self, grace: float = 0.5) -> None:
        self._stopping = True
        if self._expiry_task is not None:
            # Python 3.11's wait_for can swallow a cancel that races with the event it waits
            # for, so the loop also checks _stopping, and the wait here is bounded.
            self._poke_expiry()
            self._expiry_task.cancel()
            try:
                await asyncio.wait_for(asyncio.shield(self._expiry_task), 2.0)
            except (TimeoutError, asyncio.CancelledError, Exception):  # noqa: BLE001 - however expiry ended, stopping goes on
                pass
            self._expiry_task = None
        await self.ads.close()
        if self._server is not None:
            await self._server.stop(grace)
            self._server = None
        self._journal(jr.JournalEntry(self.clock(), jr.SERVER_STOP))
        self._stopped = True  # streams that end after this are not journaled (nor reopen the file)
        if self.journal is not None:
            self.journal.close()

    # ---- proxies ----------------------------------------------------------------------------

    def add_proxy(self, proxy: str) -> None:
        """Translate for this proxy now, so its snapshot is ready when its Envoy connects."""
        self._proxies.add(proxy)
        self._translate_and_set(proxy, ("sources",))

    def _authenticate(self, context) -> str | None:
        return None if self.auth.identify(context) is not None else self.auth.refusal()

    def refused_call(self, peer: str, what: str) -> None:
        self.bus.emit(ev.XdsEvent(ev.UNAUTHENTICATED, "", detail=f"control API {what} from {peer}: no credential"))

    def _admit(self, proxy: str) -> str | None:
        """Serve a connecting Envoy only under a name meshtui can translate: a made-up node name
        is refused and leaves nothing behind (no snapshot, no error entry, no memory)."""
        if proxy in self._proxies:
            return None
        if len(self._proxies) >= self.max_proxies:
            return f"meshtui already tracks {self.max_proxies} proxies"
        snap = self._build(proxy, self.active_edits(), ("sources",))
        if isinstance(snap, str):
            self.cache.forget(proxy)
            return f"meshtui has no config for proxy {proxy!r}: {snap}"
        self._proxies.add(proxy)
        self._set(proxy, snap, ("sources",))
        return None

    def _on_proxy_connected(self, proxy: str) -> None:
        if proxy not in self._proxies or self.cache.get(proxy) is None:
            self._proxies.add(proxy)
            self._translate_and_set(proxy, ("sources",))

    def proxies(self) -> list[dict]:
        streams_by_proxy: dict[str, list[dict]] = {}
        for s in self.ads.status():
            streams_by_proxy.setdefault(s["proxy"], []).append(s)
        names = sorted(set(self._proxies) | set(streams_by_proxy))
        out = []
        for p in names:
            streams = streams_by_proxy.get(p, [])
            snap = self.cache.get(p)
            synced = snap is not None and self.synced_gen.get(p, -1) >= snap.generation and bool(streams)
            types: dict = {}
            for s in streams:
                for t, st in s["types"].items():
                    types.setdefault(t, st)
            out.append({
                "proxy": p,
                "connected": bool(streams),
                "streams": [{"stream": s["stream"], "nodeId": s["nodeId"], "peer": s["peer"],
                             "connectedAt": s["connectedAt"], "types": s["types"]} for s in streams],
                "synced": synced,
                "types": types,
                "versions": {SHORT[t]: tr.version for t, tr in snap.types.items()} if snap else {},
                "translateError": self.translate_errors.get(p),
            })
        return out

    # ---- edits ------------------------------------------------------------------------------

    def add_edit(self, edit: Edit, *, validate: bool = True) -> dict:
        """Apply an edit to every affected proxy. `validate=False` skips meshtui's own checks
        (tests use it to make Envoy NACK)."""
        self._refuse_if_readonly()
        if edit.id in self.records and self.records[edit.id].state == "active":
            raise UsageError(f"edit {edit.id} already exists")
        if isinstance(edit, ScopeEdit):
            other = scope_conflict(self.active_edits(), edit)
            if other is not None:
                raise UsageError(_scope_conflict_message(edit, other))
        if validate:
            errs = validate_edit(edit, self.limits) or self.translator.check_edit(edit)
            if errs:
                raise UsageError("; ".join(errs))
        cause = (edit.id,)
        built = self._dry_run([*self.active_edits(), edit], cause)
        rec = self.records[edit.id] = EditRecord(edit)
        self._journal(jr.JournalEntry(self.clock(), jr.EDIT_ADD, edit.id, jr.edit_to_dict(edit)))
        self._emit(EDIT_ADD, edit.id, jr.describe_edit(edit))
        for proxy in sorted(self._proxies):
            self._translate_and_set(proxy, cause, built.get(proxy))
        self._poke_expiry()
        return self._view(rec)

    def remove_edit(self, edit_id: str, detail: str = "") -> dict:
        self._refuse_if_readonly()
        rec = self.records.get(edit_id)
        if rec is None or rec.state != "active":
            known = ", ".join(sorted(i for i, r in self.records.items() if r.state == "active")) or "none"
            raise UsageError(f"no active edit {edit_id!r} (active: {known})")
        rec.state = "removed"
        rec.detail = detail
        self._journal(jr.JournalEntry(self.clock(), jr.EDIT_REMOVE, edit_id, detail=detail))
        self._emit(EDIT_REMOVE, edit_id, detail)
        self._recompute((f"remove:{edit_id}",))
        self._poke_expiry()
        return self._view(rec)

    def clear_faults(self) -> list[str]:
        """The kill switch: every active fault goes, in one push per proxy."""
        self._refuse_if_readonly()
        ids = [i for i, r in self.records.items() if r.state == "active" and isinstance(r.edit, FaultEdit)]
        for i in ids:
            self.records[i].state = "removed"
            self.records[i].detail = "cleared"
        self._journal(jr.JournalEntry(self.clock(), jr.CLEAR, edit_ids=tuple(ids)))
        self._emit(CLEAR, "", f"{len(ids)} fault(s) cleared", cause=tuple(ids))
        self._recompute(("clear",))
        self._poke_expiry()
        return ids

    def _refuse_if_readonly(self) -> None:
        if self.readonly:
            raise UsageError("meshtui runs read-only (--readonly): no fault or scope edit is taken")

    def edits(self, kind: str | None = None, include_ended: bool = False) -> list[dict]:
        out = []
        for rec in self.records.values():
            if kind == "fault" and not isinstance(rec.edit, FaultEdit):
                continue
            if kind == "scope" and not isinstance(rec.edit, ScopeEdit):
                continue
            if not include_ended and rec.state != "active":
                continue
            out.append(self._view(rec))
        return out

    def active_edits(self) -> list[Edit]:
        return [r.edit for r in self.records.values() if r.state == "active"]

    def subscribe(self, cb: Callable[[ev.XdsEvent], None]) -> Callable[[], None]:
        return self.bus.subscribe(cb)

    def journal_entries(self) -> list[jr.JournalEntry]:
        if self.journal is None:
            return []
        self._flush_journal()
        entries, _bad = self.journal.read()
        return entries

    async def wait_synced(self, proxy: str, timeout: float = 10.0) -> bool:
        if self._is_synced(proxy):
            return True
        fut = asyncio.get_running_loop().create_future()
        self._sync_waiters.append((proxy, fut))
        try:
            await asyncio.wait_for(fut, timeout)
            return True
        except TimeoutError:
            return False
        finally:
            self._sync_waiters = [(p, f) for p, f in self._sync_waiters if f is not fut]

    def resync(self, cause: str = "sources") -> None:
        """Re-translate every proxy (after the translator's sources changed)."""
        invalidate = getattr(self.translator, "invalidate", None)
        if invalidate is not None:
            invalidate()
        self._recompute((cause,))

    # ---- views ------------------------------------------------------------------------------

    def _view(self, rec: EditRecord) -> dict:
        e = rec.edit
        now = self.clock()
        d = jr.edit_to_dict(e)
        exp = e.expires_at
        d.update({
            "state": rec.state,
            "detail": rec.detail,
            "summary": jr.describe_edit(e),
            "expiresAt": exp,
            "expiresIn": None if exp is None else max(0.0, exp - now),
            "expires": "never" if exp is None else ("expired" if exp <= now else f"in {format_duration(exp - now)}"),
            "proxies": self._push_states(rec),
        })
        if isinstance(e, FaultEdit):
            d["kind"] = e.kind
            d["targetText"] = e.target.describe()
        return d

    def _push_states(self, rec: EditRecord) -> dict[str, str]:
        out: dict[str, str] = {}
        for proxy, gen in rec.generation.items():
            if proxy in rec.rejected_by:
                out[proxy] = "rejected"
            elif self.synced_gen.get(proxy, -1) >= gen:
                out[proxy] = "acked"
            else:
                out[proxy] = "pending"
        for proxy in rec.rejected_by:
            out.setdefault(proxy, "rejected")
        return out

    # ---- translating and pushing ------------------------------------------------------------

    def _recompute(self, cause: tuple[str, ...]) -> None:
        for proxy in sorted(self._proxies):
            self._translate_and_set(proxy, cause)

    def _build(self, proxy: str, edits: list[Edit], cause: tuple[str, ...]) -> NodeSnapshot | str:
        """This proxy's snapshot with these edits, or why there is none (the error text)."""
        now = self.clock()
        try:
            res = self.translator.resources(proxy, edits, now)
        except TranslateFailed as exc:
            return str(exc)
        if self.loopback_only:
            bad = self._non_loopback(LISTENER, res.listeners) + self._non_loopback(ENDPOINT, res.endpoints)
            if bad:
                return "refusing to push: not loopback in demo/test mode: " + ", ".join(sorted(set(bad))[:5])
        try:
            return build_snapshot(self.packer, clusters=res.clusters, endpoints=res.endpoints,
                                  listeners=res.listeners, routes=res.routes,
                                  runtime=dict(getattr(res, "runtime", {}) or {}), cause=cause,
                                  prev=self.cache.get(proxy))
        except (ResourceError, ValueError, TypeError, OverflowError) as exc:
            return f"proxy {proxy}: {exc}"

    def _translate_and_set(self, proxy: str, cause: tuple[str, ...],
                           built: NodeSnapshot | str | None = None) -> None:
        snap = self._build(proxy, self.active_edits(), cause) if built is None else built
        if isinstance(snap, str):
            self._on_build_failed(proxy, snap, cause)
            return
        self.translate_errors.pop(proxy, None)
        self._set(proxy, snap, cause)

    def _set(self, proxy: str, snap: NodeSnapshot, cause: tuple[str, ...]) -> None:
        cur = self.cache.get(proxy)
        if cur is not None and all(cur.types[t].version == snap.types[t].version for t in PUSH_ORDER):
            return  # nothing changed for this proxy
        self.cache.set(proxy, snap)
        for c in cause:
            rec = self.records.get(c)
            if rec is not None:
                rec.generation[proxy] = snap.generation
        if not any(c in self.records for c in cause):
            # A first translation (start, connect, restore) carries every active edit.
            for rec in self.records.values():
                if rec.state == "active":
                    rec.generation.setdefault(proxy, snap.generation)

    def _on_build_failed(self, proxy: str, detail: str, cause: tuple[str, ...]) -> None:
        """The proxy cannot be given the current state. It must not keep serving faults that
        were meanwhile removed: its last snapshot goes out again with an empty fault layer (every
        live fault off), so a failure errs towards no fault, never towards a stale one."""
        cur = self.cache.get(proxy)
        runtime = cur.types.get(RUNTIME) if cur is not None else None
        if cur is not None and runtime is not None and runtime.version != _EMPTY_LAYER.version:
            types = dict(cur.types)
            types[RUNTIME] = _EMPTY_LAYER
            self.cache.set(proxy, NodeSnapshot(types, next_generation(), cause))
            detail += "; its live faults are withdrawn until it translates again"
        if detail.startswith("refusing to push"):
            self.translate_errors[proxy] = detail
            self.bus.emit(ev.XdsEvent(ev.REFUSED, proxy, detail=detail, cause=cause))
        else:
            self._translate_error(proxy, detail)

    def _dry_run(self, edits: list[Edit], cause: tuple[str, ...]) -> dict[str, NodeSnapshot]:
        """Every known proxy's snapshot with `edits`, or UsageError naming the first proxy that
        cannot take them (and which could before): an edit that breaks translation is refused
        instead of leaving that proxy on stale config."""
        out: dict[str, NodeSnapshot] = {}
        for proxy in sorted(self._proxies):
            snap = self._build(proxy, edits, cause)
            if isinstance(snap, str):
                if proxy in self.translate_errors:
                    continue  # already broken without this edit: not this edit's doing
                raise UsageError(f"refused: with this edit {snap}")
            out[proxy] = snap
        return out

    def _non_loopback(self, type_url: str, resources: list[dict]) -> list[str]:
        """non_loopback_addresses, looked for once per SharedList (the translator hands back the
        same lists for unchanged resources and keeps them as long as their snapshot version)."""
        if isinstance(resources, Joined):
            return self._non_loopback(type_url, resources.shared) + self._non_loopback(type_url, resources.own)
        if isinstance(resources, SharedList):
            if resources.non_loopback is None:
                resources.non_loopback = non_loopback_addresses(type_url, resources)
            return resources.non_loopback
        return non_loopback_addresses(type_url, resources)

    def _translate_error(self, proxy: str, detail: str) -> None:
        self.translate_errors[proxy] = detail
        self.bus.emit(ev.XdsEvent(TRANSLATE_ERROR, proxy, detail=detail))

    # ---- events: journal, sync tracking, NACK -> revert ------------------------------------

    def _emit(self, kind: str, edit_id: str, detail: str, cause: tuple[str, ...] = ()) -> None:
        self.bus.emit(ev.XdsEvent(kind, "", detail=detail, cause=cause or ((edit_id,) if edit_id else ())))

    def _on_event(self, e: ev.XdsEvent) -> None:
        jkind = _JOURNALED_XDS.get(e.kind)
        if jkind is not None and self.journal is not None and not self.readonly and not self._stopped:
            records = self.records
            edit_ids = tuple([c for c in e.cause if c in records]) if e.cause else ()
            self._journal_soon(jr.encode_fields(e.wall, jkind, "", e.proxy, e.type, e.version, e.detail, edit_ids))
        if e.kind == ev.ACK:
            self._check_synced(e.proxy)
        elif e.kind == ev.NACK:
            self._on_nack(e)

    def _on_nack(self, e: ev.XdsEvent) -> None:
        culprits = [self.records[c] for c in e.cause if c in self.records]
        for rec in culprits:
            rec.rejected_by[e.proxy] = e.detail
            if rec.state == "active":
                rec.state = "rejected"
                rec.detail = f"{e.proxy} rejected {e.type}: {e.detail}"
                self._journal(jr.JournalEntry(self.clock(), jr.REVERT, rec.edit.id, detail=rec.detail))
                self._emit(REVERT, rec.edit.id, rec.detail)
        if any(r.state == "rejected" for r in culprits):
            # Recompute without the rejected edit: the result is the config Envoy still holds.
            asyncio.get_running_loop().call_soon(self._recompute, ("revert",))

    def _is_synced(self, proxy: str) -> bool:
        snap = self.cache.get(proxy)
        return snap is not None and self.synced_gen.get(proxy, -1) >= snap.generation

    def _check_synced(self, proxy: str) -> None:
        snap = self.cache.get(proxy)
        if snap is None:
            return
        if self.synced_gen.get(proxy, -1) >= snap.generation:
            # already marked for this snapshot (the walk below could only set the same value,
            # and waiters for a synced proxy return at once): an edit's later ACKs cost nothing
            return
        streams = self.ads.streams_of(proxy)
        if not streams:
            return
        for s in streams:
            for t, st in s.types.items():
                if not st.subscribed:
                    continue
                want = self.cache.desired(proxy, t)
                if want is None:
                    continue
                if st.outstanding is not None and st.outstanding != st.heartbeat_nonce:
                    return
                if st.acked_version != want.version:
                    return
        self.synced_gen[proxy] = snap.generation
        for p, fut in list(self._sync_waiters):
            if p == proxy and not fut.done():
                fut.set_result(True)

    # ---- TTL ---------------------------------------------------------------------------------

    def _poke_expiry(self) -> None:
        if self._edits_changed is not None:
            self._edits_changed.set()

    async def _expiry_loop(self) -> None:
        assert self._edits_changed is not None
        while not self._stopping:
            nxt = next_expiry(self.active_edits())
            wait = 5.0 if nxt is None else min(5.0, max(0.0, nxt - self.clock()))
            self._edits_changed.clear()
            try:
                await asyncio.wait_for(self._edits_changed.wait(), wait)
            except TimeoutError:
                pass
            self.expire_now()

    def expire_now(self) -> list[str]:
        now = self.clock()
        gone = [r for r in self.records.values() if r.state == "active" and is_expired(r.edit, now)]
        for rec in gone:
            rec.state = "expired"
            self._journal(jr.JournalEntry(now, jr.EXPIRE, rec.edit.id))
            self._emit(EXPIRE, rec.edit.id, "TTL reached")
        if gone:
            self._recompute(tuple(f"expire:{r.edit.id}" for r in gone))
        return [r.edit.id for r in gone]

    # ---- journal -----------------------------------------------------------------------------

    def _journal(self, entry: jr.JournalEntry) -> None:
        if self.journal is not None and not self.readonly:
            self._flush_journal()  # what the streams reported before this goes first
            try:
                self.journal.append(entry)
            except Exception as exc:  # noqa: BLE001 - a full disk must not stop a kill switch
                self.bus.emit(ev.XdsEvent("journal-error", "", detail=str(exc)))

    def _journal_soon(self, line: str) -> None:
        """xDS traffic (pushes, ACKs, connects) is journaled at the end of the loop turn, in
        order, in one write: a fault's fan-out to 200 streams is 400 entries, and writing and
        flushing each on its own sat between one stream's push and the next. Edit entries and
        journal reads flush these first, so the file keeps the order things happened in."""
        if self.journal is None or self.readonly or self._stopped:
            return
        if not self._journal_buf:
            try:
                asyncio.get_running_loop().call_soon(self._flush_journal)
            except RuntimeError:  # no loop (a synchronous caller): write it now
                self._journal_buf.append(line)
                self._flush_journal()
                return
        self._journal_buf.append(line)

    def _flush_journal(self) -> None:
        buf, self._journal_buf = self._journal_buf, []
        if buf and self.journal is not None and not self._stopped:
            try:
                self.journal.append_lines(buf)
            except Exception as exc:  # noqa: BLE001 - as in _journal
                self.bus.emit(ev.XdsEvent("journal-error", "", detail=str(exc)))

    def _restore_from_journal(self) -> None:
        if self.journal is None:
            return
        entries, bad = self.journal.read()
        now = self.clock()
        rp = jr.replay(entries, now)
        for ed in rp.expired:
            self._journal(jr.JournalEntry(now, jr.DROP_EXPIRED, ed.id))
        for ed in rp.active:
            errs = validate_edit(ed, self.limits)
            other = scope_conflict(self.active_edits(), ed) if isinstance(ed, ScopeEdit) else None
            if errs or other is not None:
                # a journal from an older meshtui, or edited by hand: not restored, and said so
                if errs:
                    detail = "not restored: " + "; ".join(errs)
                else:
                    assert isinstance(ed, ScopeEdit) and other is not None  # conflicts are looked for on scopes only
                    detail = _scope_conflict_message(ed, other)
                self._journal(jr.JournalEntry(now, jr.REVERT, ed.id, detail=detail))
                self._emit(REVERT, ed.id, detail)
                continue
            self.records[ed.id] = EditRecord(ed)
            self._journal(jr.JournalEntry(now, jr.RESTORE, ed.id, jr.edit_to_dict(ed)))
            self._emit(RESTORE, ed.id, jr.describe_edit(ed))
        for n, why in bad:
            self.bus.emit(ev.XdsEvent("journal-error", "", detail=f"{self.journal.path}:{n}: {why}"))


def _scope_conflict_message(new: ScopeEdit, other: ScopeEdit) -> str:
    return (f"scope edit {other.id} already sets the Sidecar scope of namespace {new.namespace} "
            f"({jr.describe_edit(other)}); one scope edit per namespace, so both cannot be in force: "
            f"remove it first (meshtui scope rm {other.id}) and set the scope you want in one edit")


def _probe_bind(host: str, port: int, listen: str) -> None:
    """Fail on a taken port with meshtui's message before gRPC tries: gRPC's C core logs its own
    error line to stderr first, which users should not have to read. SO_REUSEADDR as gRPC sets
    it, so only a live listener (not a TIME_WAIT leftover) counts as taken."""
    import socket

    if port == 0:
        return
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    try:
        infos = socket.getaddrinfo(host, port, family, socket.SOCK_STREAM)
    except OSError:
        return  # let gRPC say what is wrong with the name
    for fam, kind, proto, _canon, sockaddr in infos:
        with socket.socket(fam, kind, proto) as s:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                s.bind(sockaddr)
            except OSError as exc:
                if exc.errno == errno.EADDRINUSE:
                    raise UsageError(f"--listen {listen}: the address is already in use "
                                     "(another meshtui serve or demo?); pick another port or port 0") from None
                if exc.errno == errno.EADDRNOTAVAIL:
                    raise UsageError(f"--listen {listen}: no such local address") from None
                raise UsageError(f"--listen {listen}: cannot bind ({exc.strerror or exc})") from None


def _server_credentials(tls: TlsConfig):
    import grpc

    def read(path: str, what: str) -> bytes:
        try:
            with open(path, "rb") as fh:
                return fh.read()
        except OSError as exc:
            raise UsageError(f"{what} {path}: {exc.strerror or exc}") from None

    cert = read(tls.cert, "--tls-cert")
    key = read(tls.key, "--tls-key")
    ca = read(tls.client_ca, "--tls-client-ca") if tls.client_ca else None
    return grpc.ssl_server_credentials([(key, cert)], root_certificates=ca, require_client_auth=ca is not None)
