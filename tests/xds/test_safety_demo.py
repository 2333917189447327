"""Issue 12, the demo as a user runs it: `--readonly` pushes nothing it was not started with
(no journaled fault comes back), and a SIGKILLed demo takes its Envoys with it and leaves no
work folder behind for long."""

from __future__ import annotations

import json
import time
import urllib.request

import pytest
from test_xds_demo_process import Demo, alive, demos  # noqa: F401 - demos is a fixture
from xds_kit import wait_until

from meshtui.edits import journal as jr
from meshtui.edits.model import FaultEdit, FaultTarget

pytestmark = pytest.mark.envoy

REVIEWS = "reviews.default.svc.cluster.local"


def envoy_fault_values(admin: str) -> dict:
    with urllib.request.urlopen(f"http://{admin}/runtime", timeout=2) as r:
        entries = json.loads(r.read())["entries"]
    return {k: v for k, v in entries.items() if k.startswith("meshtui.")}


def test_readonly_demo_restores_and_takes_no_edit(demos, tmp_path, state_dir):
    journal = tmp_path / "state" / "meshtui" / "demo-journal.jsonl"
    journal.parent.mkdir(parents=True)
    edit = FaultEdit(id="f-old", target=FaultTarget(host=REVIEWS), percent=100, abort_status=503,
                     ttl_seconds=3600, created_at=time.time())
    journal.write_text(jr.encode_line(jr.JournalEntry(time.time(), jr.EDIT_ADD, edit.id, jr.edit_to_dict(edit))) + "\n")
    before = journal.read_bytes()

    d = demos("--readonly")
    http = d.http()
    # the journaled fault is live in the journal, but a read-only demo must not serve it
    for _ in range(5):
        assert http.get("/", {"Host": "reviews"})[0] == 200
    assert envoy_fault_values(d.info["envoyAdmin"]) == {}
    from meshtui.cli import main

    assert main(["fault", "add", "--server", d.info["server"], "--host", REVIEWS, "--abort", "503",
                 "--percent", "100"]) == 2
    assert main(["fault", "clear", "--server", d.info["server"]]) == 2
    assert http.get("/", {"Host": "reviews"})[0] == 200
    assert journal.read_bytes() == before, "a read-only demo wrote to the journal"

    # without --readonly the same journal does bring the fault back (the test can fail)
    d.close()
    wait_until(lambda: not alive(d.proc.pid), what="read-only demo gone")
    e = demos()
    wait_until(lambda: e.http().get("/", {"Host": "reviews"})[0] == 503, what="restored fault")


def test_a_sigkilled_demo_takes_its_envoys_along_and_its_folder_goes_next_time(tmp_path):
    import os
    import signal

    from test_xds_demo_process import children_of

    tmp = tmp_path / "tmp"
    tmp.mkdir()
    os.environ["TMPDIR"] = str(tmp)  # the demo's subprocess inherits it: its work folder lands here
    try:
        a = Demo(tmp_path / "state")
        try:
            envoys = children_of(a.proc.pid)
            assert envoys, "the demo should have started Envoy"
            folders = [p for p in tmp.iterdir() if p.name.startswith("meshtui-demo-")]
            assert len(folders) == 1
            a.proc.send_signal(signal.SIGKILL)
            a.proc.wait(10)
            wait_until(lambda: not any(alive(p) for p in envoys), timeout=10, what="Envoys to die with meshtui")
            assert folders[0].exists()  # nobody cleaned up: the process was killed
            # someone else's folder that merely looks like ours is left alone
            (tmp / "meshtui-demo-notours").mkdir()
            (tmp / "meshtui-demo-notours" / "meshtui-owner.pid").write_text(f"{os.getpid()} 0\n")
            os.chmod(tmp / "meshtui-demo-notours", 0o755)
            b = Demo(tmp_path / "state")
            try:
                assert not folders[0].exists(), "the killed demo's work folder is still there"
                live = [p for p in tmp.iterdir() if p.name.startswith("meshtui-demo-") and p.name != "meshtui-demo-notours"]
                assert len(live) == 1  # b's own, kept while it runs
            finally:
                b.close()
        finally:
            a.close()
    finally:
        os.environ.pop("TMPDIR", None)
