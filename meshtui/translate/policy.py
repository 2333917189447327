"""DestinationRule lookup (client ns → service ns → root ns), merging within a tier, and the
effective traffic policy of a cluster after port-level and subset layering (istio-semantics §2)."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from enum import Enum
from typing import Any, TypeVar

from meshtui.model.hosts import is_wildcard
from meshtui.model.istio import DestinationRule, Subset, TrafficPolicy
from meshtui.model.schema import to_json
from meshtui.model.snapshot import Endpoint, MeshSnapshot, exported_to, labels_match
from meshtui.model.value import value
from meshtui.translate.config import Cluster, DRChoice, HashPolicy, OtherDR, Ref


@dataclass(slots=True)
class EffectiveDR:
    """The DestinationRule(s) that apply to one host for one client, merged. Made by DRIndex.lookup
    with the index entry's own rule list and subset map: read them, never change them."""

    host: str  # the DR host that matched (may be a wildcard)
    rules: list[DestinationRule]
    traffic_policy: TrafficPolicy | None
    subsets: dict[str, Subset] = field(default_factory=dict)
    tier: str = ""  # client-namespace | service-namespace | root-namespace
    shadowed: list[DestinationRule] = field(default_factory=list)  # exact DRs elsewhere it hides
    # the index entry it was made from: what is built from this rule alone (its policies, the
    # clusters under it) is kept there, shared by every proxy that gets the same entry
    entry: _Consolidated | None = field(default=None, repr=False, compare=False)
    _ref: Ref | None = field(default=None, repr=False, compare=False)

    @property
    def primary(self) -> DestinationRule:
        return self.rules[0]

    def ref(self) -> Ref:
        if self._ref is None:
            dr = self.primary
            self._ref = Ref("DestinationRule", dr.namespace, dr.name, "", dr.src.file, dr.src.line)
        return self._ref


@value
class SubsetPlan:
    """What the clusters of one subset (or "", the default) take from a DestinationRule entry
    before any port is known, worked out once per entry."""

    labels: dict[str, str]  # the subset's labels: one dict, shared by its clusters (read only)
    key: str  # the subset as far as it changes the effective policy ("": it sets no traffic policy)
    by_port: bool  # the effective policy depends on the port (portLevelSettings, at the top or in the subset)
    one: tuple[str, str] | None  # its only label, when it has one: labels_match is then `other.get(k) == v`


@dataclass(slots=True)
class _Consolidated:
    """One entry of istiod's DestinationRule index for a host (ConsolidatedDestRule): a rule and
    the later rules merged into it (their subsets appended; the first traffic policy wins)."""

    export: frozenset[str]  # the base rule's exportTo as written (empty: not written)
    rules: list[DestinationRule]
    traffic_policy: TrafficPolicy | None
    subsets: dict[str, Subset]
    selector: dict[str, str] | None  # the base rule's workloadSelector labels (None: it has none)
    # built from this entry alone, for every proxy that uses it (translate/clusters.py): the
    # effective policy per (port, subset) as SubsetPlan folds them, and clusters
    policies: dict[tuple[int, str], TrafficPolicy | None] = field(default_factory=dict, repr=False)
    plans: dict[str, SubsetPlan] | None = field(default=None, repr=False)  # subset_plans(), once made
    clusters: ClusterCache = field(default_factory=dict, repr=False)
    # the EffectiveDR a proxy gets from this entry, per tier (and, for a client-tier wildcard, the
    # service namespace and host whose exact rules it hides)
    effective: dict[tuple[str, str, str], EffectiveDR] = field(default_factory=dict, repr=False)

    @property
    def base(self) -> DestinationRule:
        return self.rules[0]


_Index = dict[str, list[_Consolidated]]  # resolved host -> entries, in index order
# clusters kept for every proxy (translate/clusters.py): (proxy is a router, proxy's cluster) ->
# cluster name -> (cluster, its endpoints, the hash policy of routes to it)
ClusterCache = dict[tuple[bool, str], dict[str, tuple[Cluster, tuple[Endpoint, ...], tuple[HashPolicy, ...]]]]
# an index and its wildcard hosts, longest first (index order among equals): what _most_specific scans
_Indexed = tuple[_Index, list[tuple[str, list[_Consolidated]]]]
_T = TypeVar("_T")
_UNSET = object()
_NO_EXPORT: frozenset[str] = frozenset()  # exportTo not written
_PRIVATE = frozenset({"."})
# the key of a tier's EffectiveDR in _Consolidated.effective (but a shadowing wildcard's)
_TIER_KEYS = {t: (t, "", "") for t in ("client-namespace", "service-namespace", "root-namespace")}


