"""TCP and TLS VirtualService rules → filter chains, for sidecars and gateways alike (Istio's
buildSidecarOutboundTCP/TLSFilterChainOpts and buildGatewayNetworkFiltersFromTCP/TLSRoutes).

The two differ only where Istio's do: which config-time fields a match is judged on (match.py),
whether destinationSubnets become prefix ranges (sidecars only), whether sniHosts are narrowed to
the gateway server's hosts, and whether a chain without runtime matches ends the list (sidecars)."""

from __future__ import annotations

from meshtui.model.hosts import subset_of
from meshtui.model.istio import TCPRoute, TLSMatchAttributes, TLSRoute, VirtualService
from meshtui.translate.config import DroppedMatch, FilterChain, TcpRoute, WeightedCluster
from meshtui.translate.match import gateway_l4_verdict, ignored_fields, sidecar_l4_verdict
from meshtui.translate.routes import RouteContext, destination_cluster, vs_ref


def l4_chains(vs: VirtualService, tls: bool, ctx: RouteContext, *, gateway: bool = False,
              server_hosts: list[str] | None = None) -> tuple[list[FilterChain], bool]:
    """The chains of one VirtualService's `tls` (or `tcp`) rules for the proxy and port in `ctx`,
    in order, and whether the last one takes every connection (a sidecar stops there). Matches
    left out go to ctx.dropped, ignored fields to ctx.notes. `server_hosts` (gateways): the
    server's hosts visible to this VirtualService, which sniHosts are narrowed to."""
    kind = "tls" if tls else "tcp"
    verdict_of = gateway_l4_verdict if gateway else sidecar_l4_verdict
    side = ctx.side
    out: list[FilterChain] = []
    rules: tuple[TLSRoute | TCPRoute, ...] = vs.spec.tls if tls else vs.spec.tcp
    for i, rule in enumerate(rules):
        vpath = f"spec.{kind}[{i}]"  # the VirtualService's own path (ref.path is the route's when istiod derived it)
        ref = vs_ref(vs, vpath, rule.src.line)
        dests: list[WeightedCluster] = []
        for k, d in enumerate(rule.route):
            if d.destination is None:
                continue
            name, host, dport = destination_cluster(d.destination, vs.namespace, ctx, http=False)
            dests.append(WeightedCluster(name, (d.weight or 0) if len(rule.route) > 1 else 100, host, dport, d.destination.subset,
                                         ref=vs_ref(vs, f"{vpath}.route[{k}]", d.src.line)))
        for j, m in enumerate(rule.match or (None,)):
            verdict = verdict_of(m, side, vs.namespace)
            if not verdict:
                assert m is not None and verdict.field is not None
                ctx.dropped.append(DroppedMatch(vs_ref(vs, f"{vpath}.match[{j}]", m.src.line), f"{kind}[{i}].match[{j}]",
                                                verdict.field, verdict.reason))
                continue
            ctx.notes.extend(f"{vs.namespace}/{vs.name} {vpath}.match[{j}]: {why}" for _, why in ignored_fields(m, gateway))
            sni = tuple(m.sni_hosts) if isinstance(m, TLSMatchAttributes) else ()
            if gateway and tls and m is not None:
                sni = tuple(h for h in sni if any(subset_of(h, s) or subset_of(s, h) for s in server_hosts or ()))
                if not sni:
                    continue
            subnets = tuple(m.destination_subnets) if m is not None and not gateway else ()
            transport = "tls" if (tls if gateway else sni) else ""
            out.append(FilterChain(vpath, "tcp", tcp=TcpRoute(tuple(dests), ref), server_names=sni,
                                   prefix_ranges=subnets, transport=transport, ref=ref))
            if not gateway and not sni and not subnets:
                return out, True
    return out, False


def dropped_notes(dropped: tuple[DroppedMatch, ...]) -> list[str]:
    """Dropped L4 matches as proxy notes (L4 chains have no virtual host to carry them)."""
    return [f"{d.ref.kind} {d.ref.namespace}/{d.ref.name} {d.label} dropped for this proxy: {d.reason}" for d in dropped]
