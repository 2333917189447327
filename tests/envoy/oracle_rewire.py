"""Turn meshtui's static bootstrap of a proxy into one a test can run on loopback.

meshtui renders the bootstrap (`static_bootstrap(cfg, bind_address=...)`): listeners bound on a
loopback address, clusters STATIC with the pods' endpoints inline. The oracle then changes only
what a test machine needs, never a routing decision:
- every (cluster, endpoint) pair gets its own echo backend on 127.0.0.1, so the answer names the
  cluster and pod Envoy chose;
- PassthroughCluster (ORIGINAL_DST: it would connect back into Envoy's own bound listener),
  other ORIGINAL_DST clusters and DNS clusters become STATIC clusters to echo backends;
- upstream TLS is dropped (the echo backends speak plain HTTP);
- fixed fault delays shrink to 1 ms (the fault filter runs before the router, so a delay never
  changes where a request goes, only how long it waits);
- every HTTP connection manager adds `x-oracle-details` / `x-oracle-flags` to its local replies,
  so a 503 says whether it was cluster_not_found (NC) or no_healthy_upstream (UH);
- listener ports below 1024 move to free ports when the test is not root.
Before Envoy starts, `assert_loopback` checks that no address in the bootstrap leaves loopback."""

from __future__ import annotations

import copy
import ipaddress
import os
import socket
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from oracle_echo import EchoPool, Identity

from meshtui.translate.config import ProxyConfig

HCM_TYPE = "type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager"
FAULT_FILTER = "envoy.filters.http.fault"
DETAILS_HEADER = "x-oracle-details"
FLAGS_HEADER = "x-oracle-flags"
ROUTE_HEADER = "x-oracle-route"
PASSTHROUGH_POD = "original-destination"


@dataclass
class Rewired:
    bootstrap: dict[str, Any]
    listeners: dict[str, tuple[str, int]] = field(default_factory=dict)  # listener name -> (address, port) bound
    notes: list[str] = field(default_factory=list)


def free_port(address: str) -> int:
    with socket.socket() as s:
        s.bind((address, 0))
        return s.getsockname()[1]


def _iter_dicts(node: Any) -> Iterator[dict]:
    if isinstance(node, dict):
        yield node
        for v in node.values():
            yield from _iter_dicts(v)
    elif isinstance(node, list):
        for v in node:
            yield from _iter_dicts(v)


def assert_loopback(boot: dict[str, Any]) -> None:
    """Every socket address is a loopback IP, and no cluster resolves names or follows the
    original destination (either could take traffic off this machine)."""
    for d in _iter_dicts(boot):
        sa = d.get("socket_address")
        if isinstance(sa, dict):
            addr = sa.get("address", "")
            try:
                ok = ipaddress.ip_address(addr).is_loopback
            except ValueError:
                ok = False
            assert ok, f"bootstrap holds a non-loopback address {addr!r}: {sa}"
    for c in boot.get("static_resources", {}).get("clusters", []):
        assert c.get("type", "STATIC") == "STATIC", f"cluster {c.get('name')} is {c.get('type')}, not STATIC"
        assert "transport_socket" not in c, f"cluster {c.get('name')} still has TLS"
    assert "dynamic_resources" not in boot, "a static oracle bootstrap must not talk to a control plane"


def _hcms(boot: dict[str, Any]) -> Iterator[dict]:
    for ls in boot.get("static_resources", {}).get("listeners", []):
        chains = list(ls.get("filter_chains", []))
        if ls.get("default_filter_chain"):
            chains.append(ls["default_filter_chain"])
        for ch in chains:
            for f in ch.get("filters", []):
                tc = f.get("typed_config", {})
                if tc.get("@type") == HCM_TYPE:
                    yield tc


