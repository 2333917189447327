"""Two real Envoys with mTLS on loopback: productpage's sidecar (client) and ratings' sidecar
(server), both from meshtui's translation, with a CA and SPIFFE workload certificates made here.

The server runs meshtui's `virtualInbound` listener (its chains, the Istio mTLS they terminate and
the RBAC filters built from the AuthorizationPolicies) bound on the port the client dials, so the
connection's own destination port picks the chain as iptables' original destination would. The
client runs meshtui's outbound config with its mesh mTLS (auto-mTLS transport socket matches on the
endpoint's tlsMode, or the DestinationRule's mode), certificates from files instead of SDS.

For each mesh, the trace's verdict and what the Envoys do must agree: STRICT refuses plaintext
(the client answers 503 upstream reset), a DENY answers 403 `RBAC: access denied` from the named
Envoy RBAC policy, an ALLOW on a principal admits exactly that identity (seen by the backend in
the forwarded client certificate), and a PERMISSIVE server has no identity to match in plaintext."""

from __future__ import annotations

import datetime
import http.client
import json
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from meshtui.model.snapshot import MeshSnapshot
from meshtui.simulate import Request, simulate
from meshtui.simulate.server import ServerOutcome
from meshtui.simulate.trace import Outcome, Trace
from meshtui.sources.loader import load_sources
from meshtui.translate import translate
from meshtui.translate.envoy_json import render, static_bootstrap
from meshtui.translate.inbound_json import InboundRender, TlsFiles
from meshtui.xds.envoy_process import EnvoyProcess

cryptography = pytest.importorskip("cryptography", reason="the mTLS oracle makes its certificates with `cryptography`")
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from oracle_echo import EchoPool, Identity
from oracle_envoy import pick_bind_address

pytestmark = pytest.mark.envoy

REPO = Path(__file__).resolve().parents[2]
BOOKINFO = REPO / "fixtures" / "bookinfo"
CLIENT, SERVER = "default/productpage-v1", "default/ratings-v1"
PORT = 9080
DETAILS_HEADER = "x-server-details"


# ------------------------------------------------------------------ certificates


@dataclass
class Certs:
    ca: Path
    files: dict[str, TlsFiles]  # by service account


def _name(cn: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def make_certs(tmp: Path, accounts: list[str], trust_domain: str = "cluster.local") -> Certs:
    """A mesh CA and one workload certificate per service account (URI SAN spiffe://TD/ns/default/sa/SA)."""
    now = datetime.datetime.now(datetime.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = (x509.CertificateBuilder().subject_name(_name("meshtui test CA")).issuer_name(_name("meshtui test CA"))
          .public_key(ca_key.public_key()).serial_number(x509.random_serial_number())
          .not_valid_before(now - datetime.timedelta(hours=1)).not_valid_after(now + datetime.timedelta(days=1))
          .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
          .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True, content_commitment=False,
                                       key_encipherment=False, data_encipherment=False, key_agreement=False,
                                       encipher_only=False, decipher_only=False), critical=True)
          .sign(ca_key, hashes.SHA256()))
    ca_path = tmp / "root-cert.pem"
    ca_path.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    files = {}
    for sa in accounts:
        key = ec.generate_private_key(ec.SECP256R1())
        uri = f"spiffe://{trust_domain}/ns/default/sa/{sa}"
        cert = (x509.CertificateBuilder().subject_name(x509.Name([])).issuer_name(ca.subject)
                .public_key(key.public_key()).serial_number(x509.random_serial_number())
                .not_valid_before(now - datetime.timedelta(hours=1)).not_valid_after(now + datetime.timedelta(days=1))
                .add_extension(x509.SubjectAlternativeName([x509.UniformResourceIdentifier(uri)]), critical=True)
                .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH,
                                                      x509.oid.ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False)
                .sign(ca_key, hashes.SHA256()))
        cpath, kpath = tmp / f"{sa}-cert.pem", tmp / f"{sa}-key.pem"
        cpath.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        kpath.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                            serialization.NoEncryption()))
        files[sa] = TlsFiles(str(cpath), str(kpath), str(ca_path))
    return Certs(ca_path, files)


