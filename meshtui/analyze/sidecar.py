"""Sidecar checks: selectors that match nothing (IST0101), workloads selected twice (IST0110),
several selector-less Sidecars in a namespace (IST0111), and egress scopes that import a host but
not the VirtualService that routes it (MT0103)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator

from meshtui.analyze import hosts
from meshtui.analyze.context import Context, export_set, mesh_bound
from meshtui.analyze.gateway import selector_text
from meshtui.analyze.message import Message
from meshtui.analyze.registry import analyzer
from meshtui.model.istio import Sidecar, VirtualService
from meshtui.model.snapshot import RegistryService, Workload, exported_to


def _selector(sc: Sidecar) -> dict[str, str]:
    ws = sc.spec.workload_selector if sc.spec is not None else None
    return dict(ws.labels) if ws is not None else {}


def _ambient_namespace(ctx: Context, ns: str) -> bool:
    """A namespace whose pods run without sidecars (ambient), as Istio reads its labels: an
    injection label or revision label means sidecars after all."""
    obj = ctx.snap.get("Namespace", "", ns)
    labels = obj.metadata.labels if obj is not None else {}
    if labels.get("istio-injection") == "enabled" or labels.get("istio.io/rev"):
        return False
    return labels.get("istio.io/dataplane-mode") == "ambient"


def _ambient_pod(w: Workload) -> bool:
    res = w.resource
    return w.kind == "Pod" and res is not None and \
        res.metadata.annotations.get("ambient.istio.io/redirection") == "enabled"


def _all_sidecars(ctx: Context) -> list[Sidecar]:
    """With those that fail validation, as istioctl; one without spec is an empty Sidecar to Istio."""
    spec_less = [o for o in ctx.snap.rejected if isinstance(o, Sidecar) and o.spec_missing]
    return [*ctx.with_rejected(Sidecar), *spec_less]


@analyzer("sidecar.Selectors", ("IST0101", "IST0110", "IST0167"),
          "Checks that Sidecar selectors match workloads and that each workload gets exactly one Sidecar",
          inputs=("Sidecar", "Pod|Deployment|StatefulSet"), istio="sidecar.SelectorAnalyzer")
def selectors(ctx: Context) -> Iterator[Message]:
    by_workload: dict[tuple[str, str], list[Sidecar]] = defaultdict(list)
    for sc in _all_sidecars(ctx):
        sel = _selector(sc)
        if not sel:
            continue
        picked = ctx.selected_workloads(sel, sc.namespace)
        if not picked:
            yield ctx.report("IST0101", sc, path="spec.workloadSelector", reftype="selector", ref=selector_text(sel),
                             detail=f"No workload in namespace {sc.namespace} has these labels, so this Sidecar applies "
                                    "to nothing; fix the labels.")
        for w in picked:
            by_workload[(w.namespace, w.name)].append(sc)
    reported: set[tuple[tuple[str, str, str], tuple[str, ...]]] = set()  # (Sidecar, the Sidecars it clashes with)
    ineffective: set[tuple[str, str, str]] = set()
    for (ns, wname), scs in sorted(by_workload.items()):
        if any(x.name == wname and _ambient_pod(x) for x in ctx.workloads_by_ns.get(ns, [])):
            for sc in scs:
                if sc.key not in ineffective:
                    ineffective.add(sc.key)
                    yield ctx.report("IST0167", sc, path="spec.workloadSelector",
                                     why="selected workload is in ambient mode, the policy has no impact",
                                     detail=f"Pod {ns}/{wname} runs without a sidecar (ambient redirection), so no "
                                            "proxy reads this Sidecar.")
            continue
        if len(scs) < 2:
            continue
        names = sorted(s.ref for s in scs)
        for sc in scs:
            key = (sc.key, tuple(names))
            if key in reported:
                continue
            reported.add(key)
            yield ctx.report("IST0110", sc, path="spec.workloadSelector", names=" ".join(names), namespace=ns, pod=wname,
                             detail="Istio applies only the oldest. Make their selectors disjoint or merge them.")


@analyzer("sidecar.NamespaceDefaults", ("IST0111", "IST0167"),
          "Checks that a namespace has at most one Sidecar without selector, and none if it runs in ambient mode",
          inputs=("Sidecar",), istio="sidecar.SelectorAnalyzer")
def namespace_defaults(ctx: Context) -> Iterator[Message]:
    defaults: dict[str, list[Sidecar]] = defaultdict(list)
    for sc in _all_sidecars(ctx):
        if not _selector(sc):
            defaults[sc.namespace].append(sc)
    for ns, scs in defaults.items():
        if _ambient_namespace(ctx, ns):
            for sc in scs:
                yield ctx.report("IST0167", sc, path="metadata.name",
                                 why="namespace is in ambient mode, the policy has no impact",
                                 detail=f"Namespace {ns} is labelled istio.io/dataplane-mode=ambient, so its pods "
                                        "have no sidecar to read this Sidecar.")
            continue
        if len(scs) < 2:
            continue
        names = sorted(s.ref for s in scs)
        for sc in scs:
            yield ctx.report("IST0111", sc, path="metadata.name", names=" ".join(names), namespace=ns,
                             detail="Istio applies only the oldest to the namespace. Keep one, or add workload selectors.")


def _entries(sc: Sidecar, config_ns: str) -> list[tuple[str, str, int]]:
    out: list[tuple[str, str, int]] = []
    for i, eg in enumerate(sc.spec.egress):
        for h in eg.hosts:
            ns, slash, dns = h.partition("/")
            if not slash or ns.startswith("~"):
                continue
            out.append((config_ns if ns == "." else ns, dns, i))
    return out


def _imports_service(entries: list[tuple[str, str, int]], rs: RegistryService) -> bool:
    return any((ns == "*" or ns == rs.namespace) and (dns == "*" or hosts.matches(dns, rs.hostname))
               for ns, dns, _ in entries)


def _imports_vs(ctx: Context, entries: list[tuple[str, str, int]], vs: VirtualService) -> bool:
    fq = [ctx.fqdn(h, vs.namespace) for h in vs.spec.hosts]
    return any((ns == "*" or ns == vs.namespace) and (dns == "*" or any(hosts.matches(dns, h) for h in fq))
               for ns, dns, _ in entries)


def _config_namespaces(ctx: Context, sc: Sidecar) -> list[str]:
    """The namespaces whose proxies this Sidecar shapes (a root-namespace default applies to
    every namespace without its own default)."""
    if sc.namespace != ctx.root_ns or _selector(sc):
        return [sc.namespace]
    own = {s.namespace for s in ctx.snap.sidecars if not _selector(s)}
    return sorted(ns for ns in ctx.workloads_by_ns if ns not in own or ns == ctx.root_ns)


class _VsIndex:
    """Mesh VirtualServices by the hosts they route: exact hosts in a dict, wildcards in a list."""

    def __init__(self, ctx: Context, vss: list[VirtualService]) -> None:
        self.exact: dict[str, list[VirtualService]] = defaultdict(list)
        self.wild: list[tuple[str, VirtualService]] = []
        for vs in vss:
            for h in vs.spec.hosts:
                fq = ctx.fqdn(h, vs.namespace)
                if fq.startswith("*"):
                    self.wild.append((fq, vs))
                elif vs not in self.exact[fq]:
                    self.exact[fq].append(vs)

    def owners(self, hostname: str) -> list[VirtualService]:
        out = list(self.exact.get(hostname, ()))
        out.extend(vs for pattern, vs in self.wild if hosts.covers(pattern, hostname) and vs not in out)
        return out


def _tracer_sees_vs(ctx: Context, sc: Sidecar, cns: str, rs: RegistryService, vs: VirtualService) -> bool:
    """Confirm with the translator: does a proxy this Sidecar shapes route `rs` by `vs` after all?
    (Only HTTP ports have a virtual host to look at; otherwise the scope rules above decide.)"""
    from meshtui.analyze.shadowing import _config
    from meshtui.analyze.tracing import default_tracer
    from meshtui.model.protocol import is_http

    if ctx.tracer is None:
        ctx.tracer = default_tracer(ctx.full)
    tracer = ctx.tracer
    sel = _selector(sc)
    picked = ctx.selected_workloads(sel, cns) if sel else []
    labels = dict(picked[0].labels) if picked else dict(sel)
    cfg = _config(lambda: tracer.sidecar(cns, labels))
    if cfg is None:
        return False
    for p in rs.ports:
        rc = cfg.route_configs.get(str(p.port)) if is_http(p.protocol) else None
        if rc is None:
            continue
        vh, _ = rc.select(rs.hostname)
        ref = vh.ref if vh is not None else None
        return ref is not None and (ref.namespace, ref.name) == (vs.namespace, vs.name)
    return False


@analyzer("sidecar.ScopeHidesVirtualService", ("MT0103",),
          "Finds Sidecars whose egress imports a service but not the VirtualService that routes it "
          "(confirmed on the translated proxy)", inputs=("Sidecar", "VirtualService"), uses_tracer=True)
def scope_hides_virtual_service(ctx: Context) -> Iterator[Message]:
    default_export = ctx.snap.mesh.default_virtual_service_export_to
    mesh_vs = [vs for vs in ctx.snap.virtual_services if vs.spec.hosts and mesh_bound(vs)]
    if not mesh_vs:
        return
    index = _VsIndex(ctx, mesh_vs)
    for sc in ctx.snap.sidecars:
        if not sc.spec.egress:
            continue  # no egress: the default scope, which imports everything
        for cns in _config_namespaces(ctx, sc):
            entries = _entries(sc, cns)
            for rs in ctx.snap.registry:
                owners = index.owners(rs.hostname)
                if not owners or not rs.visible_to(cns) or not _imports_service(entries, rs):
                    continue
                visible = [vs for vs in owners
                           if exported_to(export_set(vs.spec.export_to, default_export), vs.namespace, cns)]
                if not visible or any(_imports_vs(ctx, entries, vs) for vs in visible):
                    continue
                vs = visible[0]
                if _tracer_sees_vs(ctx, sc, cns, rs, vs):
                    continue
                where = "proxies in namespace " + cns + (f" selected by {selector_text(_selector(sc))}" if _selector(sc) else "")
                yield ctx.report("MT0103", sc, path="spec.egress", host=rs.hostname, vs=vs.ref,
                                 detail=f"Egress hosts name the namespace where a VirtualService is defined, not the "
                                        f"service's. So {where} send {rs.hostname} traffic with default routing and ignore "
                                        f"the VirtualService's rules. Add \"{vs.namespace}/{rs.hostname}\" to the egress "
                                        "hosts.")
