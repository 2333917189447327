"""Every class of bad input (fixtures/broken): the message, file, line, field path and level of
its diagnostic, the object left out and everything else loaded; through load_sources and through
the CLI. A document that is not YAML is an Error at its file, line and column and is left out; the
other documents of its file and the other files still load (issue 12)."""

from __future__ import annotations

import subprocess
import sys
from dataclasses import dataclass

import pytest
from model_kit import BROKEN, REPO, run_cli

from meshtui.errors import EXIT_USAGE, InputError
from meshtui.model.source import ERROR, WARNING
from meshtui.sources.loader import load_sources, read_docs


@dataclass(frozen=True)
class Expect:
    file: str
    level: str
    line: int
    path: str
    says: str  # a piece of the message
    kind: str = ""
    name: str = ""
    left_out: tuple[str, ...] = ()  # "Kind/name" of objects that must be missing
    loaded: tuple[str, ...] = ()  # "Kind/name" of objects that must be there


CASES = [
    Expect("weight-not-a-number.yaml", ERROR, 31, "spec.http[0].route[1].weight", "must be an integer, got string 'abc'",
           "VirtualService", "reviews-weights", ("VirtualService/reviews-weights",), ("VirtualService/ratings-ok",)),
    Expect("percentage-out-of-range.yaml", ERROR, 22, "spec.http[0].fault.abort.percentage.value",
           "percentage must be between 0 and 100, got 150", "VirtualService", "details-fault",
           ("VirtualService/details-fault",), ("VirtualService/details-ok",)),
    Expect("duration-in-words.yaml", ERROR, 14, "spec.http[0].timeout", "'10 seconds' is not a duration",
           "VirtualService", "productpage-timeout", ("VirtualService/productpage-timeout",), ("DestinationRule/productpage-ok",)),
    Expect("regex-not-re2.yaml", ERROR, 13, "spec.http[0].match[0].uri.regex", "invalid regex '/v1/(?!internal).*'",
           "VirtualService", "api-regex", ("VirtualService/api-regex",), ("VirtualService/api-regex-ok",)),
    Expect("destination-without-host.yaml", ERROR, 16, "spec.http[0].route[0].destination.host", "host is required",
           "VirtualService", "orders-nohost", ("VirtualService/orders-nohost",), ("Service/orders",)),
    Expect("redirect-with-route.yaml", ERROR, 13, "spec.http[0].redirect", "redirect cannot be used together with route",
           "VirtualService", "moved", ("VirtualService/moved",), ("Gateway/shop-gateway",)),
    Expect("unknown-fields.yaml", WARNING, 16, "spec.http[0].timout", "unknown field 'timout'",
           "VirtualService", "cart", (), ("VirtualService/cart", "DestinationRule/cart")),
    Expect("unknown-fields.yaml", WARNING, 26, "spec.trafficPolicy.loadBalancer.simpel", "unknown field 'simpel'",
           "DestinationRule", "cart", (), ("VirtualService/cart", "DestinationRule/cart")),
    Expect("list.yaml", ERROR, 37, "spec.http[0].fault", "needs an abort and/or a delay",
           "VirtualService", "search-fault", ("VirtualService/search-fault",), ("Service/search", "DestinationRule/search")),
    Expect("resources.json", ERROR, 22, "spec.http[0].match[0].headers.x-tier.prefix", "prefix string match should not be empty",
           "VirtualService", "pricing-bad-match", ("VirtualService/pricing-bad-match",), ("Service/pricing", "VirtualService/pricing")),
]


def _names(result) -> set[str]:
    return {f"{k}/{n}" for (k, _, n) in result.snapshot.by_key}


@pytest.mark.parametrize("case", CASES, ids=lambda c: f"{c.file}:{c.line}")
def test_error_class_through_loader(case: Expect, in_repo):
    result = load_sources([f"fixtures/broken/{case.file}"])
    matching = [d for d in result.diagnostics if d.source.path == case.path]
    assert len(matching) == 1, [str(d) for d in result.diagnostics]
    d = matching[0]
    assert d.level == case.level
    assert d.source.file == f"fixtures/broken/{case.file}"
    assert d.source.line == case.line
    assert d.source.column is not None and d.source.column >= 1
    assert case.says in d.message
    assert (d.kind, d.namespace, d.name) == (case.kind, "default", case.name)
    # the message a person reads names all of it
    text = str(d)
    assert f"fixtures/broken/{case.file}:{case.line}" in text and case.path in text and case.says in text
    names = _names(result)
    for gone in case.left_out:
        assert gone not in names
    for kept in case.loaded:
        assert kept in names
    assert result.left_out == len(case.left_out)
    # nothing else is wrong with these files
    others = [x for x in result.diagnostics if x.level in (ERROR, WARNING) and x.source.path != case.path
              and not (case.file == "unknown-fields.yaml" and "unknown field" in x.message)]
    assert others == []


