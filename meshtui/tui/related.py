"""Which objects belong together: VirtualService ↔ DestinationRule ↔ Service ↔ pods ↔ Sidecar ↔
Gateway, and the Gateway API's GatewayClass ↔ Gateway ↔ routes ↔ backend Services ↔ the
ReferenceGrant that allows a cross-namespace backend. The TUI shows these one key away from every
object. Pure: reads a snapshot only."""

from __future__ import annotations

import threading
from dataclasses import dataclass

from meshtui.model import gatewayapi as gapi
from meshtui.model.hosts import is_wildcard, matches, resolve_gateway_name, resolve_short
from meshtui.model.istio import DestinationRule, Gateway, ServiceEntry, Sidecar, TCPRoute, TLSRoute, VirtualService, WorkloadEntry
from meshtui.model.k8s import Deployment, Pod, Service, StatefulSet
from meshtui.model.snapshot import MeshSnapshot, RegistryService, labels_match

Key = tuple[str, str, str]

# the order kinds appear in the tree and in related lists
KIND_ORDER = ("VirtualService", "DestinationRule", "Gateway", "ServiceEntry", "Sidecar", "WorkloadEntry",
              "PeerAuthentication", "AuthorizationPolicy",
              "GatewayClass", gapi.KUBERNETES_GATEWAY, "HTTPRoute", "GRPCRoute", "TCPRoute", "TLSRoute", "ReferenceGrant",
              "Service", "Deployment", "StatefulSet", "Pod")
KIND_SHORT = {"VirtualService": "vs", "DestinationRule": "dr", "Gateway": "gw", "ServiceEntry": "se",
              "Sidecar": "sc", "WorkloadEntry": "we", "PeerAuthentication": "pa", "AuthorizationPolicy": "ap",
              "GatewayClass": "gc", gapi.KUBERNETES_GATEWAY: "gtw", "HTTPRoute": "httproute", "GRPCRoute": "grpcroute",
              "TCPRoute": "tcproute", "TLSRoute": "tlsroute", "ReferenceGrant": "refgrant",
              "Service": "svc", "Deployment": "deploy", "StatefulSet": "sts", "Pod": "pod"}
# how a kind is named to people: meshtui keys the Gateway API's Gateway apart from Istio's
KIND_LABEL = {gapi.KUBERNETES_GATEWAY: "Gateway (gateway.networking.k8s.io)"}


def kind_label(kind: str) -> str:
    return KIND_LABEL.get(kind, kind)


@dataclass(frozen=True)
class Related:
    key: Key
    why: str  # "routes to", "subsets of", "selects", ...

    @property
    def label(self) -> str:
        kind, ns, name = self.key
        return f"{kind} {ns}/{name}"


def _suffix(snap: MeshSnapshot) -> str:
    return snap.mesh.domain_suffix


def _resource_key(rs: RegistryService) -> Key:
    """The key of the Service or ServiceEntry behind a registry service (which carries its
    namespace and name: no body read)."""
    return (rs.resource.kind, rs.namespace, rs.name)


def _svc_keys_for_host(snap: MeshSnapshot, host: str) -> list[Key]:
    """Service or ServiceEntry objects behind a (possibly wildcard) FQDN."""
    out: list[Key] = []
    exact = not is_wildcard(host)
    for rs in snap.services_by_host.get(host, ()) if exact else snap.registry:  # an exact name: its index
        if exact or matches(host, rs.hostname):
            k = _resource_key(rs)
            if k not in out:
                out.append(k)
    return out


def _pods_of(snap: MeshSnapshot, ns: str, selector: dict[str, str]) -> list[Key]:
    if not selector:
        return []
    keys = [p.key for p in snap.pods_matching(ns, selector)]
    for d in _controllers_in(snap, ns):
        tl = d.spec.template.metadata.labels if d.spec and d.spec.template and d.spec.template.metadata else {}
        if labels_match(selector, tl):
            keys.append(d.key)
    return keys


def _workload_labels(snap: MeshSnapshot, key: Key) -> dict[str, str]:
    obj = snap.by_key.get(key)
    if isinstance(obj, Pod):
        return dict(obj.metadata.labels)
    spec = obj.spec if isinstance(obj, (Deployment, StatefulSet)) else None
    if spec is not None and spec.template is not None and spec.template.metadata is not None:
        return dict(spec.template.metadata.labels)
    return {}