# ------------------------------------------------------------------ the two sidecars


def _static(name: str, address: str | None = None, port: int = 0) -> dict[str, Any]:
    eps = [{"endpoint": {"address": {"socket_address": {"address": address, "port_value": port}}}}] if address else []
    return {"name": name, "type": "STATIC", "connect_timeout": "2s", "load_assignment": {"cluster_name": name, "endpoints": [{"lb_endpoints": eps}] if eps else []}}


def _replies_with_details(hcm: dict[str, Any]) -> None:
    always = {"status_code_filter": {"comparison": {"op": "GE", "value": {"default_value": 0, "runtime_key": "mtls.never_set"}}}}
    hcm["local_reply_config"] = {"mappers": [{"filter": always, "headers_to_add": [
        {"header": {"key": DETAILS_HEADER, "value": "%RESPONSE_CODE_DETAILS%"}, "append_action": "OVERWRITE_IF_EXISTS_OR_ADD"}]}]}


@dataclass(frozen=True)
class Sides:
    """Who calls whom: the client and server workloads, their service accounts, the port."""

    client: str = CLIENT
    server: str = SERVER
    client_sa: str = "bookinfo-productpage"
    server_sa: str = "bookinfo-ratings"
    port: int = PORT


def server_bootstrap(s: MeshSnapshot, certs: Certs, bind: str, backend: int, sides: Sides = Sides()) -> dict[str, Any]:
    """The server sidecar: meshtui's virtualInbound, bound on bind:PORT, its inbound cluster sent
    to the echo backend (there is no iptables original destination on loopback)."""
    cfg = translate(s, sides.server)
    port = sides.port
    res = render(cfg, {}, inline=True, inbound=InboundRender(certs.files[sides.server_sa], bind, port))
    listeners = [ls for ls in res.listeners if ls["name"] == "virtualInbound"]
    assert listeners and listeners[0]["address"]["socket_address"] == {"address": bind, "port_value": port}
    for ch in listeners[0]["filter_chains"]:
        for f in ch["filters"]:
            if f["name"] == "envoy.filters.network.http_connection_manager":
                _replies_with_details(f["typed_config"])
    clusters = [_static(f"inbound|{port}||", "127.0.0.1", backend), _static("InboundPassthroughCluster", "127.0.0.1", backend),
                _static("BlackHoleCluster")]
    return {"node": {"id": "sidecar~127.0.0.1~ratings-v1.default~default.svc.cluster.local", "cluster": "ratings.default"},
            "admin": {"address": {"socket_address": {"address": "127.0.0.1", "port_value": 0}}},
            "static_resources": {"listeners": listeners, "clusters": clusters}}


def client_bootstrap(s: MeshSnapshot, trace: Trace, certs: Certs, bind: str, server: str, sides: Sides = Sides()) -> dict[str, Any]:
    """The client sidecar: meshtui's static bootstrap with its mesh mTLS (auto-mTLS transport
    socket matches, the endpoints' tlsMode, or the DestinationRule's mode) from the client's
    certificate files; only the 9080 listener, bound on `bind`; the traced cluster's endpoint is
    the server Envoy, every other cluster is emptied (nothing leaves loopback)."""
    cfg = translate(s, sides.client)
    target = trace.destinations[0].cluster  # the cluster (subset) meshtui routes the request to
    remap = {e.address: server for e in cfg.endpoints.get(target, ())}
    boot = static_bootstrap(cfg, "127.0.0.1", 0, bind_address=bind, endpoint_remap=remap,
                            inbound=InboundRender(certs.files[sides.client_sa], client_mtls=True))
    res = boot["static_resources"]
    res["listeners"] = [ls for ls in res["listeners"] if ls["name"] == f"0.0.0.0_{sides.port}"]
    assert res["listeners"], f"meshtui gives {sides.client} a listener on {sides.port}"
    res["clusters"] = [c if c["name"] == target else _static(c["name"]) for c in res["clusters"]]
    sent = trace.server[0].client_tls if trace.server else "plaintext"
    rendered = next(c for c in res["clusters"] if c["name"] == target)
    # what the trace says the client sends is what meshtui renders for the endpoint
    has_tls = "transport_socket" in rendered or ("transport_socket_matches" in rendered and any(
        lb.get("metadata") for g in rendered["load_assignment"]["endpoints"] for lb in g["lb_endpoints"]))
    assert has_tls == (sent == "mtls"), (sent, rendered.get("transport_socket_matches"), rendered["load_assignment"])
    boot.pop("layered_runtime", None)
    return boot


