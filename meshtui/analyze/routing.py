"""meshtui's own routing checks that read the snapshot: weighted subsets without endpoints
(MT0102), mesh VirtualService hosts no service has (MT0104), faults without a percentage (MT0105)
and retries whose per-try timeout leaves no room for a retry (MT0106)."""

from __future__ import annotations

from collections.abc import Iterator

from meshtui.analyze import hosts
from meshtui.analyze.context import Context, mesh_bound, viewers_of
from meshtui.analyze.destinationrule import labels_known
from meshtui.analyze.message import Message
from meshtui.analyze.registry import analyzer
from meshtui.analyze.walk import destinations, percent, rule_label
from meshtui.model.snapshot import labels_match

_NO_SUBSETS = ("Passthrough", "Alias", "DynamicDNS")  # original-destination style: no subset clusters


@analyzer("routing.SubsetWithoutEndpoints", ("MT0102",),
          "Finds routes that send a share of their traffic to a subset with no ready endpoint",
          inputs=("VirtualService", "DestinationRule", "Pod|EndpointSlice|Endpoints|Deployment|StatefulSet"))
def subset_without_endpoints(ctx: Context) -> Iterator[Message]:
    for vs in ctx.snap.virtual_services:
        viewers = viewers_of(vs, vs.spec.export_to)
        for d in destinations(vs):
            if d.mirror or not d.dest.subset or d.share <= 0:
                continue
            cands = ctx.services(ctx.fqdn(d.dest.host, vs.namespace), viewers)
            if not cands:
                continue  # IST0101
            svc = ctx.pick(cands, vs.namespace)
            if svc.resolution in _NO_SUBSETS or not svc.endpoints:
                continue  # no endpoint information to judge (IST0173 covers a service without any)
            eff = ctx.dr_index.lookup(svc.hostname, svc.namespace, vs.namespace)
            subset = eff.subsets.get(d.dest.subset) if eff is not None else None
            if subset is None:
                continue  # IST0101 (undefined) or MT0107 (hidden by a wildcard rule)
            if d.dest.port is not None and d.dest.port.number:
                ports = [p for p in svc.ports if p.port == d.dest.port.number]
            else:
                ports = list(svc.ports)
            eps = [e for p in ports for e in svc.endpoints_for(p)]
            if not eps or not any(labels_known(ctx, e) for e in eps):
                continue
            ready = [e for e in eps if e.ready and labels_match(subset.labels, e.labels)]
            if ready:
                continue
            matching = [e for e in eps if labels_match(subset.labels, e.labels)]
            if not matching and not any(labels_match(subset.labels, e.labels) for e in svc.endpoints):
                continue  # no endpoint on any port: IST0173 on the DestinationRule names this route
            why = (f"its {len(matching)} matching endpoint{'s are' if len(matching) != 1 else ' is'} not ready" if matching
                   else "no endpoint has its labels " + ", ".join(f"{k}={v}" for k, v in sorted(subset.labels.items())))
            port_txt = f" on port {ports[0].port}" if len(ports) == 1 else ""
            rule = vs.spec.http[d.rule] if d.kind == "http" else (vs.spec.tcp if d.kind == "tcp" else vs.spec.tls)[d.rule]
            yield ctx.report("MT0102", vs, d.dest, rule=rule_label(getattr(rule, "name", ""), d.rule),
                             share=percent(d.share), subset=subset.name, host=svc.hostname, port=port_txt, why=why,
                             detail="Fix the subset labels, deploy matching workloads, or set its weight to 0.")


@analyzer("routing.HostNotInRegistry", ("MT0104",),
          "Finds mesh VirtualService hosts that match no service: sidecars apply them to port 80 only",
          inputs=("VirtualService",))
def host_not_in_registry(ctx: Context) -> Iterator[Message]:
    for vs in ctx.snap.virtual_services:
        if not vs.spec.hosts or not mesh_bound(vs) or not vs.spec.http:
            continue
        for i, h in enumerate(vs.spec.hosts):
            fq = ctx.fqdn(h, vs.namespace)
            if fq == "*" or hosts.is_ip(fq):
                continue
            if ctx.services(fq, viewers_of(vs, vs.spec.export_to)):
                continue
            yield ctx.report("MT0104", vs, path=f"spec.hosts[{i}]", host=fq,
                             detail="Sidecars apply this VirtualService's HTTP rules only to requests on port 80 (a virtual "
                                    "host Istio adds for unknown hosts) and ignore it on every other port. Add a "
                                    "ServiceEntry for the host with the ports you use, or fix the host.")


@analyzer("routing.FaultWithoutPercentage", ("MT0105",),
          "Finds fault injections without a percentage, which inject nothing", inputs=("VirtualService",))
def fault_without_percentage(ctx: Context) -> Iterator[Message]:
    for vs in ctx.snap.virtual_services:
        for i, r in enumerate(vs.spec.http):
            f = r.fault
            if f is None:
                continue
            label = rule_label(r.name, i)
            if f.abort is not None and f.abort.percentage is None:
                yield ctx.report("MT0105", vs, f.abort, fault="abort", rule=label, effect="aborted",
                                 detail="Add percentage: {value: 100} (or the share you want).")
            if f.delay is not None and f.delay.percentage is None and f.delay.percent is None:
                yield ctx.report("MT0105", vs, f.delay, fault="delay", rule=label, effect="delayed",
                                 detail="Add percentage: {value: 100} (or the share you want).")


@analyzer("routing.RetryTimeouts", ("MT0106",),
          "Finds retries whose perTryTimeout is not below the route timeout, so no retry can happen",
          inputs=("VirtualService",))
def retry_timeouts(ctx: Context) -> Iterator[Message]:
    mesh = ctx.snap.mesh
    for vs in ctx.snap.virtual_services:
        for i, r in enumerate(vs.spec.http):
            # a rule without retries gets MeshConfig defaultHttpRetryPolicy, when one is set
            rt = r.retries if r.retries is not None else mesh.default_http_retry_policy
            if rt is None or rt.attempts <= 0 or rt.per_try_timeout is None or r.timeout is None:
                continue
            if r.timeout.seconds <= 0 or rt.per_try_timeout.seconds < r.timeout.seconds:
                continue
            whose = "" if r.retries is not None else f" (from {mesh.where('default_http_retry_policy')} defaultHttpRetryPolicy)"
            yield ctx.report("MT0106", vs, rule=rule_label(r.name, i),
                             attempts=f"{rt.attempts} retr{'ies' if rt.attempts != 1 else 'y'}",
                             per_try=f"{rt.per_try_timeout}{whose}", timeout=r.timeout,
                             detail="The first try can use up the whole timeout, so a slow upstream is never retried. "
                                    f"Make perTryTimeout smaller than timeout / {rt.attempts + 1}, or raise the timeout.",
                             path=f"spec.http[{i}].retries.perTryTimeout" if r.retries is not None else f"spec.http[{i}].timeout")