def _vs_hosts(snap: MeshSnapshot, vs: VirtualService) -> list[str]:
    return [resolve_short(h, vs.namespace, _suffix(snap)) for h in vs.spec.hosts]


def _vs_destinations(snap: MeshSnapshot, vs: VirtualService) -> list[tuple[str, str]]:
    """(FQDN, subset) of every destination a VirtualService routes or mirrors to."""
    out: list[tuple[str, str]] = []
    for r in vs.spec.http:
        for d in r.route:
            if d.destination is not None:
                out.append((resolve_short(d.destination.host, vs.namespace, _suffix(snap)), d.destination.subset))
        if r.mirror is not None:
            out.append((resolve_short(r.mirror.host, vs.namespace, _suffix(snap)), r.mirror.subset))
    l4: tuple[TCPRoute | TLSRoute, ...] = (*vs.spec.tcp, *vs.spec.tls)
    for rule in l4:
        for rd in rule.route:
            if rd.destination is not None:
                out.append((resolve_short(rd.destination.host, vs.namespace, _suffix(snap)), rd.destination.subset))
    return out


# ---------------------------------------------------------------------- look-ups
#
# A snapshot read from the cache keeps every resource's body packed until first read
# (model/packed), and unpacking 20,000 VirtualService and DestinationRule bodies to index them
# took 0.5 to 2 s on the UI thread when the first object was shown (issue 15). So the look-ups
# below start from what needs no body: the keys in by_key, the snapshot's model indexes (which
# the cache keeps: DestinationRules by resolved host, VirtualServices' resolved hosts, Services by
# namespace with their selectors) and the registry. They read the bodies of the few candidates
# they find, to give their keys and to check exactly what the indexes only narrow. The one index
# that needs every VirtualService body, by the hosts they route to, is made on first use (or by
# warm(), off the UI thread). Each answer is what a scan of every object would give, in load
# order (tests/tui/test_related_index.py compares them).
#
# Keys only: objects that are not in by_key (istiod's config derived from the Gateway API) are
# never related (related() drops them), so the look-ups leave them out too.

_DESTINATIONS_LOCK = threading.Lock()  # warm() on a worker thread and the UI may both want it


def _positions(snap: MeshSnapshot, kind: str) -> dict[Key, int]:
    """Where each object of `kind` stands in load order (by_key's order, which is also the order of
    the snapshot's tuple of that kind: build() fills both from one list)."""
    return snap.index.memo(f"tui.related.positions.{kind}", (snap.by_key,),
                           lambda: {k: i for i, k in enumerate(k for k in snap.by_key if k[0] == kind)})


def _in_load_order(snap: MeshSnapshot, kind: str, keys: set[Key]) -> list[Key]:
    pos = _positions(snap, kind)
    return sorted((k for k in keys if k in pos), key=pos.__getitem__)


@dataclass(frozen=True)
class _DRHosts:
    """DestinationRules by resolved host (from the snapshot's model index: no body read)."""

    exact: dict[str, list[DestinationRule]]
    wild: list[tuple[str, DestinationRule]]


def _dr_hosts(snap: MeshSnapshot) -> _DRHosts:
    def make() -> _DRHosts:
        exact: dict[str, list[DestinationRule]] = {}
        wild: list[tuple[str, DestinationRule]] = []
        for by_host in snap.index.destination_rules.values():
            for host, drs in by_host.items():
                if is_wildcard(host):
                    wild.extend((host, dr) for dr in drs)
                else:
                    exact.setdefault(host, []).extend(drs)
        return _DRHosts(exact, wild)

    return snap.index.memo("tui.related.dr_hosts", (snap.destination_rules, snap.mesh), make)


def _drs_for_host(snap: MeshSnapshot, host: str) -> list[Key]:
    """The DestinationRules whose resolved host overlaps `host` (model.hosts.matches), in load order."""
    idx = _dr_hosts(snap)
    if is_wildcard(host):
        found = [dr for h, drs in idx.exact.items() if matches(h, host) for dr in drs]
    else:
        found = list(idx.exact.get(host, ()))
    found += [dr for h, dr in idx.wild if matches(h, host)]
    return _in_load_order(snap, "DestinationRule", {dr.key for dr in found})


@dataclass(frozen=True)
class _VSHosts:
    """VirtualService keys by resolved host in lower case, as the snapshot's VSIndex keeps them (no
    body read): candidates a VirtualService's own hosts are then checked against. None when two
    VirtualServices share a namespace and name (VSIndex keeps one of them; then every body is read)."""

    exact: dict[str, list[Key]]
    wild: list[tuple[str, Key]]


