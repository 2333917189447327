"""The golden traces of issue 13's outcomes, each checked against a real Envoy running meshtui's own
translation: the Gateway API (ingress through an HTTPRoute, a mesh HTTPRoute's weights, a
cross-namespace backendRef refused without a ReferenceGrant and routed with one, gRPC, redirects, no
route) through the gateway's or the client's sidecar Envoy, and the server verdicts (allowed, denied by a policy, TLS
refused) through two Envoys with mTLS (test_mtls's pair).

Each case sends the golden's own request, and what Envoy does must be what the reviewed golden
file says: the status, the cluster and pod it reached (one of the golden's destinations and pods),
the route name, the RBAC policy that denied it. The golden is compared with today's trace first
(so a golden and the Envoy check cannot drift apart). Goldens Envoy cannot replay here are listed
in NOT_REPLAYED with the reason; a test keeps every issue-13 golden in one list or the other."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from golden.test_golden import CASES as GOLDEN_CASES
from golden.test_golden import EXPECTED, _raw, essentials
from oracle_compare import compare, observe
from oracle_requests import Probe
from oracle_rewire import ROUTE_HEADER

from meshtui.simulate import simulate
from meshtui.simulate.server import ServerOutcome
from meshtui.sources.loader import load_sources
from meshtui.translate import translate

pytestmark = pytest.mark.envoy

REPO = Path(__file__).resolve().parents[2]

# the Gateway API goldens one Envoy (the gateway's, or the client sidecar's) replays
GATEWAY_API = sorted(n for n in GOLDEN_CASES if n.startswith("gwapi-"))
# the server-verdict goldens a client and a server Envoy replay with mTLS
SERVER = sorted(n for n in GOLDEN_CASES if n.startswith("server-"))
NOT_REPLAYED = {
    # a terminated HTTPS listener needs its Secret's key pair, which meshtui does not render offline
    # (tests/envoy/README.md: "what it cannot check"); the granted cross-namespace route it shows is
    # replayed on the HTTP listener as gwapi-cross-ns-granted
    "gwapi-https-granted": "terminated HTTPS: the Gateway's certificate is not rendered offline",
    # SNI passthrough routes on the TLS ClientHello; the harness speaks plaintext HTTP/1.1 only
    "gwapi-tls-passthrough": "TLS passthrough: the harness sends no ClientHello to route on",
}


# Envoy's Grpc::Utility::httpToGrpcStatus for the statuses local replies carry; anything else is 2 (UNKNOWN)
GRPC_OF_HTTP = {400: 13, 401: 16, 403: 7, 404: 12, 429: 14, 502: 14, 503: 14, 504: 14}


def _golden(name: str) -> dict:
    return json.loads((EXPECTED / f"{name}.json").read_text())


def _load(name: str):
    sources = GOLDEN_CASES[name][0]
    return load_sources([str(REPO / s) for s in sources]).snapshot


def test_every_issue13_golden_is_replayed_or_says_why():
    assert GATEWAY_API and SERVER
    assert set(NOT_REPLAYED) <= set(GATEWAY_API) | set(SERVER)
    for name in [*GATEWAY_API, *SERVER]:
        assert (EXPECTED / f"{name}.json").exists(), name


def _probe(name: str, golden: dict, port: int) -> Probe:
    _sources, _src, _gw, method, headers, url = GOLDEN_CASES[name]
    parts = urlsplit(url)
    hdrs = tuple((k.strip(), v.strip()) for k, _, v in (h.partition(":") for h in headers))
    return Probe(golden["listener"], port, method, parts.netloc, parts.path or "/", parts.query, hdrs, aim=f"golden {name}")


@pytest.mark.parametrize("name", [n for n in GATEWAY_API if n not in NOT_REPLAYED])
def test_gateway_api_golden_in_envoy(name: str, start_envoy, oracle_tally) -> None:
    golden = _golden(name)
    assert essentials(_raw(name)) == golden, f"{name}: the golden no longer matches today's trace (test_golden says how)"
    _sources, src, gw, *_ = GOLDEN_CASES[name]
    cfg = translate(_load(name), gw or src)
    envoy = start_envoy(cfg, name=name)
    assert golden["listener"] in envoy.rewired.listeners, f"{name}: listener {golden['listener']} not bound"
    port = urlsplit(GOLDEN_CASES[name][5]).port or 80
    probe = _probe(name, golden, port)
    trace = simulate(cfg, probe.request())
    assert trace.listener == golden["listener"]
    obs = observe(envoy, probe)
    assert obs is not None, f"{name}: Envoy closed the connection"
    b = obs.backend
    grpc = any(k.lower() == "content-type" and v.startswith("application/grpc") for k, v in probe.headers)
    if grpc and golden["outcome"] != "routed":
        # Envoy answers a gRPC request's local reply the gRPC way: HTTP 200, trailers-only, the
        # status mapped to a grpc-status; the golden pins meshtui's prediction of it (grpcStatus),
        # checked here against Envoy's own mapping table too
        assert golden.get("grpcStatus") == GRPC_OF_HTTP.get(golden["status"], 2), f"{name}: golden grpcStatus"
    # the harness's own agreement check (path, Host, headers, response headers, Location, body,
    # and a gRPC local reply's grpc-status)
    why = compare(trace, obs, probe)
    assert why is None, f"{name}: {why}; Envoy: {obs.short()}"
    # and what the golden file pins
    if golden["outcome"] == "routed":
        assert b is not None, f"{name}: golden says routed, Envoy answered {obs.short()}"
        clusters = {d["cluster"]: d for d in golden["destinations"]}
        assert b["cluster"] in clusters, f"{name}: Envoy reached {b['cluster']}, the golden {sorted(clusters)}"
        assert b["pod"] in clusters[b["cluster"]]["pods"]
    elif not grpc:
        assert b is None and obs.status == golden["status"], f"{name}: golden {golden['outcome']} {golden['status']}, Envoy {obs.short()}"
    route = (golden.get("route") or {}).get("name")
    got_route = (b["headers"].get(ROUTE_HEADER) if b is not None else obs.headers.get(ROUTE_HEADER)) or ""
    got_route = "" if got_route == "-" else got_route  # Envoy's %ROUTE_NAME% when no route was taken
    assert got_route == (route or ""), f"{name}: Envoy took route {got_route!r}, the golden {route!r}"
    oracle_tally(f"golden-{name}", sent=1, agreed=1)


@pytest.fixture(scope="module")
def bookinfo_certs(tmp_path_factory):
    from test_mtls import make_certs

    return make_certs(tmp_path_factory.mktemp("golden-certs"),
                      ["bookinfo-productpage", "bookinfo-reviews", "bookinfo-ratings", "bookinfo-details"])


@pytest.mark.parametrize("name", SERVER)
def test_server_verdict_golden_in_envoy(name: str, bookinfo_certs, tmp_path: Path) -> None:
    """Per destination the golden's server verdict names, a client and a server Envoy with mTLS:
    allowed is a 200 from the backend (the client's identity in the forwarded certificate when the
    golden says mTLS), denied a 403 `RBAC: access denied` from the golden's RBAC policy, refused
    a 503 upstream reset."""
    from test_mtls import DETAILS_HEADER, Pair, Sides

    golden = _golden(name)
    assert essentials(_raw(name)) == golden, f"{name}: the golden no longer matches today's trace (test_golden says how)"
    _sources, src, _gw, method, headers, url = GOLDEN_CASES[name]
    assert src is not None
    snap = _load(name)
    parts = urlsplit(url)
    hdrs = {k.strip(): v.strip() for k, _, v in (h.partition(":") for h in headers)}
    from meshtui.cli.trace_cmd import build_trace

    trace = build_trace(snap, src, None, method, headers, url)
    pods = {f"{p.namespace}/{p.name}": p for p in snap.pods}
    client_pod = next(p for k, p in pods.items() if k.startswith(src + "-") or k == src)
    for i, want in enumerate(golden["server"]):
        verdict = trace.server[i]
        assert verdict.pod == want["pod"]
        dest = next(d for d in trace.destinations if d.cluster == want["cluster"])
        one = dataclasses.replace(trace, destinations=[dest], server=[verdict])
        server_pod = pods[want["pod"]]
        sides = Sides(client=src, server=want["pod"], client_sa=client_pod.spec.service_account_name,
                      server_sa=server_pod.spec.service_account_name, port=parts.port or 80)
        with Pair(snap, one, bookinfo_certs, tmp_path / f"pair-{i}", sides) as pair:
            # a weighted route picks its share per request; the pair's client has only this
            # destination's cluster wired to the server (the others are empty: 503 no healthy
            # upstream), so send until a request takes this share (bounded by its probability)
            tries = 1 if dest.probability >= 1 else 60
            for _ in range(tries):
                seen = pair.send(parts.path or "/", hdrs, method, host=parts.netloc)
                if seen.body != b"no healthy upstream":
                    break
        what = f"{name} [{want['pod']}]: golden {want['outcome']}, Envoy {seen.status} {seen.body[:120]!r}"
        if want["outcome"] == ServerOutcome.ALLOWED.value:
            assert seen.status == 200 and seen.backend is not None, what
            xfcc = seen.backend["headers"].get("x-forwarded-client-cert", "")
            assert (f"sa/{sides.client_sa}" in xfcc) == (want["clientTls"] == "mtls"), (what, xfcc)
        elif want["outcome"] == ServerOutcome.DENIED.value:
            assert seen.status == want["status"] == 403 and seen.body == b"RBAC: access denied", what
            assert seen.headers.get(DETAILS_HEADER) == f"rbac_access_denied_matched_policy[{want['rbacPolicy'] or 'none'}]", \
                (what, seen.headers.get(DETAILS_HEADER))
        else:
            assert want["outcome"] == ServerOutcome.TLS_REFUSED.value and want["status"] == 503
            assert seen.status == 503 and b"upstream connect error or disconnect/reset before headers" in seen.body, what
