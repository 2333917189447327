"""`meshtui serve [SOURCES] [--listen 127.0.0.1:15010]`: the xDS control plane and control API,
headless. Prints one JSON line `{"server": ADDR}` on stdout once it listens, then runs until
SIGINT/SIGTERM."""

from __future__ import annotations

import argparse
import asyncio
import json
import signal
import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from meshtui.cluster.source import ClusterSource, ClusterUpdate
    from meshtui.model.parse import RawDoc
    from meshtui.model.snapshot import MeshSnapshot
    from meshtui.xds.control_plane import ControlPlane
    from meshtui.xds.translator import MeshTranslator

from meshtui.cli.common import add_source_flags
from meshtui.errors import UsageError

NAME = "serve"
HELP = "run meshtui's xDS control plane and control API (headless)"


def configure(p: argparse.ArgumentParser) -> None:
    add_source_flags(p, output=())
    p.add_argument("--listen", default="127.0.0.1:15010", metavar="HOST:PORT",
                   help="address for ADS and the control API (default 127.0.0.1:15010; port 0 picks one)")
    add_tls_server_flags(p)
    p.add_argument("--proxy", action="append", default=[], metavar="NS/WORKLOAD",
                   help="translate for this proxy at start, before its Envoy connects; repeatable")
    p.add_argument("--fault-lease", default="3s", metavar="DURATION",
                   help="TTL of the fault layer in Envoy, renewed while meshtui runs (default 3s): "
                        "if meshtui dies, faults leave every Envoy within this time")
    p.add_argument("--max-ttl", default="24h", metavar="DURATION",
                   help="the longest TTL an edit may ask for (default 24h); longer ones are refused")
    p.add_argument("--no-restore", action="store_true", help="do not restore unexpired edits from the journal")
    p.add_argument("--journal", metavar="PATH", help="journal file (default $XDG_STATE_HOME/meshtui/journal.jsonl)")
    p.add_argument("--no-watch", action="store_true",
                   help="with --cluster: read the cluster once instead of following its changes")


def add_tls_server_flags(p: argparse.ArgumentParser) -> None:
    p.add_argument("--tls-cert", metavar="PEM", help="server certificate (required off loopback unless --insecure)")
    p.add_argument("--tls-key", metavar="PEM", help="server private key")
    p.add_argument("--tls-client-ca", metavar="PEM",
                   help="require client certificates signed by this CA; a verified certificate is a credential "
                        "and names the edit's owner")
    p.add_argument("--token-file", metavar="PATH",
                   help="the credential clients and Envoys must present (default $MESHTUI_TOKEN_FILE or "
                        "$XDG_STATE_HOME/meshtui/token; created 0600 if missing)")
    p.add_argument("--insecure", action="store_true", help="allow a non-loopback --listen without TLS")


def load_snapshot(args: argparse.Namespace) -> MeshSnapshot:
    """The MeshSnapshot for -f/--cluster flags (read once); diagnostics go to stderr."""
    from meshtui.cli.common import load_from_args

    return load_from_args(args).snapshot


