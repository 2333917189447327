"""The demo, as an object the CLI and the TUI share.

`DemoSession` starts the bundled bookinfo-like mesh on loopback: one identity backend per pod
(each on its own 127.A.B.x address, A.B chosen at random so demos and tests can run side by
side), meshtui's control plane (ADS + control API on 127.0.0.1), a real Envoy sidecar for
productpage whose outbound listeners bind on their own loopback address, and an ingress-gateway
Envoy. Everything runs on a background asyncio thread; every public method is thread-safe and
returns plain data.

    s = DemoSession()
    info = s.start()              # -> DemoInfo: server, envoyAdmin, listeners {port: addr}, ...
    s.proxies()                   # per proxy: connected, synced, per type (CDS/EDS/LDS/RTDS/RDS):
                                  #   {acked, sent, inFlight, pushes, acks, nacks, lastNack}
    f = s.add_fault(host="reviews.default.svc.cluster.local", subset="v2", abort=503,
                    percent=100, ttl=60, reason="game day")          # -> edit view (dict)
    s.add_fault(virtual_service="default/reviews", rule=0, delay=0.2, percent=50)
    s.faults() / s.scopes() / s.edits(include_ended=True)            # edit views
    s.remove(f["id"]); s.clear_faults()                              # the kill switch
    s.set_scope(namespace="default", egress_hosts=["./ratings.default.svc.cluster.local"],
                outbound_policy="REGISTRY_ONLY", workload_labels={"app": "productpage"})
    unsubscribe = s.subscribe(callback)   # callback(XdsEvent) on the control-plane thread:
                                          # use App.call_from_thread in Textual
    s.snapshot()                  # the MeshSnapshot with the active edits overlaid (for traces)
    s.proxy_config(proxy)         # translate(snapshot(), proxy): what that proxy is being sent
    s.request("reviews", "/reviews/1", headers={"end-user": "jason"})   # through the sidecar:
                                  #   (status, parsed JSON or text, seconds)
    s.journal_entries(); s.stop() # stops every child by PID

An edit view is a dict: id, type (fault|scope), summary, state (active|rejected|expired|removed),
detail, expiresAt/expiresIn/expires, proxies {proxy: pending|acked|rejected}, and the edit's
own fields (target, percent, abort_status, delay_seconds, ...).
"""

from __future__ import annotations

import http.client
import json
import os
import random
import socket
import stat
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from meshtui.demo.backends import Backend, Identity
from meshtui.edits.journal import JournalEntry
from meshtui.edits.model import Edit, FaultEdit, FaultTarget, ScopeEdit
from meshtui.errors import MeshtuiError, UsageError
from meshtui.heap import keeping, settle
from meshtui.model.snapshot import MeshSnapshot
from meshtui.translate.config import ProxyConfig
from meshtui.xds.bootstrap import ads_bootstrap
from meshtui.xds.control_plane import ControlPlane, default_owner, new_edit_id
from meshtui.xds.credentials import Authenticator, load_or_create_token
from meshtui.xds.envoy_process import EnvoyProcess
from meshtui.xds.events import XdsEvent
from meshtui.xds.journal_file import JournalFile, state_dir
from meshtui.xds.loop_thread import LoopThread
from meshtui.xds.translator import MeshTranslator

T = TypeVar("T")

MESH_DIR = Path(__file__).parent / "mesh"
SIDECAR_APP = "productpage"
GATEWAY_LABEL = ("istio", "ingressgateway")
DEMO_BLOCK = "127.0.10."  # the pod addresses in mesh/*.yaml; remapped to a free 127.A.B.0/24
SIDECAR_HOST = 250  # 127.A.B.250: productpage's sidecar binds its outbound listeners here


