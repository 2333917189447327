"""Clusters and endpoints for services in scope: one per service port, one per DR subset × port,
with Istio's names and the effective DR policy (§2, §7.2)."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from meshtui.model.istio import TrafficPolicy
from meshtui.model.meshconfig import MeshConfig
from meshtui.model.snapshot import Endpoint, RegistryService, labels_match
from meshtui.model.value import value
from meshtui.translate.config import Cluster, HashPolicy, Ref, mesh_ref
from meshtui.translate.policy import DRIndex, EffectiveDR, SubsetPlan, hash_policies, lb_policy, plan_policy, policy_json, subset_plans


@value
class _Derived:
    """A cluster's fields that follow from the service and its traffic policy alone."""

    type: str
    lb: str
    policy: dict[str, Any]
    connect: float
    notes: tuple[tuple[str, Ref | None], ...]
    endpoints: bool  # the cluster has endpoints of its own (not ORIGINAL_DST or DYNAMIC_FORWARD_PROXY)
    hashes: tuple[HashPolicy, ...]  # the hash policy of routes to it (consistentHash)


_TYPES = {"ClientSideLB": "EDS", "DNSLB": "STRICT_DNS", "DNSRoundRobinLB": "LOGICAL_DNS",
          "Passthrough": "ORIGINAL_DST", "DynamicDNS": "DYNAMIC_FORWARD_PROXY"}
_MISSING = object()


