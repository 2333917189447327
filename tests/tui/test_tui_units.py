"""The TUI's plain-Python parts, without a terminal: commands, config, related objects, YAML
positions, trace diffs, what-if rebuilds, form parsing, filters, NO_COLOR."""

from __future__ import annotations

from pathlib import Path

import pytest
from tui_kit import MESH, load_mesh, make_app, settle

from meshtui.tui.commands import Command, parse
from meshtui.tui.config import load_config
from meshtui.tui.related import related
from meshtui.tui.screens.base import make_matcher
from meshtui.tui.screens.dialogs import parse_fault_form, parse_scope_form, scope_preview
from meshtui.tui.tracediff import align, changes
from meshtui.tui.tracing import TraceEngine, TraceQuery, parse_headers
from meshtui.tui.workspace import SourceInfo, Workspace, rebuild_with
from meshtui.tui.yamltext import document_at, yaml_for


@pytest.fixture(scope="module")
def ws():
    return Workspace(load_mesh(), SourceInfo("files", MESH))


def test_commands_and_aliases():
    assert parse(":vs") == Command("resources", "", "VirtualService", "vs")
    assert parse("dr reviews").arg == "reviews" and parse("dr reviews").kind == "DestinationRule"
    assert parse("pods").kind == "Pod" and parse("po").kind == "Pod"
    assert parse(":ns backend") == Command("ns", "backend", None, "ns backend")
    assert isinstance(parse(":ns"), str)
    for word, name in (("trace", "trace"), ("faults", "gameday"), ("gd", "gameday"), ("proxies", "proxies"),
                       ("ctx", "ctx"), ("q", "quit"), ("findings", "findings"), ("whatif", "whatif")):
        assert parse(word).name == name, word
    err = parse("vss")
    assert isinstance(err, str) and ":vs" in err
    assert parse("rv", {"rv": "vs reviews"}) == Command("resources", "reviews", "VirtualService", "vs reviews")
    assert isinstance(parse("loop", {"loop": "loop"}), str)  # an alias to itself ends, with a message


def test_config_warnings_name_file_line_and_field(tmp_path):
    f = tmp_path / "config.yaml"
    f.write_text("theme: light\nkeymap:\n  app.quit: ctrl+q\n  trace.edit: 'not a key!'\ncolours: 3\nreadonly: maybe\n")
    cfg = load_config(f)
    assert cfg.theme == "light" and cfg.keymap == {"app.quit": "ctrl+q"}
    text = "\n".join(cfg.warnings)
    assert f"{f}:4: keymap.trace.edit" in text
    assert f"{f}:5: colours: unknown setting" in text
    assert f"{f}:6: readonly" in text
    bad = tmp_path / "bad.yaml"
    bad.write_text("keymap: [\n")
    assert "not valid YAML" in load_config(bad).warnings[0] and str(bad) in load_config(bad).warnings[0]
    assert load_config(tmp_path / "missing.yaml").warnings == []


def test_config_path_follows_xdg(tmp_path):
    from meshtui.tui.config import config_path

    assert config_path({"XDG_CONFIG_HOME": "/x"}) == __import__("pathlib").Path("/x/meshtui/config.yaml")
    assert str(config_path({"MESHTUI_CONFIG_FILE": "/y.yaml", "XDG_CONFIG_HOME": "/x"})) == "/y.yaml"


def test_related_objects(ws):
    snap = ws.snapshot
    rel = {r.key: r.why for r in related(snap, ("Pod", "default", "reviews-v2-0"))}
    assert rel[("Service", "default", "reviews")] == "selects it"
    assert "subset v2" in rel[("DestinationRule", "default", "reviews")]
    assert ("VirtualService", "default", "reviews") in rel
    gw = {r.key for r in related(snap, ("Gateway", "default", "bookinfo-gateway"))}
    assert gw == {("VirtualService", "default", "bookinfo"), ("Pod", "istio-system", "istio-ingressgateway-0")}
    vs = {r.key for r in related(snap, ("VirtualService", "default", "bookinfo"))}
    assert ("Gateway", "default", "bookinfo-gateway") in vs and ("Service", "default", "productpage") in vs
    assert ("Service", "default", "reviews") not in vs


