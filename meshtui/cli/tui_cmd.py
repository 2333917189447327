"""`meshtui [-f PATH... | --cluster] [--readonly]`: the TUI on those sources.

With no source it reads the current kubeconfig context (cluster mode) when there is one, and
otherwise says how to start: `meshtui demo` for the bundled mesh, `-f` for YAML."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING

from meshtui.cli.common import add_source_flags
from meshtui.errors import UsageError

if TYPE_CHECKING:
    from meshtui.model.parse import LoadResult, RawDoc
    from meshtui.model.source import Diagnostic
    from meshtui.tui.controlplane import ServeControlPlane

NAME = "tui"
HELP = "the terminal UI: resources, trace workbench, what-if, game day, proxies, findings"

VIEWS = ("resources", "trace", "whatif", "gameday", "proxies", "findings")

NO_SOURCE = """meshtui: nothing to open: no -f files, and no kubeconfig context to read.
  meshtui demo            the bundled bookinfo mesh with real Envoys on meshtui's xDS server
  meshtui -f PATH         YAML/JSON files or folders (repeat -f; later files win)
  meshtui --cluster       the cluster of the current kubeconfig context (--context NAME)"""


def configure(p: argparse.ArgumentParser) -> None:
    add_source_flags(p, output=())
    p.add_argument("--readonly", action="store_true", help="disable every push and write (faults, scopes, saving)")
    p.add_argument("--view", choices=VIEWS, default="resources", help="the view to start in (default: resources)")
    p.add_argument("--no-analyze", action="store_true", help="do not run the analyzer (no findings, no badges)")
    p.add_argument("--config", metavar="PATH",
                   help="the TUI config file (default: $MESHTUI_CONFIG_FILE or $XDG_CONFIG_HOME/meshtui/config.yaml)")
    gd = p.add_argument_group("game day (view 4)")
    gd.add_argument("--server", metavar="ADDR",
                    help="a running `meshtui serve`: its faults, scopes and proxies, changed over its control API")
    gd.add_argument("--tls-ca", metavar="PEM", help="with --server: CA that signed the server's certificate")
    gd.add_argument("--tls-cert", metavar="PEM", help="with --server: client certificate")
    gd.add_argument("--tls-key", metavar="PEM", help="with --server: client private key")
    gd.add_argument("--insecure", action="store_true", help="with --server: plaintext to a non-loopback server")
    gd.add_argument("--token-file", metavar="PATH",
                    help="with --server: the server's credential (default $MESHTUI_TOKEN_FILE or $XDG_STATE_HOME/meshtui/token)")
    gd.add_argument("--allow-write", action="store_true",
                    help="cluster mode: game-day edits are written to the cluster by server-side apply "
                         "(the dry-run diff is shown first; edits carry owner, reason and expiry)")


def _kubeconfig_context(args: argparse.Namespace) -> bool:
    """Is there a kubeconfig with a current context to fall back on?"""
    path = args.kubeconfig or os.environ.get("KUBECONFIG") or os.path.expanduser("~/.kube/config")
    files = [f for f in path.split(os.pathsep) if f and os.path.exists(f)]
    if not files:
        return False
    try:
        from kubernetes import config as kconfig

        _contexts, current = kconfig.list_kube_config_contexts(config_file=files[0])
    except Exception:  # noqa: BLE001 - an unreadable kubeconfig: say what to do instead
        return False
    return bool(current)


def _file_overlays(paths: list[str], namespace: str) -> list[RawDoc]:
    from meshtui.sources.loader import expand_paths, read_docs

    docs: list[RawDoc] = []
    for f in expand_paths(paths):
        if f == "-":
            docs.extend(read_docs("<stdin>", sys.stdin.read()))
            continue
        with open(f, encoding="utf-8-sig") as fh:
            docs.extend(read_docs(f, fh.read()))
    return docs


def _serve_control(args: argparse.Namespace) -> ServeControlPlane:
    """The game-day control plane of a running `meshtui serve`, checked before the screen opens."""
    from meshtui.cli.fault_cmd import client_for
    from meshtui.tui.controlplane import ServeControlPlane
    from meshtui.xds.control_api import wait_for_server

    args.timeout = args.request_timeout
    client = client_for(args)
    try:
        wait_for_server(client, timeout=min(args.request_timeout, 5.0))
    except Exception:
        client.close()
        raise
    return ServeControlPlane(client)


def run(args: argparse.Namespace) -> int:
    from meshtui.tui.app import run_app

    if "-" in (args.filename or []):
        raise UsageError("the TUI reads the terminal, so -f - (stdin) cannot be used with it; save the YAML to a file")
    if not (sys.stdin.isatty() and sys.stdout.isatty()):
        raise UsageError("the TUI needs a terminal; for scripts use `meshtui trace`, `meshtui analyze` or "
                         "`meshtui proxy-config`")
    if args.color == "never":
        os.environ["NO_COLOR"] = "1"
    files = list(args.filename or [])
    cluster = bool(args.cluster or args.context)
    control = _serve_control(args) if args.server else None
    if args.allow_write and not cluster:
        raise UsageError("--allow-write writes game-day edits to a cluster: give --cluster or --context")
    if control is not None and not files and not cluster:
        # only the control plane: game day works; the other views have no mesh to show
        from meshtui.model.parse import LoadResult
        from meshtui.model.snapshot import MeshSnapshot

        return run_app(result=LoadResult(MeshSnapshot(), []), readonly=args.readonly, config_path=args.config,
                       start_view="gameday" if args.view == "resources" else args.view, analyze=False, control=control)
    if not files and not cluster:
        if _kubeconfig_context(args):
            cluster = True
        else:
            print(NO_SOURCE, file=sys.stderr)
            return 2
    common = dict(readonly=args.readonly, config_path=args.config, start_view=args.view, analyze=not args.no_analyze,
                  control=control)
    if not cluster:
        from meshtui.sources.loader import expand_paths, load_sources

        expand_paths(files)  # a missing path is an error before the screen opens (exit 2)
        ns = args.namespace or "default"
        from meshtui.cli.common import mesh_from_args
        from meshtui.model.meshconfig import MeshConfig

        mesh_diags: list[Diagnostic] = []
        mesh = mesh_from_args(args, mesh_diags) or MeshConfig()  # a bad file: exit 2 before the screen opens

        def load_files(progress: Callable[[str], None]) -> LoadResult:
            from meshtui.cli.common import nothing_loaded

            result = load_sources(files, ns, mesh, cache=args.cache)
            result.diagnostics[:0] = mesh_diags
            empty = nothing_loaded(result, files)
            if empty is not None:  # as for trace: nothing to show is a usage error, with the reasons
                raise UsageError("\n".join([*(f"meshtui: {d}" for d in result.errors[:10]), f"meshtui: {empty}"])
                                 .removeprefix("meshtui: "))
            return result

        return run_app(load=load_files, paths=files, **common)

    from meshtui.cluster.source import mesh_settings_from_args, open_cluster

    namespaces = None if args.all_namespaces or not args.namespace else args.namespace
    contexts = list(getattr(args, "contexts", None) or [])
    if len(contexts) > 1:
        # several clusters: one merged, read-only picture (no watch, no write-back: which cluster
        # would an edit go to?); endpoints say which cluster they live in
        from meshtui.cluster.multi import load_clusters

        multi_overlays = _file_overlays(files, args.namespace or "default") if files else []
        common["readonly"] = True
        return run_app(load=lambda progress: load_clusters(args, contexts, multi_overlays, args.namespace or "default", progress),
                       paths=files, context=" + ".join(contexts), **common)
    src = open_cluster(args.kubeconfig, args.context, namespaces, args.request_timeout)
    src.mesh_settings = mesh_settings_from_args(args)
    overlays = _file_overlays(files, args.namespace or "default") if files else []

    def load(progress: Callable[[str], None]) -> LoadResult:
        src.progress = progress
        return src.load(overlays, args.namespace or "default")

    if args.allow_write and control is None:
        from meshtui.cluster.writeback import ClusterWriter
        from meshtui.tui.controlplane import ClusterControlPlane

        ns_list = [namespaces] if isinstance(namespaces, str) else namespaces
        writer = ClusterWriter(src.http, [], allow_write=True, readonly=args.readonly)
        common["control"] = ClusterControlPlane(writer, src.context_name, ns_list[0] if ns_list and len(ns_list) == 1 else None)

    try:
        return run_app(load=load, cluster=src, overlays=overlays, paths=files, context=src.context_name,
                       kubeconfig=args.kubeconfig,
                       namespaces=[namespaces] if isinstance(namespaces, str) else namespaces, **common)
    finally:
        try:
            src.close()
        except Exception:  # noqa: BLE001 - closing is best effort; the app's own exit status stands
            pass
