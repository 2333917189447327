"""DestinationRule checks: TLS without CA (IST0128, IST0129), unknown hosts (IST0174), subsets
that select nothing (IST0173), and rules hidden by a wildcard rule in a client namespace (MT0107)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator

from meshtui.analyze.context import Context, viewers_of
from meshtui.analyze.message import Message
from meshtui.analyze.registry import analyzer
from meshtui.analyze.walk import destinations, percent
from meshtui.model.istio import ClientTLSSettings, DestinationRule
from meshtui.model.snapshot import Endpoint, RegistryService, labels_match

_VERIFYING = ("SIMPLE", "MUTUAL")


def _unverified(tls: ClientTLSSettings | None, dr: DestinationRule) -> bool:
    if tls is None or tls.mode not in _VERIFYING or tls.ca_certificates:
        return False
    # a credentialName secret carries its own CA, honoured for workloadSelector rules (istioctl)
    return not (tls.credential_name and dr.spec.workload_selector is not None)


@analyzer("destinationrule.CaCertificates", ("IST0128", "IST0129"),
          "Checks that TLS origination (SIMPLE/MUTUAL) says which CA verifies the server",
          inputs=("DestinationRule",), istio="destinationrule.CaCertificateAnalyzer")
def ca_certificates(ctx: Context) -> Iterator[Message]:
    tail = ("Without caCertificates the proxy checks the server only against its default trust store (or not at all "
            "on older Istio versions); set caCertificates (or credentialName) to the CA that signs the server's certificate.")
    for dr in ctx.snap.destination_rules:
        tp = dr.spec.traffic_policy
        if tp is None:
            continue
        if _unverified(tp.tls, dr):
            yield ctx.report("IST0128", dr, tp.tls, rule=dr.ref, namespace=dr.namespace, mode=tp.tls.mode,
                             host=dr.spec.host, detail=tail)
        for _i, p in enumerate(tp.port_level_settings):
            if _unverified(p.tls, dr):
                port = p.port.number if p.port else "?"
                yield ctx.report("IST0129", dr, p.tls, rule=dr.ref, namespace=dr.namespace, mode=p.tls.mode,
                                 host=dr.spec.host, port=port, detail=tail)


def dr_services(ctx: Context, dr: DestinationRule) -> list[RegistryService]:
    fqdn = ctx.fqdn(dr.spec.host, dr.namespace)
    return ctx.services(fqdn, viewers_of(dr, dr.spec.export_to))


def labels_known(ctx: Context, ep: Endpoint) -> bool:
    """False for an endpoint whose pod is not in the sources (its labels are only the service
    selector, so subset labels cannot be judged)."""
    if ep.origin.startswith(("EndpointSlice", "Endpoints")):
        ns, _, name = ep.pod.partition("/")
        return bool(ep.pod) and ctx.snap.get("Pod", ns, name) is not None
    return True


def subset_users(ctx: Context) -> dict[tuple[str, str], list[str]]:
    """(service hostname, subset) -> the routes that send it traffic, as `VirtualService ns/name rule #i (50%)`."""
    out: dict[tuple[str, str], list[str]] = defaultdict(list)
    for vs in ctx.snap.virtual_services:
        viewers = viewers_of(vs, vs.spec.export_to)
        for d in destinations(vs):
            if not d.dest.subset or (d.share <= 0 and not d.mirror):
                continue
            for rs in ctx.services(ctx.fqdn(d.dest.host, vs.namespace), viewers):
                what = "mirror of" if d.mirror else percent(d.share) + " of"
                out[(rs.hostname, d.dest.subset)].append(
                    f"VirtualService {vs.ref} {d.kind} rule #{d.rule} ({what} its requests)")
    return out


@analyzer("destinationrule.SubsetsAndHosts", ("IST0173", "IST0174"),
          "Checks that a DestinationRule host exists and that each subset a route uses selects an endpoint",
          inputs=("DestinationRule",), istio="destinationrule.SubsetSelectPodAnalyzer")
def subsets_and_hosts(ctx: Context) -> Iterator[Message]:
    users = subset_users(ctx)
    for dr in ctx.snap.destination_rules:
        fqdn = ctx.fqdn(dr.spec.host, dr.namespace)
        svcs = dr_services(ctx, dr)
        if not svcs:
            yield ctx.report("IST0174", dr, path="spec.host", host=dr.spec.host,
                             detail=f"No Service or ServiceEntry visible to namespace {dr.namespace} has host {fqdn}, so "
                                    "this rule applies to nothing. Fix the host (a short name means this rule's namespace) "
                                    "or add the ServiceEntry.")
            continue
        if fqdn.startswith("*"):
            continue  # a wildcard rule's subsets are judged per service by the routes that use them (MT0102)
        svc = ctx.pick(svcs, dr.namespace)
        eps = list(svc.endpoints)
        for sub in dr.spec.subsets:
            used_by = users.get((svc.hostname, sub.name))
            if not used_by:
                continue  # an unused subset without pods is harmless (istioctl reports it; bookinfo's own rules trip it)
            if any(labels_match(sub.labels, e.labels) for e in eps):
                continue
            if eps and not any(labels_known(ctx, e) for e in eps):
                continue
            if not eps:
                why = f"{svc.hostname} has no endpoints at all in these sources"
            else:
                seen = sorted({f"{k}={v}" for e in eps for k, v in e.labels.items() if k in sub.labels})
                why = (f"its endpoints carry {', '.join(seen)}" if seen
                       else f"none of its endpoints has the label{'s' if len(sub.labels) > 1 else ''} "
                            f"{', '.join(sub.labels)}")
            want = ", ".join(f"{k}={v}" for k, v in sorted(sub.labels.items())) or "every endpoint"
            yield ctx.report("IST0173", dr, sub, subset=sub.name,
                             detail=f"It selects {want}, but {why}. It receives traffic from "
                                    f"{'; '.join(sorted(set(used_by)))}. Fix the labels or deploy matching workloads.")


@analyzer("destinationrule.ShadowedByWildcard", ("MT0107",),
          "Finds DestinationRules that a wildcard rule in a client namespace hides from that namespace's clients",
          inputs=("DestinationRule",))
def shadowed_by_wildcard(ctx: Context) -> Iterator[Message]:
    reported: set[tuple[tuple[str, str, str], tuple[str, str, str]]] = set()
    for w, pattern in ctx.dr_hosts:
        if not pattern.startswith("*") or w.spec.workload_selector is not None or w.namespace == ctx.root_ns:
            continue
        client = w.namespace
        for svc in ctx.services(pattern, [client]):
            if svc.namespace == client:
                continue
            eff = ctx.dr_index.lookup(svc.hostname, svc.namespace, client)
            if eff is None or eff.tier != "client-namespace" or w not in eff.rules:
                continue
            for x in eff.shadowed:  # exact-host rules in the service's or the root namespace
                key = (x.key, w.key)
                if key in reported:
                    continue
                reported.add(key)
                lost = sorted({s.name for s in x.spec.subsets} - set(eff.subsets))
                effect = (f"; routes from there to its subsets {', '.join(lost)} fail with 503 (no cluster)" if lost else "")
                yield ctx.report("MT0107", x, path="spec.host", client=client, wildcard=w.ref, pattern=w.spec.host,
                                 host=svc.hostname,
                                 detail=f"{effect.lstrip('; ').capitalize() + '. ' if effect else ''}Istio does not merge "
                                        f"rules across namespaces: add host {svc.hostname} to a DestinationRule in "
                                        f"{client}, or narrow {w.ref}'s host.")
