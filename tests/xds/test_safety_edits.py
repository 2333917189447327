"""Issue 12, bounded edits: every edit field is checked where it enters, an edit that breaks
translation is refused instead of freezing a proxy on stale config, a removed fault never keeps
firing, and one scope edit per namespace. The real translator on the demo mesh; no Envoy."""

from __future__ import annotations

import json
import math

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_xds_serve_process import MESH, serve, stop

from meshtui.edits.limits import EditLimits
from meshtui.edits.model import FaultEdit, FaultTarget
from meshtui.errors import UsageError
from meshtui.sources.loader import load_sources
from meshtui.translate import TranslateOptions
from meshtui.xds.control_api import fault_from_request, scope_from_request
from meshtui.xds.control_plane import ControlPlane
from meshtui.xds.resources import RUNTIME, unpack

REVIEWS = "reviews.default.svc.cluster.local"
SIDECAR = "default/productpage-v1-6f9c7d5b8-pp01"
NOW = 1_000_000.0


@pytest.fixture(scope="module")
def snapshot():
    return load_sources([str(MESH)]).snapshot


def plane(snapshot, **kw) -> ControlPlane:
    from meshtui.xds.translator import MeshTranslator

    opts = {SIDECAR: TranslateOptions(proxy_type="sidecar")}
    cp = ControlPlane(MeshTranslator(snapshot, opts.get), clock=lambda: NOW, **kw)
    cp.add_proxy(SIDECAR)
    return cp


def runtime_keys(cp: ControlPlane) -> dict:
    layer = unpack(cp.cache.get(SIDECAR).types[RUNTIME].resources["meshtui_faults"])
    return dict(layer.layer)


def fault_req(**over) -> dict:
    req = {"host": REVIEWS, "abort": 503, "percent": 50, "ttl": "5m"}
    req.update(over)
    return {k: v for k, v in req.items() if v is not None}


@pytest.mark.parametrize("over, says", [
    ({"ttl": "inf"}, "finite"),
    ({"ttl": "nan"}, "finite"),
    ({"ttl": "1e308"}, "at most 24h"),
    ({"ttl": "25h"}, "--max-ttl"),
    ({"ttl": "0s"}, "more than 0"),
    ({"abort": None, "delay": "1e308"}, "at most 1h"),
    ({"abort": None, "delay": "inf"}, "finite"),
    ({"percent": "nan"}, "finite"),
    ({"percent": 1e309}, "finite"),
    ({"percent": 100.5}, "between 0 and 100"),
    ({"percent": -1}, "between 0 and 100"),
    ({"abort": 700}, "200 and 599"),
    ({"abort": 503.5}, "whole number"),
    ({"abort": True}, "expected"),
    ({"host": ["x"]}, "expected string, got array"),  # YAML/JSON type names, never Python ones
    ({"rule": "x", "host": None, "virtualService": "default/reviews"}, "not a number"),
    ({"reason": "x" * 5000}, "at most 1024"),
    ({"reason": "a\x1b[2Jb"}, "control characters"),
    ({"id": "../../etc"}, "id"),
    ({"subset": "v1 OR 1=1"}, "--subset"),
])
def test_out_of_range_fields_are_refused_with_the_flag_named(snapshot, over, says):
    cp = plane(snapshot)
    before = cp.cache.get(SIDECAR).generation
    with pytest.raises(UsageError) as exc:
        cp.add_edit(fault_from_request(fault_req(**over), NOW))
    assert says in str(exc.value)
    assert cp.edits() == [] and cp.cache.get(SIDECAR).generation == before


def test_max_ttl_is_the_servers_choice(snapshot):
    cp = plane(snapshot, limits=EditLimits(max_ttl=60.0))
    with pytest.raises(UsageError, match="at most 1m"):
        cp.add_edit(fault_from_request(fault_req(ttl="2m"), NOW))
    assert cp.add_edit(fault_from_request(fault_req(ttl="1m"), NOW))["state"] == "active"


def test_an_edit_that_breaks_translation_is_refused_and_the_proxy_moves_on(snapshot):
    """validate=False lets a 1e308 s delay past the field checks (as the issue found it): it
    must be refused by the dry run, and a fault removed afterwards must really go."""
    cp = plane(snapshot)
    ok = cp.add_edit(fault_from_request(fault_req(), NOW))
    assert any(k.endswith(".abort_percent") for k in runtime_keys(cp))
    huge = FaultEdit(id="huge", target=FaultTarget(host=REVIEWS), percent=50, delay_seconds=1e308,
                     ttl_seconds=60, created_at=NOW)
    with pytest.raises(UsageError, match="refused: with this edit"):
        cp.add_edit(huge, validate=False)
    assert [e["id"] for e in cp.edits()] == [ok["id"]] and not cp.translate_errors
    cp.remove_edit(ok["id"])
    assert runtime_keys(cp) == {}, "a removed fault keeps firing"


def test_a_proxy_that_cannot_translate_drops_its_live_faults(snapshot):
    """Whatever makes translation fail later (a changed mesh), the proxy's faults are withdrawn
    rather than left at their last pushed values."""
    cp = plane(snapshot)
    cp.add_edit(fault_from_request(fault_req(), NOW))
    assert runtime_keys(cp)
    from meshtui.model.snapshot import MeshSnapshot

    cp.translator.snapshot = MeshSnapshot()  # the workload is gone: translation fails
    cp.resync("sources")
    assert SIDECAR in cp.translate_errors and "withdrawn" in cp.translate_errors[SIDECAR]
    assert runtime_keys(cp) == {}


