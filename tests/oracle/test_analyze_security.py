"""meshtui's own security findings (MT0201-MT0205: istioctl has no code for them) confirmed by
Istio: each finding on a fixtures/security overlay over fixtures/bookinfo comes with the requests
that show it, sent to the server pod's sidecar in Istio's inbound simulation (oracle/inbound.go:
istiod's virtualInbound chains and RBAC filters), and, where the finding is about what a client
sends, istiod's own client cluster for it. The test fails if meshtui stops reporting a finding or
if Istio does not do what the finding says."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import istio_oracle
import pytest
from istio_server import istio_client_tls

REPO = Path(__file__).resolve().parents[2]
BOOKINFO = REPO / "fixtures" / "bookinfo"
SEC = REPO / "fixtures" / "security"
PRODUCTPAGE = "spiffe://cluster.local/ns/default/sa/bookinfo-productpage"
REVIEWS = "spiffe://cluster.local/ns/default/sa/bookinfo-reviews"


@dataclass(frozen=True)
class Witness:
    pod: str  # the server pod (ns/name)
    path: str
    tls: str  # what the call carries: mtls | plaintext
    outcome: str  # Istio's verdict the finding predicts: allowed | denied | tls-refused
    principal: str = ""
    method: str = "GET"
    policy: str = ""  # the RBAC policy Istio names for the verdict (empty: none expected)


@dataclass(frozen=True)
class ClientSends:
    """istiod's client proxy sends `tls` to the server's endpoint on its cluster for `host`."""
    client: str
    host: str
    server: str
    tls: str


@dataclass(frozen=True)
class Case:
    overlay: str
    finding: tuple[str, str]  # (code, resource) meshtui reports once
    why: str
    witnesses: tuple[Witness, ...]
    client: tuple[ClientSends, ...] = field(default=())


CASES = (
    Case("strict-plaintext-client.yaml", ("MT0201", "DestinationRule default/reviews"),
         "a DestinationRule sends plaintext to STRICT workloads: the server refuses it",
         (Witness("default/reviews-v1-0", "/reviews/0", "plaintext", "tls-refused"),),
         (ClientSends("default/productpage-v1-0", "reviews.default.svc.cluster.local", "default/reviews-v1-0", "plaintext"),)),
    Case("analyze-disable-principal.yaml", ("MT0202", "AuthorizationPolicy default/ratings-reviews-only"),
         "a principal rule on a port with mTLS DISABLE never matches: reviews' own call is denied",
         (Witness("default/ratings-v1-0", "/ratings/0", "plaintext", "denied", principal=REVIEWS),)),
    Case("analyze-identity.yaml", ("MT0203", "AuthorizationPolicy default/details-rules"),
         "the ALLOW rule GET /details/* lies inside the DENY on GET: the DENY decides every such request",
         (Witness("default/details-v1-0", "/details/1", "mtls", "denied", principal=PRODUCTPAGE,
                  policy="ns[default]-policy[details-no-reads]-rule[0]"),
          # the other ALLOW rule (PUT) is not covered, so it is not reported and still admits
          Witness("default/details-v1-0", "/details/1", "mtls", "allowed", principal=PRODUCTPAGE, method="PUT",
                  policy="ns[default]-policy[details-rules]-rule[1]"))),
    Case("analyze-identity.yaml", ("MT0204", "AuthorizationPolicy default/ratings-from-productpage"),
         "an identity ALLOW behind a plaintext DestinationRule: the client sends no certificate, so it is denied; "
         "the same call with mTLS would be admitted",
         (Witness("default/ratings-v1-0", "/ratings/0", "plaintext", "denied"),
          Witness("default/ratings-v1-0", "/ratings/0", "mtls", "allowed", principal=PRODUCTPAGE,
                  policy="ns[default]-policy[ratings-from-productpage]-rule[0]")),
         (ClientSends("default/productpage-v1-0", "ratings.default.svc.cluster.local", "default/ratings-v1-0", "plaintext"),)),
    Case("analyze-identity.yaml", ("MT0205", "AuthorizationPolicy default/reviews-deny-istio-system"),
         "a DENY on namespaces on a PERMISSIVE workload: a plaintext client from that namespace slips past",
         (Witness("default/reviews-v1-0", "/reviews/0", "plaintext", "allowed"),
          Witness("default/reviews-v1-0", "/reviews/0", "mtls", "denied", principal="spiffe://cluster.local/ns/istio-system/sa/x",
                  policy="ns[default]-policy[reviews-deny-istio-system]-rule[0]"))),
)


def _pod(snap, ref: str):
    ns, _, name = ref.partition("/")
    pod = next((p for p in snap.pods if (p.namespace, p.name) == (ns, name)), None)
    assert pod is not None and pod.status is not None, ref
    return pod


@pytest.mark.parametrize("case", CASES, ids=[f"{c.finding[0]}-{c.overlay.removesuffix('.yaml')}" for c in CASES])
def test_security_finding_is_what_istio_does(case: Case, record_tally):
    from meshtui.analyze import analyze
    from meshtui.sources.loader import load_sources

    paths = (str(BOOKINFO), str(SEC / case.overlay))
    snap = load_sources(list(paths)).snapshot
    found = Counter((m.code, m.resource) for m in analyze(snap) if m.code == case.finding[0])
    assert found == Counter({case.finding: 1}), f"meshtui's {case.finding[0]} findings on {case.overlay}: {dict(found)}"

    calls = []
    for w in case.witnesses:
        pod = _pod(snap, w.pod)
        calls.append({"proxy": w.pod, "callMode": "inbound", "address": pod.status.pod_ip, "port": 9080, "protocol": "http",
                      "tls": w.tls, "method": w.method, "host": w.pod.split("/")[1], "path": w.path, "headers": {},
                      "sourceIp": "10.1.0.99", "sourcePrincipal": w.principal if w.tls == "mtls" else ""})
    clients = sorted({c.client for c in case.client}) or [case.witnesses[0].pod]  # the oracle needs one proxy
    run = istio_oracle.run(paths, [(c, "sidecar") for c in clients], calls)
    wrong = []
    for w, r in zip(case.witnesses, run.calls, strict=True):
        srv = r.get("server") or {}
        got = (srv.get("outcome") or f"error: {r.get('error')}", srv.get("policy") or "")
        if got != (w.outcome, w.policy):
            wrong.append(f"{w.method} {w.path} to {w.pod} ({w.tls}): Istio {got}, the finding says {(w.outcome, w.policy)}")
    for c in case.client:
        cfg = run.configs[f"{c.client}@sidecar"]
        pod = _pod(snap, c.server)
        cluster = next(x["name"] for x in cfg.clusters if x["name"] == f"outbound|9080||{c.host}")
        sent = istio_client_tls(cfg.clusters, cfg.endpoints, cluster, pod.status.pod_ip, 9080)
        if sent != c.tls:
            wrong.append(f"istiod's {c.client} sends {sent} to {c.server}, the finding says {c.tls}")
    checks = len(case.witnesses) + len(case.client)
    record_tally({"kind": "analyze", "compared": {"analyze security findings (Istio's verdicts)": checks},
                  "agreed": {"analyze security findings (Istio's verdicts)": checks - len(wrong)}})
    assert not wrong, f"{case.finding} ({case.why}):\n" + "\n".join(wrong)


def test_every_meshtui_security_code_is_confirmed():
    assert {c.finding[0] for c in CASES} == {"MT0201", "MT0202", "MT0203", "MT0204", "MT0205"}
