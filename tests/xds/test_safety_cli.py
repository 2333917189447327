"""Issue 12 through the real binary: clear messages where gRPC's C core would abort or log,
JSON bootstraps by default, the camelCase `fault list -o json`, the locked and self-repairing
journal, and `demo --readonly`."""

from __future__ import annotations

import json
import os
import socket
import stat
import subprocess
import sys
from pathlib import Path

import yaml
from test_xds_serve_process import MESH, REPO, serve, stop

SIDECAR = "default/productpage-v1-6f9c7d5b8-pp01"
REVIEWS = "reviews.default.svc.cluster.local"


def meshtui(state: Path, *args: str, timeout: float = 60) -> subprocess.CompletedProcess:
    env = {**os.environ, "XDG_STATE_HOME": str(state), "PYTHONPATH": str(REPO)}
    return subprocess.run([sys.executable, "-m", "meshtui", *args], capture_output=True, text=True, env=env,
                          cwd=REPO, timeout=timeout)


def test_half_a_client_key_pair_is_a_usage_error_not_an_abort(tmp_path):
    pem = tmp_path / "c.pem"
    pem.write_text("not really a certificate\n")
    for flags in (["--tls-cert", str(pem)], ["--tls-key", str(pem)]):
        r = meshtui(tmp_path, "fault", "list", "--server", "127.0.0.1:1", *flags)
        assert r.returncode == 2, r.stderr
        assert "needs --tls-" in r.stderr and "Check failed" not in r.stderr and r.stderr.count("\n") == 1


def test_a_url_scheme_in_server_is_named(tmp_path):
    r = meshtui(tmp_path, "fault", "list", "--server", "http://127.0.0.1:15010")
    assert r.returncode == 2
    assert "without a scheme" in r.stderr and "loopback" not in r.stderr


def test_a_port_in_use_prints_only_meshtuis_message(tmp_path):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        r = meshtui(tmp_path, "serve", "-f", str(MESH), "--listen", f"127.0.0.1:{port}")
    assert r.returncode == 2
    assert r.stderr.startswith("meshtui: ") and r.stderr.count("\n") == 1, r.stderr
    assert "already in use" in r.stderr


def test_static_bootstrap_is_json_by_default_also_into_a_pipe(tmp_path):
    r = meshtui(tmp_path, "envoy-bootstrap", "--static", "-f", str(MESH), "--proxy", SIDECAR)
    assert r.returncode == 0, r.stderr
    boot = json.loads(r.stdout)  # stdout is a pipe here, as in `... | envoy -c /dev/stdin`
    assert boot["static_resources"]["listeners"]
    y = meshtui(tmp_path, "envoy-bootstrap", "--static", "-f", str(MESH), "--proxy", SIDECAR, "-o", "yaml")
    assert y.returncode == 0 and not y.stdout.lstrip().startswith("{")
    assert yaml.safe_load(y.stdout) == boot


def _camel(obj, path="") -> list[str]:
    bad = []
    if isinstance(obj, dict):
        for k, v in obj.items():
            if "_" in k:
                bad.append(f"{path}.{k}")
            bad += _camel(v, f"{path}.{k}")
    elif isinstance(obj, list):
        for i, v in enumerate(obj):
            bad += _camel(v, f"{path}[{i}]")
    return bad


def test_fault_and_scope_json_are_camel_case(tmp_path):
    proc, info = serve(tmp_path, "--listen", "127.0.0.1:0", "--proxy", SIDECAR)
    try:
        addr = info["server"]
        r = meshtui(tmp_path, "fault", "add", "--server", addr, "--host", REVIEWS, "--subset", "v2", "--abort", "503",
                    "--percent", "50", "--reason", "game day", "-o", "json")
        assert r.returncode == 0, r.stderr
        added = json.loads(r.stdout)
        assert added["target"] == {"host": REVIEWS, "subset": "v2"} and added["abort"] == {"httpStatus": 503}
        r = meshtui(tmp_path, "fault", "list", "--server", addr, "-o", "json")
        listed = json.loads(r.stdout)
        assert [e["id"] for e in listed["edits"]] == [added["id"]]
        e = listed["edits"][0]
        assert e["kind"] == "fault" and e["delay"] is None and e["reason"] == "game day"
        assert e["createdAt"].endswith("Z") and e["expiresAt"].endswith("Z")
        assert e["proxies"] == [{"node": SIDECAR, "state": e["proxies"][0]["state"]}]
        assert meshtui(tmp_path, "scope", "set", "--server", addr, "-n", "default", "--egress-host", "./*").returncode == 0
        scopes = json.loads(meshtui(tmp_path, "scope", "list", "--server", addr, "-o", "json").stdout)
        assert _camel(listed) == [] and _camel(scopes) == [] and _camel(added) == []
    finally:
        assert stop(proc) == 0


def test_a_second_server_on_one_journal_refuses(tmp_path):
    proc, info = serve(tmp_path, "--listen", "127.0.0.1:0")
    try:
        assert "server" in info, info
        r = meshtui(tmp_path, "serve", "-f", str(MESH), "--listen", "127.0.0.1:0")
        assert r.returncode == 2 and "is in use by another running meshtui" in r.stderr and not r.stdout
        journal = tmp_path / "meshtui" / "journal.jsonl"
        assert stat.S_IMODE(journal.stat().st_mode) == 0o600
        assert stat.S_IMODE(journal.parent.stat().st_mode) == 0o700
    finally:
        assert stop(proc) == 0


def test_a_torn_journal_tail_is_reported_repaired_and_the_next_entry_kept(tmp_path):
    journal = tmp_path / "meshtui" / "journal.jsonl"
    journal.parent.mkdir(parents=True)
    whole = json.dumps({"at": 1.0, "kind": "server-start"})
    journal.write_text(whole + "\n" + '{"at": 2.0, "kind": "edit-ad')  # cut short by a crash
    r = meshtui(tmp_path, "journal", "export", "-o", "json")
    assert ":2: " in r.stderr and "cut short" in r.stderr
    proc, info = serve(tmp_path, "--listen", "127.0.0.1:0", "--proxy", SIDECAR)
    try:
        r = meshtui(tmp_path, "fault", "add", "--server", info["server"], "--host", REVIEWS, "--abort", "503",
                    "--percent", "5")
        assert r.returncode == 0, r.stderr
        fid = r.stdout.strip()
    finally:
        assert stop(proc) == 0
    err = proc.stderr.read()
    assert "journal repaired" in err and "journal.jsonl:2" in err
    assert (journal.parent / "journal.jsonl.torn").read_text().startswith('{"at": 2.0')
    r = meshtui(tmp_path, "journal", "export", "-o", "json")
    assert r.returncode == 0 and r.stderr == "", r.stderr
    kinds = [(e["kind"], e.get("edit_id")) for e in json.loads(r.stdout)["entries"]]
    assert ("edit-add", fid) in kinds
