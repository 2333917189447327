"""What the control plane pushes: the mesh (sources + edits) translated per proxy.

`Translator` is the seam between the control plane and the core: `MeshTranslator` is the real
one (load_sources -> apply_edits -> translate -> envoy_resources); tests may pass their own."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from meshtui.edits.model import Edit, FaultEdit, ScopeEdit
from meshtui.heap import keeping
from meshtui.xds.resources import Joined, SharedList

if TYPE_CHECKING:
    from meshtui.translate import EnvoyResources, ProxyConfig


@dataclass
class ProxyResources:
    """The EnvoyResources shape (meshtui.translate): lists of Envoy v3 JSON dicts, and runtime
    keys -> percentage for the fault layer."""

    listeners: list[dict] = field(default_factory=list)
    routes: list[dict] = field(default_factory=list)
    clusters: list[dict] = field(default_factory=list)
    endpoints: list[dict] = field(default_factory=list)
    runtime: dict[str, float] = field(default_factory=dict)


class TranslateFailed(Exception):
    """The mesh cannot be translated for this proxy (unknown workload, ...): says why."""


class Translator(Protocol):
    def resources(self, proxy: str, edits: list[Edit], now: float) -> Any:
        """An object with listeners/routes/clusters/endpoints/runtime (EnvoyResources)."""
        ...

    def check_edit(self, edit: Edit) -> list[str]:
        """Problems that make this edit meaningless for the mesh (unknown VS, rule index...)."""
        ...

    def proxies(self) -> list[str]:
        """Workloads ("NS/NAME") the sources know, for listings."""
        ...


OptionsFor = Callable[[str], Any]


@dataclass
class _Base:
    """A config translated without faults, for one set of scope edits: one proxy's, or the
    outbound part shared by every proxy of one sharing class (see share_key)."""

    scope_key: tuple[str, ...]
    config: ProxyConfig
    # rendered from it, as SharedLists (never mutated: the packer keeps their packed form on
    # them); for a shared base, without the representative's own inbound listener and clusters
    resources: EnvoyResources
    # pre-armed mode: each fault's runtime values on this config, computed once per fault (an
    # edit is a frozen value: equal edits give equal values)
    contrib: dict[FaultEdit, dict[str, Any]] = field(default_factory=dict)
    merged: tuple[list[FaultEdit], dict[str, Any]] | None = None  # the last push's faults and values
    shared: bool = False
    # where a fault can land: target host or "ns/name" of a VirtualService -> route config ->
    # the indexes of its virtual hosts that route there (built with the base: _fault_index)
    targets: dict[str, dict[str, list[int]]] | None = None


@dataclass
class _Member:
    """One proxy on a shared base: the base's outbound resources plus its own inbound ones. The
    lists are kept, so a push that changes nothing else hands the packer the very same lists."""

    base: _Base
    share: tuple  # its sharing class (share_key)
    listeners: list[dict]
    clusters: list[dict]
    endpoints: list[dict]


@dataclass
class _View:
    """The snapshot with one set of scope edits applied, its Translator (indexes shared by every
    proxy translated from it) and the label keys outbound config depends on."""

    snapshot: Any
    translator: Any  # meshtui.translate.Translator
    label_keys: frozenset[str]


def outbound_label_keys(snapshot: Any) -> frozenset[str]:
    """The label keys a sidecar's outbound config can depend on: Sidecar workloadSelectors,
    DestinationRule workloadSelectors and VirtualService sourceLabels (http, tcp and tls
    matches). Two sidecars of one namespace whose labels agree on these keys get the same
    listeners, routes and clusters; only the inbound side (which Services select the pod,
    its PeerAuthentications and AuthorizationPolicies) is the pod's own."""
    keys: set[str] = set()
    for sc in getattr(snapshot, "sidecars", ()):
        sel = sc.spec.workload_selector
        if sel is not None:
            keys.update(sel.labels)
    for dr in getattr(snapshot, "destination_rules", ()):
        sel = dr.spec.workload_selector
        if sel is not None:
            keys.update(sel.match_labels)
    for vs in getattr(snapshot, "virtual_services", ()):
        for rule in vs.spec.http:
            for m in rule.match:
                keys.update(m.source_labels)
        for l4 in (*vs.spec.tcp, *vs.spec.tls):
            for m in l4.match:
                keys.update(m.source_labels)
    return frozenset(keys)