def _vs_hosts_index(snap: MeshSnapshot) -> _VSHosts | None:
    def make() -> _VSHosts | None:
        hosts = snap.index.vs.hosts
        if len(hosts) != len(snap.virtual_services):
            return None
        exact: dict[str, list[Key]] = {}
        wild: list[tuple[str, Key]] = []
        for (ns, name), vs_hosts in hosts.items():
            key = ("VirtualService", ns, name)
            for h in vs_hosts:
                if h == "*":
                    continue
                if is_wildcard(h):
                    wild.append((h, key))
                else:
                    exact.setdefault(h, []).append(key)
        return _VSHosts(exact, wild)

    return snap.index.memo("tui.related.vs_hosts", (snap.virtual_services, snap.mesh), make)


def _vs_destination_index(snap: MeshSnapshot) -> dict[str, list[Key]]:
    """VirtualService keys by every destination host they route or mirror to. Reads every
    VirtualService body: made on first use, or by warm()."""
    def make() -> dict[str, list[Key]]:
        out: dict[str, list[Key]] = {}
        for vs in snap.virtual_services:
            for d, _ in _vs_destinations(snap, vs):
                out.setdefault(d, []).append(vs.key)
        return out

    with _DESTINATIONS_LOCK:
        return snap.index.memo("tui.related.vs_destinations", (snap.virtual_services, snap.mesh), make)


def _vs_names_host(snap: MeshSnapshot, vs: VirtualService, host: str) -> bool:
    return any(h != "*" and matches(h, host) for h in _vs_hosts(snap, vs))


def _vss_for_host(snap: MeshSnapshot, host: str) -> list[Key]:
    """The VirtualServices one of whose hosts (but `*`) overlaps `host`, or that route or mirror to
    exactly `host`, in load order."""
    found = set(_vs_destination_index(snap).get(host, ()))
    idx = _vs_hosts_index(snap)
    if idx is None:
        found |= {vs.key for vs in snap.virtual_services if _vs_names_host(snap, vs, host)}
    else:
        low = host.lower()  # VSIndex keeps hosts in lower case: an overlap there is a candidate
        if is_wildcard(low):
            candidates = {k for h, keys in idx.exact.items() if matches(h, low) for k in keys}
        else:
            candidates = set(idx.exact.get(low, ()))
        candidates |= {k for h, k in idx.wild if matches(h, low)}
        for k in candidates - found:
            vs = snap.by_key.get(k)
            if isinstance(vs, VirtualService) and _vs_names_host(snap, vs, host):
                found.add(k)
    return _in_load_order(snap, "VirtualService", found)


def warm(snap: MeshSnapshot) -> None:
    """Make the look-up that reads every VirtualService body now (the app calls it on a worker
    thread after the first paint, so selecting a DestinationRule or Service does not wait for it)."""
    _vs_destination_index(snap)


def _registry_of(snap: MeshSnapshot, key: Key) -> list[RegistryService]:
    """The registry services a Service or ServiceEntry gives (one per host)."""
    kind, ns, name = key
    return [rs for rs in snap.registry if rs.name == name and rs.namespace == ns and rs.resource.kind == kind]


def _controllers_in(snap: MeshSnapshot, ns: str) -> list[Deployment | StatefulSet]:
    """The namespace's Deployments, then its StatefulSets, in load order (by key: no body read to
    learn a namespace)."""
    def make() -> dict[str, list[Key]]:
        out: dict[str, list[Key]] = {}
        for kind in ("Deployment", "StatefulSet"):
            for k in snap.by_key:
                if k[0] == kind:
                    out.setdefault(k[1], []).append(k)
        return out

    by_ns = snap.index.memo("tui.related.controllers", (snap.by_key,), make)
    return [d for k in by_ns.get(ns, ()) if isinstance(d := snap.by_key[k], (Deployment, StatefulSet))]


def _route_refs(snap: MeshSnapshot) -> dict[Key, list[Related]]:
    """Gateway API: who refers to whom, both ways (Services and Gateways -> routes)."""
    def make() -> dict[Key, list[Related]]:
        out: dict[Key, list[Related]] = {}
        for route in _routes(snap):
            for target, why in _route_targets(snap, route):
                out.setdefault(target, []).append(Related(route.key, _BACK.get(why, why)))
        return out

    return snap.index.memo("tui.related.route_refs", (snap.http_routes, snap.grpc_routes, snap.tcp_routes, snap.tls_routes,
                                                      snap.registry, snap.services_by_host), make)


