"""`meshtui analyze` as users script it: -o json exactly as CONTRACT.md, the -o log line, exit 79
at or above --failure-threshold, --output-threshold, --suppress (and the suppression annotation),
-L, usage errors (exit 2), and --cluster with files layered over it."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from analyze_helpers import FIXTURES, ROOT

from meshtui.cli import main

SUBSET = FIXTURES / "ist0101-subset.yaml"  # one Error: reviews+v9
RETRY = FIXTURES / "mt0106-retry-timeout.yaml"  # one Warning
CLEAN = FIXTURES / "clean-mesh.yaml"
LOG_LINE = re.compile(r"^(Error|Warning|Info) \[(IST|MT)\d{4}\] \((\w+ [\w.-]+/[\w.-]+ \S+:\d+)\) \S.*\.$")


def run(capsys, *args: str) -> tuple[int, str, str]:
    code = main(["analyze", *args])
    out, err = capsys.readouterr()
    return code, out, err


def test_json_is_the_contract(capsys):
    code, out, _ = run(capsys, "-f", str(SUBSET), "-o", "json")
    assert code == 79
    data = json.loads(out)
    assert isinstance(data, list) and len(data) == 1
    m = data[0]
    assert list(m) == ["code", "level", "kind", "namespace", "name", "message", "file", "line", "path"]
    assert m["code"] == "IST0101" and m["level"] == "Error"
    assert (m["kind"], m["namespace"], m["name"]) == ("VirtualService", "default", "reviews")
    assert m["message"].startswith('Referenced host+subset in destinationrule not found: "reviews+v9".')
    assert m["file"] == str(SUBSET)
    assert isinstance(m["line"], int) and "subset: v9" in SUBSET.read_text().splitlines()[m["line"] - 1]
    assert m["path"] == "spec.http[0].route[1].destination"


def test_json_and_yaml_of_a_clean_mesh_are_empty_lists(capsys):
    assert run(capsys, "-f", str(CLEAN), "-o", "json")[:2] == (0, "[]\n")
    code, out, _ = run(capsys, "-f", str(CLEAN), "-o", "yaml")
    assert code == 0 and yaml.safe_load(out) == []


def test_yaml_carries_the_same_messages_as_json(capsys):
    _, as_json, _ = run(capsys, "-f", str(FIXTURES), "-o", "json")
    _, as_yaml, _ = run(capsys, "-f", str(FIXTURES), "-o", "yaml")
    assert yaml.safe_load(as_yaml) == json.loads(as_json)
    assert len(json.loads(as_json)) > 20


def test_log_lines(capsys):
    code, out, err = run(capsys, "-f", str(FIXTURES), "--color", "never")
    lines = out.splitlines()
    assert lines and all(LOG_LINE.match(line) for line in lines), [x for x in lines if not LOG_LINE.match(x)]
    assert lines[0].startswith("Error [")  # most severe first
    assert "messages (" in err and "Error" in err  # the summary goes to stderr
    assert code == 79


def test_log_line_example_from_the_contract(capsys):
    _, out, _ = run(capsys, "-f", str(SUBSET), "--color", "never")
    assert out.startswith(f"Error [IST0101] (VirtualService default/reviews {SUBSET}:")


def test_color_only_when_asked(capsys):
    assert "\x1b[31m" in run(capsys, "-f", str(SUBSET), "--color", "always")[1]
    assert "\x1b[" not in run(capsys, "-f", str(SUBSET), "--color", "never")[1]


def test_clean_summary(capsys):
    code, out, err = run(capsys, "-f", str(CLEAN))
    assert (code, out) == (0, "")
    assert "No validation issues found" in err


@pytest.mark.parametrize(("threshold", "expected"), [("Error", 0), ("Warning", 79), ("Info", 79), ("warning", 79)])
def test_failure_threshold(capsys, threshold, expected):
    code, out, _ = run(capsys, "-f", str(RETRY), "--failure-threshold", threshold)
    assert code == expected and "[MT0106]" in out


def test_output_threshold_hides_but_still_fails(capsys):
    code, out, err = run(capsys, "-f", str(RETRY), "--output-threshold", "Error", "--failure-threshold", "Warning")
    assert (code, out) == (79, "")
    assert "below --output-threshold not shown" in err


@pytest.mark.parametrize("rule", [
    "IST0101=VirtualService reviews.default",
    "IST0101=VirtualService default/reviews",
    "IST01*=VirtualService *.default",
    "*=*",
])
def test_suppress(capsys, rule):
    code, out, _err = run(capsys, "-f", str(SUBSET), "--suppress", rule, "-o", "json")
    assert (code, json.loads(out)) == (0, [])


@pytest.mark.parametrize("rule", ["IST0102=VirtualService reviews.default", "IST0101=VirtualService ratings.default",
                                  "IST0101=DestinationRule *"])
def test_suppress_leaves_others(capsys, rule):
    code, out, _ = run(capsys, "-f", str(SUBSET), "--suppress", rule, "-o", "json")
    assert code == 79 and len(json.loads(out)) == 1


def test_suppress_several_and_report_count(capsys):
    code, _, err = run(capsys, "-f", str(FIXTURES / "ist0130-unreachable-rule.yaml"), "--failure-threshold", "Warning",
                       "--suppress", "IST0130=VirtualService reviews.default", "--suppress", "MT0101=*")
    assert code == 0 and "2 suppressed" in err


def test_suppression_annotation(capsys, tmp_path):
    text = SUBSET.read_text().replace("metadata: {name: reviews, namespace: default}\nspec:\n  hosts:",
                                      "metadata:\n  name: reviews\n  namespace: default\n  annotations:\n"
                                      "    galley.istio.io/analyze-suppress: IST0101\nspec:\n  hosts:")
    assert "analyze-suppress" in text
    f = tmp_path / "annotated.yaml"
    f.write_text(text)
    assert run(capsys, "-f", str(f), "-o", "json")[:2] == (0, "[]\n")


@pytest.mark.parametrize("args", [
    ("--suppress", "IST0101"),
    ("--suppress", "=VirtualService x"),
    ("--failure-threshold", "Fatal"),
    ("--output-threshold", "verbose"),
    ("-o", "table"),
    ("--analyzer", "nope.*"),
])
def test_usage_errors(capsys, args):
    code, out, err = run(capsys, "-f", str(SUBSET), *args)
    assert code == 2 and out == "" and err.strip() and "Traceback" not in err


def test_no_sources_is_a_usage_error(capsys):
    code, _, err = run(capsys)
    assert code == 2 and "-f PATH" in err


def test_bad_yaml_names_file_and_line(capsys, tmp_path):
    f = tmp_path / "bad.yaml"
    f.write_text("apiVersion: v1\nkind: Service\nmetadata: {name: x\n")
    code, out, err = run(capsys, "-f", str(f))
    # an IST0106 Error finding at the file and line (issue 12: analyze reports every broken file)
    assert code == 79 and f"{f}:4" in out and "IST0106" in out and "Traceback" not in err


def test_positional_paths_and_stdin(capsys, monkeypatch):
    import io

    assert run(capsys, str(SUBSET), "-o", "json")[0] == 79
    monkeypatch.setattr(sys, "stdin", io.StringIO(SUBSET.read_text()))
    code, out, _ = run(capsys, "-f", "-", "-o", "json")
    assert code == 79 and json.loads(out)[0]["file"] == "<stdin>"


def test_list_analyzers(capsys):
    from meshtui.analyze import CODES, all_analyzers

    code, out, _ = run(capsys, "-L")
    assert code == 0
    for a in all_analyzers():
        assert a.name in out
    for c in CODES:
        assert c in out


def test_only_some_analyzers(capsys):
    files = [x for f in ("mt0102-subset-without-endpoints", "mt0104-host-not-in-registry", "mt0105-fault-without-percentage",
                         "mt0106-retry-timeout") for x in ("-f", str(FIXTURES / f"{f}.yaml"))]
    _code, out, _ = run(capsys, *files, "--analyzer", "routing.*", "-o", "json")
    assert {m["code"] for m in json.loads(out)} == {"MT0102", "MT0104", "MT0105", "MT0106"}


def test_exit_codes_through_the_real_entry_point(tmp_path):
    """`python -m meshtui analyze` in a subprocess: exit 79, data on stdout, summary on stderr."""
    p = subprocess.run([sys.executable, "-m", "meshtui", "analyze", "-f", str(SUBSET)], capture_output=True,
                       text=True, timeout=60, cwd=ROOT)
    assert p.returncode == 79
    assert p.stdout.startswith("Error [IST0101]") and "1 message" in p.stderr
    p = subprocess.run([sys.executable, "-m", "meshtui", "analyze", "-f", str(CLEAN)], capture_output=True,
                       text=True, timeout=60, cwd=ROOT)
    assert (p.returncode, p.stdout) == (0, "")


# ---------------------------------------------------------------- cluster mode

def _docs(path: Path) -> list[dict]:
    return [d for d in yaml.safe_load_all(path.read_text()) if d]


@pytest.fixture
def fake_cluster(tmp_path):
    sys.path.insert(0, str(ROOT / "tests" / "cluster"))
    from fakeapi import FakeApiServer, write_kubeconfig

    srv = FakeApiServer().start()
    try:
        yield srv, write_kubeconfig(tmp_path / "kubeconfig", srv.url, context="test-ctx")
    finally:
        srv.stop()


def test_cluster_and_files_over_it(capsys, fake_cluster, tmp_path):
    srv, kubeconfig = fake_cluster
    docs = _docs(SUBSET)
    srv.add_all(docs)
    code, out, _err = run(capsys, "--kubeconfig", str(kubeconfig), "--context", "test-ctx", "-o", "json")
    assert code == 79
    # the stand-in holds no istio ConfigMap: a warning says the MeshConfig defaults are used
    msgs = json.loads(out)
    assert [x["code"] for x in msgs if x["code"] != "IST0101"] == ["MT0603", "MT0601"]
    # and an Info that the stand-in serves no Gateway API (its CRDs are not installed)
    assert "serves no gateway.networking.k8s.io API group" in msgs[[x["code"] for x in msgs].index("MT0601")]["message"]
    [m] = [x for x in msgs if x["code"] == "IST0101"]
    assert m["code"] == "IST0101" and m["file"] == "cluster:test-ctx" and m["line"] is None
    # the fix, as a file layered over the cluster: "what if I apply this?"
    fix = tmp_path / "fix.yaml"
    dr = next(d for d in docs if d["kind"] == "DestinationRule")
    dr["spec"]["subsets"].append({"name": "v9", "labels": {"version": "v1"}})
    fix.write_text(yaml.safe_dump(dr))
    code, out, _err = run(capsys, "--cluster", "--kubeconfig", str(kubeconfig), "-f", str(fix), "-o", "json")
    assert code == 0
    # Info: no Gateway API CRDs; the file replaced the cluster's object
    assert [m["code"] for m in json.loads(out)] == ["MT0603", "MT0601", "MT0602"]


def test_cluster_unreachable_exits_69(capsys, tmp_path):
    sys.path.insert(0, str(ROOT / "tests" / "cluster"))
    import socket

    from fakeapi import write_kubeconfig

    with socket.socket() as s:  # a loopback port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    kubeconfig = write_kubeconfig(tmp_path / "kubeconfig", f"http://127.0.0.1:{port}", context="gone")
    code, out, err = run(capsys, "--cluster", "--kubeconfig", str(kubeconfig), "--request-timeout", "2")
    assert code == 69 and out == "" and "127.0.0.1" in err and "Traceback" not in err
