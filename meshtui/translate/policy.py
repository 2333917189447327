"""DestinationRule lookup (client ns → service ns → root ns), merging within a tier, and the
effective traffic policy of a cluster after port-level and subset layering (istio-semantics §2)."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field, replace
from typing import Any

from meshtui.model.hosts import is_wildcard, resolve_short
from meshtui.model.istio import DestinationRule, Subset, TrafficPolicy
from meshtui.model.schema import to_json
from meshtui.model.snapshot import MeshSnapshot, creation_key, exported_to, labels_match
from meshtui.translate.config import DRChoice, HashPolicy, OtherDR, Ref


@dataclass
class EffectiveDR:
    """The DestinationRule(s) that apply to one host for one client, merged."""

    host: str  # the DR host that matched (may be a wildcard)
    rules: list[DestinationRule]
    traffic_policy: TrafficPolicy | None
    subsets: dict[str, Subset] = field(default_factory=dict)
    tier: str = ""  # client-namespace | service-namespace | root-namespace
    shadowed: list[DestinationRule] = field(default_factory=list)  # exact DRs elsewhere it hides

    @property
    def primary(self) -> DestinationRule:
        return self.rules[0]

    def ref(self) -> Ref:
        dr = self.primary
        return Ref("DestinationRule", dr.namespace, dr.name, "", dr.src.file, dr.src.line)


class DRIndex:
    """DestinationRules by namespace and resolved host, ordered oldest first."""

    def __init__(self, snapshot: MeshSnapshot):
        self.mesh = snapshot.mesh
        self.root = snapshot.mesh.root_namespace
        self.suffix = snapshot.mesh.domain_suffix
        self.default_export = snapshot.mesh.default_destination_rule_export_to
        by_ns: dict[str, dict[str, list[DestinationRule]]] = defaultdict(lambda: defaultdict(list))
        for dr in sorted(snapshot.destination_rules, key=lambda d: (d.spec.workload_selector is None, creation_key(d))):
            host = resolve_short(dr.spec.host, dr.namespace, self.suffix)
            by_ns[dr.namespace][host].append(dr)
        self.by_ns = by_ns
        self._cache: dict[tuple[str, str, str, tuple], EffectiveDR | None] = {}

    def _tier(self, ns: str, host: str, client_ns: str, labels: dict[str, str], private_only: bool) -> tuple[str, list[DestinationRule]] | None:
        hosts = self.by_ns.get(ns)
        if not hosts:
            return None

        def usable(dr: DestinationRule) -> bool:
            sel = dr.spec.workload_selector
            if sel is not None:  # selector DRs: same namespace only, never exported
                return dr.namespace == client_ns and labels_match(sel.match_labels, labels)
            exp = dr.spec.export_to or self.default_export  # MeshConfig defaultDestinationRuleExportTo
            if private_only:
                return exp == (".",) or exp == (client_ns,)
            return exported_to(frozenset(exp), dr.namespace, client_ns)

        exact = [d for d in hosts.get(host, ()) if usable(d)]
        if exact:
            return host, exact
        best: tuple[str, list[DestinationRule]] | None = None
        for h, drs in hosts.items():
            if not is_wildcard(h):
                continue
            if h == "*" or host.endswith(h[1:]):
                ok = [d for d in drs if usable(d)]
                if ok and (best is None or len(h) > len(best[0])):
                    best = (h, ok)
        return best

    def lookup(self, host: str, service_ns: str, client_ns: str, labels: dict[str, str] | None = None) -> EffectiveDR | None:
        labels = labels or {}
        key = (host, service_ns, client_ns, tuple(sorted(labels.items())))
        if key in self._cache:
            return self._cache[key]
        result = None
        tiers = [("client-namespace", client_ns, client_ns == self.root), ("service-namespace", service_ns, False),
                 ("root-namespace", self.root, False)]
        seen: set[str] = set()
        for tier, ns, private_only in tiers:
            if ns in seen:
                continue
            if not private_only:  # a root-namespace client's own tier is its private rules only:
                seen.add(ns)      # its exported ones still come last, as the root tier (destinationRule())
            found = self._tier(ns, host, client_ns, labels, private_only)
            if found:
                result = self._merge(found[0], found[1], tier)
                if tier == "client-namespace" and is_wildcard(found[0]):
                    for later_ns in (service_ns, self.root):
                        if later_ns != ns:
                            result.shadowed.extend(self.by_ns.get(later_ns, {}).get(host, []))
                break
        self._cache[key] = result
        return result

    def choice(self, host: str, service_ns: str, client_ns: str, labels: dict[str, str] | None = None) -> DRChoice:
        """The DestinationRule in effect for `host` from this client, and every other one that
        names the host exactly, each with why this proxy does not use it."""
        labels = labels or {}
        eff = self.lookup(host, service_ns, client_ns, labels)
        used = {id(d) for d in eff.rules} if eff is not None else set()
        tiers = {client_ns: 0, service_ns: 1, self.root: 2}
        names = ("client-namespace", "service-namespace", "root-namespace")
        mine = tiers.get(eff.primary.namespace, 3) if eff is not None else 3
        others: list[OtherDR] = []
        for ns in sorted(self.by_ns):
            for dr in self.by_ns[ns].get(host, ()):
                if id(dr) in used:
                    continue
                sel = dr.spec.workload_selector
                if sel is not None and not (dr.namespace == client_ns and labels_match(sel.match_labels, labels)):
                    why = "its workloadSelector does not select this proxy" if dr.namespace == client_ns else \
                          "it has a workloadSelector, which only applies in its own namespace"
                elif ns not in tiers:
                    why = f"namespace {ns} is neither this proxy's, the service's nor the root namespace"
                elif not exported_to(frozenset(dr.spec.export_to or self.default_export), dr.namespace, client_ns):
                    why = "it is not exported to this proxy's namespace"
                elif eff is not None and tiers[ns] > mine:
                    why = f"the {eff.tier} DestinationRule {eff.primary.namespace}/{eff.primary.name} shadows it"
                else:
                    why = f"an older DestinationRule for the host in {ns} takes precedence"
                ref = Ref("DestinationRule", dr.namespace, dr.name, "", dr.src.file, dr.src.line)
                others.append(OtherDR(ref, tuple(s.name for s in dr.spec.subsets), why))
        if eff is None:
            return DRChoice(host, None, "", (), tuple(others))
        tier = eff.tier if eff.tier in names else ""
        return DRChoice(host, eff.ref(), tier, tuple(eff.subsets), tuple(others))

    @staticmethod
    def _merge(host: str, drs: list[DestinationRule], tier: str) -> EffectiveDR:
        # selector DRs win over selector-less ones; within each, oldest first
        with_sel = [d for d in drs if d.spec.workload_selector is not None]
        group = with_sel if with_sel else drs
        subsets: dict[str, Subset] = {}
        tp = None
        for dr in group:
            if tp is None and dr.spec.traffic_policy is not None:
                tp = dr.spec.traffic_policy
            for s in dr.spec.subsets:
                subsets.setdefault(s.name, s)
        return EffectiveDR(host, list(group), tp, subsets, tier)


_BLOCKS = ("load_balancer", "connection_pool", "outlier_detection", "tls")
_EXTRA = ("tunnel", "proxy_protocol", "retry_budget")


def effective_policy(dr: EffectiveDR | None, port: int, subset: str = "") -> TrafficPolicy | None:
    """Top level, replaced wholesale by a port-level entry for `port`; then each block a subset
    sets replaces the inherited block (a subset port-level entry replaces all four)."""
    if dr is None:
        return None
    base = dr.traffic_policy
    if base is not None:
        pl = next((p for p in base.port_level_settings if p.port is not None and p.port.number == port), None)
        if pl is not None:
            base = TrafficPolicy(**{b: getattr(pl, b) for b in _BLOCKS})
        else:
            base = replace(base, port_level_settings=())
    if subset:
        sub = dr.subsets.get(subset)
        stp = sub.traffic_policy if sub is not None else None
        if stp is not None:
            spl = next((p for p in stp.port_level_settings if p.port is not None and p.port.number == port), None)
            cur = {b: getattr(base, b) if base else None for b in (*_BLOCKS, *_EXTRA)}
            if spl is not None:
                for b in _BLOCKS:
                    cur[b] = getattr(spl, b)
            else:
                for b in (*_BLOCKS, *_EXTRA):
                    if getattr(stp, b) is not None:
                        cur[b] = getattr(stp, b)
            base = TrafficPolicy(**cur)
    return base


def policy_json(tp: TrafficPolicy | None) -> dict[str, Any]:
    return to_json(tp) if tp is not None else {}


def lb_policy(tp: TrafficPolicy | None) -> str:
    lb = tp.load_balancer if tp is not None else None
    if lb is None:
        return "LEAST_REQUEST"
    if lb.consistent_hash is not None:
        return "MAGLEV" if lb.consistent_hash.maglev is not None else "RING_HASH"
    return {None: "LEAST_REQUEST", "UNSPECIFIED": "LEAST_REQUEST", "LEAST_CONN": "LEAST_REQUEST",
            "LEAST_REQUEST": "LEAST_REQUEST", "ROUND_ROBIN": "ROUND_ROBIN", "RANDOM": "RANDOM",
            "PASSTHROUGH": "CLUSTER_PROVIDED"}[lb.simple]


def hash_policies(tp: TrafficPolicy | None) -> tuple[HashPolicy, ...]:
    lb = tp.load_balancer if tp is not None else None
    ch = lb.consistent_hash if lb is not None else None
    if ch is None:
        return ()
    if ch.http_header_name:
        return (HashPolicy("header", ch.http_header_name),)
    if ch.http_cookie is not None:
        c = ch.http_cookie
        return (HashPolicy("cookie", c.name, c.ttl.seconds if c.ttl is not None else None, c.path),)
    if ch.use_source_ip:
        return (HashPolicy("source_ip"),)
    if ch.http_query_parameter_name:
        return (HashPolicy("query_parameter", ch.http_query_parameter_name),)
    return ()
