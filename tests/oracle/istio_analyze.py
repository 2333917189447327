"""The analyze side of the Istio oracle: `meshtui-oracle analyze` on a folder, meshtui's analyze on
the same files, and Istio's own analyzer test grid (its rows and testdata) read from the Go
module cache, never copied into this repository."""

from __future__ import annotations

import json
import re
import subprocess
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from pathlib import Path

import istio_oracle

# the Istio analyzers whose rows the grid test compares (networking), by Go package
NETWORKING = ("gateway", "virtualservice", "destinationrule", "serviceentry", "sidecar")
# issue 13's security analyzers: AuthorizationPolicy selectors and namespaces, and policies that
# select a Gateway API gateway's pods instead of naming it with targetRef
SECURITY = ("authz", "k8sgateway.SelectorAnalyzer")
ALL: tuple[str, ...] = ("*",)  # every row of the grid, whatever its analyzer
GRID_MISSING = "Istio's module is not in the Go module cache (go mod download in oracle/): the analyzer grid is skipped"

Key = tuple[str, str]  # (code, "Kind ns/name")


@cache
def istio_module() -> Path | None:
    """istio.io/istio at the version oracle/go.mod pins, in the Go module cache (None if absent)."""
    m = re.search(r"istio\.io/istio (v\S+)", (istio_oracle.SRC / "go.mod").read_text())
    if m is None or not istio_oracle.go_available():
        return None
    proc = subprocess.run(["go", "env", "GOMODCACHE"], capture_output=True, text=True, timeout=60)
    path = Path(proc.stdout.strip()) / f"istio.io/istio@{m.group(1)}"
    return path if (path / "pkg/config/analysis/analyzers/analyzers_test.go").exists() else None


def oracle_analyze(paths: list[Path] | list[str], mesh_config: str | None = None) -> dict:
    """What istioctl analyze reports for these files (JSON of oracle/analyze.go)."""
    args = ["analyze"]
    for p in paths:
        args += ["-f", str(p)]
    if mesh_config:
        args += ["--mesh-config", mesh_config]
    proc = subprocess.run([str(istio_oracle.ensure_binary()), *args], capture_output=True, text=True,
                          timeout=istio_oracle.TIMEOUT_S)
    if proc.returncode != 0:
        raise istio_oracle.OracleError(f"oracle analyze exited {proc.returncode}: {proc.stderr[-2000:]}")
    return json.loads(proc.stdout)


def meshtui_analyze(paths: list[Path] | list[str], mesh_config: str | None = None, only: list[str] | None = None,
                    as_cluster: bool = False):
    """meshtui's findings for these files. `as_cluster`: the files are the whole cluster (every
    kind counts as read, so no analyzer is skipped for lack of an input), as Istio's analyzer
    tests read their testdata (AddTestReaderKubeSource). Certificates are judged now, as
    istioctl judges them."""
    from meshtui.analyze import analyze
    from meshtui.analyze.registry import ALWAYS_LOADED
    from meshtui.sources.loader import load_sources

    kwargs = {}
    if mesh_config:
        from meshtui.sources.meshconfig import read_mesh_config

        kwargs["mesh"] = read_mesh_config(mesh_config, [])
    result = load_sources([str(p) for p in paths], default_namespace="default", **kwargs)
    loaded = ALWAYS_LOADED | CLUSTER_KINDS if as_cluster else None
    return analyze(result.snapshot, result.diagnostics, only=only, loaded=loaded, now=datetime.now(UTC))


# what a cluster read provides besides the configuration kinds (Istio's analyzer tests read
# testdata as a cluster: Pods, Nodes, Secrets, ... absent from a file are absent from the cluster)
CLUSTER_KINDS = frozenset({"Namespace", "Pod", "Node", "Secret", "EndpointSlice", "Endpoints", "Deployment",
                           "StatefulSet", "RequestAuthentication"})


def ist_keys(messages) -> Counter[Key]:
    """meshtui's IST-coded findings as (code, resource); codes meshtui's loader reports about its
    own reading (IST0133 unknown fields) are istioctl's schema warnings too, so they count."""
    return Counter((m.code, m.resource) for m in messages if m.code.startswith("IST"))