class ClusterBuilder:
    def __init__(self, drs: DRIndex, client_ns: str, labels: dict[str, str], router: bool = False,
                 proxy_cluster: str = ""):
        self.drs = drs
        self.proxy_cluster = proxy_cluster  # several clusters: cluster-local hosts keep to this one
        self.client_ns = client_ns
        self.labels = labels
        self.router = router
        self.clusters: dict[str, Cluster] = {}
        self.endpoints: dict[str, tuple[Endpoint, ...]] = {}
        self.service_namespaces: dict[str, str] = {}  # hostname -> the namespace its DR lookup used
        # hostname -> the only ports to build clusters for (a Sidecar egress listener with a port
        # imports a service on that port alone, as istiod's SidecarScope does); absent: every port
        self.only_ports: dict[str, set[int] | None] = {}
        self._labels_key = tuple(sorted(labels.items()))
        self._kind = (router, proxy_cluster)  # what a kept cluster depends on besides service, port, subset and rule
        # (hostname, service namespace) -> the rule in effect: a host's clusters and its routes'
        # hash policies ask for the same one
        self._dr: dict[tuple[str, str], EffectiveDR | None] = {}
        # _derived's answers by (policy, resolution, meshExternal): rules written alike share them
        self._by_policy: dict[tuple[TrafficPolicy | None, str, bool], _Derived] = {}
        # (hostname, service namespace, port) -> hash_policy's answer, from the default cluster built or kept
        self._hashes: dict[tuple[str, str, int], tuple[HashPolicy, ...]] = {}

    def dr_for(self, svc: RegistryService) -> EffectiveDR | None:
        key = (svc.hostname, svc.namespace)
        dr = self._dr.get(key, _MISSING)
        if dr is _MISSING:
            dr = self._dr[key] = self.drs.lookup(svc.hostname, svc.namespace, self.client_ns, self.labels, self._labels_key)
        return dr  # type: ignore[return-value]

    def hash_policy(self, svc: RegistryService | None, port: int) -> tuple[HashPolicy, ...]:
        if svc is None:
            return ()
        # noted with the service's default cluster on the port: routes ask long after its rule was read
        hit = self._hashes.get((svc.hostname, svc.namespace, port))
        if hit is not None:
            return hit
        dr = self.dr_for(svc)
        if dr is None:
            return ()
        return hash_policies(plan_policy(dr, port, subset_plans(dr)[""]))

    def note_ports(self, svc: RegistryService, port: int | None) -> None:
        only = self.only_ports
        if port is None:
            only[svc.hostname] = None
            return
        cur = only.get(svc.hostname, set())
        if cur is not None:
            only[svc.hostname] = cur | {port}

    def add_service(self, svc: RegistryService, port: int | None = None) -> None:
        """The service's clusters: on every port, or only `port` (imported by a port's egress listener)."""
        self.note_ports(svc, port)
        self.build_service(svc)

    def build_service(self, svc: RegistryService) -> None:
        if svc.resolution == "Alias":
            return  # ExternalName: routes point at the target host's clusters instead
        dr = self.dr_for(svc)
        host = svc.hostname
        self.service_namespaces.setdefault(host, svc.namespace)
        allowed = self.only_ports.get(host)
        # a cluster depends on the service, its port and subset, the DestinationRule entry in
        # effect, the proxy kind and (several clusters) the proxy's cluster: built once per
        # snapshot under the entry (or without one) and shared by every proxy that gets the same
        store = dr.entry.clusters if dr is not None and dr.entry is not None else self.drs.clusters_without_dr
        kept = store.get(self._kind)
        if kept is None:
            kept = store[self._kind] = {}
        subsets = ("", *dr.subsets) if dr is not None and svc.resolution != "DynamicDNS" else ("",)
        tails = [(subset, f"|{subset}|{host}") for subset in subsets]  # a name is outbound|PORT|SUBSET|HOST
        clusters, endpoints = self.clusters, self.endpoints
        # made for the first cluster this service needs built: its rule's subset plans and ref, and
        # the policy-derived fields by policy key
        plans: dict[str, SubsetPlan] | None = None
        ref: Ref | None = None
        derived: dict[tuple[int, str], _Derived] = {}
        proxy_cluster = self.proxy_cluster
        hashes, ns = self._hashes, svc.namespace
        for sp in svc.ports:
            port = sp.port
            if sp.protocol == "UDP" or (allowed is not None and port not in allowed):
                continue
            head = f"outbound|{port}"
            ready: list[Endpoint] | None = None
            for subset, tail in tails:
                name = head + tail
                if name in clusters:
                    continue
                # (cluster, endpoints, hash policy): one value, so no reader sees one without the others
                hit = kept.get(name)
                if hit is None or hit[0].service is not svc:  # another registry (an edit) made the one kept
                    if plans is None:
                        plans = subset_plans(dr) if dr is not None else {"": SubsetPlan({}, "", False, None)}
                        ref = dr.ref() if dr is not None else None
                    if ready is None:
                        ready = [e for e in svc.endpoints_for(sp) if e.ready]
                    plan = plans[subset]
                    key = (port if plan.by_port else -1, plan.key)
                    d = derived.get(key)
                    if d is None:
                        d = derived[key] = self._derived(svc, plan_policy(dr, port, plan) if dr is not None else None)
                    labels = plan.labels
                    notes = d.notes
                    eps: list[Endpoint] = []
                    if d.endpoints:
                        if not labels:
                            eps = ready
                        elif plan.one is not None:
                            k, v = plan.one
                            eps = [e for e in ready if e.labels.get(k) == v]
                        else:
                            eps = [e for e in ready if labels_match(labels, e.labels)]
                        if proxy_cluster and any(e.cluster for e in eps):
                            eps, notes = self._cluster_local(host, eps, notes)
                    hit = kept[name] = (Cluster(name, d.type, host, port, subset, svc, d.lb, d.policy, ref, labels,
                                                d.connect, "outbound", notes), tuple(eps), d.hashes)
                clusters[name] = hit[0]
                endpoints[name] = hit[1]
                if not subset:
                    hashes[(host, ns, port)] = hit[2]

    def _cluster_local(self, host: str, eps: list[Endpoint], notes: tuple[tuple[str, Ref | None], ...]
                       ) -> tuple[list[Endpoint], tuple[tuple[str, Ref | None], ...]]:
        """Several clusters: a cluster-local host keeps the endpoints of this proxy's cluster."""
        mesh = self.drs.mesh
        if not mesh.cluster_local(host):
            return eps, notes
        kept = [e for e in eps if not e.cluster or e.cluster == self.proxy_cluster]
        if len(kept) != len(eps):
            notes += ((f"cluster-local host: only the endpoints of this proxy's cluster {self.proxy_cluster} "
                       f"({len(eps) - len(kept)} in other clusters left out)", mesh_ref(mesh, "serviceSettings")),)
        return kept, notes

    def _derived(self, svc: RegistryService, tp: TrafficPolicy | None) -> _Derived:
        """What a cluster's type, load balancer, policy, connect timeout and MeshConfig notes are
        for this service under traffic policy `tp`: the same for every service of its resolution
        and meshExternal under an equal policy, so kept by value."""
        key = (tp, svc.resolution, svc.mesh_external)
        try:
            hit = self._by_policy.get(key)
        except TypeError:  # a policy holding a mapping (localityLbSetting distribute): not a key
            return self._derive(svc, tp)
        if hit is None:
            hit = self._by_policy[key] = self._derive(svc, tp)
        return hit

    def _derive(self, svc: RegistryService, tp: TrafficPolicy | None) -> _Derived:
        hashes = hash_policies(tp)
        ctype = _TYPES.get(svc.resolution, "EDS")
        if ctype == "ORIGINAL_DST" and self.router:
            ctype = "EDS"  # gateways use EDS for passthrough services
        lb = lb_policy(tp)
        if lb == "CLUSTER_PROVIDED":
            ctype = "ORIGINAL_DST"
        if ctype == "ORIGINAL_DST":
            lb = "CLUSTER_PROVIDED"
        mesh = self.drs.mesh
        # MeshConfig's defaultTrafficPolicy may fill in what the rule leaves unset
        tp, notes = mesh_cluster_policy(mesh, tp, svc)
        connect = mesh.connect_timeout
        if tp is not None and tp.connection_pool and tp.connection_pool.tcp and tp.connection_pool.tcp.connect_timeout:
            connect = tp.connection_pool.tcp.connect_timeout.seconds
        elif mesh.is_set("connect_timeout"):
            notes.append((f"connect timeout {connect:g}s from {mesh.where('connect_timeout')} connectTimeout",
                          mesh_ref(mesh, "connectTimeout")))
        return _Derived(ctype, lb, policy_json(tp, self.drs.policy_jsons), connect, tuple(notes),
                        ctype not in ("ORIGINAL_DST", "DYNAMIC_FORWARD_PROXY"), hashes)

    def add_specials(self, passthrough: bool = True) -> None:
        """BlackHoleCluster, and PassthroughCluster for sidecars (istiod gives gateways none)."""
        self.clusters["BlackHoleCluster"] = Cluster("BlackHoleCluster", "STATIC", lb_policy="ROUND_ROBIN")
        self.endpoints["BlackHoleCluster"] = ()
        if not passthrough:
            return
        self.clusters["PassthroughCluster"] = Cluster("PassthroughCluster", "ORIGINAL_DST", lb_policy="CLUSTER_PROVIDED")
        self.endpoints["PassthroughCluster"] = ()