def test_restore_skips_journaled_edits_out_of_bounds(snapshot, tmp_path):
    from meshtui.edits import journal as jr
    from meshtui.xds.journal_file import JournalFile

    path = tmp_path / "j.jsonl"
    bad = {"type": "fault", "id": "f-inf", "target": {"host": REVIEWS}, "percent": 50, "abort_status": 503,
           "ttl_seconds": math.inf, "created_at": NOW}
    path.write_text(json.dumps({"at": NOW, "kind": "edit-add", "edit_id": "f-inf", "edit": bad}) + "\n")
    cp = plane(snapshot, journal=JournalFile(path))
    cp.journal.acquire()
    cp._restore_from_journal()
    assert cp.edits() == []
    entries, _ = cp.journal.read()
    assert any(e.kind == jr.REVERT and e.edit_id == "f-inf" and "not restored" in e.detail for e in entries)
    cp.journal.close()


def test_two_scope_edits_in_one_namespace_are_refused(snapshot):
    cp = plane(snapshot)
    first = cp.add_edit(scope_from_request({"namespace": "default", "egressHosts": ["./*"]}, NOW))
    with pytest.raises(UsageError, match=f"scope edit {first['id']} already sets the Sidecar scope"):
        cp.add_edit(scope_from_request({"namespace": "default", "egressHosts": ["istio-system/*"],
                                         "selector": {"app": "productpage"}}, NOW))
    assert [e["id"] for e in cp.edits("scope")] == [first["id"]]
    cp.remove_edit(first["id"])
    cp.add_edit(scope_from_request({"namespace": "default", "egressHosts": ["istio-system/*"]}, NOW))


# ---- the property: no field value makes the server fail or leaves stale config -------------

ANY = st.one_of(
    st.none(), st.booleans(), st.integers(min_value=-(10**30), max_value=10**30),
    st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=30),
    st.sampled_from(["inf", "-inf", "nan", "1e308", "1e-320", "10m", "200ms", "0", "-1s", "99999999h",
                     "1.5s", "", "503", "v1", "v2", "v3", REVIEWS, "default/reviews", "./*"]),
    st.lists(st.text(max_size=5), max_size=3), st.dictionaries(st.text(max_size=5), st.text(max_size=5), max_size=2),
)
FAULT_KEYS = ["virtualService", "rule", "host", "subset", "abort", "delay", "percent", "ttl", "reason", "id", "owner"]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                  HealthCheck.too_slow])
@given(fields=st.dictionaries(st.sampled_from(FAULT_KEYS), ANY, max_size=8), scope=st.booleans(),
       scope_fields=st.dictionaries(st.sampled_from(["namespace", "egressHosts", "outboundTrafficPolicy", "selector",
                                                     "ttl", "reason"]), ANY, max_size=5))
def test_no_edit_field_value_breaks_the_server_or_leaves_stale_config(snapshot, fields, scope, scope_fields):
    cp = plane(snapshot)
    baseline = cp.cache.get(SIDECAR).types
    req = {**fault_req(), **fields}
    try:
        make = scope_from_request if scope else fault_from_request
        view = cp.add_edit(make(scope_fields if scope else req, NOW))
    except UsageError:
        assert cp.edits() == [] and not cp.translate_errors
        assert cp.cache.get(SIDECAR).types == baseline
        return
    json.dumps(view, allow_nan=False)  # the view is valid JSON: `fault list` keeps working
    assert not cp.translate_errors, cp.translate_errors
    cp.remove_edit(view["id"])
    now = cp.cache.get(SIDECAR).types
    assert {t: r.version for t, r in now.items()} == {t: r.version for t, r in baseline.items()}


# ---- through the real binary ----------------------------------------------------------------


def test_serve_refuses_bad_fields_and_keeps_serving(tmp_path):
    import subprocess
    import sys

    proc, info = serve(tmp_path, "--listen", "127.0.0.1:0", "--proxy", SIDECAR, "--max-ttl", "1h")
    try:
        addr = info["server"]

        def fault(*extra: str) -> subprocess.CompletedProcess:
            return subprocess.run([sys.executable, "-m", "meshtui", "fault", "add", "--server", addr, "--host", REVIEWS,
                                   "--percent", "50", *extra], capture_output=True, text=True,
                                  env={**__import__("os").environ, "XDG_STATE_HOME": str(tmp_path)}, timeout=60)

        for extra, says in ((["--abort", "503", "--ttl", "inf"], "finite"),
                            (["--abort", "503", "--ttl", "2h"], "at most 1h"),
                            (["--delay", "1e308"], "at most 1h"),
                            (["--abort", "503", "--reason", "x" * 2000], "at most 1024")):
            r = fault(*extra)
            assert r.returncode == 2 and says in r.stderr and "Traceback" not in r.stderr, r.stderr
        r = fault("--abort", "503", "--ttl", "10m")
        assert r.returncode == 0, r.stderr
        r = subprocess.run([sys.executable, "-m", "meshtui", "fault", "list", "--server", addr, "-o", "json"],
                           capture_output=True, text=True, timeout=60,
                           env={**__import__("os").environ, "XDG_STATE_HOME": str(tmp_path)})
        assert r.returncode == 0 and len(json.loads(r.stdout)["edits"]) == 1, r.stderr
    finally:
        assert stop(proc) == 0