class IndexKind(Enum):
    """Which of a namespace's DestinationRule indexes (DRIndex._consolidate)."""

    LOCAL = "local"  # the rules its own proxies see, private and public
    EXPORTED = "exported"  # the rules it exports to other namespaces
    ROOT_LOCAL = "root-local"  # the root namespace's private rules


def _new(dr: DestinationRule, export: frozenset[str]) -> _Consolidated:
    spec = dr.spec
    sel = spec.workload_selector
    return _Consolidated(export, [dr], spec.traffic_policy, {s.name: s for s in spec.subsets},
                         None if sel is None else sel.match_labels)


def _merge_into(index: _Index, host: str, dr: DestinationRule, export: frozenset[str]) -> None:
    """istiod's mergeDestinationRule (ENABLE_ENHANCED_DESTINATIONRULE_MERGE, the default): a rule
    merges into an entry for the same host whose exportTo equals its own (or is a subset of it)
    and whose workload selector agrees; otherwise it becomes an entry of its own."""
    entries = index.get(host)
    if not entries:
        index[host] = [_new(dr, export)]
        return
    separately = True
    sel = dr.spec.workload_selector
    for e in entries:
        if export == e.export:
            separately = False
        elif e.export and export >= e.export:
            separately = True
        else:
            separately = True
            continue
        both_without = sel is None and e.selector is None
        both_with = sel is not None and e.selector is not None
        if both_with and e.selector != (sel.match_labels if sel is not None else None):
            separately = True
            continue
        if both_without or both_with:
            separately = False
        e.rules.append(dr)
        for sub in dr.spec.subsets:
            e.subsets.setdefault(sub.name, sub)
        if e.traffic_policy is None:
            e.traffic_policy = dr.spec.traffic_policy
    if separately:
        entries.append(_new(dr, export))


def _indexed(index: _Index) -> _Indexed:
    wild = sorted(((h, e) for h, e in index.items() if is_wildcard(h)), key=lambda x: -len(x[0]))
    return index, wild


def _most_specific(indexed: _Indexed, host: str) -> tuple[str, list[_Consolidated]] | None:
    """The entries of the most specific DestinationRule host covering `host`: the host itself,
    else the longest wildcard that covers it (MostSpecificHostMatch; the first in index order
    among wildcards of one length)."""
    index, wild = indexed
    if not index:
        return None
    hit = index.get(host)
    if hit is not None and not is_wildcard(host):
        return host, hit
    for h, entries in wild:
        if h == "*" or host.endswith(h[1:]) or h == host:
            return h, entries
    return None