def _local_reply_marks() -> dict[str, Any]:
    always = {"status_code_filter": {"comparison": {"op": "GE", "value": {"default_value": 0, "runtime_key": "oracle.never_set"}}}}
    return {"mappers": [{"filter": always, "headers_to_add": [
        {"header": {"key": DETAILS_HEADER, "value": "%RESPONSE_CODE_DETAILS%"}, "append_action": "OVERWRITE_IF_EXISTS_OR_ADD"},
        {"header": {"key": FLAGS_HEADER, "value": "%RESPONSE_FLAGS%"}, "append_action": "OVERWRITE_IF_EXISTS_OR_ADD"},
        {"header": {"key": ROUTE_HEADER, "value": "%ROUTE_NAME%"}, "append_action": "OVERWRITE_IF_EXISTS_OR_ADD"},
    ]}]}


def rewire(boot: dict[str, Any], cfg: ProxyConfig, pool: EchoPool, bind_address: str) -> Rewired:
    boot = copy.deepcopy(boot)
    out = Rewired(boot)
    res = boot["static_resources"]
    backends: dict[tuple[str, str], int] = {}

    def backend(cluster: str, pod: str) -> dict[str, Any]:
        key = (cluster, pod)
        if key not in backends:
            backends[key] = pool.add(Identity(cluster, pod))
        return {"endpoint": {"address": {"socket_address": {"address": "127.0.0.1", "port_value": backends[key]}}}}

    for c in res.get("clusters", []):
        name = c["name"]
        ctype = c.get("type", "STATIC")
        eps = cfg.endpoints.get(name, ())
        c.pop("transport_socket", None)
        c.pop("transport_socket_matches", None)
        if ctype == "ORIGINAL_DST" or name == "PassthroughCluster":
            c.pop("original_dst_lb_config", None)
            c["type"], c["lb_policy"] = "STATIC", "ROUND_ROBIN"
            c["load_assignment"] = {"cluster_name": name, "endpoints": [{"lb_endpoints": [backend(name, PASSTHROUGH_POD)]}]}
            out.notes.append(f"{name}: ORIGINAL_DST replaced by an echo backend")
            continue
        if ctype in ("STRICT_DNS", "LOGICAL_DNS"):
            lbs = [backend(name, e.pod or f"{e.address}:{e.port}") for e in eps] or [backend(name, cfg.clusters[name].host if name in cfg.clusters else name)]
            c["type"] = "STATIC"
            c.pop("dns_lookup_family", None)
            c.pop("respect_dns_ttl", None)
            c["load_assignment"] = {"cluster_name": name, "endpoints": [{"lb_endpoints": lbs}]}
            continue
        la = c.get("load_assignment")
        if not la:
            continue
        i = 0
        for loc in la.get("endpoints", []):
            for lb in loc.get("lb_endpoints", []):
                e = eps[i] if i < len(eps) else None
                i += 1
                pod = (e.pod or f"{e.address}:{e.port}") if e is not None else f"endpoint-{i}"
                new = backend(name, pod)
                lb["endpoint"] = new["endpoint"]
        assert i == len(eps), f"cluster {name}: the bootstrap has {i} endpoints, the ProxyConfig {len(eps)}"

    low_ok = os.geteuid() == 0
    for ls in res.get("listeners", []):
        sa = ls["address"]["socket_address"]
        assert sa["address"] == bind_address, f"listener {ls['name']} is on {sa['address']}, not {bind_address}"
        if sa["port_value"] < 1024 and not low_ok:
            sa["port_value"] = free_port(bind_address)
        out.listeners[ls["name"]] = (sa["address"], sa["port_value"])

    for hcm in _hcms(boot):
        hcm["local_reply_config"] = _local_reply_marks()
        rc = hcm.get("route_config", {})
        # the route Envoy picked, as the upstream sees it (the route config's own headers go
        # after the route's, so a route cannot overwrite it)
        rc.setdefault("request_headers_to_add", []).append(
            {"header": {"key": ROUTE_HEADER, "value": "%ROUTE_NAME%"}, "append_action": "OVERWRITE_IF_EXISTS_OR_ADD"})
        for vh in rc.get("virtual_hosts", []):
            for r in vh.get("routes", []):
                fault = r.get("typed_per_filter_config", {}).get(FAULT_FILTER)
                if fault and "delay" in fault:
                    fault["delay"]["fixed_delay"] = "0.001s"
    assert_loopback(boot)
    return out