@dataclass
class DemoInfo:
    server: str
    envoy_admin: str
    listeners: dict[str, str]  # port -> address of the sidecar's outbound listeners
    sidecar_proxy: str
    gateway_proxy: str | None = None
    gateway_admin: str | None = None
    gateway_listeners: dict[str, str] = field(default_factory=dict)
    pods: dict[str, str] = field(default_factory=dict)  # pod -> address:port of its backend

    def to_json(self) -> dict:
        """The `meshtui demo --no-tui` line: CONTRACT fields first, then extras."""
        d: dict[str, Any] = {"server": self.server, "envoyAdmin": self.envoy_admin, "listeners": self.listeners}
        d["sidecar"] = self.sidecar_proxy
        if self.gateway_proxy:
            d["gateway"] = {"proxy": self.gateway_proxy, "envoyAdmin": self.gateway_admin,
                            "listeners": self.gateway_listeners}
        d["pods"] = self.pods
        return d


class DemoError(MeshtuiError):
    pass


def _pick_block(port: int = 9080, tries: int = 40) -> str:
    """A 127.A.B. prefix whose .1 address can bind `port` (so no other demo uses it)."""
    rng = random.Random()
    for _ in range(tries):
        prefix = f"127.{rng.randint(100, 254)}.{rng.randint(1, 254)}."
        with socket.socket() as s:
            try:
                s.bind((prefix + "1", port))
                return prefix
            except OSError:
                continue
    raise DemoError("no free loopback block for the demo (tried 40 of 127.100-254.x.x)")