def share_key(snapshot: Any, workload: Any, label_keys: frozenset[str]) -> tuple | None:
    """The sharing class of a sidecar (namespace, cluster, the labels on `label_keys`), or None
    for a proxy that gets a translation of its own (gateways: few, and their Gateway
    selectors pick them by any label)."""
    from meshtui.translate.gateway import is_gateway_workload

    if is_gateway_workload(snapshot, workload):
        return None
    labels = workload.labels
    return ("sidecar", workload.namespace, workload.cluster,
            tuple(sorted((k, labels[k]) for k in label_keys if k in labels)))


class MeshTranslator:
    """The real thing: a MeshSnapshot (from load_sources) with edits overlaid, translated per
    proxy. `options_for(proxy)` gives the TranslateOptions (bind address, endpoint remap) a
    proxy needs, or None.

    Faults only decorate routes (translate's contract: a per-route HTTPFault plus a runtime
    key), so the config without faults is translated once per proxy and set of scope edits, and
    a fault change re-renders only the virtual hosts whose routes it touches. Every other
    resource is handed back as the very same dict, which the packer recognises by identity: a
    fault toggle on a 1,000-service mesh costs a few milliseconds instead of a full translation.

    Sidecars without options of their own share: the proxies of one sharing class (share_key:
    namespace, cluster, the labels outbound config reads) get one translation and one rendering
    of their listeners, routes and clusters per snapshot version, and each adds only its own
    inbound listener and clusters. `translations` counts real translations (the test of that
    sharing reads it). `fast=False` always translates from scratch (tests compare both)."""

    def __init__(self, snapshot: Any, options_for: OptionsFor | None = None, fast: bool = True,
                 prearm: bool = True) -> None:
        self.snapshot = snapshot
        self.prearm = prearm  # faults as runtime-layer pushes only (see _prearmed)
        self.options_for = options_for or (lambda _proxy: None)
        self.fast = fast
        self.translations = 0
        self._base: dict[tuple, _Base] = {}  # (scope key, share key or proxy) -> base
        self._members: dict[str, _Member] = {}
        self._views: dict[tuple[str, ...], _View] = {}

    def invalidate(self) -> None:
        self._base.clear()
        self._members.clear()
        self._views.clear()

    def resources(self, proxy: str, edits: list[Edit], now: float) -> Any:
        try:
            if not self.fast:
                return self._full(proxy, edits, now)
            faults = [e for e in edits if isinstance(e, FaultEdit) and (e.expires_at > now)]
            scopes = [e for e in edits if isinstance(e, ScopeEdit)]
            key = tuple(sorted(e.id for e in scopes))
            member = self._member(proxy, key, scopes, now)
            base = member.base if member is not None else self._own_base(proxy, key, scopes, now)
            if not faults:
                res = base.resources
            elif _is_prearmed(base):
                res = _prearmed_faults(base, faults)
            else:
                res = _with_faults(base, faults)
            if member is None:
                return res
            from meshtui.translate import EnvoyResources

            return EnvoyResources(member.listeners, res.routes, member.clusters, member.endpoints, res.runtime)
        except TranslateFailed:
            raise
        except Exception as exc:
            raise TranslateFailed(f"cannot translate the mesh for proxy {proxy}: {exc}") from exc

    # ---- one translation per proxy, or per sharing class --------------------------------------

    def _view(self, key: tuple[str, ...], scopes: Sequence[Edit], now: float) -> _View:
        view = self._views.get(key)
        if view is None:
            from meshtui.translate import Translator

            snap = self.snapshot
            if scopes:
                from meshtui.edits.overlay import apply_edits

                snap = apply_edits(self.snapshot, scopes, now)
            if len(self._views) > 8:  # scope edit sets come and go: forget the old ones
                self._views.clear()
                self._members.clear()
                self._base = {k: b for k, b in self._base.items() if k[0] == "own"}
            view = self._views[key] = _View(snap, Translator(snap), outbound_label_keys(snap))
        return view

    def _own_base(self, proxy: str, key: tuple[str, ...], scopes: Sequence[Edit], now: float) -> _Base:
        base = self._base.get(("own", proxy))
        if base is None or base.scope_key != key:
            cfg = self._translate(proxy, scopes, now)
            base = self._base[("own", proxy)] = _Base(key, cfg, _kept(cfg.envoy_resources()))
            _fault_index(base)  # with the translation, not on the first fault edit (see _fault_index)
        return base

    def _member(self, proxy: str, key: tuple[str, ...], scopes: Sequence[Edit], now: float) -> _Member | None:
        """This proxy on its shared base, or None when it gets a translation of its own."""
        member = self._members.get(proxy)
        if member is not None and self._base.get((key, member.share)) is member.base:
            return member
        if self.options_for(proxy) is not None:
            return None  # its own bind address or endpoint map: rendered for it alone
        from meshtui.translate import resolve_workload

        view = self._view(key, scopes, now)
        wl = resolve_workload(view.snapshot, proxy)
        cls = share_key(view.snapshot, wl, view.label_keys)
        if cls is None:
            return None
        base = self._base.get((key, cls))
        if base is None:
            cfg = self._translate_in(view, wl)
            base = _Base(key, cfg, _outbound_only(cfg, cfg.envoy_resources()), shared=True)
            _fault_index(base)
            self._base[(key, cls)] = base
        own = _kept(_inbound_resources(view.snapshot, wl, base.config))
        res = base.resources
        member = _Member(base, cls, Joined(res.listeners, own.listeners), Joined(res.clusters, own.clusters),
                         Joined(res.endpoints, own.endpoints) if own.endpoints else res.endpoints)
        self._members[proxy] = member
        return member

    def _translate_in(self, view: _View, proxy: Any) -> Any:
        self.translations += 1
        with keeping():
            return view.translator.translate(proxy, _prearmed(None) if self.prearm else None)

    def _translate(self, proxy: str, edits: Sequence[Edit], now: float) -> Any:
        from meshtui.translate import translate

        self.translations += 1
        snap = self.snapshot
        if edits:
            from meshtui.edits.overlay import apply_edits

            snap = apply_edits(self.snapshot, edits, now)
        opts = self.options_for(proxy)
        with keeping():
            return translate(snap, proxy, _prearmed(opts) if self.prearm else opts)

    def _full(self, proxy: str, edits: list[Edit], now: float) -> Any:
        return self._translate(proxy, edits, now).envoy_resources()

    def check_edit(self, edit: Edit) -> list[str]:
        errs: list[str] = []
        if isinstance(edit, FaultEdit) and edit.target.virtual_service:
            ns, _, name = edit.target.virtual_service.partition("/")
            vs = _find_virtual_service(self.snapshot, ns, name)
            if vs is None:
                errs.append(f"--virtual-service {edit.target.virtual_service}: no such VirtualService in the sources")
            elif edit.target.rule is not None:
                n = _http_rule_count(vs)
                if n is not None and edit.target.rule >= n:
                    errs.append(f"--rule {edit.target.rule}: VirtualService {edit.target.virtual_service} has "
                                f"{n} http rule(s) (0..{max(n - 1, 0)})")
        if isinstance(edit, FaultEdit) and edit.target.host:
            errs.extend(self._check_host(edit.target.host, edit.target.subset))
        return errs

    def _check_host(self, host: str, subset: str | None) -> list[str]:
        by_host = getattr(self.snapshot, "services_by_host", None) or {}
        if not by_host or host in by_host or host.startswith("*"):
            return self._check_subset(host, subset) if host in by_host else []
        short = host.split(".")
        guesses = sorted(h for h in by_host if h.split(".")[:len(short)] == short)
        hint = f"; did you mean {', '.join(guesses[:3])}?" if guesses else ""
        return [f"--host {host}: no such service host in the sources (use the FQDN){hint}"]

    def _check_subset(self, host: str, subset: str | None) -> list[str]:
        if subset is None:
            return []
        known: set[str] = set()
        for dr in getattr(self.snapshot, "destination_rules", ()):
            spec = getattr(dr, "spec", None)
            h = getattr(spec, "host", "") or ""
            ns = getattr(dr, "namespace", "") or ""
            if h == host or (h and "." not in h and f"{h}.{ns}." in host + ".") or host.startswith(h + "."):
                known.update(getattr(x, "name", "") for x in getattr(spec, "subsets", ()) or ())
        if subset in known:
            return []
        have = ", ".join(sorted(k for k in known if k)) or "none"
        return [f"--subset {subset}: no DestinationRule defines it for {host} (subsets: {have})"]

    def proxies(self) -> list[str]:
        return sorted({w.ref for w in getattr(self.snapshot, "workloads", ())})


