"""`envoy --mode validate` accepts the static bootstrap of every fixture proxy, as the real CLI
prints it: `meshtui envoy-bootstrap --static -f FIXTURE --proxy NS/WORKLOAD`. Also the oracle's
own guard: a bootstrap that holds a non-loopback address never reaches Envoy."""

from __future__ import annotations

import copy
import json
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from oracle_cases import HERE, REPO, load
from oracle_rewire import assert_loopback

from meshtui.cli import main as meshtui_main
from meshtui.translate import translate
from meshtui.translate.envoy_json import static_bootstrap
from meshtui.xds.envoy_process import find_envoy

pytestmark = pytest.mark.envoy

MESHES = {
    "bookinfo": REPO / "fixtures" / "bookinfo",
    "multi-namespace": REPO / "fixtures" / "multi-namespace",
    "corners": HERE / "meshes" / "corners",
}


def envoy_validate(path: Path) -> tuple[int, str]:
    proc = subprocess.run([find_envoy(), "--mode", "validate", "-c", str(path), "--disable-hot-restart", "-l", "error"],
                          capture_output=True, text=True, timeout=60)
    return proc.returncode, (proc.stdout + proc.stderr).strip()


@pytest.mark.parametrize("mesh", sorted(MESHES))
def test_envoy_validates_every_static_bootstrap(mesh, tmp_path, capsys, oracle_tally):
    src = MESHES[mesh]
    if not src.exists():
        pytest.skip(f"{src} is not there")
    proxies = load((str(src),)).workload_names()
    assert proxies
    files: list[tuple[str, Path]] = []
    for proxy in proxies:
        capsys.readouterr()
        rc = meshtui_main(["envoy-bootstrap", "--static", "-f", str(src), "--proxy", proxy, "-o", "json"])
        out, err = capsys.readouterr()
        assert rc == 0, f"meshtui envoy-bootstrap --static --proxy {proxy} exited {rc}: {err}"
        boot = json.loads(out)
        assert boot["static_resources"]["listeners"] or "router" in boot["node"]["id"], f"{proxy}: no listeners"
        path = tmp_path / f"{proxy.replace('/', '_')}.json"
        path.write_text(out)
        files.append((proxy, path))
    with ThreadPoolExecutor(max_workers=2) as pool:
        results = list(pool.map(lambda f: (f[0], *envoy_validate(f[1])), files))
    bad = [f"{proxy}: exit {rc}: {text[-600:]}" for proxy, rc, text in results if rc != 0]
    assert not bad, f"Envoy rejects {len(bad)} of {len(files)} bootstraps:\n" + "\n".join(bad)
    oracle_tally(f"validate {mesh}", validated=len(files))


def test_cli_entry_point_validates(tmp_path):
    """The installed command end to end (a new process), with its own --validate flag."""
    src = MESHES["bookinfo"]
    if not src.exists():
        pytest.skip(f"{src} is not there")
    proc = subprocess.run([sys.executable, "-m", "meshtui", "envoy-bootstrap", "--static", "-f", str(src),
                           "--proxy", "istio-system/istio-ingressgateway", "--kind", "gateway", "--validate"],
                          capture_output=True, text=True, timeout=120, cwd=REPO)
    assert proc.returncode == 0, proc.stderr
    assert "OK" in proc.stderr
    path = tmp_path / "gw.yaml"
    path.write_text(proc.stdout)
    rc, text = envoy_validate(path)
    assert rc == 0, text


def test_oracle_refuses_non_loopback_addresses():
    cfg = translate(load((str(MESHES["bookinfo"]),)), "default/productpage-v1")
    boot = static_bootstrap(cfg, "127.0.0.1", 0, "127.0.0.1")
    with pytest.raises(AssertionError, match="non-loopback"):  # not rewired: the pods' own IPs
        assert_loopback(boot)
    listener_only = {"static_resources": {"listeners": boot["static_resources"]["listeners"], "clusters": []}}
    assert_loopback(listener_only)
    bad = copy.deepcopy(listener_only)
    bad["static_resources"]["listeners"][0]["address"]["socket_address"]["address"] = "0.0.0.0"
    with pytest.raises(AssertionError, match="non-loopback"):
        assert_loopback(bad)


def _route_configs(boot: dict) -> dict[tuple[str, str], dict]:
    out = {}
    for ls in boot["static_resources"]["listeners"]:
        chains = ls.get("filter_chains", []) + ([ls["default_filter_chain"]] if ls.get("default_filter_chain") else [])
        for ch in chains:
            for f in ch["filters"]:
                tc = f["typed_config"]
                if "route_config" in tc and ch.get("filter_chain_match", {}).get("transport_protocol") != "tls":
                    out[(ls["name"], tc["route_config"]["name"])] = tc["route_config"]
    return out


def _xds_route_configs(listeners: list[dict], routes: list[dict]) -> dict[tuple[str, str], dict]:
    """(listener, route config) -> the RouteConfiguration an RDS reference in the xDS listeners names."""
    by_name = {r["name"]: r for r in routes}
    out = {}
    for ls in listeners:
        chains = ls.get("filter_chains", []) + ([ls["default_filter_chain"]] if ls.get("default_filter_chain") else [])
        for ch in chains:
            for f in ch["filters"]:
                rds = f["typed_config"].get("rds")
                if rds and ch.get("filter_chain_match", {}).get("transport_protocol") != "tls":
                    out[(ls["name"], rds["route_config_name"])] = by_name[rds["route_config_name"]]
    return out


def _xds_clusters_inlined(clusters: list[dict], endpoints: list[dict]) -> dict[str, dict]:
    """The xDS clusters with their EDS assignments put inline, as a static bootstrap carries them."""
    cla = {e["cluster_name"]: e for e in endpoints}
    out = {}
    for c in clusters:
        c = copy.deepcopy(c)
        if c.get("type") == "EDS":
            service = c.pop("eds_cluster_config")["service_name"]
            c["type"] = "STATIC"
            c["load_assignment"] = {**cla[service], "cluster_name": c["name"]}
        out[c["name"]] = c
    return out


@pytest.mark.parametrize("mesh", sorted(MESHES))
def test_oracle_bootstrap_carries_what_xds_pushes(mesh):
    """The oracle runs the static bootstrap (route configs and endpoints inline); proxies get the
    same ProxyConfig over xDS (RDS and EDS references). With the references resolved they must be
    the same, so the oracle's verdict holds for what proxies get (TLS chains aside: offline
    bootstraps have no certificates)."""
    src = MESHES[mesh]
    if not src.exists():
        pytest.skip(f"{src} is not there")
    snap = load((str(src),))
    for proxy in snap.workload_names():
        cfg = translate(snap, proxy)
        oracle = static_bootstrap(cfg, "127.0.0.1", 0)
        res = cfg.envoy_resources()
        assert _route_configs(oracle) == _xds_route_configs(res.listeners, res.routes), f"{proxy}: route configs differ"
        clusters = {c["name"]: c for c in oracle["static_resources"]["clusters"]}
        assert clusters == _xds_clusters_inlined(res.clusters, res.endpoints), f"{proxy}: clusters differ"