@dataclass
class Seen:
    status: int
    headers: dict[str, str]
    body: bytes

    @property
    def backend(self) -> dict[str, Any] | None:
        return json.loads(self.body) if self.headers.get("x-oracle-backend") == "1" else None


def send(address: str, path: str, headers: dict[str, str], method: str = "GET", host: str = "ratings:9080",
         port: int = PORT) -> Seen:
    conn = http.client.HTTPConnection(address, port, timeout=10)
    try:
        conn.request(method, path, headers={"Host": host, **headers})
        r = conn.getresponse()
        return Seen(r.status, {k.lower(): v for k, v in r.getheaders()}, r.read())
    finally:
        conn.close()


# ------------------------------------------------------------------ the meshes

STRICT = """apiVersion: security.istio.io/v1
kind: PeerAuthentication
metadata: {name: ratings-strict, namespace: default}
spec:
  selector: {matchLabels: {app: ratings}}
  mtls: {mode: STRICT}
"""
DISABLE = STRICT.replace("ratings-strict", "ratings-disable").replace("STRICT", "DISABLE")
# bookinfo's own DestinationRule for ratings, with a tls mode (same name: it replaces it)
PLAINTEXT_DR = """apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: ratings, namespace: default}
spec:
  host: ratings
  trafficPolicy: {tls: {mode: DISABLE}}
  subsets:
  - {name: v1, labels: {version: v1}}
  - {name: v2, labels: {version: v2}}
"""
MUTUAL_DR = PLAINTEXT_DR.replace("DISABLE", "ISTIO_MUTUAL")
DENY_HEADER = """apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: deny-test-header, namespace: default}
spec:
  selector: {matchLabels: {app: ratings}}
  action: DENY
  rules:
  - to:
    - operation: {methods: [POST]}
  - when:
    - key: request.headers[x-test]
      values: [deny]
"""


def allow_principal(sa: str) -> str:
    return f"""apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {{name: ratings-allow, namespace: default}}
spec:
  selector: {{matchLabels: {{app: ratings}}}}
  action: ALLOW
  rules:
  - from:
    - source: {{principals: [cluster.local/ns/default/sa/{sa}]}}
"""


# name: (overlay documents, request headers, the outcome both must agree on)
CASES: dict[str, tuple[list[str], dict[str, str], Outcome]] = {
    "permissive-auto-mtls": ([], {}, Outcome.ROUTED),
    "strict-auto-mtls": ([STRICT], {}, Outcome.ROUTED),
    "strict-plaintext-client": ([STRICT, PLAINTEXT_DR], {}, Outcome.TLS_REFUSED),
    "disable-mtls-client": ([DISABLE, MUTUAL_DR], {}, Outcome.TLS_REFUSED),
    "disable-plaintext": ([DISABLE], {}, Outcome.ROUTED),
    "deny-header": ([DENY_HEADER], {"x-test": "deny"}, Outcome.DENIED),
    "deny-header-other": ([DENY_HEADER], {"x-test": "fine"}, Outcome.ROUTED),
    "deny-header-strict": ([STRICT, DENY_HEADER], {"x-test": "deny"}, Outcome.DENIED),
    "allow-own-principal": ([allow_principal("bookinfo-productpage")], {}, Outcome.ROUTED),
    "allow-other-principal": ([allow_principal("bookinfo-reviews")], {}, Outcome.DENIED),
    "allow-principal-plaintext": ([allow_principal("bookinfo-productpage"), PLAINTEXT_DR], {}, Outcome.DENIED),
}


