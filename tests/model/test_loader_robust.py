"""The loader never hangs and never lets one bad part hide the rest (issue 12): a FIFO named
*.yaml in a folder is skipped with a warning (reading it would block for ever); one broken
document of a multi-document file is an Error at its line while the others load; `analyze`
reports every broken file, not only the first; sources with nothing in them are said to be
empty (a trace of nothing is a usage error). Through the real entry point where a user meets it."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from model_kit import REPO, run_cli

from meshtui.sources.loader import load_sources

SVC = "apiVersion: v1\nkind: Service\nmetadata: {{name: {name}}}\nspec: {{selector: {{app: {name}}}, ports: [{{name: http, port: 80}}]}}\n"


def meshtui(*argv: str, timeout: float = 60) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.run([sys.executable, "-m", "meshtui", *argv], cwd=REPO, capture_output=True, text=True,
                          timeout=timeout, env=env, stdin=subprocess.DEVNULL)


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs on this platform")
def test_fifo_in_a_folder_is_skipped_not_read(tmp_path):
    (tmp_path / "a.yaml").write_text(SVC.format(name="a"))
    os.mkfifo(tmp_path / "pipe.yaml")  # nobody writes to it: opening it for reading blocks
    proc = meshtui("trace", "-f", str(tmp_path), "http://a/", timeout=60)  # before: never returned
    assert proc.returncode == 0, proc.stderr
    assert f"{tmp_path / 'pipe.yaml'}: is not a regular file" in proc.stderr and "skipped" in proc.stderr
    assert "a.default.svc.cluster.local" in proc.stdout


def test_one_broken_document_does_not_reject_the_file(tmp_path):
    text = (SVC.format(name="a") + "---\n"
            "apiVersion: v1\nkind: Service\nmetadata: {name: b\nspec: {}\n---\n"  # lines 6-9: an unclosed flow mapping
            + SVC.format(name="c") + "---\n"
            "apiVersion: v1\nkind: Service\nmetadata:\n  name: d\n  labels: x: y\n---\n"  # line 20: `labels: x: y`
            + SVC.format(name="e"))
    (tmp_path / "multi.yaml").write_text(text)
    result = load_sources([str(tmp_path / "multi.yaml")])
    assert {k[2] for k in result.snapshot.by_key} == {"a", "c", "e"}
    assert [(d.source.line, "not valid YAML" in d.message) for d in result.errors] == [(9, True), (20, True)]  # where YAML finds each problem
    assert result.left_out == 2
    # positions after a broken document are still the file's own lines
    assert result.snapshot.get("Service", "default", "e").src.line == 22


def test_analyze_reports_every_broken_file(tmp_path):
    (tmp_path / "good.yaml").write_text(SVC.format(name="a"))
    (tmp_path / "bad1.yaml").write_text("apiVersion: v1\nkind: Service\nmetadata: {name: [b\n")
    (tmp_path / "bad2.yaml").write_bytes(b"apiVersion: v1\nkind: \xff\n")
    (tmp_path / "bad3.yaml").write_text(SVC.format(name="c") + "---\nkind: Service\n  bad: indent\n")
    proc = meshtui("analyze", "-f", str(tmp_path), "-o", "json")
    assert proc.returncode == 79, proc.stderr  # Error findings, as for any object the API server refuses
    import json

    found = {(m["file"].rsplit("/", 1)[-1], m["line"]) for m in json.loads(proc.stdout) if m["code"] == "IST0106"}
    assert found == {("bad1.yaml", 4), ("bad2.yaml", 2), ("bad3.yaml", 7)}, proc.stdout
    assert "Traceback" not in proc.stderr


@pytest.mark.parametrize("source", ["empty-folder", "/dev/null"])
def test_trace_of_nothing_is_a_usage_error(tmp_path, source):
    path = str(tmp_path) if source == "empty-folder" else source
    proc = meshtui("trace", "-f", path, "http://reviews/")
    assert proc.returncode == 2, proc.stdout  # before: exit 0 and a PASSTHROUGH trace
    assert f"nothing was loaded from {path}" in proc.stderr
    assert "PASSTHROUGH" not in proc.stdout
    code, _, err = run_cli("analyze", "-f", path)  # analyze of nothing: no finding, but said
    assert code == 0 and "nothing was loaded" in err


def test_messages_never_name_python_types(tmp_path):
    (tmp_path / "a.yaml").write_text("- a\n- b\n---\napiVersion: v1\nkind: Service\nmetadata: {name: [x]}\n")
    result = load_sources([str(tmp_path / "a.yaml")])
    text = " ".join(d.message for d in result.errors)
    assert "got array" in text and "PosList" not in text and "list" not in text.replace("a list", "")