def test_yaml_text_keeps_file_lines(ws):
    yt = ws.yaml(("VirtualService", "default", "reviews"))
    lines = Path(f"{MESH}/networking.yaml").read_text().splitlines()
    assert yt.lines == lines[yt.first_line - 1:yt.last_line]
    assert yt.lines[0] == "apiVersion: networking.istio.io/v1"
    assert lines[yt.line_of("spec.http[1]") - 1].strip() == "- name: default"
    assert document_at(["a: 1", "---", "b: 2", "c: 3", "---", ""], 4) == (3, 4)
    dumped = yaml_for("cluster:ctx", 1, {"kind": "Service", "spec": {"ports": [{"port": 80}]}})
    assert not dumped.from_file and "port: 80" in dumped.text and dumped.line_of("spec.ports[0]") is not None


def test_trace_engine_caches_the_translation_and_reports_errors(ws):
    engine = TraceEngine()
    q = TraceQuery(source="default/productpage-v1-0", url="http://reviews:9080/", headers=("end-user: jason",))
    first = engine.run(ws.snapshot, q)
    again = engine.run(ws.snapshot, q)
    assert first.trace.outcome == again.trace.outcome == "routed"
    assert engine.config_for(ws.snapshot, q.source, False) is engine.config_for(ws.snapshot, q.source, False)
    assert "type a URL" in engine.run(ws.snapshot, TraceQuery()).error
    assert "no workload" in engine.run(ws.snapshot, TraceQuery(source="default/nope", url="http://x/")).error
    assert "not of the form" in engine.run(ws.snapshot, TraceQuery(url="http://x/", headers=("bad",))).error
    assert parse_headers(["a: 1", " ", "b:2"]) == (("a: 1", "b:2"), None)
    assert q.cli() == "meshtui trace --from default/productpage-v1-0 -H 'end-user: jason' http://reviews:9080/"


def test_whatif_rebuild_and_trace_diff(ws):
    key = ("VirtualService", "default", "reviews")
    yt = ws.yaml(key)
    engine = TraceEngine()
    q = TraceQuery(source="default/productpage-v1-0", url="http://reviews:9080/", headers=("end-user: jason",))
    before = engine.run(ws.snapshot, q).trace
    wi = rebuild_with(ws.snapshot, key, yt.text.replace("subset: v2", "subset: v3"), "edited")
    assert wi.errors == [] and wi.new_keys == [key]
    after = engine.run(wi.result.snapshot, q).trace
    assert [d.subset for d in after.destinations] == ["v3"]
    said = changes(before, after)
    assert any("v2" in c and "100% → 0%" in c for c in said) and any("v3" in c and "0% → 100%" in c for c in said)
    tags = [r.tag for r in align(before, after)]
    assert "changed" in tags and tags[0] == "equal"
    # order is kept: the edited object stays where it was
    assert list(wi.result.snapshot.by_key) == list(ws.snapshot.by_key)
    # a broken edit names the line (padding makes it the file's line)
    bad = rebuild_with(ws.snapshot, key, "\n" * (yt.first_line - 1) + yt.text.replace("weight: 80", "weight: x"), "f.yaml")
    assert bad.result is None and any("f.yaml:" in e and "weight" in e for e in bad.errors)
    assert rebuild_with(ws.snapshot, key, "a: [", "f.yaml").errors[0].startswith("f.yaml:")


def test_forms():
    ok = parse_fault_form("vs", "default/reviews#1", None, "", "abort", "503", "50", "5m", " why ")
    assert ok == {"reason": "why", "virtual_service": "default/reviews", "rule": 1, "abort": 503, "percent": 50.0, "ttl": 300.0}
    assert parse_fault_form("vs", "default/reviews#*", None, "", "delay", "200ms", "10", "", "")["rule"] is None
    assert parse_fault_form("host", None, "reviews.default.svc.cluster.local", "v2", "delay", "1s", "100", "1m", "")["subset"] == "v2"
    assert "percent" in parse_fault_form("vs", "a/b#0", None, "", "abort", "503", "150", "1m", "")
    assert "HTTP status" in parse_fault_form("vs", "a/b#0", None, "", "abort", "42", "10", "1m", "")
    assert "delay" in parse_fault_form("vs", "a/b#0", None, "", "delay", "soon", "10", "1m", "")
    scope = parse_scope_form("default", "app=productpage", "./*, istio-system/*", "REGISTRY_ONLY", "", "")
    assert scope["egress_hosts"] == ["./*", "istio-system/*"] and scope["workload_labels"] == {"app": "productpage"}
    assert "namespace/host" in parse_scope_form("default", "", "reviews", "-", "", "")
    assert "egress hosts" in parse_scope_form("default", "", "", "-", "", "")