class DemoSession:
    def __init__(self, *, mesh_dir: Path | None = None, journal: JournalFile | None = None,
                 runtime_ttl: float = 3.0, workdir: Path | None = None, with_gateway: bool = True,
                 restore: bool = True, log_level: str = "warning", prearm_faults: bool = True,
                 readonly: bool = False, token_path: Path | None = None) -> None:
        self.mesh_dir = mesh_dir or MESH_DIR
        self.prearm_faults = prearm_faults
        self.journal = journal or JournalFile(state_dir() / "demo-journal.jsonl")
        self.runtime_ttl = runtime_ttl
        self.with_gateway = with_gateway
        self.restore = restore
        self.readonly = readonly  # serve the mesh, refuse and never restore edits
        # the user's token file (which the CLI reads too), or one beside a journal given by the caller
        self.token_path = token_path or (None if journal is None else self.journal.path.parent / "token")
        self.token: str | None = None
        self.log_level = log_level
        self._own_workdir = workdir is None
        self.cleaned: list[Path] = []  # stale work folders of killed demos, removed at start
        if workdir is None:
            self.cleaned = clean_stale_workdirs()
            workdir = Path(tempfile.mkdtemp(prefix=WORKDIR_PREFIX))
            (workdir / OWNER_FILE).write_text(_process_identity(os.getpid()))
        self.workdir = workdir
        self.loop: LoopThread | None = None
        self.cp: ControlPlane | None = None
        self.base_snapshot: MeshSnapshot | None = None
        self.translator: MeshTranslator | None = None
        self.backends: list[Backend] = []
        self.envoys: list[EnvoyProcess] = []
        self.info: DemoInfo | None = None
        self.remap: dict[str, str] = {}
        self._options: dict[str, Any] = {}

    # ---- lifecycle --------------------------------------------------------------------------

    def start(self, timeout: float = 30.0) -> DemoInfo:
        try:
            return self._start(timeout)
        except BaseException:
            self.stop()
            raise

    def _start(self, timeout: float) -> DemoInfo:
        from meshtui.sources.loader import load_sources
        from meshtui.translate import TranslateOptions

        result = load_sources([str(self.mesh_dir)])
        errors = [d for d in result.diagnostics if d.level == "Error"]
        if errors:
            raise DemoError("the bundled demo mesh does not load: " + "; ".join(str(d) for d in errors[:3]))
        snap = result.snapshot
        self.base_snapshot = snap
        prefix = _pick_block()
        pods = [p for p in snap.pods if getattr(p.status, "pod_ip", None) or _pod_ip(p)]
        self.remap = {}
        for p in pods:
            ip = _pod_ip(p)
            if ip.startswith(DEMO_BLOCK):
                self.remap[ip] = prefix + ip[len(DEMO_BLOCK):]
        sidecar = _find_workload(snap, lambda labels: labels.get("app") == SIDECAR_APP, "default")
        gateway = _find_workload(snap, lambda labels: labels.get(GATEWAY_LABEL[0]) == GATEWAY_LABEL[1], None) \
            if self.with_gateway else None
        sidecar_addr = prefix + str(SIDECAR_HOST)
        self._options = {sidecar.ref: TranslateOptions(proxy_type="sidecar", bind_address=sidecar_addr,
                                                       endpoint_remap=dict(self.remap))}
        if gateway is not None:
            gw_addr = self.remap.get(gateway.ip, prefix + "100")
            self._options[gateway.ref] = TranslateOptions(proxy_type="router", bind_address=gw_addr,
                                                          endpoint_remap=dict(self.remap))
        self.translator = translator = MeshTranslator(snap, self._options.get, prearm=self.prearm_faults)

        self.loop = loop = LoopThread("meshtui-demo")
        self.token = load_or_create_token(self.token_path)
        self.cp = cp = ControlPlane(translator, journal=self.journal, runtime_ttl=self.runtime_ttl,
                               auth=Authenticator(self.token),
                               loopback_only=True, restore=self.restore,
                               readonly=self.readonly)

        async def boot() -> str:
            for p in pods:
                labels = dict(p.metadata.labels or {})
                if labels.get(GATEWAY_LABEL[0]) == GATEWAY_LABEL[1]:
                    continue  # the gateway pod is an Envoy, not a backend
                ip = self.remap.get(_pod_ip(p), _pod_ip(p))
                for port in _container_ports(p) or [9080]:
                    ident = Identity(labels.get("app", p.metadata.name), labels.get("version", ""),
                                     p.metadata.name, p.metadata.namespace)
                    self.backends.append(await Backend(ident, ip, port).start())
            addr = await cp.start("127.0.0.1:0")
            for proxy in self._options:
                cp.add_proxy(proxy)
            return addr

        server = loop.run(boot(), timeout)
        for proxy in self._options:
            err = loop.call(cp.translate_errors.get, proxy)
            if err:
                raise DemoError(err)
        side_env = self._start_envoy(server, sidecar.ref, "sidecar", "sidecar", timeout)
        gw_env = self._start_envoy(server, gateway.ref, "gateway", "gateway", timeout) if gateway else None
        for proxy in self._options:
            if not loop.run(cp.wait_synced(proxy, timeout), timeout + 5):
                raise DemoError(f"proxy {proxy} did not sync with the control plane within {timeout:.0f}s")
        settle(collect=True)  # as serve does once its proxies are translated
        self.info = DemoInfo(
            server=server,
            envoy_admin=side_env.admin or "",
            listeners=self._listener_addresses(sidecar.ref),
            sidecar_proxy=sidecar.ref,
            gateway_proxy=gateway.ref if gateway else None,
            gateway_admin=gw_env.admin if gw_env else None,
            gateway_listeners=self._listener_addresses(gateway.ref) if gateway else {},
            pods={f"{b.identity.namespace}/{b.identity.pod}": b.address for b in self.backends},
        )
        return self.info

    def _start_envoy(self, server: str, proxy: str, kind: str, name: str, timeout: float) -> EnvoyProcess:
        boot = ads_bootstrap(server, proxy, kind=kind, admin_port=0, token=self.token)
        env = EnvoyProcess(boot, self.workdir, name=name, log_level=self.log_level)
        self.envoys.append(env)
        env.start(wait_ready=True, timeout=timeout)
        return env

    def _listener_addresses(self, proxy: str) -> dict[str, str]:
        if self.translator is None:
            raise DemoError("the demo is not running")
        res = self.translator.resources(proxy, self.active_edits(), time.time())
        out: dict[str, str] = {}
        for lst in res.listeners:
            sa = (lst.get("address") or {}).get("socket_address") or {}
            if sa.get("address") and sa.get("port_value") is not None and lst.get("bind_to_port", True) is not False:
                out[str(sa["port_value"])] = f"{sa['address']}:{sa['port_value']}"
        return out

    def stop(self) -> None:
        """Stop every child by PID, then the control plane and the backends."""
        for env in self.envoys:
            try:
                env.stop()
            except Exception:  # noqa: BLE001 - keep stopping the rest
                pass
        self.envoys = []
        if self.loop is not None:
            async def down() -> None:
                if self.cp is not None and self.cp._server is not None:
                    await self.cp.stop(0)
                for b in self.backends:
                    await b.stop()

            try:
                self.loop.run(down(), 10)
            except Exception:  # noqa: BLE001 - stopping is best effort; the loop is stopped next either way
                pass
            self.loop.stop()
            self.loop = None
        self.backends = []
        if self._own_workdir:
            import shutil

            shutil.rmtree(self.workdir, ignore_errors=True)

    # ---- thread-safe API ---------------------------------------------------------------------

    def _running(self) -> tuple[LoopThread, ControlPlane]:
        if self.loop is None or self.cp is None:
            raise DemoError("the demo is not running")
        return self.loop, self.cp

    def _call(self, fn: Callable[..., T], *args: Any) -> T:
        """`fn(*args)` on the loop thread (the control plane is single-threaded)."""
        loop, _ = self._running()
        return loop.call(fn, *args)

    def _cp(self) -> ControlPlane:
        return self._running()[1]

    def proxies(self) -> list[dict[str, Any]]:
        return self._call(self._cp().proxies)

    def add_fault(self, *, host: str | None = None, subset: str | None = None,
                  virtual_service: str | None = None, rule: int | None = None,
                  abort: int | None = None, delay: float | None = None, percent: float = 100.0,
                  ttl: float = 600.0, reason: str = "", owner: str | None = None) -> dict:
        edit = FaultEdit(id=new_edit_id("f"), target=FaultTarget(virtual_service=virtual_service, rule=rule,
                                                                 host=host, subset=subset),
                         percent=percent, abort_status=abort, delay_seconds=delay, ttl_seconds=ttl,
                         created_at=time.time(), reason=reason, owner=owner or default_owner())
        return self._call(self._cp().add_edit, edit)

    def set_scope(self, *, namespace: str, egress_hosts: list[str] | tuple[str, ...] = (),
                  outbound_policy: str | None = None, workload_labels: dict[str, str] | None = None,
                  ttl: float | None = None, reason: str = "", owner: str | None = None) -> dict:
        edit = ScopeEdit(id=new_edit_id("s"), namespace=namespace, egress_hosts=tuple(egress_hosts),
                         outbound_traffic_policy=outbound_policy, workload_labels=dict(workload_labels or {}),
                         ttl_seconds=ttl, created_at=time.time(), reason=reason, owner=owner or default_owner())
        return self._call(self._cp().add_edit, edit)

    def remove(self, edit_id: str, reason: str = "") -> dict[str, Any]:
        return self._call(self._cp().remove_edit, edit_id, reason)

    def clear_faults(self) -> list[str]:
        return self._call(self._cp().clear_faults)

    def faults(self, include_ended: bool = False) -> list[dict[str, Any]]:
        return self._call(self._cp().edits, "fault", include_ended)

    def scopes(self, include_ended: bool = False) -> list[dict[str, Any]]:
        return self._call(self._cp().edits, "scope", include_ended)

    def edits(self, include_ended: bool = False) -> list[dict[str, Any]]:
        return self._call(self._cp().edits, None, include_ended)

    def active_edits(self) -> list[Edit]:
        return self._call(self._cp().active_edits)

    def subscribe(self, callback: Callable[[XdsEvent], None]) -> Callable[[], None]:
        """Events of the control plane; returns the unsubscribe function."""
        return self._call(self._cp().subscribe, callback)

    def journal_entries(self) -> list[JournalEntry]:
        return self._call(self._cp().journal_entries)

    def wait_synced(self, proxy: str | None = None, timeout: float = 10.0) -> bool:
        loop, cp = self._running()
        proxies = [proxy] if proxy else list(self._options)
        return all(loop.run(cp.wait_synced(p, timeout), timeout + 5) for p in proxies)

    def snapshot(self) -> MeshSnapshot:
        """The mesh with the active edits overlaid, as it is being pushed."""
        from meshtui.edits.overlay import apply_edits

        if self.base_snapshot is None:
            raise DemoError("the demo is not running")
        edits = self.active_edits()
        return apply_edits(self.base_snapshot, edits, time.time()) if edits else self.base_snapshot

    def proxy_config(self, proxy: str) -> ProxyConfig:
        from meshtui.translate import translate

        with keeping():
            return translate(self.snapshot(), proxy, self._options.get(proxy))

    def request(self, host: str, path: str = "/", headers: dict[str, str] | None = None, port: int = 9080,
                via: str = "sidecar", timeout: float = 5.0) -> tuple[int, Any, float]:
        """Send one request through the sidecar (or `via="gateway"`): (status, body, seconds)."""
        if self.info is None:
            raise DemoError("the demo is not running")
        listeners = self.info.listeners if via == "sidecar" else self.info.gateway_listeners
        addr = listeners.get(str(port))
        if addr is None:
            raise UsageError(f"no {via} listener on port {port} (have: {', '.join(sorted(listeners)) or 'none'})")
        h, _, p = addr.rpartition(":")
        conn = http.client.HTTPConnection(h, int(p), timeout=timeout)
        t0 = time.monotonic()
        try:
            conn.request("GET", path, headers={"Host": host, **(headers or {})})
            r = conn.getresponse()
            raw = r.read()
        finally:
            conn.close()
        dt = time.monotonic() - t0
        try:
            body: Any = json.loads(raw)
        except ValueError:
            body = raw.decode("utf-8", "replace")
        return r.status, body, dt


