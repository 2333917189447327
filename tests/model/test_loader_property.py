"""Property tests: malformed YAML and malformed resources (random structures under real kinds,
with real field names) thrown at load_sources, build_snapshot (cluster-shaped plain data) and the
CLI in-process. Never a traceback: the loader returns diagnostics or raises InputError (exit 2);
the CLI exits 0, 2 (bad input) or, for analyze, 79 (findings at Error level, as istioctl)."""

from __future__ import annotations

import math
import os
import tempfile
from pathlib import Path

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from model_kit import FIXTURES, run_cli

from meshtui.errors import InputError
from meshtui.model import istio, k8s
from meshtui.model.parse import LoadResult, RawDoc, build_snapshot
from meshtui.model.schema import _plan
from meshtui.model.source import Diagnostic
from meshtui.sources.loader import load_sources

SETTINGS = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow],
                    derandomize=os.environ.get("MESHTUI_HYPOTHESIS_RANDOM") is None)

KINDS = [("networking.istio.io/v1", k) for k in istio.ISTIO_KINDS] + [
    ("networking.istio.io/v1alpha3", "VirtualService"), ("v1", "Service"), ("v1", "Pod"), ("v1", "Endpoints"),
    ("v1", "Namespace"), ("apps/v1", "Deployment"), ("apps/v1", "StatefulSet"), ("discovery.k8s.io/v1", "EndpointSlice"),
    ("v1", "List"), ("v1", "Secret")]


def _field_names() -> list[str]:
    """Every YAML field name the model knows, so random data reaches deep into the schema."""
    seen: set[str] = set()
    todo = [*istio.ISTIO_KINDS.values(), *(cls for _, cls in k8s.K8S_KINDS.values())]
    names: list[str] = []
    while todo:
        cls = todo.pop()
        if cls in seen:
            continue
        seen.add(cls)
        for attr, yname, *_ in _plan(cls).fields:
            names.append(yname)
            hint = cls.__dataclass_fields__[attr].type
            for other in (*istio.__dict__.values(), *k8s.__dict__.values()):
                if isinstance(other, type) and other.__name__ in str(hint) and hasattr(other, "__dataclass_fields__") \
                        and not hasattr(other, "from_yaml"):  # a summary built by its own parser (SecretData)
                    todo.append(other)
    return sorted(set(names))


FIELD_NAMES = _field_names()

scalars = st.one_of(
    st.none(), st.booleans(), st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from(["", "*", "reviews", "v1", "10s", "1.5ms", "10 seconds", "-1s", "abc", "/api/", "(?!x)", ".*", "[",
                     "503", "ROUND_ROBIN", "ISTIO_MUTUAL", "mesh", "./*", "~/*", "a/b", "10.0.0.1", "10.0.0.0/33",
                     "FROM_REQUEST_PORT", "UNAVAILABLE", "http", "TCP", "True", "None"]),
    st.text(max_size=12),
)
keys = st.one_of(st.sampled_from(FIELD_NAMES), st.text(max_size=6))
values = st.recursive(scalars, lambda children: st.one_of(
    st.lists(children, max_size=4), st.dictionaries(keys, children, max_size=5)), max_leaves=25)


@st.composite
def resources(draw) -> dict:
    api, kind = draw(st.sampled_from(KINDS))
    obj: dict = {"apiVersion": api, "kind": kind}
    obj["metadata"] = draw(st.one_of(
        st.fixed_dictionaries({"name": st.sampled_from(["a", "b", "reviews"])},
                              optional={"namespace": st.sampled_from(["default", "ns1", ""]),
                                        "labels": st.dictionaries(st.sampled_from(["app", "version"]), scalars, max_size=2),
                                        "annotations": values}),
        values))
    for field in draw(st.lists(st.sampled_from(["spec", "status", "items", "subsets", "endpoints", "ports", "extra"]), max_size=3)):
        obj[field] = draw(values)
    if draw(st.booleans()):  # a plausible spec built from real field names
        obj["spec"] = draw(st.dictionaries(st.sampled_from(FIELD_NAMES), values, max_size=6))
    return obj


def _dump(objects: list) -> str:
    return yaml.safe_dump_all(objects, sort_keys=False, allow_unicode=True)


def _check_result(result: LoadResult) -> None:
    assert isinstance(result, LoadResult)
    for d in result.diagnostics:
        assert isinstance(d, Diagnostic) and d.level in ("Error", "Warning", "Info")
        assert str(d)  # renders
    assert result.loaded == len(result.snapshot.by_key)
    result.snapshot.content_hash()


SEED_TEXT = (FIXTURES / "bookinfo" / "reviews.yaml").read_text()

yaml_noise = st.text(alphabet=st.sampled_from(list(":-[]{},#&*!|>'\"%@`?\n\t  abc019é\x00\x85\ufeff")), max_size=200)


