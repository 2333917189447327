"""The control API through the real CLI (`meshtui fault|scope|journal`), against a control
plane with the stand-in translator; no Envoy needed."""

from __future__ import annotations

import json
import time

import pytest
from standin import StandinTranslator
from xds_kit import free_port

from meshtui.cli import main
from meshtui.edits.model import FaultEdit, FaultTarget
from meshtui.errors import EXIT_UNREACHABLE, EXIT_USAGE, UsageError
from meshtui.xds.control_plane import ControlPlane
from meshtui.xds.journal_file import JournalFile


def make_plane(loop, state_dir, clock=time.time):
    tr = StandinTranslator(listen_port=free_port(), backends={"svc_v1": ("127.0.0.1", 1), "svc_v2": ("127.0.0.1", 2)})
    cp = ControlPlane(tr, journal=JournalFile(), clock=clock, loopback_only=True)
    addr = loop.run(cp.start("127.0.0.1:0"))
    loop.call(cp.add_proxy, "default/standin")
    return cp, addr


@pytest.fixture
def plane(loop, state_dir):
    cp, addr = make_plane(loop, state_dir)
    yield cp, addr
    loop.run(cp.stop(0))


def test_fault_cli_add_list_rm_clear(plane, capsys):
    _cp, addr = plane
    assert main(["fault", "add", "--server", addr, "--host", "svc", "--subset", "v1", "--abort", "503",
                 "--percent", "25", "--ttl", "5m", "--reason", "game day"]) == 0
    fid = capsys.readouterr().out.strip()
    assert fid.startswith("f-")
    assert main(["fault", "add", "--server", addr, "--host", "svc", "--delay", "200ms", "--percent", "10",
                 "-o", "json"]) == 0
    view = json.loads(capsys.readouterr().out)
    assert view["delay"]["fixedDelaySeconds"] == pytest.approx(0.2) and view["state"] == "active"
    assert view["ttlSeconds"] == 600  # the default
    assert main(["fault", "list", "--server", addr, "-o", "json"]) == 0
    listed = json.loads(capsys.readouterr().out)["edits"]
    assert {f["id"] for f in listed} == {fid, view["id"]}
    assert all("default/standin" in [p["node"] for p in f["proxies"]] for f in listed)
    assert main(["fault", "list", "--server", addr]) == 0
    table = capsys.readouterr().out
    assert "ID" in table and fid in table and "25%" in table and "host/svc subset v1" in table
    assert main(["fault", "rm", "--server", addr, fid]) == 0
    assert main(["fault", "rm", "--server", addr, fid]) == EXIT_USAGE  # already gone
    assert main(["fault", "clear", "--server", addr]) == 0
    assert "cleared 1 fault" in capsys.readouterr().err
    assert main(["fault", "list", "--server", addr, "-o", "json"]) == 0
    assert json.loads(capsys.readouterr().out) == {"edits": []}


def test_fault_cli_usage_errors(plane, capsys):
    _cp, addr = plane
    assert main(["fault", "add", "--server", addr, "--host", "svc", "--abort", "999", "--percent", "5"]) == EXIT_USAGE
    assert "200 and 599" in capsys.readouterr().err
    assert main(["fault", "add", "--server", addr, "--host", "svc", "--abort", "503", "--percent", "150"]) == EXIT_USAGE
    assert main(["fault", "add", "--server", addr, "--host", "svc", "--delay", "soon", "--percent", "5"]) == EXIT_USAGE
    assert main(["fault", "add", "--server", addr, "--host", "svc", "--rule", "1", "--abort", "503",
                 "--percent", "5"]) == EXIT_USAGE
    assert main(["fault", "add", "--server", addr, "--abort", "503", "--percent", "5"]) == EXIT_USAGE  # no target
    err = capsys.readouterr().err
    assert "Traceback" not in err


def test_unreachable_server_is_exit_69(capsys):
    port = free_port()
    assert main(["fault", "list", "--server", f"127.0.0.1:{port}", "--timeout", "2"]) == EXIT_UNREACHABLE
    assert f"127.0.0.1:{port}" in capsys.readouterr().err