def test_scope_preview_names_hosts_lost(ws):
    p = scope_preview(ws.snapshot, "default", {"app": "productpage"}, ["./reviews.default.svc.cluster.local"], None, 0.0)
    assert p.workloads == ["default/productpage-v1-0"]
    lost = p.lost["default/productpage-v1-0"]
    assert "ratings.default.svc.cluster.local" in lost and "reviews.default.svc.cluster.local" not in lost
    assert p.gained["default/productpage-v1-0"] == []


def test_filter_matcher():
    m = make_matcher("rev")
    assert m("VirtualService default/reviews") and not m("ratings")
    assert make_matcher("!rev")("ratings") and not make_matcher("!rev")("reviews")
    assert make_matcher("v[12")("x v[12 y")  # not a valid expression: matched literally
    assert make_matcher("")("anything")


def test_probe_target(ws):
    from meshtui.tui.screens.gameday import probe_target

    class Info:
        gateway_listeners = {"8080": "127.0.0.1:8080"}

    fault = {"type": "fault", "target": {"virtual_service": "default/bookinfo", "rule": 0}}
    assert probe_target(ws.snapshot, fault, None, Info()) == ("bookinfo.example.com", "/productpage", {}, 8080, "gateway")
    fault = {"type": "fault", "target": {"virtual_service": "default/reviews", "rule": 0}}
    assert probe_target(ws.snapshot, fault, None, Info()) == ("reviews", "/", {"end-user": "jason"}, 9080, "sidecar")
    host = {"type": "fault", "target": {"host": "ratings.default.svc.cluster.local"}}
    assert probe_target(ws.snapshot, host, None, Info()) == ("ratings", "/", {}, 9080, "sidecar")
    assert isinstance(probe_target(ws.snapshot, None, None, Info()), str)


async def test_no_color_is_honoured(monkeypatch):
    monkeypatch.setenv("NO_COLOR", "1")
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        assert app.no_color
        names = {type(f).__name__ for f in app._filters}
        assert names & {"NoColor", "Monochrome"}, names


def test_every_worker_names_itself():
    """textual's @work without `description=` reprs every argument on the UI thread to describe
    the worker: a Workspace or snapshot of a 10,000-service mesh took 15 s to repr (issue 15)."""
    import ast

    missing = []
    for path in sorted((Path(__file__).resolve().parents[2] / "meshtui" / "tui").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                for dec in node.decorator_list:
                    if (isinstance(dec, ast.Call) and getattr(dec.func, "id", getattr(dec.func, "attr", "")) == "work"
                            and not any(k.arg == "description" for k in dec.keywords)):
                        missing.append(f"{path.name}:{node.lineno} {node.name}")
    assert not missing, missing


def test_analysis_worker_does_not_repr_the_workspace(monkeypatch):
    import asyncio

    calls = []
    monkeypatch.setattr(Workspace, "__repr__", lambda self: calls.append(1) or "Workspace(...)")

    async def run():
        app = make_app(analyze=True)
        async with app.run_test(size=(100, 30)) as pilot:
            await settle(pilot)
            assert app.workspace is not None and app.workspace.findings is not None

    asyncio.run(run())
    assert calls == []


def test_t_on_a_route_in_another_namespace_names_its_namespace(tmp_path):
    """`t` on a VirtualService or DestinationRule outside default: the short host is the one of
    the object's namespace (a trace from elsewhere would otherwise miss it and pass through)."""
    from meshtui.tui.screens.resources import url_for

    (tmp_path / "m.yaml").write_text("""apiVersion: v1
kind: Service
metadata: {name: web, namespace: shop}
spec:
  selector: {app: web}
  ports: [{name: http, port: 8080}]
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: web, namespace: shop}
spec:
  hosts: [web]
  http: [{route: [{destination: {host: web}}]}]
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: web, namespace: shop}
spec:
  host: web
""")
    snap = load_mesh(str(tmp_path)).snapshot
    assert url_for(snap, ("VirtualService", "shop", "web")) == "http://web.shop:8080/"
    assert url_for(snap, ("DestinationRule", "shop", "web")) == "http://web.shop:8080/"
    assert url_for(snap, ("Service", "shop", "web")) == "http://web.shop:8080/"
