"""`meshtui demo --no-tui` as a process: the JSON line, SIGTERM stops every child, a restarted
meshtui restores faults from the journal."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from xds_kit import Http, wait_until

from meshtui.cli import main

pytestmark = pytest.mark.envoy

REPO = Path(__file__).resolve().parents[2]


def children_of(pid: int) -> set[int]:
    out: set[int] = set()
    try:
        for task in os.listdir(f"/proc/{pid}/task"):
            try:
                text = Path(f"/proc/{pid}/task/{task}/children").read_text()
            except OSError:
                continue
            out.update(int(x) for x in text.split())
    except OSError:
        pass
    return out


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:  # a zombie is not alive
        return Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"
    except OSError:
        return False


class Demo:
    """`meshtui demo --no-tui` in a subprocess; always ends it and its children by PID."""

    def __init__(self, state: Path, *extra: str) -> None:
        env = {**os.environ, "XDG_STATE_HOME": str(state), "PYTHONPATH": str(REPO)}
        self.proc = subprocess.Popen([sys.executable, "-m", "meshtui", "demo", "--no-tui", "--no-gateway", *extra],
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, cwd=REPO)
        line = self.proc.stdout.readline()
        if not line:
            err = self.proc.stderr.read()
            self.close()
            raise AssertionError(f"demo did not start: {err}")
        self.info = json.loads(line)
        self.children = children_of(self.proc.pid)

    def http(self, port: str = "9080") -> Http:
        host, _, p = self.info["listeners"][port].rpartition(":")
        return Http(host, int(p))

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)
        for pid in self.children:
            if alive(pid):
                os.kill(pid, signal.SIGKILL)


@pytest.fixture
def demos(tmp_path):
    started: list[Demo] = []

    def start(*extra: str) -> Demo:
        d = Demo(tmp_path / "state", *extra)
        started.append(d)
        return d

    yield start
    for d in started:
        d.close()


def test_no_tui_prints_addresses_and_sigterm_stops_every_child(demos):
    d = demos()
    assert set(d.info) >= {"server", "envoyAdmin", "listeners"}
    assert d.info["server"].startswith("127.0.0.1:") and d.info["envoyAdmin"].startswith("127.0.0.1:")
    assert "9080" in d.info["listeners"]
    status, body = d.http().json("/", {"Host": "ratings"})
    assert status == 200 and body["service"] == "ratings"
    assert d.children, "the demo should have started Envoy"
    d.proc.send_signal(signal.SIGTERM)
    assert d.proc.wait(15) == 0
    wait_until(lambda: not any(alive(p) for p in d.children), timeout=10, what="children gone")
    assert "Traceback" not in d.proc.stderr.read()


def test_restarted_meshtui_restores_faults_from_the_journal(demos, capsys, state_dir):
    a = demos()
    assert main(["fault", "add", "--server", a.info["server"], "--host", "reviews.default.svc.cluster.local",
                 "--subset", "v2", "--abort", "503", "--percent", "100", "--ttl", "2m"]) == 0
    fid = capsys.readouterr().out.strip()
    jason = {"Host": "reviews", "end-user": "jason"}
    wait_until(lambda: a.http().get("/", jason)[0] == 503, what="fault in demo A")
    a.proc.send_signal(signal.SIGTERM)
    assert a.proc.wait(15) == 0

    b = demos()
    assert main(["fault", "list", "--server", b.info["server"], "-o", "json"]) == 0
    listed = json.loads(capsys.readouterr().out)["edits"]
    assert [f["id"] for f in listed] == [fid]
    wait_until(lambda: b.http().get("/", jason)[0] == 503, what="restored fault in demo B")
    assert b.http().get("/", {"Host": "reviews"})[0] == 200


# A SIGKILLed demo now takes its Envoys along (test_safety_demo.py); the TTL fail-safe for an
# Envoy whose control plane went silent is test_fault_layer_expires_when_heartbeats_stop.
