"""Hand-written Envoy resources in the EnvoyResources shape, for testing the server without the
translation: one listener (127.0.0.1:PORT) -> RDS "r1" -> routes to clusters of loopback
backends, with faults expressed the way meshtui's translation does (a per-route HTTPFault at 0 %
whose percentage comes from a runtime key)."""

from __future__ import annotations

from dataclasses import dataclass, field

from meshtui.edits.model import Edit, FaultEdit, ScopeEdit
from meshtui.xds.translator import ProxyResources

HCM = "type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager"
FAULT = "type.googleapis.com/envoy.extensions.filters.http.fault.v3.HTTPFault"
ROUTER = "type.googleapis.com/envoy.extensions.filters.http.router.v3.Router"
ADS = {"ads": {}, "resource_api_version": "V3"}


def listener(port: int, address: str = "127.0.0.1", route_name: str = "r1", name: str = "out") -> dict:
    return {
        "name": name,
        "address": {"socket_address": {"address": address, "port_value": port}},
        "filter_chains": [{"filters": [{"name": "envoy.filters.network.http_connection_manager", "typed_config": {
            "@type": HCM, "stat_prefix": name,
            "rds": {"route_config_name": route_name, "config_source": ADS},
            "http_filters": [
                {"name": "envoy.filters.http.fault", "typed_config": {"@type": FAULT}},
                {"name": "envoy.filters.http.router", "typed_config": {"@type": ROUTER}},
            ]}}]}],
    }


def eds_cluster(name: str, connect_timeout: str = "1s") -> dict:
    return {"name": name, "type": "EDS", "connect_timeout": connect_timeout,
            "eds_cluster_config": {"eds_config": ADS}}


def cla(name: str, host: str, port: int) -> dict:
    return {"cluster_name": name, "endpoints": [{"lb_endpoints": [{"endpoint": {"address": {
        "socket_address": {"address": host, "port_value": port}}}}]}]}


def fault_config(f: FaultEdit) -> dict:
    cfg: dict = {"@type": FAULT}
    if f.abort_status is not None:
        cfg["abort"] = {"http_status": f.abort_status, "percentage": {"numerator": 0, "denominator": "HUNDRED"}}
        cfg["abort_percent_runtime"] = f.runtime_key("abort_percent")
    else:
        secs = f.delay_seconds or 0.0
        cfg["delay"] = {"fixed_delay": f"{secs:.3f}s", "percentage": {"numerator": 0, "denominator": "HUNDRED"}}
        cfg["delay_percent_runtime"] = f.runtime_key("delay_percent")
    return cfg


@dataclass
class StandinTranslator:
    """Routes: `/v2...` -> cluster svc_v2, everything else -> svc_v1 (host svc). A fault whose
    target host is "svc" (subset v1/v2 or all) applies to the matching routes. A ScopeEdit with
    outbound policy REGISTRY_ONLY and no egress hosts drops the routes (direct 502), standing in
    for a Sidecar that no longer imports the host."""

    listen_port: int
    backends: dict[str, tuple[str, int]]  # cluster -> (host, port)
    bad_regex: bool = False  # make the next translation invalid for Envoy (a NACK)
    extra_clusters: list[str] = field(default_factory=list)
    connect_timeout: str = "1s"
    calls: int = 0

    def resources(self, proxy: str, edits: list[Edit], now: float) -> ProxyResources:
        self.calls += 1
        faults = [e for e in edits if isinstance(e, FaultEdit) and e.target.host == "svc"]
        scopes = [e for e in edits if isinstance(e, ScopeEdit)]
        runtime: dict[str, float] = {}

        def route(prefix: str, cluster: str, subset: str) -> dict:
            r: dict = {"name": f"to-{subset}", "match": {"prefix": prefix}, "route": {"cluster": cluster}}
            for f in faults:
                if f.target.subset in (None, subset):
                    r["typed_per_filter_config"] = {"envoy.filters.http.fault": fault_config(f)}
                    key = "abort_percent" if f.abort_status is not None else "delay_percent"
                    runtime[f.runtime_key(key)] = f.percent
            return r

        routes = [route("/v2", "svc_v2", "v2"), route("/", "svc_v1", "v1")]
        if self.bad_regex:
            routes.insert(0, {"match": {"safe_regex": {"regex": "^/(bad"}}, "route": {"cluster": "svc_v1"}})
        vhost = {"name": "svc", "domains": ["*"], "routes": routes}
        if any(s.outbound_traffic_policy == "REGISTRY_ONLY" and not s.egress_hosts for s in scopes):
            vhost = {"name": "block_all", "domains": ["*"],
                     "routes": [{"name": "block_all", "match": {"prefix": "/"}, "direct_response": {"status": 502}}]}
        names = sorted(set(self.backends) | set(self.extra_clusters))
        return ProxyResources(
            listeners=[listener(self.listen_port)],
            routes=[{"name": "r1", "virtual_hosts": [vhost]}],
            clusters=[eds_cluster(n, self.connect_timeout) for n in names],
            endpoints=[cla(n, *self.backends[n]) for n in names if n in self.backends],
            runtime=runtime,
        )

    def check_edit(self, edit: Edit) -> list[str]:
        return []

    def proxies(self) -> list[str]:
        return ["default/standin"]
