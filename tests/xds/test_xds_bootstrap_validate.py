"""`meshtui envoy-bootstrap` output passes `envoy --mode validate`: the ADS form, and the static
form for every workload of the demo mesh and the fixtures."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from meshtui.cli import main
from meshtui.sources.loader import load_sources
from meshtui.xds.envoy_process import validate_bootstrap

pytestmark = pytest.mark.envoy

REPO = Path(__file__).resolve().parents[2]
MESHES = [REPO / "meshtui/demo/mesh", REPO / "fixtures/bookinfo", REPO / "fixtures/multi-namespace"]


def test_ads_bootstrap_validates(capsys):
    assert main(["envoy-bootstrap", "--server", "127.0.0.1:15010", "--proxy", "default/productpage-v1"]) == 0
    boot = yaml.safe_load(capsys.readouterr().out)
    ok, msg = validate_bootstrap(boot)
    assert ok, msg
    assert main(["envoy-bootstrap", "--server", "[::1]:15010", "--proxy", "default/x", "-o", "json",
                 "--kind", "gateway"]) == 0
    ok, msg = validate_bootstrap(json.loads(capsys.readouterr().out))
    assert ok, msg


@pytest.mark.parametrize("mesh", [m for m in MESHES if m.exists()], ids=lambda p: p.name)
def test_static_bootstrap_validates_for_every_workload(mesh, capsys):
    workloads = [w.ref for w in load_sources([str(mesh)]).snapshot.workloads]
    assert workloads
    for proxy in workloads[:8]:
        rc = main(["envoy-bootstrap", "--static", "-f", str(mesh), "--proxy", proxy, "-o", "json"])
        out = capsys.readouterr()
        assert rc == 0, out.err
        boot = json.loads(out.out)
        assert "dynamic_resources" not in boot
        ok, msg = validate_bootstrap(boot)
        assert ok, f"{proxy}: {msg}"


def test_bootstrap_usage_errors(capsys):
    assert main(["envoy-bootstrap", "--proxy", "default/x"]) == 2
    assert main(["envoy-bootstrap", "--server", "nope", "--proxy", "default/x"]) == 2
    assert main(["envoy-bootstrap", "--server", "127.0.0.1:1", "--proxy", "x"]) == 2
    assert main(["envoy-bootstrap", "--static", "-f", str(MESHES[0]), "--proxy", "default/nope"]) == 2
    assert "Traceback" not in capsys.readouterr().err