class Pair:
    """The two sidecars of one mesh, running; stopped by PID on exit."""

    def __init__(self, s: MeshSnapshot, trace: Trace, certs: Certs, workdir: Path, sides: Sides = Sides()):
        self.s, self.trace, self.certs, self.workdir, self.sides = s, trace, certs, workdir, sides
        self.pool = EchoPool()
        self.started: list[EnvoyProcess] = []
        self.client_addr = ""

    def __enter__(self) -> Pair:
        try:
            port = self.sides.port
            backend = self.pool.add(Identity(f"inbound|{port}||", self.sides.server))
            server_addr = pick_bind_address([port])
            self.client_addr = pick_bind_address([port])
            server = EnvoyProcess(server_bootstrap(self.s, self.certs, server_addr, backend, self.sides),
                                  self.workdir / "server", name="mtls-server", concurrency=1, log_level="warning")
            self.started.append(server)
            server.start(wait_ready=True, timeout=30.0)
            client = EnvoyProcess(client_bootstrap(self.s, self.trace, self.certs, self.client_addr, server_addr, self.sides),
                                  self.workdir / "client", name="mtls-client", concurrency=1, log_level="warning")
            self.started.append(client)
            client.start(wait_ready=True, timeout=30.0)
        except BaseException:
            self.__exit__(None, None, None)
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        for p in self.started:
            p.stop()
        self.pool.close()

    def server_stats(self, prefix: str) -> dict[str, int]:
        """The server Envoy's counters under `prefix` (its admin /stats), once they show a decision."""
        admin = self.started[0].admin
        assert admin is not None
        out: dict[str, int] = {}
        for _ in range(50):  # bounded: counters flush within a few polls
            with urllib.request.urlopen(f"http://{admin}/stats?filter=^{prefix}", timeout=5) as r:
                out = {k.strip(): int(v) for k, _, v in (line.partition(":") for line in r.read().decode().splitlines())
                       if v.strip().isdigit()}
            if any(out.values()):
                break
            time.sleep(0.1)
        return out

    def send(self, path: str, headers: dict[str, str], method: str = "GET", host: str = "ratings:9080") -> Seen:
        return send(self.client_addr, path, headers, method, host, self.sides.port)


def load_mesh(tmp_path: Path, docs: list[str], files: tuple[str, ...] = ()) -> MeshSnapshot:
    overlays = list(files)
    for i, doc in enumerate(docs):
        p = tmp_path / f"overlay-{i}.yaml"
        p.write_text(doc)
        overlays.append(str(p))
    return load_sources([str(BOOKINFO), *overlays]).snapshot


@pytest.fixture(scope="module")
def certs(tmp_path_factory) -> Certs:
    return make_certs(tmp_path_factory.mktemp("certs"), ["bookinfo-productpage", "bookinfo-ratings", "bookinfo-reviews", "db"])


@pytest.mark.parametrize("case", sorted(CASES))
def test_client_and_server_sidecars_agree_with_the_trace(case: str, certs: Certs, tmp_path: Path) -> None:
    docs, headers, expected = CASES[case]
    s = load_mesh(tmp_path, docs)
    trace = simulate(translate(s, CLIENT), Request.parse(f"http://ratings:{PORT}/ratings/1", headers=headers))
    assert trace.outcome == expected, f"{case}: the trace says {trace.outcome}: {[st.detail for st in trace.steps[-4:]]}"
    verdict = trace.server[0]
    with Pair(s, trace, certs, tmp_path) as pair:
        seen = pair.send("/ratings/1", headers)

    if expected is Outcome.ROUTED:
        assert seen.status == 200 and seen.backend is not None, f"{case}: {seen.status} {seen.body[:200]!r}"
        xfcc = seen.backend["headers"].get("x-forwarded-client-cert", "")
        if verdict.client_tls == "mtls":  # the identity the server saw is the one meshtui predicts
            assert "URI=spiffe://cluster.local/ns/default/sa/bookinfo-productpage" in xfcc, xfcc
        else:
            assert xfcc == "", xfcc
    elif expected is Outcome.DENIED:
        assert verdict.outcome is ServerOutcome.DENIED
        assert seen.status == 403 and seen.body == b"RBAC: access denied", f"{case}: {seen.status} {seen.body[:200]!r}"
        assert seen.headers.get(DETAILS_HEADER) == f"rbac_access_denied_matched_policy[{verdict.rbac_policy or 'none'}]"
    else:
        assert verdict.outcome is ServerOutcome.TLS_REFUSED and trace.status == 503
        assert seen.status == 503 and b"upstream connect error or disconnect/reset before headers" in seen.body, \
            f"{case}: {seen.status} {seen.body[:200]!r}"


