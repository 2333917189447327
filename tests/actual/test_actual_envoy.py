"""What Envoy really holds, read from real Envoys: a static-bootstrap Envoy (meshtui's own
bootstrap, and one with a route changed behind meshtui's back), and the demo's xDS-fed sidecar
with a live fault in its runtime."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from meshtui.actual.compare import compare_traces
from meshtui.actual.drift import DriftCause, drift
from meshtui.actual.dump import parse_runtime, read_dump, to_proxy_config
from meshtui.simulate import Request, simulate
from meshtui.sources.loader import load_sources
from meshtui.translate import translate
from meshtui.translate.envoy_json import static_bootstrap
from meshtui.xds.envoy_process import EnvoyProcess

pytestmark = pytest.mark.envoy

REPO = Path(__file__).resolve().parents[2]
BOOKINFO = REPO / "fixtures" / "bookinfo"
PROXY = "default/productpage-v1"
# requests over every kind of decision the bookinfo fixture makes (headers, weights, paths, hosts)
REQUESTS = [
    ("http://reviews:9080/", {}),
    ("http://reviews:9080/", {"end-user": "jason"}),
    ("http://ratings:9080/ratings/1", {}),
    ("http://ratings:9080/ratings/1", {"end-user": "jason"}),
    ("http://details:9080/health", {}),
    ("http://details:9080/old/x", {}),
    ("http://productpage:9080/legacy/a", {}),
    ("http://productpage:9080/productpage", {}),
    ("http://api.external.example.com:80/v2/x", {}),
    ("http://unknown.example.com/", {}),
]


def meshtui(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "meshtui", *args], capture_output=True, text=True, timeout=120, cwd=REPO)


def _reroute_canary(boot: dict) -> int:
    """A change made behind meshtui's back: the canary route's v1 share goes to v3."""
    n = 0
    for ls in boot["static_resources"]["listeners"]:
        for fc in ls.get("filter_chains", []):
            for f in fc["filters"]:
                rc = f.get("typed_config", {}).get("route_config")
                for vh in (rc or {}).get("virtual_hosts", []):
                    for r in vh["routes"] if vh["name"].startswith("reviews.default") else []:
                        for c in r.get("route", {}).get("weighted_clusters", {}).get("clusters", []):
                            if "|v1|" in c["name"]:
                                c["name"] = c["name"].replace("|v1|", "|v3|")
                                n += 1
    return n


@pytest.fixture(scope="module")
def bookinfo():
    snap = load_sources([str(BOOKINFO)]).snapshot
    return snap, translate(snap, PROXY)


def _run_envoy(tmp: Path, boot: dict, name: str) -> EnvoyProcess:
    return EnvoyProcess(boot, tmp, name=name).start(wait_ready=False)


def test_an_unchanged_envoy_has_no_drift_and_every_trace_agrees(bookinfo, tmp_path):
    snap, cfg = bookinfo
    envoy = _run_envoy(tmp_path, static_bootstrap(cfg, admin_port=0), "same")
    try:
        p = meshtui("proxy-config", "all", "-f", str(BOOKINFO), "--proxy", PROXY, "--envoy-admin", f"http://{envoy.admin}",
                    "--diff", "-o", "json")
        assert p.returncode == 0, p.stderr
        doc = json.loads(p.stdout)
        assert doc["kind"] == "ProxyDrift" and doc["agree"] is True, doc["drift"]
        p = meshtui("trace", "-f", str(BOOKINFO), "--from", PROXY, "--envoy-admin", f"http://{envoy.admin}",
                    "--compare", "-o", "json", "-H", "end-user: jason", "http://reviews:9080/")
        assert p.returncode == 0, p.stderr
        c = json.loads(p.stdout)
        assert c["agree"] and c["actual"]["route"]["name"] == "jason", c["differences"]
        from meshtui.sources.envoy_dump import from_admin

        actual = from_admin(f"http://{envoy.admin}")
        act_cfg = to_proxy_config(actual.dump, snap, actual.runtime, cfg.proxy)
        for url, headers in REQUESTS:
            req = Request.parse(url, headers=headers)
            c = compare_traces(simulate(cfg, req), simulate(act_cfg, req))
            assert c.agree, (url, headers, c.differences)
        # Envoy's endpoints are addresses only: the sources name the pod behind each, as the cluster runs it
        t = simulate(act_cfg, Request.parse("http://reviews:9080/", headers={"end-user": "jason"}))
        assert [e.pod for e in t.destinations[0].endpoints] == ["default/reviews-v2-0"]
    finally:
        envoy.stop()


def test_a_route_changed_behind_meshtuis_back_is_found_and_explained(bookinfo, tmp_path):
    _snap, cfg = bookinfo
    boot = static_bootstrap(cfg, admin_port=0)
    changed = _reroute_canary(boot)  # the canary route of every reviews virtual host (ports 80 and 9080)
    assert changed >= 1
    envoy = _run_envoy(tmp_path, boot, "drifted")
    try:
        admin = f"http://{envoy.admin}"
        p = meshtui("proxy-config", "routes", "-f", str(BOOKINFO), "--proxy", PROXY, "--envoy-admin", admin, "--diff")
        assert p.returncode == 0, p.stderr
        assert f"{changed} difference{'s' if changed > 1 else ''}" in p.stdout
        assert "ROUTE 9080/reviews.default.svc.cluster.local:9080[1] (canary)  [changed]" in p.stdout
        doc = json.loads(meshtui("proxy-config", "all", "-f", str(BOOKINFO), "--proxy", PROXY, "--envoy-admin", admin,
                                 "--diff", "-o", "json").stdout)
        # exactly the routes edited behind meshtui's back, each a cluster changed from v1 to v3
        assert len(doc["drift"]) == changed and {d["kind"] for d in doc["drift"]} == {"route"}
        assert all(d["cause"] == "changed" and d["fields"][0]["path"] == "action.clusters[0].cluster" for d in doc["drift"])
        assert ("action.clusters[0].cluster: predicted outbound|9080|v1|reviews.default.svc.cluster.local, "
                "Envoy holds outbound|9080|v3|reviews.default.svc.cluster.local") in p.stdout
        # the trace on what Envoy holds, next to the prediction: they part at the destinations
        p = meshtui("trace", "-f", str(BOOKINFO), "--from", PROXY, "--envoy-admin", admin, "--compare", "-o", "json",
                    "http://reviews:9080/")
        c = json.loads(p.stdout)
        assert c["agree"] is False and c["partAt"] == "destinations"
        assert [d["cluster"].split("|")[2] for d in c["actual"]["destinations"]] == ["v3", "v3"]
        assert [d["cluster"].split("|")[2] for d in c["predicted"]["destinations"]] == ["v1", "v3"]
    finally:
        envoy.stop()


DEMO_REQUESTS = [("http://reviews:9080/", {}), ("http://reviews:9080/", {"end-user": "jason"}),
                 ("http://ratings:9080/ratings/1", {}), ("http://details:9080/details/1", {}),
                 ("http://productpage:9080/productpage", {}), ("http://nowhere.example.com/", {})]


def test_the_demo_sidecar_agrees_with_the_prediction_and_shows_its_live_fault(tmp_path):
    """`make run`'s real sidecar, fed by meshtui's xDS server: traces on its admin dump agree with
    the prediction, and a live fault (an RTDS runtime value, not config) shows on the actual side
    only, where the two then part."""
    import os

    from meshtui.sources.envoy_dump import from_admin

    env = {**os.environ, "XDG_STATE_HOME": str(tmp_path / "state"), "PYTHONPATH": str(REPO)}
    proc = subprocess.Popen([sys.executable, "-m", "meshtui", "demo", "--no-tui", "--no-gateway"], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=env, cwd=REPO)
    try:
        line = proc.stdout.readline() if proc.stdout else ""
        assert line, proc.stderr.read() if proc.stderr else ""
        info = json.loads(line)
        snap = load_sources([str(REPO / "meshtui" / "demo" / "mesh")]).snapshot
        predicted = translate(snap, info["sidecar"])

        def actual_trace(url: str, headers: dict[str, str]):
            actual = from_admin(f"http://{info['envoyAdmin']}")
            return simulate(to_proxy_config(actual.dump, snap, actual.runtime, predicted.proxy), Request.parse(url, headers=headers))

        for url, headers in DEMO_REQUESTS:
            req = Request.parse(url, headers=headers)
            c = compare_traces(simulate(predicted, req), actual_trace(url, headers), endpoints=False)
            assert c.agree, (url, headers, c.differences)
        add = subprocess.run([sys.executable, "-m", "meshtui", "fault", "add", "--server", info["server"], "--host",
                              "reviews.default.svc.cluster.local", "--abort", "503", "--percent", "100", "--ttl", "2m"],
                             capture_output=True, text=True, env=env, cwd=REPO, timeout=60)
        assert add.returncode == 0, add.stderr
        seen = None
        for _ in range(50):  # the runtime layer reaches Envoy within milliseconds; bounded wait
            seen = actual_trace("http://reviews:9080/", {})
            if seen.outcome == "fault-abort":
                break
            import time

            time.sleep(0.1)
        assert seen is not None and seen.outcome == "fault-abort" and seen.status == 503
        c = compare_traces(simulate(predicted, Request.parse("http://reviews:9080/")), seen, endpoints=False)
        assert c.part_at == "fault"
    finally:
        proc.terminate()
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)


def test_runtime_fractional_percent_is_read_as_a_percentage():
    text = ('goo.gle/debugstr    \nfields {\n  key: "denominator"\n  value {\n    string_value: "MILLION"\n  }\n}\n'
            'fields {\n  key: "numerator"\n  value {\n    number_value: 250000\n  }\n}\n')
    rt = parse_runtime({"entries": {"k.abort_percent": {"final_value": text}, "k.abort_status": {"final_value": "503"},
                                    "junk": {"final_value": "abc"}}})
    assert rt == {"k.abort_percent": 25.0, "k.abort_status": 503.0}


def test_a_nacked_update_is_named_as_the_cause():
    doc = {"configs": [{"@type": "type.googleapis.com/envoy.admin.v3.ListenersConfigDump", "dynamic_listeners": [
        {"name": "0.0.0.0_9080", "error_state": {"details": "duplicate listener address"}}]}]}
    dump = read_dump(doc, "dump.json")
    snap = load_sources([str(BOOKINFO)]).snapshot
    found, _ = drift(translate(snap, PROXY), dump)
    by_name = {d.name: d for d in found if d.kind == "listener"}
    assert by_name["0.0.0.0_9080"].cause is DriftCause.NACKED
    assert "duplicate listener address" in by_name["0.0.0.0_9080"].explanation
    assert by_name["0.0.0.0_80"].cause is DriftCause.NOT_PUSHED