def _outbound_only(cfg: Any, res: Any) -> Any:
    """`res` without the representative proxy's own inbound listener and clusters."""
    from meshtui.translate import EnvoyResources

    own_l = {ls.name for ls in cfg.listeners if ls.kind == "inbound"}
    own_c = {n for n, c in cfg.clusters.items() if c.direction == "inbound"}
    return _kept(EnvoyResources([x for x in res.listeners if x.get("name") not in own_l],
                                res.routes, [x for x in res.clusters if x.get("name") not in own_c],
                                [x for x in res.endpoints if x.get("cluster_name") not in own_c], res.runtime))


def _kept(res: EnvoyResources) -> EnvoyResources:
    """`res` with its lists as SharedLists: a base's (or a member's own) resources are handed to
    every push of this snapshot version unchanged, so their packed form and loopback check are
    worked out once and kept on them (resources.SharedList)."""
    from meshtui.translate import EnvoyResources

    return EnvoyResources(SharedList(res.listeners), SharedList(res.routes), SharedList(res.clusters),
                          SharedList(res.endpoints), res.runtime)


def _inbound_resources(snapshot: Any, wl: Any, shared: Any) -> Any:
    """One proxy's inbound listener and clusters, rendered as its own full translation would:
    the inbound side is built for the workload and rendered on the shared config's options."""
    from dataclasses import replace

    from meshtui.translate.config import ProxyInfo
    from meshtui.translate.inbound import build_inbound

    inbound = build_inbound(snapshot, wl)
    mini = replace(shared, proxy=ProxyInfo("sidecar", wl.namespace, wl.name, dict(wl.labels), wl.ip, wl),
                   listeners=[inbound.listener], route_configs={}, clusters=dict(inbound.clusters),
                   endpoints=dict.fromkeys(inbound.clusters, ()), runtime={})
    return mini.envoy_resources()


