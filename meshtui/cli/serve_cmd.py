"""`meshtui serve [SOURCES] [--listen 127.0.0.1:15010]`: the xDS control plane and control API,
headless. Prints one JSON line `{"server": ADDR}` on stdout once it listens, then runs until
SIGINT/SIGTERM."""

from __future__ import annotations

import argparse
import asyncio
import json
import signal
import sys

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
    p.add_argument("--no-restore", action="store_true", help="do not restore unexpired edits from the journal")
    p.add_argument("--journal", metavar="PATH", help="journal file (default $XDG_STATE_HOME/meshtui/journal.jsonl)")


def add_tls_server_flags(p: argparse.ArgumentParser) -> None:
    p.add_argument("--tls-cert", metavar="PEM", help="server certificate (required off loopback unless --insecure)")
    p.add_argument("--tls-key", metavar="PEM", help="server private key")
    p.add_argument("--tls-client-ca", metavar="PEM", help="require client certificates signed by this CA")
    p.add_argument("--insecure", action="store_true", help="allow a non-loopback --listen without TLS")


def load_snapshot(args: argparse.Namespace):
    """The MeshSnapshot for -f/--cluster flags (read once); diagnostics go to stderr."""
    from meshtui.cli.common import load_from_args

    return load_from_args(args).snapshot


def run(args: argparse.Namespace) -> int:
    from meshtui.edits.ttl import parse_duration
    from meshtui.xds.control_plane import ControlPlane, TlsConfig, settle_heap
    from meshtui.xds.journal_file import JournalFile
    from meshtui.xds.translator import MeshTranslator

    try:
        lease = parse_duration(args.fault_lease)
    except ValueError as exc:
        raise UsageError(f"--fault-lease: {exc}") from None
    if lease < 0.5:
        raise UsageError("--fault-lease: at least 0.5s (Envoy must hear from meshtui within it)")
    if bool(args.tls_cert) != bool(args.tls_key):
        raise UsageError("--tls-cert and --tls-key go together")
    tls = TlsConfig(args.tls_cert, args.tls_key, args.tls_client_ca) if args.tls_cert else None
    snapshot = load_snapshot(args)
    from pathlib import Path

    journal = JournalFile(Path(args.journal)) if args.journal else JournalFile()
    cp = ControlPlane(MeshTranslator(snapshot), journal=journal, runtime_ttl=lease,
                      restore=not args.no_restore)

    async def main() -> int:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        addr = await cp.start(args.listen, tls=tls, insecure=args.insecure)
        for proxy in args.proxy:
            cp.add_proxy(proxy)
        settle_heap()
        restored = [e["id"] for e in cp.edits()]
        print(json.dumps({"server": addr}), flush=True)
        msg = f"meshtui: serving xDS and the control API on {addr}"
        if restored:
            msg += f"; restored from the journal: {', '.join(restored)}"
        print(msg, file=sys.stderr, flush=True)
        try:
            await stop.wait()
        finally:
            await cp.stop()
        return 0

    return asyncio.run(main())
