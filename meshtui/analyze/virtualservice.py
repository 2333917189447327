"""VirtualService references: destination hosts, ports and subsets (IST0101, IST0112), gateways
(IST0101, IST0132) and hosts claimed twice on the mesh (IST0109)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator

from meshtui.analyze import hosts
from meshtui.analyze.context import Context, export_set, mesh_bound, viewers_of
from meshtui.analyze.message import Message
from meshtui.analyze.registry import analyzer
from meshtui.analyze.walk import RoutedDestination, destinations
from meshtui.model.istio import DestinationRule, VirtualService
from meshtui.model.snapshot import exported_to


def _vs_viewers(ctx: Context, vs: VirtualService) -> set[str]:
    return viewers_of(vs, vs.spec.export_to)


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
        yield ctx.message("IST0101", vs,
                          f"Referenced {reftype} not found: \"{written}\". No Service or ServiceEntry visible to namespace "
                          f"{vs.namespace} has host {fqdn}, so {effect}. {_missing_host_hint(ctx, written, fqdn, viewers)}",
                          d.dest)
        return
    svc = ctx.pick(cands, vs.namespace)
    numbers = sorted({p.port for c in cands for p in c.ports})
    if d.dest.port is not None and d.dest.port.number:
        n = d.dest.port.number
        if not any(c.port(n) for c in cands):
            yield ctx.message("IST0101", vs,
                              f"Referenced {reftype}:port not found: \"{written}:{n}\". {svc.hostname} exposes "
                              f"port{'s' if len(numbers) != 1 else ''} {', '.join(map(str, numbers))}, so requests routed here "
                              f"fail with 503 (no such cluster); use one of those ports.", d.dest.port)
    elif len(svc.ports) > 1 and not _port_pinned_by_match(vs, d, svc):
        listed = " ".join(str(p.port) for p in svc.ports)
        yield ctx.message("IST0112", vs,
                          f"This VirtualService routes to a service \"{written}\" that exposes multiple ports [{listed}]. "
                          f"Specifying a port in the destination is required to disambiguate: without one, Istio sends "
                          f"each request to the port it arrived on, which fails for requests on any other port.", d.dest)


def _port_pinned_by_match(vs: VirtualService, d: RoutedDestination, svc) -> bool:
    """A mesh rule whose every match names a port of the service only runs on that port, so the
    port Istio infers (the listener's) is right; istioctl still asks for one, needlessly."""
    if d.kind != "http" or not mesh_bound(vs) or any(g != "mesh" for g in vs.spec.gateways):
        return False
    matches = vs.spec.http[d.rule].match
    return bool(matches) and all(m.port is not None and svc.port(m.port) is not None and not m.gateways for m in matches)


@analyzer("virtualservice.DestinationHosts", ("IST0101", "IST0112"),
          "Checks that every destination and mirror host exists and exposes the port a route names")
def destination_hosts(ctx: Context) -> Iterator[Message]:
    for vs in ctx.snap.virtual_services:
        for d in destinations(vs):
            yield from _dest_host(ctx, vs, d)


@analyzer("virtualservice.DestinationRules", ("IST0101",),
          "Checks that every subset a route names is defined by a DestinationRule for that host")
def destination_subsets(ctx: Context) -> Iterator[Message]:
    for vs in ctx.snap.virtual_services:
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
            yield ctx.message("IST0101", vs,
                              f"Referenced {reftype} in destinationrule not found: \"{d.dest.host}+{d.dest.subset}\". {detail}",
                              d.dest)


def _exported(ctx: Context, dr: DestinationRule, namespace: str) -> bool:
    if dr.spec.workload_selector is not None and dr.namespace != namespace:
        return False
    return exported_to(ctx.dr_export(dr), dr.namespace, namespace)


def _server_hosts_for(gw, vs_ns: str) -> list[str]:
    """The dnsNames of a Gateway's servers that a VirtualService in `vs_ns` may bind."""
    out = []
    for srv in gw.spec.servers:
        for h in srv.hosts:
            ns, slash, dns = h.rpartition("/")
            if not slash or ns == "*" or (ns == "." and gw.namespace == vs_ns) or ns == vs_ns:
                out.append(dns)
    return out


@analyzer("virtualservice.Gateways", ("IST0101", "IST0132"),
          "Checks that the Gateways a VirtualService binds to exist and serve at least one of its hosts")
def gateways(ctx: Context) -> Iterator[Message]:
    for vs in ctx.snap.virtual_services:
        vs_hosts = [ctx.fqdn(h, vs.namespace) for h in vs.spec.hosts]
        refs: list[tuple[str, str, bool]] = [(g, f"spec.gateways[{i}]", True) for i, g in enumerate(vs.spec.gateways)]
        for kind, rules in (("http", vs.spec.http), ("tcp", vs.spec.tcp), ("tls", vs.spec.tls)):
            for i, r in enumerate(rules):
                for j, m in enumerate(r.match):
                    refs.extend((g, f"spec.{kind}[{i}].match[{j}].gateways[{k}]", False) for k, g in enumerate(m.gateways))
        for written, path, top in refs:
            ref = hosts.gateway_ref(written, vs.namespace)
            if ref == "mesh":
                continue
            gw = ctx.gateways.get(ref)
            if gw is None:
                name = ref.split("/", 1)[1]
                elsewhere = sorted(g.namespace for g in ctx.snap.gateways if g.name == name)
                hint = (f"A Gateway {name} exists in namespace {', '.join(elsewhere)}: write {elsewhere[0]}/{name}."
                        if elsewhere else "Create it or fix the name (a name without namespace means the "
                        "VirtualService's namespace).")
                yield ctx.message("IST0101", vs,
                                  f"Referenced gateway not found: \"{written}\". There is no Gateway {ref}, so no gateway "
                                  f"applies these routes. {hint}", path=path)
                continue
            if not top or not vs_hosts:
                continue
            server_hosts = _server_hosts_for(gw, vs.namespace)
            if any(hosts.matches(sh, vh) for sh in server_hosts for vh in vs_hosts):
                continue
            accepted = ", ".join(sorted(set(server_hosts))) or "no host for this namespace"
            yield ctx.message("IST0132", vs,
                              f"one or more host [{' '.join(vs.spec.hosts)}] defined in VirtualService {vs.ref} not found in "
                              f"Gateway {ref}. Its servers accept {accepted}, so the gateway ignores this VirtualService; "
                              "add a matching host to a Gateway server (with this namespace allowed) or fix the hosts.",
                              path=path)


def _scopes(vs: VirtualService, default: tuple[str, ...]) -> set[str]:
    export = export_set(vs.spec.export_to, default)
    if "*" in export:
        return {"*"}
    if "~" in export:
        return set()
    return {vs.namespace if e == "." else e for e in export}


def _overlap(a: set[str], b: set[str]) -> bool:
    """Same scope, as istioctl keys it: a private or namespace-exported VirtualService is ordered
    before public ones, so only VirtualServices in the same scope are left to creation order."""
    return bool(a & b)


@analyzer("virtualservice.ConflictingMeshGatewayHosts", ("IST0109",),
          "Checks that no two mesh-bound VirtualServices claim the same host for the same namespaces")
def conflicting_mesh_hosts(ctx: Context) -> Iterator[Message]:
    by_host: dict[str, list[tuple[VirtualService, int, set[str]]]] = defaultdict(list)
    default = ctx.snap.mesh.default_virtual_service_export_to
    for vs in ctx.snap.virtual_services:
        if not vs.spec.hosts or not mesh_bound(vs):
            continue
        scopes = _scopes(vs, default)
        seen: set[str] = set()
        for i, h in enumerate(vs.spec.hosts):
            fq = ctx.fqdn(h, vs.namespace)
            if fq not in seen:
                seen.add(fq)
                by_host[fq].append((vs, i, scopes))
    for fq, entries in by_host.items():
        if len(entries) < 2:
            continue
        for vs, i, scopes in entries:
            others = [o for o, _, s in entries if o is not vs and _overlap(scopes, s)]
            if not others:
                continue
            names = ",".join(sorted([vs.ref] + [o.ref for o in others]))
            yield ctx.message("IST0109", vs,
                              f"The VirtualServices {names} associated with mesh gateway define the same host {fq} which can "
                              "lead to undefined behavior: each sidecar uses only one of them (the oldest) and silently "
                              "ignores the rest. This can be fixed by merging the conflicting VirtualServices into a single "
                              "resource.", path=f"spec.hosts[{i}]")
