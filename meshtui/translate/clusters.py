"""Clusters and endpoints for services in scope: one per service port, one per DR subset × port,
with Istio's names and the effective DR policy (§2, §7.2)."""

from __future__ import annotations

from meshtui.model.snapshot import Endpoint, RegistryService, labels_match
from meshtui.translate.config import Cluster, HashPolicy
from meshtui.translate.policy import DRIndex, EffectiveDR, effective_policy, hash_policies, lb_policy, policy_json

_TYPES = {"ClientSideLB": "EDS", "DNSLB": "STRICT_DNS", "DNSRoundRobinLB": "LOGICAL_DNS",
          "Passthrough": "ORIGINAL_DST", "DynamicDNS": "DYNAMIC_FORWARD_PROXY"}


class ClusterBuilder:
    def __init__(self, drs: DRIndex, client_ns: str, labels: dict[str, str], router: bool = False):
        self.drs = drs
        self.client_ns = client_ns
        self.labels = labels
        self.router = router
        self.clusters: dict[str, Cluster] = {}
        self.endpoints: dict[str, tuple[Endpoint, ...]] = {}

    def dr_for(self, svc: RegistryService) -> EffectiveDR | None:
        return self.drs.lookup(svc.hostname, svc.namespace, self.client_ns, self.labels)

    def hash_policy(self, svc: RegistryService | None, port: int) -> tuple[HashPolicy, ...]:
        if svc is None:
            return ()
        return hash_policies(effective_policy(self.dr_for(svc), port))

    def add_service(self, svc: RegistryService) -> None:
        if svc.resolution == "Alias":
            return  # ExternalName: routes point at the target host's clusters instead
        dr = self.dr_for(svc)
        for sp in svc.ports:
            if sp.protocol == "UDP":
                continue
            self._add(svc, sp, "", dr)
            if dr is not None and svc.resolution != "DynamicDNS":
                for name in dr.subsets:
                    self._add(svc, sp, name, dr)

    def _add(self, svc: RegistryService, sp, subset: str, dr: EffectiveDR | None) -> None:
        name = f"outbound|{sp.port}|{subset}|{svc.hostname}"
        if name in self.clusters:
            return
        tp = effective_policy(dr, sp.port, subset)
        ctype = _TYPES.get(svc.resolution, "EDS")
        if ctype == "ORIGINAL_DST" and self.router:
            ctype = "EDS"  # gateways use EDS for passthrough services
        lb = lb_policy(tp)
        if lb == "CLUSTER_PROVIDED":
            ctype = "ORIGINAL_DST"
        if ctype == "ORIGINAL_DST":
            lb = "CLUSTER_PROVIDED"
        labels = dict(dr.subsets[subset].labels) if subset and dr is not None else {}
        connect = 10.0
        if tp is not None and tp.connection_pool and tp.connection_pool.tcp and tp.connection_pool.tcp.connect_timeout:
            connect = tp.connection_pool.tcp.connect_timeout.seconds
        self.clusters[name] = Cluster(
            name=name, type=ctype, host=svc.hostname, port=sp.port, subset=subset, service=svc, lb_policy=lb,
            policy=policy_json(tp), destination_rule=dr.ref() if dr is not None else None, subset_labels=labels,
            connect_timeout=connect)
        if ctype == "ORIGINAL_DST" or ctype == "DYNAMIC_FORWARD_PROXY":
            self.endpoints[name] = ()
            return
        eps = [e for e in svc.endpoints_for(sp) if e.ready and (not labels or labels_match(labels, e.labels))]
        self.endpoints[name] = tuple(eps)

    def add_specials(self) -> None:
        self.clusters["BlackHoleCluster"] = Cluster("BlackHoleCluster", "STATIC", lb_policy="ROUND_ROBIN")
        self.endpoints["BlackHoleCluster"] = ()
        self.clusters["PassthroughCluster"] = Cluster("PassthroughCluster", "ORIGINAL_DST", lb_policy="CLUSTER_PROVIDED")
        self.endpoints["PassthroughCluster"] = ()
