"""One mesh through both sides: meshtui's translate + simulate in process, istiod's config and
Istio's simulation in one oracle process. Requests are the Envoy-oracle suite's generated probes
(tests/envoy/oracle_requests.py: every route satisfied and broken one condition at a time, over
the vhost's domains, plus unknown hosts), aimed at every HTTP and TCP listener of every proxy."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field, replace

import istio_oracle
from istio_diff import Diff, Tally, compare
from istio_normal import Normal, normalise
from istio_server import VARIANTS, ServerCall, compare_server, istio_client_tls, server_calls
from oracle_requests import Probe, probes_for

from meshtui.errors import UsageError
from meshtui.model.snapshot import MeshSnapshot
from meshtui.simulate import simulate
from meshtui.simulate.engine import resolve_dns
from meshtui.simulate.trace import Outcome, Trace
from meshtui.translate import translate
from meshtui.translate.config import ProxyConfig
from meshtui.translate.envoy_json import render
from meshtui.translate.inbound_json import InboundRender

# An address no listener binds: where a client's connection to a host outside the registry goes.
OUTSIDE = "240.240.240.240"


def meshtui_normal(cfg: ProxyConfig) -> Normal:
    # virtualInbound with Istio's SDS names, and outbound clusters' Istio mTLS (auto-mTLS transport
    # socket matches, endpoints' tlsMode metadata), as istiod sends them
    res = render(cfg, {}, inbound=InboundRender(client_mtls=True))
    return normalise(res.listeners, res.routes, res.clusters, res.endpoints)


@dataclass
class Sent:
    proxy: str
    probe: Probe
    call: dict
    trace: Trace | None
    error: str = ""


def _call(snap: MeshSnapshot, name: str, cfg: ProxyConfig, p: Probe) -> dict:
    router = cfg.proxy.type == "router"
    host = p.request().host
    if router:
        port = cfg.service_ports.get(p.port, p.port)
        address, mode = cfg.proxy.ip or OUTSIDE, "gateway"
    else:
        address, _ = resolve_dns(snap, cfg.proxy.namespace, host)
        if address and "/" in address:  # a CIDR ServiceEntry address: a client dials one host in it
            address = str(next(ipaddress.ip_network(address, strict=False).hosts()))
        port, mode = p.port, "outbound"
    req = p.request()
    headers = {k: v for k, v in req.headers.items() if k != "host"}
    call = {"proxy": f"{name}@{cfg.proxy.type}", "address": address or OUTSIDE, "port": port, "path": p.target,
            "method": p.method, "protocol": "http", "host": p.authority, "headers": headers,
            "repeated": {k: list(v) for k, v in req.repeated.items()}, "callMode": mode}
    return call


def probes(snap: MeshSnapshot, name: str, cfg: ProxyConfig, limit: int | None = None) -> list[Sent]:
    ps, _ = probes_for(cfg, {ls.name: ("", 0) for ls in cfg.listeners})
    if limit is not None:
        ps = ps[:limit]
    out = []
    for p in ps:
        try:
            trace = simulate(cfg, p.request())
            out.append(Sent(name, p, _call(snap, name, cfg, p), trace))
        except UsageError as e:  # meshtui refuses this request: compared as such
            out.append(Sent(name, p, _call(snap, name, cfg, p), None, f"{type(e).__name__}: {e}"))
    return out


def _clusters(t: Trace) -> list[tuple[str, int]]:
    if not t.destinations and t.outcome == Outcome.PASSTHROUGH:
        return [("PassthroughCluster", 100)]
    if not t.destinations and t.outcome == Outcome.BLACKHOLE:
        return [("BlackHoleCluster", 100)]
    return sorted((d.cluster, d.weight) for d in t.destinations)


def compare_trace(s: Sent, r: dict) -> list[Diff]:
    """meshtui's trace against Istio's simulation (listener, route config, virtual host) and the
    full match on istiod's route (route name, action, clusters)."""
    key = s.probe.describe()
    t = s.trace
    if t is None:
        return [Diff("traces", s.proxy, key, "meshtui error", s.error, r)]
    pairs: list[tuple[str, object, object]] = []
    err = r.get("error", "")
    full = r.get("full") or {}
    pairs.append(("listener", t.listener, r.get("listener")))
    if err == "no listener matched":
        pairs.append(("outcome", str(t.outcome), "no listener"))
    if r.get("routeConfig") or t.route_config:
        pairs.append(("routeConfig", t.route_config, r.get("routeConfig")))
    if r.get("virtualHost") or t.virtual_host:
        pairs.append(("virtualHost", t.virtual_host, r.get("virtualHost")))
    if err == "no virtual host matched":
        pairs.append(("outcome", str(t.outcome), str(Outcome.NO_VIRTUAL_HOST)))
    elif err == "tls required, sending 301":
        pairs.append(("outcome", (str(t.outcome), t.status), (str(Outcome.REDIRECT), 301)))
    elif r.get("virtualHost"):
        if not full.get("matched"):
            pairs.append(("outcome", str(t.outcome), str(Outcome.NO_ROUTE)))
        else:
            pairs.append(("route", t.route_name or None, full.get("name") or None))
            kind = full.get("action")
            preflight = s.probe.method == "OPTIONS" and any(k.lower() == "access-control-request-method" for k, _ in s.probe.headers)
            if full.get("cors") and preflight:
                pass  # Envoy's CORS filter answers before the router: the route is what both must agree on
            elif kind == "redirect":
                pairs.append(("outcome", (str(t.outcome), t.status), (str(Outcome.REDIRECT), full.get("status"))))
            elif kind == "direct_response":
                # meshtui calls the REGISTRY_ONLY catch-all's 502 a blackhole; Envoy's action is a direct response
                got = str(Outcome.DIRECT_RESPONSE) if t.outcome == Outcome.BLACKHOLE and t.status == 502 else str(t.outcome)
                pairs.append(("outcome", (got, t.status), (str(Outcome.DIRECT_RESPONSE), full.get("status"))))
            else:
                want = [(full["cluster"], 100)] if full.get("cluster") else sorted(
                    (w["cluster"], w["weight"]) for w in full.get("weighted") or [])
                routed = t.outcome not in (Outcome.REDIRECT, Outcome.DIRECT_RESPONSE, Outcome.NO_ROUTE,
                                           Outcome.NO_VIRTUAL_HOST, Outcome.REJECTED)
                pairs.append(("outcome", "routed" if routed else str(t.outcome), "routed"))
                if routed:
                    pairs.append(("clusters", _clusters(t), want))
    elif r.get("cluster") or (not err and r.get("listener")):
        # a TCP chain: tcp_proxy's cluster, or its weighted split
        got = _clusters(t)
        want = r.get("cluster") or sorted((w["cluster"], w["weight"]) for w in full.get("weighted") or []) or None
        pairs.append(("cluster", got[0][0] if len(got) == 1 and isinstance(want, str) else got, want))
    elif err:
        pairs.append(("error", str(t.outcome), err))
    return [Diff("traces", s.proxy, key, f, a, b) for f, a, b in pairs if a != b]