def oracle_keys(result: dict) -> Counter[Key]:
    return Counter((m["code"], f"{m['kind']} {m['namespace']}/{m['name']}" if m["namespace"] else m["origin"])
                   for m in result["messages"])


# ------------------------------------------------------------------ Istio's analyzer test grid


@dataclass(frozen=True)
class GridRow:
    name: str
    inputs: tuple[str, ...]  # paths relative to the analyzers package
    mesh_config: str
    analyzer: str  # Istio's analyzer name (Metadata().Name)
    expected: tuple[Key, ...]


@cache
def _message_codes(module: Path) -> dict[str, str]:
    text = (module / "pkg/config/analysis/msg/messages.gen.go").read_text()
    return {m.group(1): m.group(2) for m in re.finditer(r'(\w+) = diag\.NewMessageType\(diag\.\w+, "(IST\d+)"', text)}


def _analyzer_name(module: Path, expr: str) -> str | None:
    """Istio's name for an analyzer expression of the grid (`&gateway.ConflictingGatewayAnalyzer{}`)."""
    m = re.fullmatch(r"schemaValidation\.CollectionValidationAnalyzer\(collections\.(\w+)\)", expr)
    if m:
        return f"schema.ValidationAnalyzer.{m.group(1)}"
    m = re.fullmatch(r"&(\w+)\.(\w+)\{\}", expr)
    if not m:
        return None
    pkg, typ = m.groups()
    for f in sorted((module / "pkg/config/analysis/analyzers" / pkg).glob("*.go")):
        text = f.read_text()
        meta = re.search(rf"func \(\w* ?\*?{typ}\) Metadata\(\)[^{{]*\{{.*?Name:\s*\"([^\"]+)\"", text, re.S)
        if meta:
            return meta.group(1)
    return None


def grid_rows(module: Path, packages: tuple[str, ...] = NETWORKING) -> list[GridRow]:
    """The rows of testGrid in analyzers_test.go whose analyzer is in `packages` (a Go package, or
    package.Type for one analyzer of it). By default the networking rows (Gateway, VirtualService,
    DestinationRule, ServiceEntry and Sidecar analyzers, and the VirtualService schema rows)."""
    src = (module / "pkg/config/analysis/analyzers/analyzers_test.go").read_text()
    start = src.index("var testGrid = []testCase{")
    body = src[start:src.index("\n}\n", start)]
    codes = _message_codes(module)
    rows = []
    for block in re.split(r"\n\t\{\n", body)[1:]:
        expr = re.search(r"analyzer:\s*(.+?),\n", block)
        if expr is None:
            continue
        expr_text = expr.group(1).strip()
        pkg = re.match(r"&?(\w+)\.(\w+)", expr_text)
        wanted = packages == ALL or (pkg is not None and (pkg.group(1) in packages or f"{pkg.group(1)}.{pkg.group(2)}" in packages))
        if not wanted and not (packages == NETWORKING and "collections.VirtualService)" in expr_text):
            continue
        name = _analyzer_name(module, expr_text)
        if name is None:
            raise AssertionError(f"cannot read the analyzer of a grid row: {expr_text}")
        files = re.search(r"inputFiles:\s*\[\]string\{([^}]*)\}", block)
        mesh = re.search(r'meshConfigFile:\s*"([^"]+)"', block)
        expected = tuple((codes[k], _origin(o)) for k, o in re.findall(r'\{msg\.(\w+),\s*"([^"]*)"\}', block))
        rows.append(GridRow(re.search(r'name:\s*"([^"]*)"', block).group(1),
                            tuple(re.findall(r'"([^"]+)"', files.group(1))) if files else (),
                            mesh.group(1) if mesh else "", name, expected))
    return rows


def _origin(origin: str) -> str:
    """Istio's origins omit the namespace of objects whose YAML names none; meshtui puts them in
    `default` (as istioctl does without -n), so the grid is compared that way."""
    kind, _, ref = origin.partition(" ")
    return origin if "/" in ref else f"{kind} default/{ref}"