def test_non_loopback_needs_tls_or_insecure(loop, state_dir, capsys):
    tr = StandinTranslator(listen_port=free_port(), backends={})
    cp = ControlPlane(tr, journal=JournalFile())
    with pytest.raises(UsageError, match="tls-cert"):
        loop.run(cp.start("10.255.255.1:15010"))
    # the client refuses plaintext to a non-loopback server too
    assert main(["fault", "list", "--server", "10.255.255.1:15010"]) == EXIT_USAGE
    assert "--insecure" in capsys.readouterr().err


def test_scope_cli(plane, capsys):
    _cp, addr = plane
    assert main(["scope", "set", "--server", addr, "-n", "default", "--selector", "app=productpage",
                 "--egress-host", "./ratings.default.svc.cluster.local", "--outbound-policy", "REGISTRY_ONLY"]) == 0
    sid = capsys.readouterr().out.strip()
    assert sid.startswith("s-")
    assert main(["scope", "list", "--server", addr]) == 0
    assert "REGISTRY_ONLY" in capsys.readouterr().out
    assert main(["scope", "set", "--server", addr, "-n", "default", "--egress-host", "nope"]) == EXIT_USAGE
    assert main(["scope", "rm", "--server", addr, sid]) == 0


def test_journal_restore_and_export(loop, state_dir, capsys):
    now = [time.time()]
    cp, _addr = make_plane(loop, state_dir, clock=lambda: now[0])
    t = now[0]
    loop.call(cp.add_edit, FaultEdit(id="f-long", target=FaultTarget(host="svc"), percent=100, abort_status=503,
                                     ttl_seconds=600, created_at=t))
    loop.call(cp.add_edit, FaultEdit(id="f-short", target=FaultTarget(host="svc"), percent=100, abort_status=500,
                                     ttl_seconds=5, created_at=t))
    loop.call(cp.add_edit, FaultEdit(id="f-gone", target=FaultTarget(host="svc"), percent=100, abort_status=502,
                                     ttl_seconds=600, created_at=t))
    loop.call(cp.remove_edit, "f-gone")
    loop.run(cp.stop(0))

    now[0] = t + 10  # meshtui was down for 10 s: f-short expired meanwhile
    cp2, _ = make_plane(loop, state_dir, clock=lambda: now[0])
    try:
        assert [e["id"] for e in loop.call(cp2.edits)] == ["f-long"]
        kinds = [(e.kind, e.edit_id) for e in loop.call(cp2.journal_entries)]
        assert ("restore", "f-long") in kinds and ("drop-expired", "f-short") in kinds
    finally:
        loop.run(cp2.stop(0))

    assert main(["journal", "export"]) == 0
    md = capsys.readouterr().out
    assert "f-long restored from the journal" in md and "f-short dropped on start" in md
    assert main(["journal", "export", "-o", "json", "--edits-only"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["kind"] == "GameDayTimeline"
    assert {e["kind"] for e in doc["entries"]} <= {"edit-add", "edit-remove", "restore", "drop-expired",
                                                     "server-start", "server-stop", "nack", "expire", "revert", "clear"}
    assert main(["journal", "path"]) == 0
    assert str(state_dir) in capsys.readouterr().out


def test_loopback_only_refuses_non_loopback_config(loop, state_dir):
    tr = StandinTranslator(listen_port=free_port(), backends={"svc_v1": ("10.1.2.3", 80), "svc_v2": ("127.0.0.1", 2)})
    cp = ControlPlane(tr, journal=JournalFile(), loopback_only=True)
    events = []
    cp.subscribe(events.append)
    loop.run(cp.start("127.0.0.1:0"))
    try:
        loop.call(cp.add_proxy, "default/standin")
        assert loop.call(cp.cache.get, "default/standin") is None  # nothing to push
        refused = [e for e in events if e.kind == "refused"]
        assert refused and "10.1.2.3" in refused[0].detail
        assert "10.1.2.3" in loop.call(cp.proxies)[0]["translateError"]
    finally:
        loop.run(cp.stop(0))
