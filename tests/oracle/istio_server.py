"""The server side of a traced request, meshtui against Istio: for each destination meshtui
continues into (its first endpoint pod), the same request is sent inbound to that pod's sidecar
in Istio's simulation (oracle/inbound.go: the virtualInbound filter chain istiod generates for
the port and what the client sends, then its RBAC filters with Envoy's semantics).

What the client sends is istiod's own answer too, not meshtui's: it is read from istiod's cluster
for the client (an auto-mTLS transport socket match on the endpoint's tlsMode label, a
DestinationRule's ISTIO_MUTUAL or SIMPLE socket, or none). The request is sent once as mTLS and
once as plaintext (one oracle run per mesh), and the answer for istiod's choice is compared."""

from __future__ import annotations

from dataclasses import dataclass

from istio_diff import Diff
from istio_normal import cluster as normal_cluster

from meshtui.simulate.server import ServerOutcome, ServerVerdict, _service_account
from meshtui.simulate.trace import Trace
from meshtui.translate.config import ProxyConfig
from meshtui.translate.inbound import principal_of

VARIANTS = ("mtls", "plaintext")


@dataclass
class ServerCall:
    proxy: str  # the client proxy's name (for the report)
    key: str  # the probe's description
    verdict: ServerVerdict
    address: str
    port: int
    calls: dict[str, dict]  # one inbound call per TLS variant


def server_calls(proxy: str, key: str, cfg: ProxyConfig, t: Trace) -> list[ServerCall]:
    if not t.server:
        return []
    host = t.rewritten.authority if t.rewritten is not None else t.request.authority
    path = t.rewritten.path if t.rewritten is not None else t.request.path
    headers = dict(t.request_headers if t.request_headers is not None else t.request.headers)
    headers.pop("host", None)
    # the URI SAN of the client's certificate, which istiod's RBAC principals match
    principal = principal_of(cfg.snapshot, cfg.proxy.namespace, _service_account(cfg)) if cfg.snapshot else ""
    out = []
    for d in t.destinations:
        ep = next((e for e in d.endpoints if e.pod), None)
        v = next((v for v in t.server if ep is not None and v.cluster == d.cluster and v.pod == ep.pod), None)
        if ep is None or v is None or v.outcome is ServerOutcome.NO_SIDECAR:
            continue
        calls = {}
        for tls in VARIANTS:
            calls[tls] = {"proxy": ep.pod, "callMode": "inbound", "address": ep.address, "port": ep.port,
                          "protocol": "http", "tls": tls, "method": t.request.method, "host": host, "path": path,
                          "headers": headers, "sourceIp": cfg.proxy.ip or "",
                          "sourcePrincipal": principal if tls == "mtls" else ""}
        out.append(ServerCall(proxy, key, v, ep.address, ep.port, calls))
    return out


def istio_client_tls(clusters: list[dict], cla: list[dict], cluster: str, address: str, port: int) -> str | None:
    """What istiod's client proxy sends to this endpoint: mtls, tls or plaintext (None: no such cluster)."""
    c = next((c for c in clusters if c.get("name") == cluster), None)
    if c is None:
        return None
    mode = normal_cluster(c)["tls"]
    if mode == "auto-mtls":
        for e in cla:
            if e.get("cluster_name") != cluster:
                continue
            for le in e.get("endpoints", []):
                for lb in le.get("lb_endpoints", []):
                    sa = lb.get("endpoint", {}).get("address", {}).get("socket_address", {})
                    if sa.get("address") == address and sa.get("port_value") == port:
                        md = lb.get("metadata", {}).get("filter_metadata", {}).get("envoy.transport_socket_match", {})
                        return "mtls" if md.get("tlsMode") == "istio" else "plaintext"
        return "plaintext"
    return {"istio-mutual": "mtls", "plaintext": "plaintext"}.get(mode, "tls")


def compare_server(sc: ServerCall, sent_tls: str | None, results: dict[str, dict]) -> list[Diff]:
    v = sc.verdict
    key = f"{sc.key} -> {v.pod}:{sc.port}"
    diffs = []
    if sent_tls is None:
        return [Diff("server", sc.proxy, key, "client cluster", v.cluster, None)]
    if v.client_tls != sent_tls:
        diffs.append(Diff("server", sc.proxy, key, "client tls", v.client_tls, sent_tls))
    r = results.get(sent_tls)
    if r is None:  # istiod's client sends TLS without Istio's certificate: no variant for it
        return diffs + [Diff("server", sc.proxy, key, "outcome", str(v.outcome), f"(client sends {sent_tls})")]
    srv = r.get("server") or {}
    got = srv.get("outcome") or f"error: {r.get('error')}"
    diffs_pairs = [("outcome", str(v.outcome), got)]
    if got == str(v.outcome) and got in ("allowed", "denied"):
        # the chain Envoy picks, and the RBAC policy that decided (a DENY's match, an ALLOW's match;
        # none when no ALLOW policy matched)
        diffs_pairs.append(("filter chain", v.filter_chain, r.get("filterChain") or ""))
        diffs_pairs.append(("rbac policy", v.rbac_policy, srv.get("policy") or ""))
    # a gateway pod has no virtualInbound: Istio's connection meets the gateway's own listener
    suffix = " (gateway pod)" if r.get("gateway") else ""
    diffs += [Diff("server", sc.proxy, key, f + suffix, a, b) for f, a, b in diffs_pairs if a != b]
    return diffs