# ------------------------------------------------------------------ the RBAC matrix

# one mesh, many policies and requests: every field form istiod generates (exact, prefix*,
# *suffix, *, notValues, hosts ignoring case, ports, namespaces, serviceAccounts, when on headers,
# a rule-less ALLOW) against one pair of Envoys; each request's verdict and deciding policy must
# be Envoy's
MATRIX = """apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: deny-admin, namespace: default}
spec:
  selector: {matchLabels: {app: ratings}}
  action: DENY
  rules:
  - to:
    - operation: {paths: ["/admin*"]}
  - to:
    - operation: {methods: [DELETE], notPaths: ["*/keep"]}
  - when:
    - key: request.headers[x-block]
      values: ["*"]
---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: allow-reads, namespace: default}
spec:
  selector: {matchLabels: {app: ratings}}
  action: ALLOW
  rules:
  - from:
    - source: {namespaces: ["def*"], serviceAccounts: [bookinfo-productpage]}
    to:
    - operation: {methods: [GET, HEAD], paths: ["/ratings/*", "*.json"]}
  - to:
    - operation: {hosts: ["RATINGS.default.svc.cluster.local", "ratings:*"], ports: ["9080"], methods: [PUT]}
  - from:
    - source: {principals: ["*/sa/bookinfo-productpage"]}
    to:
    - operation: {methods: [POST]}
    when:
    - key: request.headers[x-team]
      values: [blue, "gr*"]
      notValues: [grey]
---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: allow-nobody, namespace: default}
spec:
  selector: {matchLabels: {app: ratings}}
  action: ALLOW
"""

# (method, path, headers, Host)
REQUESTS: list[tuple[str, str, dict[str, str], str]] = [
    ("GET", "/ratings/1", {}, "ratings:9080"),
    ("GET", "/ratings", {}, "ratings:9080"),
    ("GET", "/data.json", {}, "ratings:9080"),
    ("GET", "/data.json?x=/admin", {}, "ratings:9080"),
    ("HEAD", "/ratings/2", {}, "ratings:9080"),
    ("GET", "/admin", {}, "ratings:9080"),
    ("GET", "/administrator/ratings/1", {}, "ratings:9080"),
    ("GET", "/ratings/1", {"x-block": "1"}, "ratings:9080"),
    ("GET", "/ratings/1", {"x-block": ""}, "ratings:9080"),
    ("DELETE", "/ratings/1", {}, "ratings:9080"),
    ("DELETE", "/ratings/keep", {}, "ratings:9080"),
    ("PUT", "/anything", {}, "ratings:9080"),
    ("PUT", "/anything", {}, "ratings.default.svc.cluster.local"),
    ("PUT", "/anything", {}, "ratings.default.svc.cluster.local:9080"),
    ("PUT", "/anything", {}, "ratings"),
    ("POST", "/ratings/1", {"x-team": "blue"}, "ratings:9080"),
    ("POST", "/ratings/1", {"x-team": "green"}, "ratings:9080"),
    ("POST", "/ratings/1", {"x-team": "grey"}, "ratings:9080"),
    ("POST", "/ratings/1", {"x-team": "red"}, "ratings:9080"),
    ("POST", "/ratings/1", {}, "ratings:9080"),
    ("PATCH", "/ratings/1", {}, "ratings:9080"),
]


