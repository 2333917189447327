"""The meshes the oracle runs: the project's fixtures (every workload), its scenario meshes
(fixtures/scenarios: bookinfo's app.yaml plus one networking file at a time, the route files again
with subsets.yaml so their subsets exist; helloworld, httpbin, tcp-echo, external hosts), the demo
mesh, the oracle's own mesh of corner cases (tests/envoy/meshes), and Istio's bookinfo sample the
same way when ../shared has it (tests/istio_samples.py; one skipped case says so when absent)."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, replace
from functools import lru_cache
from pathlib import Path

from istio_samples import PRESENT, SKIP_REASON
from istio_samples import SAMPLES as ISTIO_SAMPLES

from meshtui.edits.model import FaultEdit, FaultTarget
from meshtui.model.snapshot import MeshSnapshot
from meshtui.sources.loader import load_sources
from meshtui.translate import translate
from meshtui.translate.config import ProxyConfig
from meshtui.translate.envoy_json import static_bootstrap

REPO = Path(__file__).resolve().parents[2]
SAMPLES = ISTIO_SAMPLES / "bookinfo"
SCENARIOS = REPO / "fixtures" / "scenarios"
HERE = Path(__file__).resolve().parent


@dataclass(frozen=True)
class Case:
    id: str
    paths: tuple[str, ...]
    proxies: tuple[str, ...] = ()  # empty: every workload
    min_sent: int = 20  # a case that sends fewer requests than this tests too little
    faults: tuple[FaultEdit, ...] = ()  # live game-day faults overlaid on the snapshot
    missing: str = ""  # why the sources are absent (the skip reason), for cases outside the repository

    def available(self) -> bool:
        return all(Path(p).exists() for p in self.paths)


def _scenario_cases() -> list[Case]:
    """The project's own scenarios, as _sample_cases applies Istio's (always present)."""
    bi = SCENARIOS / "bookinfo"
    app, subsets = str(bi / "app.yaml"), str(bi / "subsets.yaml")
    platform = {"app.yaml", "subsets.yaml", "subsets-mtls.yaml", "details-v2.yaml", "ratings-v2.yaml"}
    pp = ("default/productpage-v1",)
    out = []
    for f in sorted(bi.glob("*.yaml")):
        if f.name in platform:
            continue
        out.append(Case(f"scenario-{f.stem}", (app, str(f)), pp))
        out.append(Case(f"scenario-{f.stem}+subsets", (app, subsets, str(f)), pp))
    out.append(Case("scenario-mtls-all-v1", (app, str(bi / "subsets-mtls.yaml"), str(bi / "route-all-v1.yaml")), pp))
    out.append(Case("scenario-ratings-v2", (app, str(bi / "ratings-v2.yaml"), subsets, str(bi / "ratings-v2-route.yaml")),
                    ("default/reviews-v3",)))
    gw = str(REPO / "fixtures" / "bookinfo" / "ingressgateway.yaml")
    for cid, files in (("scenario-helloworld", ("helloworld", "clients/curl.yaml")),
                       ("scenario-httpbin", ("httpbin", "clients/sleep.yaml")),
                       ("scenario-tcp-echo", ("tcp-echo/services.yaml", "tcp-echo/v1-80-v2-20.yaml", "tcp-echo/all-v1.yaml")),
                       ("scenario-external", ("clients/curl.yaml", "external", "bookinfo/egress-googleapis.yaml"))):
        out.append(Case(cid, (*(str(SCENARIOS / f) for f in files), gw)))
    return out


def _sample_cases() -> list[Case]:
    if not PRESENT:
        return [Case("istio-samples", (str(SAMPLES),), missing=SKIP_REASON)]
    kube = str(SAMPLES / "platform" / "kube" / "bookinfo.yaml")
    dr_all = str(SAMPLES / "networking" / "destination-rule-all.yaml")
    out = []
    for f in sorted((SAMPLES / "networking").glob("*.yaml")):
        pp = ("default/productpage-v1",)
        out.append(Case(f"sample-{f.stem}", (kube, str(f)), pp))
        if f.stem.startswith("virtual-service-"):
            out.append(Case(f"sample-{f.stem}+dr-all", (kube, dr_all, str(f)), pp))
    # other samples, with the bookinfo fixture's ingress gateway workload for their Gateways
    root = SAMPLES.parent
    gw = str(REPO / "fixtures" / "bookinfo" / "ingressgateway.yaml")
    for cid, files in (("sample-helloworld", ("helloworld/helloworld.yaml", "helloworld/helloworld-gateway.yaml")),
                       ("sample-httpbin", ("httpbin/httpbin.yaml", "httpbin/httpbin-gateway.yaml")),
                       ("sample-websockets", ("websockets/app.yaml", "websockets/route.yaml")),
                       ("sample-external", ("curl/curl.yaml", "external/aptget.yaml", "external/github.yaml",
                                            "external/pypi.yaml"))):
        out.append(Case(cid, (*(str(root / f) for f in files), gw)))
    return out


def cases() -> list[Case]:
    out = [
        Case("fixture-bookinfo", (str(REPO / "fixtures" / "bookinfo"),), min_sent=100),
        Case("fixture-multi-namespace", (str(REPO / "fixtures" / "multi-namespace"),), min_sent=100),
        Case("demo-mesh", (str(REPO / "meshtui" / "demo" / "mesh"),), min_sent=50),
        # the Kubernetes Gateway API as istiod converts it: the managed gateway and every sidecar
        Case("fixture-gatewayapi", (str(REPO / "fixtures" / "gatewayapi" / "mesh"),), min_sent=100),
        Case("fixture-gatewayapi+status", (str(REPO / "fixtures" / "gatewayapi" / "mesh"), str(REPO / "fixtures" / "gatewayapi" / "status")),
             ("infra/public-istio", "infra/clashing-istio"), min_sent=50),
        Case("oracle-corners", (str(HERE / "meshes" / "corners"),), min_sent=200),
        Case("oracle-corners+live-faults", (str(HERE / "meshes" / "corners"),),
             ("corners/client-0", "istio-system/corners-gateway-0"), min_sent=200, faults=LIVE_FAULTS),
    ]
    return out + _scenario_cases() + _sample_cases()


# game-day faults as `meshtui fault add` makes them: Envoy reads their percentages from a runtime
# layer. A whole VS (redirects and direct responses included), one rule, a host+subset, a delay.
LIVE_FAULTS = (
    FaultEdit("oracle-vs", FaultTarget(virtual_service="corners/front"), 100.0, abort_status=451),
    FaultEdit("oracle-rule", FaultTarget(virtual_service="corners/web", rule=3), 100.0, abort_status=503),
    FaultEdit("oracle-host", FaultTarget(host="legacy.shop.svc.cluster.local"), 100.0, abort_status=500),
    FaultEdit("oracle-subset", FaultTarget(host="api.corners.svc.cluster.local", subset="v3"), 100.0, delay_seconds=3.0),
    FaultEdit("oracle-zero", FaultTarget(virtual_service="corners/store"), 0.0, abort_status=418),
)


@lru_cache(maxsize=8)
def load(paths: tuple[str, ...]) -> MeshSnapshot:
    result = load_sources(list(paths))
    errors = [str(d) for d in result.diagnostics if d.level == "Error"]
    assert not errors, "the case's sources do not load cleanly:\n" + "\n".join(errors)
    return result.snapshot


def fingerprint(cfg: ProxyConfig) -> str:
    """Two proxies with the same rendered config (apart from the node) test the same thing."""
    boot = static_bootstrap(cfg, "127.0.0.1", 0, "127.0.0.1")
    boot.pop("node", None)
    return hashlib.sha256(json.dumps(boot, sort_keys=True).encode()).hexdigest()


def distinct_proxies(case: Case) -> tuple[list[tuple[str, ProxyConfig]], int]:
    """(name, config) for each distinct proxy of a case, and how many duplicates were dropped."""
    snap = load(case.paths)
    if case.faults:
        snap = replace(snap, live_faults=case.faults)
    names = list(case.proxies) or snap.workload_names()
    seen: set[str] = set()
    out = []
    dups = 0
    for n in names:
        cfg = translate(snap, n)
        fp = fingerprint(cfg)
        if fp in seen:
            dups += 1
            continue
        seen.add(fp)
        out.append((n, cfg))
    return out, dups
