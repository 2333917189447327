"""The Go oracle (oracle/, Istio's own packages): where its binary is, building it, and running
`config` and `simulate` on a mesh. One process per mesh: every proxy and every call of a mesh go
in one invocation, since starting the fake istiod costs far more than one proxy's config."""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
SRC = REPO / "oracle"
BINARY = Path(os.environ.get("MESHTUI_ORACLE") or REPO / ".cache" / "oracle" / "meshtui-oracle")
GO_MISSING = "Go is not installed: the Istio oracle tests (tests/oracle, make oracle) are skipped"
# a mesh's config or calls: bounded so a hung istiod cannot stall the suite
TIMEOUT_S = 300


class OracleError(RuntimeError):
    pass


def go_available() -> bool:
    return shutil.which("go") is not None


def _stale() -> bool:
    if not BINARY.exists():
        return True
    built = BINARY.stat().st_mtime
    return any(p.stat().st_mtime > built for p in SRC.iterdir() if p.suffix in (".go", ".mod", ".sum"))


def ensure_binary() -> Path:
    """The oracle binary, rebuilt when a source is newer (Go's build cache makes that quick). The
    xdist workers share one build: the first takes a file lock and builds, the others wait on the
    lock and find the binary fresh. A binary named by MESHTUI_ORACLE is used as it is."""
    if os.environ.get("MESHTUI_ORACLE") or not _stale():
        return BINARY
    if not go_available():
        raise OracleError(GO_MISSING)
    BINARY.parent.mkdir(parents=True, exist_ok=True)
    with open(BINARY.parent / "build.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not _stale():
            return BINARY
        env = {**os.environ, "GOFLAGS": os.environ.get("GOFLAGS", "-mod=mod")}
        tmp = BINARY.with_name(BINARY.name + ".tmp")
        proc = subprocess.run(["go", "build", "-o", str(tmp), "."], cwd=SRC, env=env, capture_output=True,
                              text=True, timeout=3600)
        if proc.returncode != 0:
            raise OracleError(f"go build failed:\n{proc.stderr}")
        tmp.replace(BINARY)  # atomic: a worker never runs a half-written binary
    return BINARY


def available() -> tuple[bool, str]:
    if BINARY.exists() and (os.environ.get("MESHTUI_ORACLE") or not _stale()):
        return True, ""
    if not go_available():
        return False, GO_MISSING
    return True, ""


def _run(args: list[str], stdin: str | None = None) -> Any:
    binary = ensure_binary()
    proc = subprocess.run([str(binary), *args], input=stdin, capture_output=True, text=True, timeout=TIMEOUT_S)
    try:
        out = json.loads(proc.stdout) if proc.stdout.strip() else None
    except json.JSONDecodeError as e:
        raise OracleError(f"oracle {args[0]} printed no JSON ({e}); stderr:\n{proc.stderr[-2000:]}") from None
    if proc.returncode != 0 or out is None:
        raise OracleError(f"oracle {args[0]} exited {proc.returncode}: {out}; stderr:\n{proc.stderr[-2000:]}")
    return out


def _sources(paths: tuple[str, ...] | list[str], mesh_config: str | None) -> list[str]:
    args: list[str] = []
    for p in paths:
        args += ["-f", str(p)]
    if mesh_config:
        args += ["--mesh-config", mesh_config]
    return args


@dataclass
class IstioConfig:
    proxy: str
    type: str
    listeners: list[dict]
    routes: list[dict]
    clusters: list[dict]
    endpoints: list[dict]


@dataclass
class OracleRun:
    configs: dict[str, IstioConfig]  # keyed NAME@TYPE
    rejected: list[dict]  # the documents istiod would not take
    calls: list[dict]  # Istio's simulation of each call, in order
    gateway_status: list[dict]  # the status istiod's gateway controller writes on each Gateway API object
    proxy_errors: dict[str, str]  # NAME@TYPE -> why istiod has no such proxy


def run(paths, proxies: list[tuple[str, str]], calls: list[dict], mesh_config: str | None = None) -> OracleRun:
    """One fake istiod for a mesh: the config of each (proxy, sidecar|router), and Istio's simulation
    of each call (each call names its proxy NAME@TYPE)."""
    args = ["config", *_sources(paths, mesh_config)]
    for n, kind in proxies:
        args += ["--proxy", f"{n}@{kind}"]
    if calls:
        args += ["--calls", "-"]
    doc = _run(args, stdin=json.dumps(calls) if calls else None)
    if doc.get("gatewayStatusError"):
        raise OracleError(f"oracle gateway status: {doc['gatewayStatusError']}")
    out: dict[str, IstioConfig] = {}
    errors: dict[str, str] = {}
    for p in doc["proxies"]:
        if p.get("error"):
            errors[p["proxy"]] = p["error"]
            continue
        out[p["proxy"]] = IstioConfig(p["proxy"], p["type"], p["listeners"] or [], p["routes"] or [],
                                      p["clusters"] or [], p["endpoints"] or [])
    return OracleRun(out, doc.get("rejected") or [], doc.get("calls") or [], doc.get("gatewayStatus") or [], errors)


def config_and_calls(paths, proxies: list[tuple[str, str]], calls: list[dict], mesh_config: str | None = None
                     ) -> tuple[dict[str, IstioConfig], list[dict], list[dict]]:
    """istiod's config for each (proxy, sidecar|router) of one mesh, keyed NAME@TYPE; the documents
    it rejected; and Istio's simulation of each call (each call names its proxy NAME@TYPE)."""
    r = run(paths, proxies, calls, mesh_config)
    if r.proxy_errors:
        raise OracleError(f"oracle config: {r.proxy_errors}")
    return r.configs, r.rejected, r.calls


def simulate(paths, calls: list[dict], mesh_config: str | None = None) -> list[dict]:
    """Istio's simulation for each call (each names its proxy NAME@TYPE)."""
    if not calls:
        return []
    return _run(["simulate", *_sources(paths, mesh_config), "--calls", "-"], stdin=json.dumps(calls))