def _prearmed(options: Any) -> Any:
    """What the control plane pushes has every route's fault filter pre-armed with runtime keys:
    adding or removing a fault is then a runtime-layer (RTDS) push alone, never a route config."""
    from dataclasses import replace

    from meshtui.translate import TranslateOptions

    return TranslateOptions(prearm_faults=True) if options is None else replace(options, prearm_faults=True)


def _is_prearmed(base: _Base) -> bool:
    opts = base.config.render_options
    return opts is not None and bool(getattr(opts, "prearm_faults", False))


def _prearmed_faults(base: _Base, faults: list[FaultEdit]) -> Any:
    """Pre-armed routes: the faults are runtime values alone. Each fault's values are worked out
    once (on the vhosts it touches) and kept; a push merges them in the faults' order, later
    over earlier as when they are applied in turn. So adding the 2,001st fault costs one fault's
    work plus a dict merge, not a pass of 2,001 faults over every route (issue 12: 4 ms at 0
    faults grew to 237 ms at 2,000)."""
    from meshtui.translate import EnvoyResources

    contrib = base.contrib
    start = 0
    runtime: dict[str, Any] = {}
    if base.merged is not None:
        # faults only appended since the last push (an add): extend the last merge
        prev, prev_runtime = base.merged
        n = len(prev)
        if n <= len(faults) and all(a is b for a, b in zip(prev, faults[:n], strict=True)):
            start = n
            runtime = dict(prev_runtime)
    for f in faults[start:]:
        values = contrib.get(f)
        if values is None:
            values = contrib[f] = _with_faults(base, [f]).runtime
        runtime.update(values)
    if len(contrib) > 2 * len(faults) + 256:  # forget removed faults, keep the live ones
        live = set(faults)
        for k in [k for k in contrib if k not in live]:
            del contrib[k]
    base.merged = (list(faults), runtime)
    res = base.resources
    return EnvoyResources(res.listeners, res.routes, res.clusters, res.endpoints, dict(runtime))