def mesh_cluster_policy(mesh: MeshConfig, tp: TrafficPolicy | None, svc: RegistryService
                        ) -> tuple[TrafficPolicy | None, list[tuple[str, Ref | None]]]:
    """The DestinationRule policy over MeshConfig's: defaultTrafficPolicy fills connectionPool and
    outlierDetection the rule leaves unset (applyDefaultTrafficPolicy); notes say what MeshConfig
    decided about TLS and locality load balancing, when a MeshConfig source set it."""
    notes: list[tuple[str, Ref | None]] = []
    dflt = mesh.default_traffic_policy
    if dflt is not None:
        fill: list[str] = []
        pool, outlier_policy = (tp.connection_pool, tp.outlier_detection) if tp is not None else (None, None)
        if dflt.connection_pool is not None and pool is None:
            pool = dflt.connection_pool
            fill.append("connection_pool")
        if dflt.outlier_detection is not None and outlier_policy is None:
            outlier_policy = dflt.outlier_detection
            fill.append("outlier_detection")
        if fill:
            tp = (replace(tp, connection_pool=pool, outlier_detection=outlier_policy) if tp is not None
                  else TrafficPolicy(connection_pool=pool, outlier_detection=outlier_policy))
            blocks = " and ".join(camel for camel, attr in (("connectionPool", "connection_pool"), ("outlierDetection", "outlier_detection"))
                                  if attr in fill)
            notes.append((f"{blocks} from {mesh.where('default_traffic_policy')} defaultTrafficPolicy (no DestinationRule sets it)",
                          mesh_ref(mesh, "defaultTrafficPolicy")))
    if (tp is None or tp.tls is None) and mesh.is_set("enable_auto_mtls"):
        if mesh.enable_auto_mtls and not svc.mesh_external:
            notes.append((f"upstream TLS: Istio mutual TLS to endpoints that run a sidecar (enableAutoMtls from {mesh.where('enable_auto_mtls')})",
                          mesh_ref(mesh, "enableAutoMtls")))
        elif not mesh.enable_auto_mtls:
            notes.append((f"upstream TLS: plaintext: enableAutoMtls is false in {mesh.where('enable_auto_mtls')} and no DestinationRule "
                          "sets tls (a server in STRICT mTLS resets the connection)", mesh_ref(mesh, "enableAutoMtls")))
    dr_lb = tp.load_balancer.locality_lb_setting if tp is not None and tp.load_balancer is not None else None
    if dr_lb is None and mesh.is_set("locality_lb_setting") and mesh.locality_lb_setting is not None:
        ls = mesh.locality_lb_setting
        outlier = tp is not None and tp.outlier_detection is not None
        if ls.enabled is False:
            what = "locality load balancing is disabled"
        elif ls.distribute:
            what = "traffic is distributed by locality: " + "; ".join(
                f"from {d.from_} " + ", ".join(f"{k} {v}%" for k, v in d.to.items()) for d in ls.distribute)
        elif ls.failover or ls.failover_priority:
            parts = [f"{f.from_} → {f.to}" for f in ls.failover] + [f"priority by {', '.join(ls.failover_priority)}"] * bool(ls.failover_priority)
            what = "locality failover " + "; ".join(parts) + (
                "" if outlier else " (inactive: the cluster has no outlierDetection, so Envoy never fails over)")
        else:
            what = "locality load balancing enabled" + ("" if outlier else " (inactive without outlierDetection)")
        notes.append((f"{what}, from {mesh.where('locality_lb_setting')} localityLbSetting", mesh_ref(mesh, "localityLbSetting")))
    return tp, notes
