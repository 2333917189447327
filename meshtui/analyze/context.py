"""What every analyzer reads: the snapshot plus indexes built once (hosts, DestinationRules by
namespace, gateways, workloads), and `message()`, which turns a finding into a located Message."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import datetime
from functools import cached_property
from typing import TYPE_CHECKING, TypeVar

from meshtui.analyze import hosts
from meshtui.analyze.codes import CODES, level_of
from meshtui.analyze.message import Message
from meshtui.analyze.walk import rules_by_kind
from meshtui.model.istio import DestinationRule, Gateway, Resource, ServiceEntry, Sidecar, VirtualService
from meshtui.model.parse import locate
from meshtui.model.schema import Node
from meshtui.model.security import RequestAuthentication
from meshtui.model.snapshot import MeshSnapshot, RegistryService, Workload, labels_match
from meshtui.model.source import Diagnostic

if TYPE_CHECKING:
    from meshtui.simulate.tracer import Tracer
    from meshtui.translate.policy import DRIndex

R = TypeVar("R", bound=Resource)

# the snapshot field that holds each Istio kind
_FIELDS: dict[type[Resource], str] = {VirtualService: "virtual_services", DestinationRule: "destination_rules",
                                      Gateway: "gateways", ServiceEntry: "service_entries", Sidecar: "sidecars"}


def export_set(values: tuple[str, ...], default: tuple[str, ...] = ("*",)) -> tuple[str, ...]:
    return tuple(values) if values else default


def viewers_of(obj: Resource, export_to: tuple[str, ...]) -> set[str]:
    """Namespaces an object is written for: its own plus those named in exportTo."""
    out = {obj.namespace}
    for e in export_to:
        if e not in ("*", "~", "."):
            out.add(e)
    return out


def mesh_bound(vs: VirtualService) -> bool:
    g = vs.spec.gateways
    return not g or "mesh" in g


# istioctl's stand-in for Istio's own ingress gateway when it analyses files alone
# (local.AddDefaultResources): a pod labelled istio=ingressgateway in Istio's namespace whose
# Service forwards 80, 443, 31400 and 15443. The gateway checks assume the same, so a Gateway on
# the standard ingress is judged against a standard install rather than reported as selecting
# nothing. Deliberately wider than istioctl's: the target ports 8080 and 8443 that current
# installs forward 80 and 443 to are included (docs/oracle-differences.md, "analyze").
STAND_IN_GATEWAY_LABELS = {"istio": "ingressgateway"}
STAND_IN_GATEWAY_PORTS = frozenset({80, 443, 8080, 8443, 31400, 15443})


class Context:
    def __init__(self, snapshot: MeshSnapshot, tracer: Tracer | None = None) -> None:
        self.full = snapshot  # with the config istiod derives from the Gateway API: what traces run on
        self.snap = snapshot.as_written()
        self.suffix = snapshot.mesh.domain_suffix
        self.root_ns = snapshot.mesh.root_namespace
        self.tracer = tracer
        self.diagnostics: list[Diagnostic] = []  # the loader's, set by analyze()
        # the time certificates are judged at, given by the caller (the core reads no clock);
        # None: validity windows are not checked
        self.now: datetime | None = None
        # selected_workloads' answers: (namespace or None, sorted selector) -> workloads
        self._selected: dict[tuple[str | None, tuple[tuple[str, str], ...]], list[Workload]] = {}

    # ---------------------------------------------------------------- what was read

    def with_rejected(self, cls: type[R]) -> list[R]:
        """The objects of one kind, including those that fail validation (IST0106): the checks
        that mirror istioctl's analyze them too, as istioctl does."""
        field = _FIELDS.get(cls)
        pool = getattr(self.snap, field) if field is not None else self.snap.all_resources()
        valid = [o for o in pool if isinstance(o, cls)]
        return valid + [o for o in self.snap.rejected if isinstance(o, cls) and not o.spec_missing]

    @cached_property
    def files_only(self) -> bool:
        """True when nothing came from a cluster (then the stand-in ingress gateway applies)."""
        return not any(o.src.file.startswith("cluster:") for o in self.snap.by_key.values())

    # ---------------------------------------------------------------- hosts and registry

    def fqdn(self, host: str, namespace: str) -> str:
        return hosts.expand(host, namespace, self.suffix)

    @cached_property
    def _wild_registry(self) -> list[RegistryService]:
        return [rs for rs in self.snap.registry if rs.hostname.startswith("*")]

    def services(self, host: str, viewers: Iterable[str] | None = None) -> list[RegistryService]:
        """Registry services a request for `host` can reach, visible to one of `viewers` (any
        namespace if None). A wildcard `host` returns every service it covers."""
        vs = list(viewers) if viewers is not None else None

        def visible(rs: RegistryService) -> bool:
            return vs is None or any(rs.visible_to(v) for v in vs)

        if host.startswith("*"):
            return [rs for rs in self.snap.registry if hosts.covers(host, rs.hostname) and visible(rs)]
        out = [rs for rs in self.snap.services_by_host.get(host, ()) if visible(rs)]
        if out:
            return out
        wild = [rs for rs in self._wild_registry if hosts.covers(rs.hostname, host) and visible(rs)]
        wild.sort(key=lambda rs: hosts.specificity(rs.hostname))
        return wild

    def pick(self, candidates: list[RegistryService], namespace: str) -> RegistryService:
        """The service a config in `namespace` means when several share a hostname: its own
        namespace first, then a Kubernetes Service over a ServiceEntry (Istio's selectServices)."""
        return sorted(candidates, key=lambda rs: (rs.namespace != namespace, rs.origin != "k8s", rs.namespace))[0]

    # ---------------------------------------------------------------- DestinationRules

    @cached_property
    def dr_hosts(self) -> list[tuple[DestinationRule, str]]:
        return [(dr, self.fqdn(dr.spec.host, dr.namespace)) for dr in self.snap.destination_rules]

    @cached_property
    def _dr_index(self) -> tuple[dict[str, dict[str, list[DestinationRule]]], dict[str, list[tuple[DestinationRule, str]]]]:
        """Per namespace: exact host -> rules, and the wildcard (host, rule) pairs."""
        exact: dict[str, dict[str, list[DestinationRule]]] = defaultdict(lambda: defaultdict(list))
        wild: dict[str, list[tuple[DestinationRule, str]]] = defaultdict(list)
        for dr, host in self.dr_hosts:
            if host.startswith("*"):
                wild[dr.namespace].append((dr, host))
            else:
                exact[dr.namespace][host].append(dr)
        return exact, wild

    def drs_covering(self, hostname: str) -> list[tuple[DestinationRule, str]]:
        """Every DestinationRule (any namespace) whose host covers `hostname`."""
        exact, wild = self._dr_index
        out = [(dr, hostname) for by_host in exact.values() for dr in by_host.get(hostname, ())]
        out.extend((dr, h) for pairs in wild.values() for dr, h in pairs if hosts.covers(h, hostname))
        return out

    def dr_export(self, dr: DestinationRule) -> tuple[str, ...]:
        return export_set(dr.spec.export_to, self.snap.mesh.default_destination_rule_export_to)

    @cached_property
    def dr_index(self) -> DRIndex:
        """The translator's DestinationRule lookup, so analysis and traces agree on which rule applies."""
        from meshtui.translate import dr_index

        return dr_index(self.snap)

    # ---------------------------------------------------------------- gateways and workloads

    @cached_property
    def vs_by_gateway(self) -> dict[str, list[VirtualService]]:
        """VirtualServices by the gateways (`ns/name`) they bind, at the top or in a match."""
        out: dict[str, list[VirtualService]] = defaultdict(list)
        for vs in self.snap.virtual_services:
            names = set(vs.spec.gateways)
            for _, rules in rules_by_kind(vs):
                names.update(g for r in rules for m in r.match for g in m.gateways)
            for g in sorted({hosts.gateway_ref(n, vs.namespace) for n in names} - {"mesh"}):
                out[g].append(vs)
        return out

    @cached_property
    def gateways(self) -> dict[str, Gateway]:
        return {g.ref: g for g in self.snap.gateways}

    @cached_property
    def request_authentications(self) -> list[RequestAuthentication]:
        """The snapshot keeps no field of them (nothing is derived from them): read from by_key, by key."""
        return sorted((r for r in self.snap.by_key.values() if isinstance(r, RequestAuthentication)), key=lambda r: r.key)

    @cached_property
    def node_labels(self) -> dict[str, dict[str, str]]:
        """Each Node's labels by node name (topology labels for locality checks)."""
        return {o.name: dict(o.metadata.labels) for (kind, _, _), o in self.snap.by_key.items() if kind == "Node"}

    @cached_property
    def workloads_by_ns(self) -> dict[str, list[Workload]]:
        out: dict[str, list[Workload]] = defaultdict(list)
        for w in self.snap.workloads:
            out[w.namespace].append(w)
        return out

    def selected_workloads(self, selector: dict[str, str], namespace: str | None = None) -> list[Workload]:
        key = (namespace, tuple(sorted(selector.items())))
        cache = self._selected
        if key not in cache:
            pool = self.snap.workloads if namespace is None else self.workloads_by_ns.get(namespace, [])
            cache[key] = [w for w in pool if labels_match(selector, w.labels)]
        return cache[key]

    # ---------------------------------------------------------------- messages

    def report(self, code: str, obj: Resource, node: Node | None = None, *, path: str | None = None, detail: str = "",
               level: str | None = None, **fields: object) -> Message:
        """A located message whose text is the code's template filled with `fields`, then
        `detail` (meshtui's explanation and fix)."""
        text = CODES[code].render(**fields)
        if detail:
            text = f"{text} {detail}"
        return self._located(code, obj, text, node, path, level)

    def _located(self, code: str, obj: Resource, text: str, node: Node | None = None, path: str | None = None,
                 level: str | None = None) -> Message:
        src = node.src if node is not None else None
        file, line, where = obj.src.file, obj.src.line, ""
        if src is not None and src.file:
            file, line, where = src.file, src.line, src.path
        if path is not None:
            where = path
            raw = self.snap.raw.get(obj.key)
            if raw is not None and src is None:
                found, _ = locate(raw, path)
                if found is not None:
                    line = found
        return Message(code, level or level_of(code), obj.kind, obj.namespace, obj.name, text, file, line, where)