@pytest.mark.parametrize("case", [c for c in CASES if c.level == ERROR], ids=lambda c: c.file)
def test_error_class_through_cli(case: Expect, in_repo):
    """`meshtui trace` on a file with one broken object: the object is reported on stderr with its
    location, the trace still runs (exit 0) and nothing crashes."""
    code, _out, err = run_cli("trace", "-f", f"fixtures/broken/{case.file}", "http://nowhere.example.com/")
    assert code == 0, err
    assert f"fixtures/broken/{case.file}:{case.line}" in err and case.path in err
    assert "Traceback" not in err and "internal error" not in err


def test_unknown_fields_are_warnings_not_left_out(in_repo):
    result = load_sources(["fixtures/broken/unknown-fields.yaml"])
    assert result.errors == [] and result.left_out == 0 and result.loaded == 2
    assert {d.code for d in result.diagnostics if d.level == WARNING} == {"IST0133"}


def test_not_yaml_is_an_error_at_file_line_and_column(in_repo):
    with pytest.raises(InputError) as info:  # read on its own, the file has nothing to give
        read_docs("fixtures/broken/not-yaml.yaml", (REPO / "fixtures/broken/not-yaml.yaml").read_text())
    e = info.value
    assert (e.file, e.line, e.column) == ("fixtures/broken/not-yaml.yaml", 9, 17)
    assert e.exit_code == EXIT_USAGE
    assert str(e).startswith("fixtures/broken/not-yaml.yaml:9:17: is not valid YAML: mapping values are not allowed")
    result = load_sources(["fixtures/bookinfo", "fixtures/broken/not-yaml.yaml"])  # among others: one error
    (d,) = result.errors
    assert (d.source.file, d.source.line, d.source.column) == ("fixtures/broken/not-yaml.yaml", 9, 17)
    assert "is not valid YAML: mapping values are not allowed" in d.message
    assert result.left_out == 1 and result.snapshot.get("Service", "default", "reviews") is not None


def test_not_yaml_through_cli(in_repo):
    # trace: the error is printed at its line and the trace runs on everything else
    code, out, err = run_cli("trace", "-f", "fixtures/bookinfo", "-f", "fixtures/broken/not-yaml.yaml", "http://reviews/")
    assert code == 0 and "ROUTED" in out
    assert "fixtures/broken/not-yaml.yaml:9" in err and "is not valid YAML" in err and "Traceback" not in err
    # analyze: an IST0106 Error finding (exit 79, as for any object the API server would refuse)
    code, out, err = run_cli("analyze", "-f", "fixtures/bookinfo", "-f", "fixtures/broken/not-yaml.yaml")
    assert code == 79 and "IST0106" in out and "fixtures/broken/not-yaml.yaml:9" in out
    # on its own there is nothing to trace: a usage error
    code, out, err = run_cli("trace", "-f", "fixtures/broken/not-yaml.yaml", "http://reviews/")
    assert code == 2 and "nothing was loaded" in err and out == ""