def run(args: argparse.Namespace) -> int:
    from meshtui.edits.limits import EditLimits
    from meshtui.edits.ttl import parse_duration
    from meshtui.heap import settle
    from meshtui.xds.control_plane import ControlPlane, TlsConfig
    from meshtui.xds.journal_file import JournalFile
    from meshtui.xds.translator import MeshTranslator

    try:
        lease = parse_duration(args.fault_lease)
    except ValueError as exc:
        raise UsageError(f"--fault-lease: {exc}") from None
    if lease < 0.5:
        raise UsageError("--fault-lease: at least 0.5s (Envoy must hear from meshtui within it)")
    try:
        max_ttl = parse_duration(args.max_ttl)
    except ValueError as exc:
        raise UsageError(f"--max-ttl: {exc}") from None
    if max_ttl <= 0:
        raise UsageError("--max-ttl: must be more than 0")
    if bool(args.tls_cert) != bool(args.tls_key):
        raise UsageError("--tls-cert and --tls-key go together")
    tls = TlsConfig(args.tls_cert, args.tls_key, args.tls_client_ca) if args.tls_cert else None
    cluster = bool(getattr(args, "cluster", False) or getattr(args, "context", None))
    source = None
    if cluster and not args.no_watch:
        snapshot, source, overlays, default_ns = _open_cluster(args)
    else:
        snapshot = load_snapshot(args)
    from pathlib import Path

    journal = JournalFile(Path(args.journal)) if args.journal else JournalFile()
    translator = MeshTranslator(snapshot)
    from meshtui.xds.credentials import Authenticator, load_or_create_token

    token = load_or_create_token(Path(args.token_file) if args.token_file else None)
    cp = ControlPlane(translator, journal=journal, runtime_ttl=lease, restore=not args.no_restore,
                      limits=EditLimits(max_ttl=max_ttl),
                      auth=Authenticator(token, trust_client_certs=bool(tls and tls.client_ca)))

    async def main() -> int:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        addr = await cp.start(args.listen, tls=tls, insecure=args.insecure)
        for proxy in args.proxy:
            cp.add_proxy(proxy)
        # the first translations and packs, out of the collector's sight like the snapshot: a full
        # collection walking them costs 100+ ms at 1,000 services, in the middle of a push
        settle(collect=True)
        restored = [e["id"] for e in cp.edits()]
        print(json.dumps({"server": addr}), flush=True)
        msg = f"meshtui: serving xDS and the control API on {addr}"
        if restored:
            msg += f"; restored from the journal: {', '.join(restored)}"
        print(msg, file=sys.stderr, flush=True)
        if cp.journal_report:
            print(f"meshtui: journal repaired: {cp.journal_report}", file=sys.stderr, flush=True)
        if source is not None:
            _follow_cluster(source, overlays, default_ns, translator, cp, loop)
        try:
            await stop.wait()
        finally:
            if source is not None:
                source.close()
            await cp.stop()
        return 0

    return asyncio.run(main())


def _open_cluster(args: argparse.Namespace) -> tuple[MeshSnapshot, ClusterSource, list[RawDoc], str]:
    """The cluster's snapshot (files from -f layered over it), the open source to watch, and what
    the watch layers over the cluster's documents (the overlays, the default namespace)."""
    from meshtui.cli.common import report_diagnostics
    from meshtui.cluster.source import open_from_args, read_overlay_docs, stderr_progress

    default_ns = (args.namespace or "default").split(",")[0].strip() or "default"
    overlays = read_overlay_docs(list(args.filename)) if args.filename else []
    progress = stderr_progress()
    src = open_from_args(args, progress)
    try:
        result = src.load(overlays, default_ns)
    except BaseException:
        src.close()
        raise
    finally:
        progress.done()
    report_diagnostics(result)
    return result.snapshot, src, overlays, default_ns


def _follow_cluster(source: ClusterSource, overlays: list[RawDoc], default_ns: str, translator: MeshTranslator,
                    cp: ControlPlane, loop: asyncio.AbstractEventLoop) -> None:
    """Re-translate every proxy when the cluster changes. The watch calls back on its own
    thread; updates are coalesced (only the newest is built) and applied on the server's loop."""
    import asyncio

    latest: list[ClusterUpdate] = []
    busy = [False]

    async def apply() -> None:
        try:
            while latest:
                update = latest.pop()
                latest.clear()
                try:
                    result = await asyncio.get_running_loop().run_in_executor(None, update.load)
                except Exception as exc:  # noqa: BLE001 - keep serving the last good snapshot
                    print(f"meshtui: cluster update not applied: {exc}", file=sys.stderr, flush=True)
                    continue
                translator.snapshot = result.snapshot
                cp.resync("cluster")
                print(f"meshtui: cluster changed ({len(update.changes)} change(s)); proxies re-translated",
                      file=sys.stderr, flush=True)
        finally:
            busy[0] = False

    def on_update(update: ClusterUpdate) -> None:
        latest.append(update)
        if not busy[0]:
            busy[0] = True
            loop.create_task(apply())

    def from_watch(update: ClusterUpdate) -> None:  # on the watch's thread
        loop.call_soon_threadsafe(on_update, update)

    source.watch(from_watch, overlays=overlays, default_namespace=default_ns)
