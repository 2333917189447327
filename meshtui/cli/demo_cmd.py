"""`meshtui demo [--no-tui]`: the bundled bookinfo mesh on loopback, real Envoys (a productpage
sidecar and an ingress gateway) fed by meshtui's xDS server, and the TUI. With --no-tui: one JSON
line with the addresses on stdout, then run until SIGINT/SIGTERM and stop every child."""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from meshtui.demo.session import DemoSession

NAME = "demo"
HELP = "the embedded demo: bundled mesh, local backends, real Envoys on meshtui's xDS server, the TUI"


def configure(p: argparse.ArgumentParser) -> None:
    p.add_argument("--no-tui", action="store_true",
                   help="print one JSON line with the addresses, then run until SIGINT/SIGTERM")
    p.add_argument("--no-gateway", action="store_true", help="only the productpage sidecar")
    p.add_argument("--fault-lease", default="3s", metavar="DURATION",
                   help="TTL of the fault layer in Envoy, renewed while meshtui runs (default 3s)")
    p.add_argument("--readonly", action="store_true", help="serve the bundled mesh only: no fault or scope edit is taken, "
                        "none is restored from the journal, nothing is written to it")
    p.add_argument("--config", metavar="PATH", help="the TUI config file (default: $MESHTUI_CONFIG_FILE or the XDG path)")


def run(args: argparse.Namespace) -> int:
    from meshtui.demo.session import DemoSession
    from meshtui.edits.ttl import parse_duration
    from meshtui.errors import UsageError

    try:
        lease = parse_duration(args.fault_lease)
    except ValueError as exc:
        raise UsageError(f"--fault-lease: {exc}") from None
    run_app: Callable[..., int] | None = None
    if not args.no_tui:
        from meshtui.tui.app import run_app as tui_app

        run_app = tui_app
    session = DemoSession(runtime_ttl=lease, with_gateway=not args.no_gateway, readonly=args.readonly)
    stop = threading.Event()
    previous = {sig: signal.signal(sig, lambda *_: stop.set()) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        print("meshtui: starting the demo (backends, control plane, Envoy)...", file=sys.stderr, flush=True)
        info = session.start()
        if session.cleaned:
            print(f"meshtui: removed {len(session.cleaned)} work folder(s) left by a demo that was killed",
                  file=sys.stderr, flush=True)
        if run_app is not None:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
            return int(_run_tui(run_app, session, readonly=args.readonly, config_path=args.config) or 0)
        print(json.dumps(info.to_json()), flush=True)
        print(f"meshtui: demo running; xDS and control API on {info.server} "
              f"(try: meshtui fault add --server {info.server} --host reviews.default.svc.cluster.local "
              "--abort 503 --percent 50). Ctrl-C stops it.", file=sys.stderr, flush=True)
        while not stop.wait(0.5):
            pass
        return 0
    finally:
        session.stop()
        for sig, handler in previous.items():
            try:
                signal.signal(sig, handler)
            except (ValueError, TypeError):
                pass


def _run_tui(run_app: Callable[..., int | None], session: DemoSession, **options: object) -> int | None:
    """The TUI gets the live session (see meshtui.demo.session.DemoSession for its API)."""
    return run_app(demo=session, **options)
