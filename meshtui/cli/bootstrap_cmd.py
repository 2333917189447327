"""`meshtui envoy-bootstrap --server ADDR --proxy NS/WORKLOAD` (connects to meshtui's ADS) and
`meshtui envoy-bootstrap --static [SOURCES] --proxy NS/WORKLOAD` (everything inline, no server)."""

from __future__ import annotations

import argparse
import json
import sys

import yaml

from meshtui.cli.common import add_source_flags
from meshtui.errors import UsageError

NAME = "envoy-bootstrap"
HELP = "print an Envoy bootstrap for a proxy: connected to meshtui's xDS server, or --static"


def configure(p: argparse.ArgumentParser) -> None:
    add_source_flags(p, output=("json", "yaml"))  # JSON by default: what Envoy users pipe into -c
    p.add_argument("--proxy", required=True, metavar="NS/WORKLOAD", help="the workload this Envoy stands in for")
    p.add_argument("--server", metavar="ADDR", help="meshtui's xDS server (HOST:PORT)")
    p.add_argument("--static", action="store_true", help="inline the proxy's whole config; needs sources (-f)")
    p.add_argument("--kind", choices=("sidecar", "gateway"), default="sidecar", help="node metadata only")
    p.add_argument("--node-id", metavar="ID", help="node.id (default: the proxy, NS/WORKLOAD)")
    p.add_argument("--admin-port", type=int, default=15000, metavar="PORT", help="Envoy admin on 127.0.0.1 (default 15000)")
    p.add_argument("--tls-ca", metavar="PEM", help="with --server: verify meshtui's TLS certificate with this CA")
    p.add_argument("--token-file", metavar="PATH",
                   help="with --server: the server's credential to embed (default $MESHTUI_TOKEN_FILE or "
                        "$XDG_STATE_HOME/meshtui/token, which `meshtui serve` creates)")
    p.add_argument("--validate", action="store_true", help="also run `envoy --mode validate` on it (exit 2 if it fails)")


def run(args: argparse.Namespace) -> int:
    from meshtui.xds.bootstrap import ads_bootstrap, node_for, split_proxy

    split_proxy(args.proxy)
    if not 0 <= args.admin_port < 65536:
        raise UsageError(f"--admin-port {args.admin_port}: not a port")
    if args.static == bool(args.server):
        raise UsageError("give exactly one of --server ADDR or --static")
    if args.server:
        from pathlib import Path

        from meshtui.xds.credentials import default_token_path, read_token

        token_path = Path(args.token_file) if args.token_file else default_token_path()
        token = read_token(token_path)
        if token is None:
            print(f"meshtui: warning: no token at {token_path}; meshtui serve refuses an Envoy without it "
                  "(start the server first, as the same user)", file=sys.stderr)
        boot = ads_bootstrap(args.server, args.proxy, kind=args.kind, node_id=args.node_id,
                             admin_port=args.admin_port, tls_ca=args.tls_ca, token=token)
    else:
        from meshtui.cli.serve_cmd import load_snapshot
        from meshtui.heap import keeping
        from meshtui.translate import translate

        snapshot = load_snapshot(args)
        try:
            with keeping():
                cfg = translate(snapshot, args.proxy, None)
        except (KeyError, ValueError, LookupError) as exc:
            raise UsageError(f"--proxy {args.proxy}: {exc}") from None
        from meshtui.translate.envoy_json import static_bootstrap

        boot = static_bootstrap(cfg, "127.0.0.1", args.admin_port, node=node_for(args.proxy, args.kind, args.node_id))
    if args.validate:
        from meshtui.xds.envoy_process import validate_bootstrap

        ok, msg = validate_bootstrap(boot)
        if not ok:
            raise UsageError(f"Envoy rejects this bootstrap: {msg}")
        print(f"meshtui: {msg}", file=sys.stderr)
    if args.output == "json":
        print(json.dumps(boot, indent=2))
    else:
        sys.stdout.write(yaml.safe_dump(boot, sort_keys=False, default_flow_style=False))
    return 0