@dataclass
class MeshResult:
    proxies: list[str] = field(default_factory=list)
    tally: Tally = field(default_factory=Tally)
    rejected: list[dict] = field(default_factory=list)
    requests: int = 0
    server: int = 0  # server-side verdicts compared
    gateway_status: list[dict] = field(default_factory=list)


def run_mesh(snap: MeshSnapshot, paths, proxies: list[tuple[str, ProxyConfig]], traces: bool = True,
             probe_limit: int | None = None, mesh_config: str | None = None) -> MeshResult:
    res = MeshResult(proxies=[n for n, _ in proxies])
    sent: list[Sent] = []
    if traces:
        for name, cfg in proxies:
            sent += probes(snap, name, cfg, probe_limit)
    # the server side of every traced request: its inbound call to each destination pod, per TLS variant
    server: list[ServerCall] = []
    cfgs = dict(proxies)
    for s in sent:
        if s.trace is not None:
            server += server_calls(s.proxy, s.probe.describe(), cfgs[s.proxy], s.trace)
    inbound = [sc.calls[v] for sc in server for v in VARIANTS]
    run = istio_oracle.run(paths, [(n, cfg.proxy.type) for n, cfg in proxies], [s.call for s in sent] + inbound,
                           mesh_config)
    istio, rejected = run.configs, run.rejected
    results = run.calls[:len(sent)]
    flat = run.calls[len(sent):]
    server_results = [dict(zip(VARIANTS, flat[i * len(VARIANTS):(i + 1) * len(VARIANTS)], strict=True))
                      for i in range(len(server))]
    res.gateway_status = run.gateway_status
    res.rejected = rejected
    # what the API server would refuse (the oracle admits Gateway API objects against their CRDs)
    # and meshtui still reads: compared as admissions
    for r in rejected:
        if r.get("kind") and snap_has(snap, r["kind"], r.get("name", "")):
            res.tally.compared["admission"] += 1
            res.tally.diffs.append(Diff("admission", r.get("file", ""), f"{r['kind']} {r.get('name', '')}", "accepted",
                                        "loaded by meshtui", r.get("reason", "")))
    for name, cfg in proxies:
        key = f"{name}@{cfg.proxy.type}"
        if key in run.proxy_errors:  # a proxy istiod does not have (its Gateway was refused, ...)
            res.tally.compared["listeners"] += 1
            res.tally.diffs.append(Diff("listeners", name, "(the proxy)", "present", True, run.proxy_errors[key]))
            continue
        ic = istio[key]
        t = compare(name, meshtui_normal(cfg), normalise(ic.listeners, ic.routes, ic.clusters, ic.endpoints))
        for i, d in enumerate(t.diffs):  # say which endpoints meshtui made up from a workload template
            eps = cfg.endpoints.get(d.key, ())
            if d.category == "endpoints" and d.field == "endpoints" and eps and all(e.synthesized for e in eps):
                t.diffs[i] = replace(d, field="endpoints (synthesized)")
        res.tally.add(t)
    for s, r in zip(sent, results, strict=True):
        if f"{s.proxy}@{cfgs[s.proxy].proxy.type}" in run.proxy_errors:
            continue  # the proxy's absence is one difference, not one per request
        res.tally.compared["traces"] += 1
        diffs = compare_trace(s, r)
        if diffs:
            res.tally.diffs += diffs
        else:
            res.tally.agreed["traces"] += 1
    res.requests = len(sent)
    for sc, rs in zip(server, server_results, strict=True):
        ic = istio.get(f"{sc.proxy}@{dict(proxies)[sc.proxy].proxy.type}")
        if ic is None:
            continue
        sent_tls = istio_client_tls(ic.clusters, ic.endpoints, sc.verdict.cluster, sc.address, sc.port)
        res.tally.compared["server"] += 1
        diffs = compare_server(sc, sent_tls, rs)
        if diffs:
            res.tally.diffs += diffs
        else:
            res.tally.agreed["server"] += 1
    res.server = len(server)
    return res


def snap_has(snap: MeshSnapshot, kind: str, name: str) -> bool:
    """meshtui read an object of this kind and name (any namespace); meshtui keys a Gateway API
    Gateway as KubernetesGateway (Istio's name for the kind)."""
    kinds = {kind, "KubernetesGateway"} if kind == "Gateway" else {kind}
    return any(k in kinds and n == name for (k, _, n) in snap.by_key)


def distinct(snap: MeshSnapshot, names: list[str] | None = None) -> list[tuple[str, ProxyConfig]]:
    """Every workload's proxy once: a Deployment and its Pod give the same proxy, keep the Pod."""
    names = names or snap.workload_names()
    out = []
    seen: set[tuple] = set()
    for n in names:
        cfg = translate(snap, n)
        key = (cfg.proxy.namespace, tuple(sorted(cfg.proxy.labels.items())), cfg.proxy.type, cfg.proxy.ip)
        if key in seen:
            continue
        seen.add(key)
        out.append((n, cfg))
    return out