def _routes(snap: MeshSnapshot) -> tuple[gapi.AnyRoute, ...]:
    return (*snap.http_routes, *snap.grpc_routes, *snap.tcp_routes, *snap.tls_routes)


def _parent_key(ref: gapi.ParentReference, ns: str) -> Key | None:
    group = ref.group if ref.group is not None else gapi.GROUP
    kind = ref.kind if ref.kind is not None else "Gateway"
    if (group, kind) == (gapi.GROUP, "Gateway"):
        return (gapi.KUBERNETES_GATEWAY, ref.namespace or ns, ref.name)
    if group in ("", "core") and kind == "Service":
        return ("Service", ref.namespace or ns, ref.name)
    return None


def _backend_refs(route: gapi.AnyRoute) -> list[tuple[gapi.BackendRef, bool]]:
    """Every backendRef of a route's rules, and the backends its rules mirror to (True)."""
    out: list[tuple[gapi.BackendRef, bool]] = []
    for rule in route.spec.rules:
        out.extend((ref, False) for ref in rule.backend_refs)
    for rule in route.spec.rules:
        for f in getattr(rule, "filters", ()):  # TCPRoute and TLSRoute rules have no filters
            if f.request_mirror is not None and f.request_mirror.backend_ref is not None:
                out.append((f.request_mirror.backend_ref, True))
    return out


def _backend_gk(ref: gapi.BackendRef) -> tuple[str, str]:
    """A backendRef's (group, kind), with the API's defaults: core, Service."""
    return (ref.group if ref.group is not None else "", ref.kind if ref.kind is not None else "Service")


def _backend_keys(snap: MeshSnapshot, ref: gapi.BackendRef, ns: str) -> list[Key]:
    group, kind = _backend_gk(ref)
    if group in ("", "core") and kind == "Service":
        return [("Service", ref.namespace or ns, ref.name)]
    if (group, kind) == ("networking.istio.io", "Hostname"):
        return _svc_keys_for_host(snap, ref.name)
    return []


def _grants_for(snap: MeshSnapshot, from_kind: str, from_ns: str, to_kind: tuple[str, str], to_ns: str,
                to_name: str) -> list[Key]:
    """The ReferenceGrants (in the target's namespace) that let a `from_kind` in `from_ns` refer
    to the target, as istiod reads them."""
    out: list[Key] = []
    for rg in snap.reference_grants:
        if rg.namespace != to_ns or not any(f.group == gapi.GROUP and f.kind == from_kind and f.namespace == from_ns
                                            for f in rg.spec.from_):
            continue
        if any((t.group, t.kind) == to_kind and (t.name is None or t.name == to_name) for t in rg.spec.to):
            out.append(rg.key)
    return out


# a route's relation to a target -> the target's relation back to the route
_BACK = {"parent Gateway": "attached route", "parent Service (mesh route)": "mesh route for it",
         "backend": "routes here", "mirrored to": "mirrors here"}


def _route_targets(snap: MeshSnapshot, route: gapi.AnyRoute) -> list[tuple[Key, str]]:
    out: list[tuple[Key, str]] = []
    ns = route.namespace
    for pref in route.spec.parent_refs:
        pk = _parent_key(pref, ns)
        if pk is not None:
            out.append((pk, "parent Gateway" if pk[0] == gapi.KUBERNETES_GATEWAY else "parent Service (mesh route)"))
    for bref, mirrored in _backend_refs(route):
        for bk in _backend_keys(snap, bref, ns):
            out.append((bk, "mirrored to" if mirrored else "backend"))
    return out


def _route_related(snap: MeshSnapshot, route: gapi.AnyRoute, add) -> None:
    ns = route.namespace
    targets = _route_targets(snap, route)
    for key, why in targets:
        if why.startswith("parent"):
            add([key], why)
    for key, why in targets:
        if not why.startswith("parent"):
            add([key], why)
    for bref, _ in _backend_refs(route):
        if bref.namespace and bref.namespace != ns:
            add(_grants_for(snap, route.kind, ns, _backend_gk(bref), bref.namespace, bref.name),
                f"allows the ref to {bref.namespace}/{bref.name}")
    for key, why in targets:
        svc = snap.by_key.get(key)
        if isinstance(svc, Service) and not why.startswith("parent"):
            add(_pods_of(snap, key[1], dict(svc.spec.selector)), "endpoint of a backend")


