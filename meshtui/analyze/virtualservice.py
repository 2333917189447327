"""VirtualService references: destination hosts, ports and subsets (IST0101, IST0112), gateways
(IST0101, IST0132, IST0165), hosts claimed twice on the mesh (IST0109) and gateway routes that
mesh subset routing does not reach (IST0140), and gateway routes on JWT claims without a
RequestAuthentication on the gateway pods (IST0149). VirtualServices that fail validation are checked
too, as istioctl does."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator

from meshtui.analyze import hosts
from meshtui.analyze.context import STAND_IN_GATEWAY_LABELS, Context, export_set, mesh_bound
from meshtui.analyze.message import Message
from meshtui.analyze.registry import analyzer
from meshtui.analyze.walk import RoutedDestination, destinations, rules_by_kind
from meshtui.model.istio import DestinationRule, Gateway, VirtualService
from meshtui.model.snapshot import RegistryService, exported_to, labels_match
from meshtui.translate.match import JWT_CLAIM_PREFIX


def _vs_viewers(ctx: Context, vs: VirtualService) -> set[str]:
    """Where the VirtualService's routes run: the namespaces it is exported to (its own when it
    names none). A destination must be visible from one of them (istioctl's lookup)."""
    if not vs.spec.export_to:
        return {vs.namespace}
    out = {vs.namespace if e in (".", "*") else e for e in vs.spec.export_to if e != "~"}
    return out or {vs.namespace}


def _missing_host_hint(ctx: Context, written: str, fqdn: str, viewers: set[str]) -> str:
    """A sentence that points at the host the user probably meant, if there is one."""
    reg = ctx.snap.services_by_host
    if fqdn in reg:  # exists, but not exported to where this VirtualService is used
        owners = sorted({rs.namespace for rs in reg[fqdn]})
        return (f"It exists in namespace {', '.join(owners)} but is not exported to namespace "
                f"{', '.join(sorted(viewers))}; widen its exportTo.")
    if written.count(".") == 1 and not hosts.is_ip(written):
        guess = f"{written}.svc.{ctx.suffix}"
        if guess in reg:
            return f"Names with a dot are taken literally (not expanded): write {guess}."
    if "." not in written:
        same_name = sorted({rs.namespace for rs in ctx.snap.registry if rs.origin == "k8s" and rs.name == written})
        if same_name:
            return (f"A Service named {written} exists in namespace {', '.join(same_name)}: a short name means the "
                    f"VirtualService's own namespace, so write {written}.{same_name[0]}.svc.{ctx.suffix}.")
    return "Add a Service or ServiceEntry for it, or fix the host."


def _dest_host(ctx: Context, vs: VirtualService, d: RoutedDestination) -> Iterator[Message]:
    viewers = _vs_viewers(ctx, vs)
    written = d.dest.host
    fqdn = ctx.fqdn(written, vs.namespace)
    cands = ctx.services(fqdn, viewers)
    reftype = "mirror host" if d.mirror else "host"
    if not cands:
        effect = ("mirrored copies of requests are dropped" if d.mirror
                  else "requests routed here fail with 503 (cluster not found)")
        where = ", ".join(sorted(viewers))
        yield ctx.report("IST0101", vs, d.dest, reftype=reftype, ref=written,
                         detail=f"No Service or ServiceEntry visible to namespace {where} has host {fqdn}, so {effect}. "
                                f"{_missing_host_hint(ctx, written, fqdn, viewers)}")
        return
    svc = ctx.pick(cands, vs.namespace)
    numbers = sorted({p.port for c in cands for p in c.ports})
    if d.dest.port is not None and d.dest.port.number:
        n = d.dest.port.number
        if not any(c.port(n) for c in cands):
            yield ctx.report("IST0101", vs, d.dest.port, reftype=f"{reftype}:port", ref=f"{written}:{n}",
                             detail=f"{svc.hostname} exposes port{'s' if len(numbers) != 1 else ''} "
                                    f"{', '.join(map(str, numbers))}, so requests routed here fail with 503 (no such "
                                    "cluster); use one of those ports.")
    elif len(svc.ports) > 1 and not _port_pinned_by_match(vs, d, svc):
        listed = " ".join(str(p.port) for p in svc.ports)
        yield ctx.report("IST0112", vs, d.dest, host=written, ports=listed,
                         detail="Without one, Istio sends each request to the port it arrived on, which fails for "
                                "requests on any other port.")


def _port_pinned_by_match(vs: VirtualService, d: RoutedDestination, svc: RegistryService) -> bool:
    """A mesh rule whose every match names a port of the service only runs on that port, so the
    port Istio infers (the listener's) is right; istioctl still asks for one, needlessly."""
    if d.kind != "http" or not mesh_bound(vs) or any(g != "mesh" for g in vs.spec.gateways):
        return False
    matches = vs.spec.http[d.rule].match
    return bool(matches) and all(m.port is not None and svc.port(m.port) is not None and not m.gateways for m in matches)


@analyzer("virtualservice.DestinationHosts", ("IST0101", "IST0112"),
          "Checks that every destination and mirror host exists and exposes the port a route names",
          inputs=("VirtualService",), istio="virtualservice.DestinationHostAnalyzer")
def destination_hosts(ctx: Context) -> Iterator[Message]:
    for vs in ctx.with_rejected(VirtualService):
        for kind, rules in rules_by_kind(vs):
            for i, r in enumerate(rules):
                for j, rd in enumerate(r.route):
                    if rd.destination is None:  # only in a rejected VirtualService
                        yield ctx.report("IST0101", vs, path=f"spec.{kind}[{i}].route[{j}]", reftype="host", ref="",
                                         detail="This route entry has no destination.")
        for d in destinations(vs):
            yield from _dest_host(ctx, vs, d)


@analyzer("virtualservice.DestinationRules", ("IST0101",),
          "Checks that every subset a route names is defined by a DestinationRule for that host",
          inputs=("VirtualService",), istio="virtualservice.DestinationRuleAnalyzer")
def destination_subsets(ctx: Context) -> Iterator[Message]:
    for vs in ctx.with_rejected(VirtualService):
        viewers = _vs_viewers(ctx, vs)
        for d in destinations(vs):
            if not d.dest.subset:
                continue
            fqdn = ctx.fqdn(d.dest.host, vs.namespace)
            drs = [dr for dr, _ in ctx.drs_covering(fqdn) if any(_exported(ctx, dr, v) for v in viewers)]
            if any(s.name == d.dest.subset for dr in drs for s in dr.spec.subsets):
                continue
            reftype = "mirror+subset" if d.mirror else "host+subset"
            effect = "mirrored copies are dropped" if d.mirror else "requests routed to it fail with 503 (no cluster)"
            if drs:
                names = sorted({s.name for dr in drs for s in dr.spec.subsets})
                which = ", ".join(dr.ref for dr in drs)
                detail = (f"DestinationRule {which} for {fqdn} defines "
                          f"{'subsets ' + ', '.join(names) if names else 'no subsets'} but not {d.dest.subset}, so {effect}. "
                          "Add the subset or fix its name.")
            else:
                detail = (f"No DestinationRule for {fqdn} is visible to namespace {vs.namespace}, so subset "
                          f"{d.dest.subset} is undefined and {effect}. Add a DestinationRule that defines it.")
            yield ctx.report("IST0101", vs, d.dest, reftype=f"{reftype} in destinationrule",
                             ref=f"{d.dest.host}+{d.dest.subset}", detail=detail)


def _exported(ctx: Context, dr: DestinationRule, namespace: str) -> bool:
    if dr.spec.workload_selector is not None and dr.namespace != namespace:
        return False
    return exported_to(ctx.dr_export(dr), dr.namespace, namespace)



INTERNAL_GATEWAY_MARK = "~istio-autogenerated-k8s-gateway~"  # names istiod gives Gateways it derives from Gateway API


def _server_hosts_for(gw: Gateway, vs_ns: str) -> list[str]:
    """The dnsNames of a Gateway's servers that a VirtualService in `vs_ns` may bind."""
    out = []
    for srv in gw.spec.servers:
        for h in srv.hosts:
            ns, slash, dns = h.rpartition("/")
            if not slash or ns == "*" or (ns == "." and gw.namespace == vs_ns) or ns == vs_ns:
                out.append(dns)
    return out


@analyzer("virtualservice.Gateways", ("IST0101", "IST0132", "IST0165"),
          "Checks that the Gateways a VirtualService binds to exist and serve at least one of its hosts",
          inputs=("VirtualService",), istio="virtualservice.GatewayAnalyzer")
def gateways(ctx: Context) -> Iterator[Message]:
    known = {g.ref: g for g in ctx.with_rejected(Gateway)}
    for vs in ctx.with_rejected(VirtualService):
        refs: list[tuple[str, str, bool]] = [(g, f"spec.gateways[{i}]", True) for i, g in enumerate(vs.spec.gateways)]
        for kind, rules in rules_by_kind(vs):
            for i, r in enumerate(rules):
                for j, m in enumerate(r.match):
                    refs.extend((g, f"spec.{kind}[{i}].match[{j}].gateways[{k}]", False) for k, g in enumerate(m.gateways))
        for written, path, top in refs:
            if written == "mesh":
                continue
            if INTERNAL_GATEWAY_MARK in written.rpartition("/")[2]:
                if top:
                    yield ctx.report("IST0165", vs, path=path, vs=vs.ref, gateway=written,
                                     detail="istiod generates that Gateway from a Kubernetes Gateway and may rename or "
                                            "drop it; bind the Kubernetes Gateway with an HTTPRoute instead.")
                continue
            ref = hosts.gateway_ref(written, vs.namespace)
            gw = known.get(ref)
            if gw is None:
                name = ref.split("/", 1)[1]
                elsewhere = sorted(g.namespace for g in known.values() if g.name == name)
                hint = (f"A Gateway {name} exists in namespace {', '.join(elsewhere)}: write {elsewhere[0]}/{name}."
                        if elsewhere else "Create it or fix the name (a name without namespace means the "
                        "VirtualService's namespace).")
                yield ctx.report("IST0101", vs, path=path, reftype="gateway", ref=written,
                                 detail=f"There is no Gateway {ref}, so no gateway applies these routes. {hint}")
            if not top:
                continue
            # istioctl compares the hosts as written (not expanded) with the servers' hosts
            server_hosts = _server_hosts_for(gw, vs.namespace) if gw is not None else []
            if any(hosts.matches(sh, vh) for sh in server_hosts for vh in vs.spec.hosts):
                continue
            accepted = ", ".join(sorted(set(server_hosts))) or "no host for this namespace"
            yield ctx.report("IST0132", vs, path=path, hosts=" ".join(vs.spec.hosts), vs=vs.ref, gateway=ref,
                             detail=f"Its servers accept {accepted}, so the gateway ignores this VirtualService; add a "
                                    "matching host to a Gateway server (with this namespace allowed) or fix the hosts.")


def _scopes(vs: VirtualService, default: tuple[str, ...]) -> set[str]:
    export = export_set(vs.spec.export_to, default)
    if "*" in export:
        return {"*"}
    if "~" in export:
        return set()
    return {vs.namespace if e == "." else e for e in export}


@analyzer("virtualservice.ConflictingMeshGatewayHosts", ("IST0109",),
          "Checks that no two mesh-bound VirtualServices claim the same host for the same namespaces",
          inputs=("VirtualService",), istio="virtualservice.ConflictingMeshGatewayHostsAnalyzer")
def conflicting_mesh_hosts(ctx: Context) -> Iterator[Message]:
    # istioctl's keys: (scope, host), scope '*' for public VirtualServices or one namespace
    # exported to. A namespace-scoped host also clashes with public VirtualServices whose host
    # overlaps it: in that namespace the scoped one wins and the public one is silently ignored.
    keyed: dict[tuple[str, str], list[tuple[VirtualService, int]]] = defaultdict(list)
    default = ctx.snap.mesh.default_virtual_service_export_to
    for vs in ctx.with_rejected(VirtualService):
        if not vs.spec.hosts or not mesh_bound(vs):
            continue
        for scope in sorted(_scopes(vs, default)):
            seen: set[str] = set()
            for i, h in enumerate(vs.spec.hosts):
                fq = ctx.fqdn(h, vs.namespace)
                if fq not in seen:
                    seen.add(fq)
                    keyed[(scope, fq)].append((vs, i))
    public = [(fq, e) for (scope, fq), es in keyed.items() if scope == "*" for e in es]
    reported: set[tuple[str, str, str]] = set()
    for (scope, fq), entries in sorted(keyed.items()):
        group = list(entries)
        if scope != "*":
            group += [e for pfq, e in public if hosts.matches(fq, pfq)]
        if len({vs.key for vs, _ in group}) < 2:
            continue
        names = ",".join(sorted({vs.ref for vs, _ in group}))
        where = "every namespace" if scope == "*" else f"namespace {scope}"
        for vs, i in group:
            if vs.key in reported:
                continue
            reported.add(vs.key)
            yield ctx.report("IST0109", vs, path=f"spec.hosts[{i}]", names=names, host=fq,
                             detail=f"For sidecars in {where} only one of them applies (a namespace-scoped one before "
                                    "a public one, else the oldest) and the rest are silently ignored. This can be fixed "
                                    "by merging the conflicting VirtualServices into a single resource.")


@analyzer("virtualservice.IngressSubsetRouting", ("IST0140",),
          "Finds gateway routes to a host whose mesh VirtualService splits traffic by subset: gateway "
          "requests go to the host directly and skip that split",
          inputs=("VirtualService",), istio="virtualservice.DestinationHostAnalyzer")
def ingress_subset_routing(ctx: Context) -> Iterator[Message]:
    vss = ctx.with_rejected(VirtualService)
    # VirtualServices that route one of their own hosts to a subset (as written, like istioctl)
    splitters = [o for o in vss if any(d.dest.subset and d.dest.host in o.spec.hosts for d in destinations(o)
                                       if d.kind == "http" and not d.mirror)]
    for vs in vss:
        if not vs.spec.gateways:
            continue
        for r in vs.spec.http:
            for rd in r.route:
                d = rd.destination
                if d is None or d.subset:
                    continue
                for o in splitters:
                    if any(x.dest.host == d.host and x.dest.subset for x in destinations(o) if x.kind == "http"):
                        yield ctx.report("IST0140", vs, d, vs=o.ref, gateway=vs.ref,
                                         detail=f"Requests through this gateway route go to {d.host} with no subset, so "
                                                f"the subset split of VirtualService {o.ref} does not apply to them; "
                                                "route to the subsets here too.")


def jwt_claim_key(vs: VirtualService) -> str:
    """The first header (or withoutHeaders) key of an HTTP match that routes on a JWT claim
    (`@request.auth.claims.groups`, `@request.auth.claims[groups]`), as Istio recognises it."""
    for r in vs.spec.http:
        for m in r.match:
            for key in (*m.headers, *m.without_headers):
                rest = key[len(JWT_CLAIM_PREFIX):] if key.lower().startswith(JWT_CLAIM_PREFIX) else ""
                if (rest.startswith(".") and len(rest) > 1) or (rest.startswith("[") and rest.endswith("]") and len(rest) > 2):
                    return key
    return ""


def _authenticated(ctx: Context, namespace: str, labels: dict[str, str]) -> bool:
    """Does a RequestAuthentication in the root namespace or the pod's own select this pod?"""
    for ra in ctx.request_authentications:
        if ra.namespace not in (ctx.root_ns, namespace):
            continue
        sel = ra.spec.selector.match_labels if ra.spec.selector is not None else {}
        if labels_match(sel, labels):
            return True
    return False


@analyzer("virtualservice.JwtClaimRoutes", ("IST0149",),
          "Checks that a gateway VirtualService routing on JWT claims has a RequestAuthentication on the gateway pods "
          "(without one, no claims are validated and the claim matches never succeed)",
          inputs=("VirtualService", "Gateway"), istio="virtualservice.JWTClaimRouteAnalyzer")
def jwt_claim_routes(ctx: Context) -> Iterator[Message]:
    for vs in ctx.with_rejected(VirtualService):
        key = jwt_claim_key(vs)
        if not key:
            continue
        for name in vs.spec.gateways:
            if name == "mesh":
                continue
            ref = hosts.gateway_ref(name, vs.namespace)
            gw = ctx.gateways.get(ref)
            if gw is None:
                continue  # a missing gateway is IST0101's
            sel = gw.spec.selector
            pods = [(w.namespace, w.name, w.labels) for w in ctx.selected_workloads(sel)]
            if not pods and ctx.files_only and labels_match(sel, STAND_IN_GATEWAY_LABELS):
                pods = [(ctx.root_ns, "istio-ingressgateway", dict(STAND_IN_GATEWAY_LABELS))]
            for ns, pod, labels in pods:
                if _authenticated(ctx, ns, labels):
                    continue
                yield ctx.report("IST0149", vs, path="spec.http", key=key, gateway=ref, pod=pod,
                                 detail=f"Without a RequestAuthentication selecting {ns}/{pod} (in {ns} or "
                                        f"{ctx.root_ns}), no JWT is validated there, so the match on {key} never "
                                        "succeeds and those requests fall through to the next rule.")
