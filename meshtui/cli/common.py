"""Flags shared by the commands (CONTRACT.md 'Common flags') and the code that turns them into a
snapshot. Commands call add_source_flags() then load_sources()."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from typing import IO, TYPE_CHECKING, Any

if TYPE_CHECKING:
    from meshtui.model.meshconfig import MeshConfig
    from meshtui.model.parse import LoadResult
    from meshtui.model.source import Diagnostic


class ContextAction(argparse.Action):
    """--context, repeatable: `contexts` gathers them all; `context` stays the first, for the
    commands that talk to one cluster."""

    def __call__(self, parser: argparse.ArgumentParser, namespace: argparse.Namespace,
                 values: str | Sequence[Any] | None, option_string: str | None = None) -> None:
        contexts = list(getattr(namespace, "contexts", None) or [])
        if values not in contexts:
            contexts.append(values)
        namespace.contexts = contexts
        namespace.context = contexts[0]


def add_source_flags(p: argparse.ArgumentParser, output: tuple[str, ...] = ("table", "json", "yaml")) -> None:
    p.add_argument("-f", "--filename", action="append", default=[], metavar="PATH",
                   help="a YAML/JSON file, a folder (recursive), or - for stdin; repeatable")
    p.add_argument("--cluster", action="store_true", help="read from the cluster of the current kubeconfig context")
    p.add_argument("--kubeconfig", metavar="PATH", help="kubeconfig file, as kubectl")
    p.add_argument("--context", metavar="NAME", action=ContextAction,
                   help="kubeconfig context (implies --cluster); repeat it to read several clusters as one "
                        "multi-primary mesh (services of the same name and namespace merge their endpoints)")
    p.add_argument("-n", "--namespace", metavar="NS", default=None,
                   help="namespace for objects that have none (default 'default'); with --cluster, the namespace to read")
    p.add_argument("-A", "--all-namespaces", action="store_true", help="with --cluster, read every namespace")
    p.add_argument("--request-timeout", type=float, default=10.0, metavar="SECONDS",
                   help="with --cluster, how long to wait for the API server")
    add_mesh_flags(p)
    p.add_argument("--no-cache", dest="cache", action="store_false",
                   help="read every file again instead of the snapshot cached for unchanged files "
                        "(in $XDG_CACHE_HOME/meshtui)")
    if output:
        p.add_argument("-o", "--output", choices=output, default=output[0])
    add_color_flag(p)


def add_mesh_flags(p: argparse.ArgumentParser) -> None:
    p.add_argument("--mesh-config", metavar="FILE",
                   help="the MeshConfig: a MeshConfig YAML or the istio ConfigMap (its `mesh` key); with --cluster "
                        "it replaces the one read from the cluster")
    p.add_argument("--istio-namespace", metavar="NS", default="istio-system",
                   help="with --cluster, the namespace of the istio ConfigMap (default istio-system)")
    p.add_argument("--revision", metavar="REV",
                   help="with --cluster, read the MeshConfig of this Istio revision (ConfigMap istio-REV); "
                        "default: the revision namespaces and pods name with istio.io/rev, if only one")


def mesh_from_args(args: argparse.Namespace, diagnostics: list[Diagnostic]) -> MeshConfig | None:
    """The MeshConfig of --mesh-config, or None when it is not given (InputError, exit 2, when the
    file is not a MeshConfig)."""
    path = getattr(args, "mesh_config", None)
    if not path:
        return None
    from meshtui.sources.meshconfig import read_mesh_config

    return read_mesh_config(path, diagnostics)


def add_color_flag(p: argparse.ArgumentParser) -> None:
    p.add_argument("--color", choices=("auto", "always", "never"), default="auto")


def use_color(args: argparse.Namespace, stream: IO[str] | None = None) -> bool:
    mode = getattr(args, "color", "auto")
    if mode == "always":
        return True
    if mode == "never":
        return False
    stream = stream or sys.stdout
    return bool(stream.isatty()) and "NO_COLOR" not in os.environ and os.environ.get("TERM") != "dumb"


def load_from_args(args: argparse.Namespace, quiet: bool = False, require: bool = False) -> LoadResult:
    """Load the snapshot the flags describe: -f files, --cluster (with -f layered over it).
    Loader diagnostics go to stderr; Errors mean an object was left out, the rest still loads.
    Sources that yield no object get a warning; with `require` (a trace or a proxy's config of
    nothing answers nothing) they are a usage error."""
    from meshtui.errors import UsageError
    from meshtui.heap import settling
    from meshtui.sources.loader import load_sources

    files = list(getattr(args, "filename", []) or [])
    ns = args.namespace or "default"
    cluster = bool(getattr(args, "cluster", False) or getattr(args, "context", None))
    if not cluster and not files:
        raise UsageError("no sources: give -f PATH (a file, a folder, or - for stdin) or --cluster")
    with settling():  # commands keep this snapshot to their end: out of the cyclic collector's way
        if cluster:
            from meshtui.cluster.source import load_cluster_snapshot

            result = load_cluster_snapshot(args, files)
        else:
            from meshtui.model.meshconfig import MeshConfig

            mesh_diags: list[Diagnostic] = []
            mesh = mesh_from_args(args, mesh_diags) or MeshConfig()
            result = load_sources(files, ns, mesh, cache=getattr(args, "cache", True))
            result.diagnostics[:0] = mesh_diags
    if not quiet:
        report_diagnostics(result)
    message = nothing_loaded(result, files)
    if message is not None:
        if require:
            raise UsageError(message)
        if not quiet:
            print(f"meshtui: Warning: {message}", file=sys.stderr)
    return result


def nothing_loaded(result: LoadResult, files: list[str]) -> str | None:
    """What to tell a user whose sources gave no object at all (None when something loaded)."""
    if result.loaded:
        return None
    what = ", ".join(files) if files else "the cluster"
    why = ("no *.yaml, *.yml or *.json file in it" if not result.files and files else
           f"{result.left_out} object{'s' if result.left_out != 1 else ''} left out (above)" if result.left_out else
           "no object of a kind meshtui reads")
    return f"nothing was loaded from {what}: {why}"


def report_diagnostics(result: LoadResult, stream: IO[str] | None = None) -> None:
    stream = stream or sys.stderr
    from meshtui.model.source import INFO

    for d in result.diagnostics:
        if d.level == INFO:
            continue
        print(f"meshtui: {d}", file=stream)
    if result.left_out:
        n = result.left_out
        print(f"meshtui: {n} object{'s' if n != 1 else ''} left out because Istio or the Kubernetes API server would reject "
              f"{'them' if n != 1 else 'it'}; everything else is loaded", file=stream)


def dump(data: object, fmt: str) -> str:
    import json

    if fmt == "json":
        return json.dumps(data, indent=2, sort_keys=False)
    import yaml

    return yaml.safe_dump(data, sort_keys=False, default_flow_style=False, allow_unicode=True)