class DRIndex:
    """DestinationRules as istiod indexes them (push_context.go setDestinationRules): per
    namespace, the rules its own proxies see (private and public), the rules it exports, and the
    root namespace's private ones; each host's rules consolidated as istiod merges them."""

    def __init__(self, snapshot: MeshSnapshot):
        self.mesh = snapshot.mesh
        self.root = snapshot.mesh.root_namespace
        self.suffix = snapshot.mesh.domain_suffix
        self.default_export = snapshot.mesh.default_destination_rule_export_to
        self.by_ns = snapshot.index.destination_rules  # by namespace and host in istiod's order; shared
        # which -> namespace -> one of its indexes, made when a lookup first reads it (a trace reads
        # two or three; a whole sidecar reads its own namespace's local index and every namespace's
        # exported one) and kept with the snapshot for later proxies
        self._ns_indexes: dict[IndexKind, dict[str, _Indexed]] = snapshot.index.memo(
            "dr_consolidated_by_ns", (snapshot.destination_rules, snapshot.mesh), lambda: {k: {} for k in IndexKind})
        self._exported = self._ns_indexes[IndexKind.EXPORTED]  # the one read for every service
        self._cache: dict[tuple[str, str, str, tuple[tuple[str, str], ...]], EffectiveDR | None] = {}
        # the JSON of every traffic policy a cluster got, by value (policy_json), for later proxies too
        self.policy_jsons: PolicyJsons = snapshot.index.memo("dr_policy_json", (snapshot.destination_rules, snapshot.mesh), dict)
        # clusters of services no DestinationRule applies to (translate/clusters.py), shared by proxies
        self.clusters_without_dr: ClusterCache = snapshot.index.memo(
            "clusters_without_dr", (snapshot.registry, snapshot.mesh), dict)

    def _index(self, ns: str, which: IndexKind) -> _Indexed:
        kept = self._ns_indexes[which]
        hit = kept.get(ns)
        if hit is None:
            hit = kept[ns] = _indexed(self._consolidate(ns, which))
        return hit

    def _consolidate(self, ns: str, which: IndexKind) -> _Index:
        """One of the indexes istiod keeps for a namespace's rules: those its own proxies see
        (LOCAL), those it exports (EXPORTED), or the root namespace's private ones (ROOT_LOCAL).
        Rules merge only within one namespace and host, so walking `by_ns[ns]` (each list in
        sortConfigBySelectorAndCreationTime order) merges as istiod's global walk does."""
        index: _Index = {}
        local, root_local = which is IndexKind.LOCAL, which is IndexKind.ROOT_LOCAL
        if root_local and ns != self.root:
            return index
        default_private = "." in self.default_export
        for host, drs in self.by_ns.get(ns, {}).items():
            for dr in drs:
                spec = dr.spec
                # a rule with a workload selector is never exported
                export = (frozenset(spec.export_to) if spec.export_to else _NO_EXPORT) if spec.workload_selector is None else _PRIVATE
                if local:
                    keep = not export or "*" in export or "." in export or ns in export
                else:
                    private_only = (not export and default_private) or (len(export) == 1 and ("." in export or ns in export))
                    keep = private_only == root_local
                if not keep:
                    continue
                if host in index:
                    _merge_into(index, host, dr, export)
                else:  # the host's first rule here (the usual case): an entry of its own
                    index[host] = [_new(dr, export)]
        return index

    def _exported_from(self, ns: str, host: str, client_ns: str) -> tuple[str, list[_Consolidated]] | None:
        found = _most_specific(self._exported.get(ns) or self._index(ns, IndexKind.EXPORTED), host)
        if found is None:
            return None
        h, entries = found
        visible = [e for e in entries if not e.export or "*" in e.export or client_ns in e.export]
        return (h, visible) if visible else None

    @staticmethod
    def _for_proxy(entries: list[_Consolidated], client_ns: str, labels: dict[str, str]) -> _Consolidated | None:
        """The entry a proxy uses (SidecarScope.DestinationRule): the first whose workload selector
        (in the proxy's namespace) selects it, else the last one without a selector."""
        catch_all = None
        for e in entries:
            sel = e.selector
            if sel is None:
                catch_all = e
            elif e.base.namespace == client_ns and labels_match(sel, labels):
                return e
        return catch_all

    def lookup(self, host: str, service_ns: str, client_ns: str, labels: dict[str, str] | None = None,
               labels_key: tuple[tuple[str, str], ...] | None = None) -> EffectiveDR | None:
        """The DestinationRule in effect for `host` from a proxy in `client_ns` (push_context.go
        destinationRule): the proxy's namespace (the root namespace's private rules for a proxy
        there), then the rules the service's namespace exports to it, then the root namespace's.
        Proxies that get the same index entry in the same tier get the same EffectiveDR (made once
        per snapshot), so what is built from it is shared too."""
        labels = labels or {}
        if labels_key is None:  # `labels` sorted (a caller that looks up many hosts passes it once made)
            labels_key = tuple(sorted(labels.items())) if labels else ()
        key = (host, service_ns, client_ns, labels_key)
        result = self._cache.get(key, _UNSET)
        if result is not _UNSET:
            return result  # type: ignore[return-value]
        own = self._index(self.root, IndexKind.ROOT_LOCAL) if client_ns == self.root else self._index(client_ns, IndexKind.LOCAL)
        # the first tier with rules for the host: the client's namespace, the service's, the root's
        tier, ns = "client-namespace", client_ns
        found = _most_specific(own, host)
        if not found:
            tier, ns = "service-namespace", service_ns
            found = self._exported_from(service_ns, host, client_ns)
            if not found:
                tier, ns = "root-namespace", self.root
                found = self._exported_from(self.root, host, client_ns)
        result = None
        # istiod stops at the first tier with rules, even when none applies to this proxy
        entry = self._for_proxy(found[1], client_ns, labels) if found else None
        if found and entry is not None:
            # the client tier's wildcard hides the host's exact rules elsewhere: one per host and service namespace
            shadowing = tier == "client-namespace" and is_wildcard(found[0])
            ekey = (tier, service_ns, host) if shadowing else _TIER_KEYS[tier]
            result = entry.effective.get(ekey)
            if result is None:
                result = EffectiveDR(found[0], entry.rules, entry.traffic_policy, entry.subsets, tier, entry=entry)
                if shadowing:
                    for later_ns in (service_ns, self.root):
                        if later_ns != ns:
                            result.shadowed.extend(self.by_ns.get(later_ns, {}).get(host, []))
                entry.effective[ekey] = result
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
                elif eff is not None and ns == eff.primary.namespace:
                    why = (f"istiod keeps it apart from DestinationRule {eff.primary.namespace}/{eff.primary.name} "
                           "(their exportTo or workloadSelector differ) and gives this proxy that one")
                else:
                    why = f"an older DestinationRule for the host in {ns} takes precedence"
                ref = Ref("DestinationRule", dr.namespace, dr.name, "", dr.src.file, dr.src.line)
                others.append(OtherDR(ref, tuple(s.name for s in dr.spec.subsets), why))
        if eff is None:
            return DRChoice(host, None, "", (), tuple(others))
        tier = eff.tier if eff.tier in names else ""
        return DRChoice(host, eff.ref(), tier, tuple(eff.subsets), tuple(others))