def test_rbac_matrix_agrees_with_envoy(certs: Certs, tmp_path: Path) -> None:
    s = load_mesh(tmp_path, [MATRIX])
    cfg = translate(s, CLIENT)
    traces = []
    for method, path, headers, host in REQUESTS:
        t = simulate(cfg, Request.parse(f"http://{host}{path}", method=method, headers=headers))
        assert t.server and t.server[0].client_tls == "mtls", (method, path, host, t.outcome)
        traces.append(t)
    verdicts = {str(t.outcome) for t in traces}
    assert verdicts == {"routed", "denied"}, verdicts  # the matrix exercises both answers
    disagree = []
    with Pair(s, traces[0], certs, tmp_path) as pair:
        for (method, path, headers, host), t in zip(REQUESTS, traces, strict=True):
            seen = pair.send(path, headers, method, host)
            v = t.server[0]
            if t.outcome is Outcome.ROUTED:
                ok = seen.status == 200 and seen.headers.get("x-oracle-backend") == "1"
                want = "200 from the backend"
            else:
                want = f"403 rbac_access_denied_matched_policy[{v.rbac_policy or 'none'}]"
                ok = seen.status == 403 and seen.headers.get(DETAILS_HEADER) == want[4:]
            if not ok:
                disagree.append(f"{method} {host}{path} {headers}: meshtui {want}, Envoy {seen.status} "
                                f"{seen.headers.get(DETAILS_HEADER, '')} {seen.body[:80]!r}")
    assert not disagree, "\n".join(disagree)


# ------------------------------------------------------------------ TCP: the network RBAC filter

SECURITY = REPO / "fixtures" / "security"


@pytest.mark.parametrize("client, sa, allowed", [("default/productpage-v1", "bookinfo-productpage", False),
                                                 ("default/reviews-v2", "bookinfo-reviews", True)])
def test_tcp_connection_meets_the_network_rbac_filter(client: str, sa: str, allowed: bool, certs: Certs, tmp_path: Path) -> None:
    """fixtures/security/tcp-db.yaml: a TCP database admitting reviews' identity only. The server's
    TCP chain (Istio mTLS, ALPN istio-peer-exchange/istio) runs the network RBAC filter: reviews'
    connection reaches the database, productpage's is closed; the trace says the same."""
    s = load_mesh(tmp_path, [], (str(SECURITY / "tcp-db.yaml"),))
    trace = simulate(translate(s, client), Request.parse("http://db:5432/"))
    v = trace.server[0]
    assert v.client_tls == "mtls" and v.filter_chain == "0.0.0.0_5432"
    assert (trace.outcome is Outcome.ROUTED) is allowed and (v.outcome is ServerOutcome.DENIED) is not allowed
    sides = Sides(client=client, server="default/db-0", client_sa=sa, server_sa="db", port=5432)
    with Pair(s, trace, certs, tmp_path, sides) as pair:
        try:
            seen: Seen | None = pair.send("/", {}, host="db:5432")
        except (ConnectionError, http.client.HTTPException):
            seen = None  # the server closed the connection: the client's tcp_proxy closes ours
        stats = pair.server_stats("tcp.rbac.")
    if allowed:
        assert seen is not None and seen.status == 200 and seen.headers.get("x-oracle-backend") == "1"
        assert "URI=spiffe://cluster.local/ns/default/sa/bookinfo-reviews" not in str(seen.body)  # raw TCP: no XFCC
    else:
        assert seen is None, f"Envoy let productpage's connection through: {seen.status} {seen.body[:100]!r}"
    # the server's network RBAC filter is what decided
    assert stats.get("tcp.rbac.allowed", 0) == (1 if allowed else 0) and stats.get("tcp.rbac.denied", 0) == (0 if allowed else 1), stats