WORKDIR_PREFIX = "meshtui-demo-"
OWNER_FILE = "meshtui-owner.pid"


def _process_identity(pid: int) -> str:
    """"PID STARTTIME": the start time (clock ticks since boot, /proc/PID/stat field 22) tells a
    live owner from a new process that got the same PID."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        start = stat.rsplit(")", 1)[1].split()[19]
    except (OSError, IndexError):
        start = "?"
    return f"{pid} {start}\n"


def clean_stale_workdirs(tmp: str | None = None) -> list[Path]:
    """Remove the work folders of demos that died without cleaning up (SIGKILL). Only folders
    meshtui made: named meshtui-demo-*, real directories owned by this user, holding an owner
    file whose process is gone. Anything else is left alone."""
    import shutil

    base = Path(tmp or tempfile.gettempdir())
    removed: list[Path] = []
    try:
        candidates = [p for p in base.iterdir() if p.name.startswith(WORKDIR_PREFIX)]
    except OSError:
        return removed
    for d in candidates[:1000]:
        try:
            st = d.lstat()
            if not stat.S_ISDIR(st.st_mode) or st.st_uid != os.getuid():
                continue
            owner = (d / OWNER_FILE).read_text()
        except OSError:
            continue
        parts = owner.split()
        if len(parts) != 2 or not parts[0].isdigit():
            continue
        if _process_identity(int(parts[0])) == owner:
            continue  # its demo is still running
        shutil.rmtree(d, ignore_errors=True)
        removed.append(d)
    return removed


def _pod_ip(pod) -> str:
    st = getattr(pod, "status", None)
    for attr in ("pod_ip", "podIP"):
        v = getattr(st, attr, None) if st is not None else None
        if v:
            return v
    if isinstance(st, dict):
        return st.get("podIP", "")
    return ""


def _container_ports(pod) -> list[int]:
    out: list[int] = []
    spec = getattr(pod, "spec", None)
    for c in getattr(spec, "containers", ()) or ():
        for p in getattr(c, "ports", ()) or ():
            port = getattr(p, "container_port", None)
            if isinstance(port, int):
                out.append(port)
    return out


def _find_workload(snap, pred, namespace: str | None):
    for w in snap.workloads:
        if (namespace is None or w.namespace == namespace) and pred(w.labels):
            return w
    raise DemoError("the bundled demo mesh lacks a workload it needs")
