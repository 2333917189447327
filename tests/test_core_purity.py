"""The pure core (meshtui.model, translate, simulate, analyze, edits, actual) never imports Textual, Rich,
grpc or kubernetes, never reads the clock and never does I/O (DESIGN.md "The core is pure").

Checked twice: by importing every core module in a fresh interpreter and looking at sys.modules
(catches indirect imports), and by reading their import lines (catches imports inside functions
that the first check would only see when the function runs)."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CORE = ("model", "translate", "simulate", "analyze", "edits", "actual")
UI_AND_NETWORK = ("textual", "rich", "grpc", "kubernetes")
# modules that read the clock, touch files, processes or the network
IO_AND_CLOCK = ("time", "os", "pathlib", "io", "socket", "ssl", "select", "selectors", "subprocess", "asyncio",
                "threading", "multiprocessing", "signal", "shutil", "tempfile", "glob", "urllib", "http",
                "requests", "sqlite3", "logging")
# other meshtui packages the core may use (the shells may not be imported from the core)
CORE_PACKAGES = {f"meshtui.{p}" for p in CORE} | {"meshtui.errors", "meshtui"}
CLOCK_CALLS = {("datetime", "now"), ("datetime", "utcnow"), ("datetime", "today"), ("date", "today"),
               ("time", "time"), ("time", "monotonic"), ("time", "perf_counter")}


def _core_files() -> list[Path]:
    return sorted(f for p in CORE for f in (ROOT / "meshtui" / p).rglob("*.py"))


def _module_name(path: Path) -> str:
    rel = path.relative_to(ROOT).with_suffix("")
    parts = rel.parts[:-1] if rel.name == "__init__" else rel.parts
    return ".".join(parts)


IMPORT_ALL = f"""
import importlib, json, pkgutil, sys
before = set(sys.modules)
failed = {{}}
for pkg in {list(CORE)!r}:
    root = importlib.import_module("meshtui." + pkg)
    for info in pkgutil.walk_packages(root.__path__, root.__name__ + "."):
        try:
            importlib.import_module(info.name)
        except Exception as exc:  # reported, not hidden
            failed[info.name] = repr(exc)
bad = sorted(m for m in sys.modules if m.split(".")[0] in {UI_AND_NETWORK!r})
print(json.dumps({{"bad": bad, "failed": failed, "imported": sorted(m for m in sys.modules if m.startswith("meshtui."))}}))
"""


def test_importing_the_core_loads_no_ui_or_network_library():
    proc = subprocess.run([sys.executable, "-c", IMPORT_ALL], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout.strip().splitlines()[-1])
    assert report["failed"] == {}, report["failed"]
    assert report["bad"] == [], f"the core pulled in {report['bad']}"
    # it did import the core (an empty walk would pass vacuously)
    for pkg in CORE:
        assert f"meshtui.{pkg}" in report["imported"]
    shells = [m for m in report["imported"] if m.split(".")[1] in ("cli", "tui", "xds", "cluster", "sources", "demo")]
    assert shells == [], f"the core imported shell modules {shells}"


def _imports(tree: ast.AST, module: str) -> list[tuple[int, str]]:
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out += [(node.lineno, a.name) for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative: resolve against the module's package
                base = module.split(".")[: -node.level] if not module.endswith("__init__") else module.split(".")
                out.append((node.lineno, ".".join([*base, node.module or ""]).rstrip(".")))
            else:
                out.append((node.lineno, node.module or ""))
    return out


@pytest.mark.parametrize("path", _core_files(), ids=lambda p: str(p.relative_to(ROOT)))
def test_core_import_lines(path: Path):
    tree = ast.parse(path.read_text(), filename=str(path))
    module = _module_name(path)
    problems = []
    for line, name in _imports(tree, module):
        top = name.split(".")[0]
        if top in UI_AND_NETWORK:
            problems.append(f"{path.name}:{line} imports {name} (UI/network library)")
        elif top in IO_AND_CLOCK:
            problems.append(f"{path.name}:{line} imports {name} (clock or I/O: pass it in from a shell)")
        elif top == "meshtui" and not any(name == p or name.startswith(p + ".") for p in CORE_PACKAGES - {"meshtui"}) and name != "meshtui":
            problems.append(f"{path.name}:{line} imports {name} (a shell module)")
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and isinstance(node.func.value, ast.Name):
            if (node.func.value.id, node.func.attr) in CLOCK_CALLS:
                problems.append(f"{path.name}:{node.lineno} calls {node.func.value.id}.{node.func.attr}() (reads the clock)")
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in ("open", "input", "print"):
            problems.append(f"{path.name}:{node.lineno} calls {node.func.id}() (I/O)")
    assert problems == []


def test_the_checks_would_catch_a_violation(tmp_path):
    """The static check is not vacuous: it flags each kind of violation."""
    src = ("import rich\nfrom grpc import aio\nimport time\nfrom meshtui.cli import main\n"
           "def f():\n    import kubernetes\n    datetime.now()\n    open('x')\n")
    tree = ast.parse(src)
    names = [n for _, n in _imports(tree, "meshtui.model.fake")]
    assert names == ["rich", "grpc", "time", "meshtui.cli", "kubernetes"]


def test_the_core_is_type_checked_strictly():
    """Every core package is in pyproject's strict mypy override, and none is in the debt list as a
    whole package (single modules may be, each named)."""
    import tomllib

    overrides = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["mypy"]["overrides"]
    strict = next(o for o in overrides if o.get("disallow_untyped_defs"))
    assert {f"meshtui.{p}.*" for p in CORE} <= set(strict["module"]), set(strict["module"])
    debt = [m for o in overrides if o.get("ignore_errors") for m in o["module"]]
    assert not [m for m in debt if m.endswith(".*")], debt