def test_not_yaml_through_the_real_entry_point():
    """The console entry (`python -m meshtui`) in a subprocess: the finding, no traceback."""
    proc = subprocess.run([sys.executable, "-m", "meshtui", "analyze", "-f", "fixtures/broken/not-yaml.yaml"],
                          cwd=REPO, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 79, proc.stderr
    assert "fixtures/broken/not-yaml.yaml:9" in proc.stdout
    assert "Traceback" not in proc.stderr


def test_whole_broken_folder_but_the_not_yaml_file(in_repo):
    files = sorted(str(p.relative_to(REPO)) for p in BROKEN.iterdir() if p.name != "not-yaml.yaml")
    result = load_sources(files)
    assert result.left_out == sum(len(c.left_out) for c in CASES if c.level == ERROR)
    assert {d.source.path for d in result.errors} == {c.path for c in CASES if c.level == ERROR}
    good = {n for c in CASES for n in c.loaded} | {"Service/shop", "VirtualService/shop", "DestinationRule/shop",
                                                   "VirtualService/checkout"}
    assert good <= _names(result)
    assert len([d for d in result.diagnostics if d.code == "MT0001"]) == 1


# ---------------------------------------------------------------- inputs around the files


def test_missing_file_is_a_usage_error(in_repo):
    with pytest.raises(InputError, match="no such file or folder"):
        load_sources(["fixtures/broken/does-not-exist.yaml"])
    code, _, err = run_cli("analyze", "-f", "fixtures/broken/does-not-exist.yaml")
    assert code == 2 and "does-not-exist.yaml" in err


def _only_error(path):
    """Load one file that cannot be read: the one Error it gives, nothing loaded."""
    result = load_sources([str(path)])
    (e,) = result.errors
    assert result.loaded == 0 and result.left_out == 1
    return e


def test_binary_and_non_utf8_files(tmp_path):
    (tmp_path / "a.yaml").write_bytes(b"apiVersion: v1\nkind: Service\n\x00\x01\x02")
    e = _only_error(tmp_path / "a.yaml")
    assert e.source.line == 3 and "NUL" in e.message
    (tmp_path / "a.yaml").write_bytes(b"apiVersion: v1\nkind: \xff\xfe\n")
    e = _only_error(tmp_path / "a.yaml")
    assert e.source.line == 2 and "UTF-8" in e.message


def test_control_character_names_line_and_column(tmp_path):
    (tmp_path / "a.yaml").write_text("a: héllo wörld\nb: c\nc: \x01\n", encoding="utf-8")
    e = _only_error(tmp_path / "a.yaml")
    assert (e.source.line, e.source.column) == (3, 4)


@pytest.mark.parametrize("text, says", [
    ("a: !!int abc\n", "'abc' is not a valid integer"),
    ("a: !!bool maybe\n", "'maybe' is not a valid boolean"),
    ("a: !!float x\n", "'x' is not a valid number"),
    ("a: [[[[[[[[[[" + "[" * 300 + "\n", "not valid YAML"),
    ("x: &a [1, 2]\ny: *b\n", "found undefined alias"),
    ("? [a, b]\n: c\n", "a mapping key must be a scalar"),
])
def test_yaml_that_cannot_be_read(tmp_path, text, says):
    (tmp_path / "a.yaml").write_text(text)
    e = _only_error(tmp_path / "a.yaml")
    assert says in e.message and e.source.line is not None


def test_alias_bomb_is_refused_quickly(tmp_path):
    lines = ["a: &a [x, x, x, x, x, x, x, x, x, x]"]
    for i in range(1, 9):
        prev, cur = chr(96 + i), chr(97 + i)
        lines.append(f"{cur}: &{cur} [" + ", ".join([f"*{prev}"] * 10) + "]")
    (tmp_path / "bomb.yaml").write_text("\n".join(lines) + "\n")
    assert "too many aliases" in _only_error(tmp_path / "bomb.yaml").message


def test_aliases_and_merge_keys_load(tmp_path):
    (tmp_path / "a.yaml").write_text(
        "apiVersion: v1\nkind: Service\nmetadata:\n  name: a\n  labels: &l {app: a, tier: web}\n"
        "spec:\n  selector:\n    <<: *l\n    tier: api\n  ports: [{port: 80}]\n")
    svc = load_sources([str(tmp_path / "a.yaml")]).snapshot.get("Service", "default", "a")
    assert svc.metadata.labels == {"app": "a", "tier": "web"}
    assert svc.spec.selector == {"app": "a", "tier": "api"}


def test_sexagesimal_and_odd_scalars_do_not_crash(tmp_path):
    (tmp_path / "a.yaml").write_text("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\ndata:\n  t: 1:30.5\n  n: .nan\n  o: 0o17\n")
    result = load_sources([str(tmp_path / "a.yaml")])
    assert result.skipped_kinds == {"v1/ConfigMap": 1}


def test_duplicate_key_in_one_mapping_is_a_warning(tmp_path):
    (tmp_path / "a.yaml").write_text("apiVersion: v1\nkind: Service\nmetadata:\n  name: a\n  name: b\nspec:\n  ports: [{port: 80}]\n")
    result = load_sources([str(tmp_path / "a.yaml")])
    (w,) = [d for d in result.diagnostics if d.code == "MT0004"]
    assert w.level == WARNING and w.source.line == 5 and "duplicate key 'name' (first on line 4)" in w.message
    assert result.snapshot.get("Service", "default", "b") is not None


@pytest.mark.parametrize("text, says, line", [
    ("- a\n- b\n", "expected a Kubernetes object", 1),
    ("just a string\n", "expected a Kubernetes object", 1),
    ("apiVersion: v1\nmetadata: {name: a}\n", "kind is missing", 1),
    ("kind: Service\nmetadata: {name: a}\n", "apiVersion is missing", 1),
    ("apiVersion: v1\nkind: Service\nmetadata: {namespace: x}\n", "metadata.name is required", 3),
    ("apiVersion: v1\nkind: Service\nmetadata: {name: 7}\n", "metadata.name must be a string, got integer 7", 3),
    ("apiVersion: v1\nkind: Service\nmetadata: {name: a, namespace: [x]}\n", "metadata.namespace must be a string", 3),
    ("apiVersion: networking.istio.io/v1\nkind: VirtualService\nmetadata: {name: a}\n", "spec is required", 1),
])
def test_objects_that_are_not_objects(tmp_path, text, says, line):
    good = "apiVersion: v1\nkind: Service\nmetadata: {name: good}\nspec: {ports: [{port: 80}]}\n---\n"
    (tmp_path / "a.yaml").write_text(good + text)
    result = load_sources([str(tmp_path / "a.yaml")])
    (e,) = result.errors
    assert says in e.message and e.source.line == line + 5
    assert result.left_out == 1 and result.snapshot.get("Service", "default", "good") is not None


def test_stdin_and_default_namespace():
    text = ("apiVersion: v1\nkind: Service\nmetadata: {name: a}\nspec: {ports: [{port: 80}]}\n---\n"
            "apiVersion: v1\nkind: Service\nmetadata: {name: b, namespace: other}\nspec: {ports: [{port: 80}]}\n---\n"
            "apiVersion: v1\nkind: Namespace\nmetadata: {name: other}\n")
    result = load_sources(["-"], default_namespace="team", stdin_text=text)
    assert set(result.snapshot.by_key) == {("Service", "team", "a"), ("Service", "other", "b"), ("Namespace", "", "other")}
    assert result.snapshot.get("Service", "team", "a").src.file == "<stdin>"
    assert result.files == ["-"]


def test_folder_is_read_recursively_in_order(tmp_path):
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "x.yml").write_text("apiVersion: v1\nkind: Service\nmetadata: {name: s}\nspec: {ports: [{port: 81}]}\n")
    (tmp_path / "a.yaml").write_text("apiVersion: v1\nkind: Service\nmetadata: {name: s}\nspec: {ports: [{port: 80}]}\n")
    (tmp_path / "notes.txt").write_text("not: [read")
    (tmp_path / ".hidden.yaml").write_text("not: [read")
    result = load_sources([str(tmp_path)])
    assert result.files == [str(tmp_path / "a.yaml"), str(tmp_path / "b" / "x.yml")]
    assert result.snapshot.get("Service", "default", "s").spec.ports[0].port == 81  # later file wins


def test_null_for_a_required_field_is_reported(tmp_path):
    (tmp_path / "a.yaml").write_text(
        "apiVersion: networking.istio.io/v1\nkind: DestinationRule\nmetadata: {name: a}\nspec:\n  host:\n")
    (e,) = load_sources([str(tmp_path / "a.yaml")]).errors
    assert e.source.path == "spec.host" and e.source.line == 5 and "host is required" in e.message


def test_stdin_through_the_cli(monkeypatch):
    import io

    text = ("apiVersion: v1\nkind: Service\nmetadata: {name: a}\nspec: {ports: [{port: 80}]}\n---\n"
            "apiVersion: networking.istio.io/v1\nkind: VirtualService\nmetadata: {name: a}\n"
            "spec:\n  hosts: [a]\n  http:\n  - route: [{destination: {host: a}, weight: abc}]\n")
    monkeypatch.setattr(sys, "stdin", io.StringIO(text))
    code, out, err = run_cli("analyze", "-f", "-", "-o", "json")
    assert code == 79  # the left-out object is an Error finding, as in istioctl analyze
    assert '"line": 12' in out and "<stdin>" in out and "Traceback" not in err