def _first(a: _T | None, b: _T | None) -> _T | None:
    return a if a is not None else b


def effective_policy(dr: EffectiveDR | None, port: int, subset: str = "") -> TrafficPolicy | None:
    """Top level, replaced wholesale by a port-level entry for `port`; then each block a subset
    sets replaces the inherited block (a subset port-level entry replaces all four)."""
    if dr is None:
        return None
    base = dr.traffic_policy
    if base is not None:
        pl = next((p for p in base.port_level_settings if p.port is not None and p.port.number == port), None)
        if pl is not None:
            base = TrafficPolicy(load_balancer=pl.load_balancer, connection_pool=pl.connection_pool,
                                 outlier_detection=pl.outlier_detection, tls=pl.tls)
        elif base.port_level_settings:
            base = replace(base, port_level_settings=())
    if subset:
        sub = dr.subsets.get(subset)
        stp = sub.traffic_policy if sub is not None else None
        if stp is not None:
            spl = next((p for p in stp.port_level_settings if p.port is not None and p.port.number == port), None)
            inherited = base if base is not None else TrafficPolicy()
            if spl is not None:
                base = TrafficPolicy(load_balancer=spl.load_balancer, connection_pool=spl.connection_pool,
                                     outlier_detection=spl.outlier_detection, tls=spl.tls,
                                     tunnel=inherited.tunnel, proxy_protocol=inherited.proxy_protocol,
                                     retry_budget=inherited.retry_budget)
            else:
                base = TrafficPolicy(
                    load_balancer=_first(stp.load_balancer, inherited.load_balancer),
                    connection_pool=_first(stp.connection_pool, inherited.connection_pool),
                    outlier_detection=_first(stp.outlier_detection, inherited.outlier_detection),
                    tls=_first(stp.tls, inherited.tls),
                    tunnel=_first(stp.tunnel, inherited.tunnel),
                    proxy_protocol=_first(stp.proxy_protocol, inherited.proxy_protocol),
                    retry_budget=_first(stp.retry_budget, inherited.retry_budget))
    return base