@st.composite
def mangled_fixture(draw) -> str:
    """A real file with a few random edits: deleted spans, inserted noise, re-indented lines."""
    text = SEED_TEXT
    for _ in range(draw(st.integers(1, 4))):
        op = draw(st.sampled_from(["delete", "insert", "indent", "dup"]))
        i = draw(st.integers(0, len(text)))
        if op == "delete":
            text = text[:i] + text[i + draw(st.integers(1, 40)):]
        elif op == "insert":
            text = text[:i] + draw(yaml_noise) + text[i:]
        else:
            lines = text.split("\n")
            j = draw(st.integers(0, len(lines) - 1))
            lines[j] = ("  " + lines[j]) if op == "indent" else lines[j] + "\n" + lines[j]
            text = "\n".join(lines)
    return text


def _fixture_objects() -> list[dict]:
    out = []
    for folder in ("bookinfo", "multi-namespace"):
        for f in sorted((FIXTURES / folder).rglob("*.yaml")):
            out.extend(d for d in yaml.safe_load_all(f.read_text()) if isinstance(d, dict))
    return out


FIXTURE_OBJECTS = _fixture_objects()


def _paths(node, prefix=()):
    yield prefix
    if isinstance(node, dict):
        for k, v in node.items():
            yield from _paths(v, (*prefix, k))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from _paths(v, (*prefix, i))


@st.composite
def mutated_objects(draw) -> list[dict]:
    """Valid fixture objects with one to three values replaced or removed somewhere inside:
    mostly-right config, so validation, the snapshot and the tracer all get to see it."""
    import copy

    picks = draw(st.lists(st.sampled_from(range(len(FIXTURE_OBJECTS))), min_size=1, max_size=4))
    objs = [copy.deepcopy(FIXTURE_OBJECTS[i]) for i in picks]
    for _ in range(draw(st.integers(1, 3))):
        obj = draw(st.sampled_from(objs))
        path = draw(st.sampled_from(list(_paths(obj))[1:]))
        parent = obj
        for step in path[:-1]:
            parent = parent[step]
        if draw(st.booleans()) and isinstance(parent, dict):
            del parent[path[-1]]
        else:
            parent[path[-1]] = draw(values)
    return objs


def _load_text(text: str):
    try:
        _check_result(load_sources(["-"], stdin_text=text))
    except InputError as exc:  # not YAML: must say where
        assert exc.exit_code == 2 and exc.file == "<stdin>" and str(exc).startswith("<stdin>")


@SETTINGS
@given(text=st.one_of(yaml_noise, mangled_fixture()))
def test_malformed_yaml_never_crashes_the_loader(text):
    _load_text(text)


@SETTINGS
@given(objects=st.one_of(st.lists(resources(), min_size=1, max_size=4), mutated_objects()))
def test_malformed_resources_never_crash_the_loader(objects):
    _load_text(_dump(objects))


@SETTINGS
@given(objects=st.one_of(st.lists(st.one_of(resources(), values), min_size=1, max_size=4), mutated_objects()))
def test_malformed_plain_data_never_crashes_build_snapshot(objects):
    """What the cluster source hands over: plain dicts, no positions, any Python value."""
    _check_result(build_snapshot([RawDoc(o, "cluster:test") for o in objects]))


def _cli_codes(text: str, folder: Path) -> None:
    path = folder / "input.yaml"
    path.write_text(text, encoding="utf-8", errors="surrogatepass")
    code, _, err = run_cli("analyze", "-f", str(path))
    assert code in (0, 2, 79), err
    assert "Traceback" not in err and "internal error" not in err
    code, _, err = run_cli("trace", "-f", str(path), "http://reviews.default:9080/reviews/1")
    assert code in (0, 2), err
    assert "Traceback" not in err and "internal error" not in err


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow],
          derandomize=os.environ.get("MESHTUI_HYPOTHESIS_RANDOM") is None)
@given(text=st.one_of(st.lists(resources(), min_size=1, max_size=3).map(_dump), mangled_fixture(),
                      mutated_objects().map(_dump)))
def test_the_cli_never_shows_a_traceback(text):
    with tempfile.TemporaryDirectory(prefix="meshtui-prop-") as tmp:
        _cli_codes(text, Path(tmp))


def test_float_edge_values_in_real_fields(tmp_path):
    """nan and inf where numbers are expected: refused with a location, never a crash."""
    obj = {"apiVersion": "networking.istio.io/v1", "kind": "VirtualService", "metadata": {"name": "x"},
           "spec": {"hosts": ["r"], "http": [{"route": [{"destination": {"host": "r"}, "weight": math.inf}],
                                               "mirrorPercentage": {"value": math.nan}}]}}
    result = load_sources(["-"], stdin_text=_dump([obj]))
    assert result.left_out == 1 and {d.source.path for d in result.errors} >= {"spec.http[0].route[0].weight"}
