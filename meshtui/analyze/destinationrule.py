"""DestinationRule checks: TLS without CA (IST0128, IST0129), unknown hosts (IST0174), subsets
that select no workload of their service (IST0173), and rules hidden by a wildcard rule in a client
namespace (MT0107)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from typing import TypeGuard

from meshtui.analyze.codes import INFO
from meshtui.analyze.context import Context, viewers_of
from meshtui.analyze.message import Message
from meshtui.analyze.registry import analyzer
from meshtui.analyze.walk import destinations, percent
from meshtui.model.istio import ClientTLSSettings, DestinationRule
from meshtui.model.k8s import Pod
from meshtui.model.snapshot import Endpoint, RegistryService, Workload, labels_match

_VERIFYING = ("SIMPLE", "MUTUAL")


def _unverified(tls: ClientTLSSettings | None, dr: DestinationRule) -> TypeGuard[ClientTLSSettings]:
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


@analyzer("destinationrule.UnknownHost", ("IST0174",),
          "Checks that a DestinationRule host names a service visible to the rule",
          inputs=("DestinationRule",), istio="destinationrule.SubsetSelectPodAnalyzer")
def unknown_host(ctx: Context) -> Iterator[Message]:
    for dr in ctx.snap.destination_rules:
        if dr_services(ctx, dr):
            continue
        fqdn = ctx.fqdn(dr.spec.host, dr.namespace)
        yield ctx.report("IST0174", dr, path="spec.host", host=dr.spec.host,
                         detail=f"No Service or ServiceEntry visible to namespace {dr.namespace} has host {fqdn}, so "
                                "this rule applies to nothing. Fix the host (a short name means this rule's namespace) "
                                "or add the ServiceEntry.")


# the labels istiod adds to a pod's own from its Node (label.AugmentLabels): what a subset may select
TOPOLOGY_LABELS = ("topology.kubernetes.io/region", "topology.kubernetes.io/zone", "topology.istio.io/subzone")
HOSTNAME_LABEL = "kubernetes.io/hostname"


def augmented(ctx: Context, w: Workload) -> dict[str, str]:
    """A workload's labels as istiod matches subsets against them: its own, plus its Node's
    region, zone and subzone (where set and not empty) and the node name as kubernetes.io/hostname."""
    pod = w.resource if isinstance(w.resource, Pod) else None
    node = pod.spec.node_name if pod is not None and pod.spec is not None else ""
    if not node:
        return w.labels
    out = dict(w.labels)
    nl = ctx.node_labels.get(node, {})
    region, zone, subzone = (nl.get(k, "") for k in TOPOLOGY_LABELS)
    # istiod writes the node's locality as region/zone/subzone and splits it back: a subzone
    # without a zone does not survive that
    for k, v in zip(TOPOLOGY_LABELS, (region, zone, subzone if zone else ""), strict=True):
        if v:
            out[k] = v
    out[HOSTNAME_LABEL] = node
    return out


def _service_label_sets(ctx: Context, svc: RegistryService) -> list[dict[str, str]] | None:
    """The label sets a subset of this service is matched against: the workloads its selector
    picks in its namespace (pods, or a Deployment's template when its pods are not in the
    sources), else the labels of its endpoints. None when they cannot be judged (endpoints of
    pods the sources do not hold)."""
    if svc.selector:
        return [augmented(ctx, w) for w in ctx.selected_workloads(svc.selector, svc.namespace)]
    eps = list(svc.endpoints)
    if eps and not any(labels_known(ctx, e) for e in eps):
        return None
    return [e.labels for e in eps]


@analyzer("destinationrule.SubsetsSelectPods", ("IST0173",),
          "Checks that each DestinationRule subset selects some workload of its service (an error when a route "
          "sends it traffic, a note otherwise)",
          inputs=("DestinationRule", "Pod|Deployment|StatefulSet"), istio="destinationrule.SubsetSelectPodAnalyzer")
def subsets_select_pods(ctx: Context) -> Iterator[Message]:
    users = subset_users(ctx)
    for dr in ctx.snap.destination_rules:
        fqdn = ctx.fqdn(dr.spec.host, dr.namespace)
        svcs = dr_services(ctx, dr)
        if not svcs or fqdn.startswith("*") or not dr.spec.subsets:
            continue  # a wildcard rule's subsets are judged per service by the routes that use them (MT0102)
        svc = ctx.pick(svcs, dr.namespace)
        label_sets = _service_label_sets(ctx, svc)
        if label_sets is None:
            continue
        for sub in dr.spec.subsets:
            if any(labels_match(sub.labels, ls) for ls in label_sets):
                continue
            if not label_sets:
                why = f"{svc.hostname} has no workloads or endpoints at all in these sources"
            else:
                seen = sorted({f"{k}={v}" for ls in label_sets for k, v in ls.items() if k in sub.labels})
                why = (f"its workloads carry {', '.join(seen)}" if seen
                       else f"none of its workloads has the label{'s' if len(sub.labels) > 1 else ''} "
                            f"{', '.join(sub.labels)}")
            want = ", ".join(f"{k}={v}" for k, v in sorted(sub.labels.items())) or "every workload"
            used_by = users.get((svc.hostname, sub.name))
            if used_by:
                yield ctx.report("IST0173", dr, sub, subset=sub.name,
                                 detail=f"It selects {want}, but {why}. It receives traffic from "
                                        f"{'; '.join(sorted(set(used_by)))}. Fix the labels or deploy matching workloads.")
            else:  # nothing fails yet (istioctl reports it as an error all the same): a note
                yield ctx.report("IST0173", dr, sub, level=INFO, subset=sub.name,
                                 detail=f"It selects {want}, but {why}. No route sends it traffic now; one that does "
                                        "gets 503 UH. Fix the labels, deploy matching workloads or drop the subset.")


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