def subset_plans(dr: EffectiveDR) -> dict[str, SubsetPlan]:
    """The SubsetPlan of the default ("") and of each subset of `dr`, made once per entry."""
    entry = dr.entry
    if entry is not None and entry.plans is not None:
        return entry.plans
    base = dr.traffic_policy
    base_by_port = base is not None and bool(base.port_level_settings)
    plans = {"": SubsetPlan({}, "", base_by_port, None)}
    for name, sub in dr.subsets.items():
        if not name:
            continue  # "" is the default, whatever a nameless subset says
        stp = sub.traffic_policy
        labels = sub.labels  # the rule's own map: clusters only read it
        plans[name] = SubsetPlan(labels, name if stp is not None else "",
                                 base_by_port or (stp is not None and bool(stp.port_level_settings)),
                                 next(iter(labels.items())) if len(labels) == 1 else None)
    if entry is not None:
        entry.plans = plans
    return plans


def plan_policy(dr: EffectiveDR, port: int, plan: SubsetPlan) -> TrafficPolicy | None:
    """effective_policy(dr, port, subset) for the subset whose plan (in subset_plans(dr)) is
    `plan`, made once per DestinationRule entry for every (port, subset) that gives the same
    policy: the port only counts when portLevelSettings are set, a subset only when it sets a
    traffic policy."""
    key = (port if plan.by_port else -1, plan.key)
    entry = dr.entry
    if entry is None:
        return effective_policy(dr, port, plan.key)
    cache = entry.policies
    tp = cache.get(key, _UNSET)
    if tp is _UNSET:
        tp = cache[key] = effective_policy(dr, port, plan.key)
    return tp  # type: ignore[return-value]


# the JSON of traffic policies by value (DRIndex.policy_jsons): rules written alike share one
PolicyJsons = dict[TrafficPolicy, dict[str, Any]]


def policy_json(tp: TrafficPolicy | None, jsons: PolicyJsons | None = None) -> dict[str, Any]:
    """to_json(tp); with `jsons`, the JSON already made for an equal policy, when there is one
    (then shared: read it, never change it). Equal policies give equal JSON: the parser gives
    every field one type (an int field holds ints, a float field floats), and a policy holding a
    mapping (localityLbSetting distribute) cannot be a key, so it is converted each time."""
    if tp is None:
        return {}
    hit: dict[str, Any] | None = None
    try:
        hit = jsons.get(tp) if jsons is not None else None
    except TypeError:  # unhashable
        jsons = None
    if hit is None:
        hit = to_json(tp)
        if jsons is not None:
            jsons[tp] = hit
    return hit


def lb_policy(tp: TrafficPolicy | None) -> str:
    lb = tp.load_balancer if tp is not None else None
    if lb is None:
        return "LEAST_REQUEST"
    if lb.consistent_hash is not None:
        return "MAGLEV" if lb.consistent_hash.maglev is not None else "RING_HASH"
    return {None: "LEAST_REQUEST", "UNSPECIFIED": "LEAST_REQUEST", "LEAST_CONN": "LEAST_REQUEST",
            "LEAST_REQUEST": "LEAST_REQUEST", "ROUND_ROBIN": "ROUND_ROBIN", "RANDOM": "RANDOM",
            "PASSTHROUGH": "CLUSTER_PROVIDED"}[lb.simple]


def consistent_hashing(snapshot: MeshSnapshot) -> bool:
    """Does any DestinationRule ask for consistent hashing, at any level (the rule, a port, a
    subset, a subset's port)? Routes take their hash policies from nowhere else, so without one
    a proxy need not work out any route's (two thirds of all routes at 10,000 services)."""
    def asks(dr: DestinationRule) -> bool:
        spec = dr.spec
        for tp in (spec.traffic_policy, *(ss.traffic_policy for ss in spec.subsets)):
            if tp is None:
                continue
            for lb in (tp.load_balancer, *(pl.load_balancer for pl in tp.port_level_settings)):
                if lb is not None and lb.consistent_hash is not None:
                    return True
        return False

    return snapshot.index.memo("consistent_hashing", (snapshot.destination_rules,),
                               lambda: any(asks(dr) for dr in snapshot.destination_rules))


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
