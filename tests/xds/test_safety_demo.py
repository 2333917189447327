"""Issue 12, the demo as a user runs it: `--readonly` pushes nothing it was not started with
(no journaled fault comes back), and a SIGKILLed demo takes its Envoys with it and leaves no
work folder behind for long."""

from __future__ import annotations

import json
import time
import urllib.request

import pytest
from test_xds_demo_process import alive, demos  # noqa: F401 - demos is a fixture
from xds_kit import wait_until

from meshtui.edits import journal as jr
from meshtui.edits.model import FaultEdit, FaultTarget

pytestmark = pytest.mark.envoy

REVIEWS = "reviews.default.svc.cluster.local"


def envoy_fault_values(admin: str) -> dict:
    with urllib.request.urlopen(f"http://{admin}/runtime", timeout=2) as r:
        entries = json.loads(r.read())["entries"]
    return {k: v for k, v in entries.items() if k.startswith("meshtui.")}


def test_readonly_demo_restores_and_takes_no_edit(demos, tmp_path):
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