def _sidecars_for(snap: MeshSnapshot, ns: str, labels: dict[str, str]) -> list[Key]:
    """The Sidecar that applies to a workload: a selector match in its namespace, else the
    namespace default, else the root namespace default."""
    in_ns = [s for s in snap.sidecars if s.namespace == ns]
    for s in in_ns:
        sel = s.spec.workload_selector.labels if s.spec.workload_selector else {}
        if sel and labels and labels_match(sel, labels):
            return [s.key]
    for s in in_ns:
        if not s.spec.workload_selector or not s.spec.workload_selector.labels:
            return [s.key]
    for s in snap.sidecars:
        if s.namespace == snap.mesh.root_namespace and (not s.spec.workload_selector or not s.spec.workload_selector.labels):
            return [s.key]
    return []


def _services_selecting(snap: MeshSnapshot, ns: str, labels: dict[str, str]) -> list[Key]:
    """The namespace's Services whose selector picks `labels` (the registry index keeps each
    Service's selector: no body read)."""
    return [_resource_key(rs) for rs in snap.index.registry.k8s_selecting.get(ns, ()) if labels_match(rs.selector, labels)]


def related(snap: MeshSnapshot, key: Key) -> list[Related]:
    """Objects related to `key`, most useful first, without duplicates or `key` itself."""
    _, ns, name = key
    obj = snap.by_key.get(key)
    out: list[Related] = []
    if obj is None:
        return out

    def add(keys: list[Key], why: str) -> None:
        for k in keys:
            if k != key and k in snap.by_key and all(r.key != k for r in out):
                out.append(Related(k, why))

    suffix = _suffix(snap)
    if isinstance(obj, VirtualService):
        for host in _vs_hosts(snap, obj):
            if host != "*":  # a catch-all host (gateway VirtualServices) is not "related" to everything
                add(_svc_keys_for_host(snap, host), "host")
        for host, _subset in _vs_destinations(snap, obj):
            add(_svc_keys_for_host(snap, host), "routes to")
            add(_drs_for_host(snap, host), "policy for a destination")
        for gw in obj.spec.gateways:
            ref = resolve_gateway_name(gw, ns)
            if ref != "mesh":
                gns, _, gname = ref.partition("/")
                add([("Gateway", gns, gname)], "bound to gateway")
        for r in obj.spec.http:
            if r.delegate is not None:
                add([("VirtualService", r.delegate.namespace or ns, r.delegate.name)], "delegates to")
        for host, _ in _vs_destinations(snap, obj):
            for sk in _svc_keys_for_host(snap, host):
                svc = snap.by_key.get(sk)
                if isinstance(svc, Service):
                    add(_pods_of(snap, sk[1], dict(svc.spec.selector)), "endpoint of a destination")
    elif isinstance(obj, DestinationRule):
        host = resolve_short(obj.spec.host, ns, suffix)
        svcs = _svc_keys_for_host(snap, host)
        add(svcs, "host")
        add(_vss_for_host(snap, host), "routes here")
        for sk in svcs:
            svc = snap.by_key.get(sk)
            if not isinstance(svc, Service):
                continue
            for sub in obj.spec.subsets:
                add(_pods_of(snap, sk[1], {**svc.spec.selector, **sub.labels}), f"in subset {sub.name}")
            add(_pods_of(snap, sk[1], dict(svc.spec.selector)), "endpoint")
    elif isinstance(obj, (gapi.HTTPRoute, gapi.GRPCRoute, gapi.TCPRoute, gapi.TLSRoute)):
        _route_related(snap, obj, add)
    elif isinstance(obj, gapi.KubernetesGateway):
        add([gc.key for gc in snap.gateway_classes if gc.name == obj.spec.gateway_class_name], "its class")
        for rel in _route_refs(snap).get(key, ()):
            add([rel.key], rel.why)
        for lst in obj.spec.listeners:
            for cert in lst.tls.certificate_refs if lst.tls is not None else ():
                if cert.namespace and cert.namespace != ns:
                    add(_grants_for(snap, "Gateway", ns, (cert.group or "", cert.kind or "Secret"), cert.namespace, cert.name),
                        f"allows the certificate {cert.namespace}/{cert.name}")
    elif isinstance(obj, gapi.GatewayClass):
        add([gw.key for gw in snap.k8s_gateways if gw.spec.gateway_class_name == name], "a Gateway of this class")
    elif isinstance(obj, gapi.ReferenceGrant):
        for route in _routes(snap):
            if route.namespace == ns:
                continue
            for bref, _ in _backend_refs(route):
                if bref.namespace == ns and key in _grants_for(snap, route.kind, route.namespace, _backend_gk(bref), ns, bref.name):
                    add([route.key], f"its ref to {bref.name} is allowed")
                    add(_backend_keys(snap, bref, ns), "the target it may refer to")
    elif isinstance(obj, (Service, ServiceEntry)):
        for rs in _registry_of(snap, key):
            add(_vss_for_host(snap, rs.hostname), "routes this host")
            add(_drs_for_host(snap, rs.hostname), "policy")
        for rel in _route_refs(snap).get(key, ()):
            add([rel.key], rel.why)
        if isinstance(obj, Service):
            add(_pods_of(snap, ns, dict(obj.spec.selector)), "selected")
            for pk in _pods_of(snap, ns, dict(obj.spec.selector))[:1]:
                add(_sidecars_for(snap, ns, _workload_labels(snap, pk)), "scope of its pods")
        else:
            sel = obj.spec.workload_selector.labels if obj.spec.workload_selector else {}
            if sel:
                add([we.key for we in snap.workload_entries if we.namespace == ns
                     and labels_match(sel, {**we.metadata.labels, **we.spec.labels})], "selected")
                add(_pods_of(snap, ns, dict(sel)), "selected")
    elif isinstance(obj, (Pod, Deployment, StatefulSet)):
        labels = _workload_labels(snap, key)
        add(_services_selecting(snap, ns, labels), "selects it")
        add(_sidecars_for(snap, ns, labels), "its Sidecar scope")
        gws = [g.key for g in snap.gateways if g.spec.selector and labels_match(g.spec.selector, labels)]
        add(gws, "runs this gateway")
        for sk in _services_selecting(snap, ns, labels):
            host = f"{sk[2]}.{sk[1]}.svc.{suffix}"
            for dr_key in _drs_for_host(snap, host):
                dr = snap.by_key.get(dr_key)
                subs = [s.name for s in dr.spec.subsets if s.labels and labels_match(s.labels, labels)] \
                    if isinstance(dr, DestinationRule) else []
                add([dr_key], f"subset {', '.join(subs)}" if subs else "policy")
            add(_vss_for_host(snap, host), "routes to it")
            add([r.key for r in _route_refs(snap).get(sk, ()) if r.why in ("routes here", "mirrors here")],
                "routes to it")
        if isinstance(obj, Pod):
            for d in _controllers_in(snap, ns):
                sel = d.spec.selector.match_labels if d.spec and d.spec.selector else {}
                if sel and labels_match(sel, labels):
                    add([d.key], "owner")
        else:
            sel = obj.spec.selector.match_labels if obj.spec and obj.spec.selector else labels
            add([p.key for p in snap.pods_matching(ns, dict(sel))] if sel else [], "its pod")
    elif isinstance(obj, Gateway):
        sel = dict(obj.spec.selector)
        if sel:
            for w in snap.workloads:
                if labels_match(sel, w.labels):
                    add([(w.kind, w.namespace, w.name)], "runs it")
        for vs in snap.virtual_services:
            if any(resolve_gateway_name(g, vs.namespace) == f"{ns}/{name}" for g in vs.spec.gateways):
                add([vs.key], "binds it")
    elif isinstance(obj, Sidecar):
        sel = obj.spec.workload_selector.labels if obj.spec.workload_selector else {}
        if sel:
            add(_pods_of(snap, ns, dict(sel)), "applies to")
        else:
            add([w.resource.key for w in snap.workloads if w.namespace == ns and w.resource is not None][:20], "applies to")
        for eg in obj.spec.egress:
            for h in eg.hosts:
                hns, _, hhost = h.partition("/")
                if hhost in ("*", "") or hhost.startswith("*"):
                    continue
                add(_svc_keys_for_host(snap, hhost if "." in hhost else resolve_short(hhost, ns if hns in (".", "") else hns, suffix)),
                    "imported")
    elif isinstance(obj, WorkloadEntry):
        labels = {**obj.metadata.labels, **obj.spec.labels}
        for se in snap.service_entries:
            sel = se.spec.workload_selector.labels if se.spec.workload_selector else {}
            if se.namespace == ns and sel and labels_match(sel, labels):
                add([se.key], "selects it")
    out.sort(key=lambda r: KIND_ORDER.index(r.key[0]) if r.key[0] in KIND_ORDER else 99)
    return out