def _with_faults(base: _Base, faults: list[FaultEdit]) -> Any:
    """base + faults, re-rendering only the virtual hosts whose routes the faults change.

    with_live_faults runs on only the vhosts that translate's fault_targets selects (a fault on
    one service of a 1,000-service mesh re-renders one vhost, not 1,000)."""
    from dataclasses import replace

    import meshtui.translate as tl
    from meshtui.translate import EnvoyResources, with_live_faults
    from meshtui.translate.config import RouteConfig
    from meshtui.translate.envoy_json import fraction, vhost_json

    targets = tl.fault_targets
    cfg = base.config
    where = _fault_index(base)
    candidates: dict[str, set[int]] = {}
    for f in faults:
        for name, idx in where.get(f.target.virtual_service or f.target.host or "", {}).items():
            candidates.setdefault(name, set()).update(idx)
    subset: dict[str, RouteConfig] = {}
    touched: dict[str, list[int]] = {}
    for name, rc in cfg.route_configs.items():
        near = candidates.get(name)
        if not near:
            continue
        idx = [i for i in sorted(near) if any(targets(r, f) for r in rc.virtual_hosts[i].routes for f in faults)]
        if not idx:
            continue
        subset[name] = RouteConfig(rc.name, [rc.virtual_hosts[i] for i in idx], rc.ignore_port_in_host_matching)
        touched[name] = idx
    cfg2 = with_live_faults(replace(cfg, route_configs=subset, runtime={}), faults)
    copies = cfg2.route_configs
    res = base.resources
    opts = cfg.render_options
    if opts is not None and getattr(opts, "prearm_faults", False):
        # the route configs stay exactly as pushed: the faults live in the runtime layer alone
        from meshtui.translate.envoy_json import prearm_runtime

        return EnvoyResources(res.listeners, res.routes, res.clusters, res.endpoints, prearm_runtime(copies.values()))
    rendered = {r["name"]: r for r in base.resources.routes}
    routes = []
    for name, rc in cfg.route_configs.items():
        bj = rendered[name]
        new_vhs = None
        for i, new in zip(touched.get(name, ()), copies[name].virtual_hosts if name in copies else (), strict=False):
            if new.routes is not rc.virtual_hosts[i].routes:
                if new_vhs is None:
                    new_vhs = list(bj["virtual_hosts"])
                new_vhs[i] = vhost_json(new)
        routes.append(bj if new_vhs is None else {**bj, "virtual_hosts": new_vhs})
    return EnvoyResources(res.listeners, routes, res.clusters, res.endpoints,
                          {k: fraction(v) for k, v in cfg2.runtime.items()})


def _fault_index(base: _Base) -> dict[str, dict[str, list[int]]]:
    """base.targets, built once: a fault names a host or a VirtualService, and only the virtual
    hosts routing there can take it (fault_targets then decides), so adding a fault to a
    1,000-vhost config looks at a handful of vhosts instead of all of them. Built with the base
    (a walk of every route, tens of ms at 1,000 services): on the first fault it held up that
    edit's push to every proxy of the base."""
    if base.targets is None:
        out: dict[str, dict[str, list[int]]] = {}
        for name, rc in base.config.route_configs.items():
            for i, vh in enumerate(rc.virtual_hosts):
                keys: set[str] = set()
                for r in vh.routes:
                    if r.virtual_service is not None:
                        keys.add(f"{r.virtual_service[0]}/{r.virtual_service[1]}")
                    if r.action is not None:
                        keys.update(c.host for c in r.action.clusters)
                for k in keys:
                    out.setdefault(k, {}).setdefault(name, []).append(i)
        base.targets = out
    return base.targets


def _find_virtual_service(snapshot: Any, ns: str, name: str) -> Any:
    coll = getattr(snapshot, "virtual_services", None)
    if coll is None:
        return None
    items = coll.values() if isinstance(coll, dict) else coll
    for vs in items:
        vns = getattr(vs, "namespace", None) or getattr(getattr(vs, "meta", None), "namespace", None)
        vname = getattr(vs, "name", None) or getattr(getattr(vs, "meta", None), "name", None)
        if vns == ns and vname == name:
            return vs
    return None


def _http_rule_count(vs: Any) -> int | None:
    http = getattr(vs, "http", None)
    if http is None:
        spec = getattr(vs, "spec", None)
        http = getattr(spec, "http", None) if spec is not None else None
    try:
        return len(http) if http is not None else None
    except TypeError:
        return None
