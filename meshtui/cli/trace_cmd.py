"""`meshtui trace`: where a request goes, and why."""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING

from meshtui.cli import actual_trace
from meshtui.cli.common import add_source_flags, dump, load_from_args, use_color
from meshtui.errors import UsageError

if TYPE_CHECKING:
    from meshtui.model.snapshot import MeshSnapshot
    from meshtui.simulate.trace import Trace
    from meshtui.translate.config import ProxyConfig

NAME = "trace"
HELP = "where this request goes, and why: VirtualService rule, subset, policy and endpoints"


def configure(p: argparse.ArgumentParser) -> None:
    add_source_flags(p)
    src = p.add_mutually_exclusive_group()
    src.add_argument("--from", dest="source", metavar="NS/WORKLOAD",
                     help="the client: a Pod or Deployment (default: a sidecar in 'default' with no labels)")
    src.add_argument("--gateway", metavar="NS/NAME", help="enter at this gateway Pod or Deployment instead")
    p.add_argument("-X", "--request", dest="method", default="GET", metavar="METHOD")
    p.add_argument("-H", "--header", dest="headers", action="append", default=[], metavar="'Name: value'")
    p.add_argument("url", metavar="URL", help="[scheme://]host[:port][/path][?query]")
    actual_trace.configure(p)


def proxy_for(snapshot: MeshSnapshot, source: str | None, gateway: str | None) -> ProxyConfig:
    """The predicted config of the proxy the request starts from."""
    from meshtui.simulate.tracer import Tracer

    return Tracer(snapshot).config(gateway or source, gateway=bool(gateway))


def build_trace(snapshot: MeshSnapshot, source: str | None, gateway: str | None, method: str, headers: list[str],
                url: str) -> Trace:
    from meshtui.simulate import Request
    from meshtui.simulate.tracer import Tracer

    return Tracer(snapshot).trace(Request.parse(url, method, headers), gateway or source, gateway=bool(gateway))


def run(args: argparse.Namespace) -> int:
    result = load_from_args(args, require=True)
    if args.gateway and "/" not in args.gateway:
        raise UsageError(f"--gateway {args.gateway!r}: give NAMESPACE/NAME, e.g. istio-system/istio-ingressgateway")
    if actual_trace.requested(args):
        from meshtui.simulate import Request

        trace, comparison = actual_trace.run(args, result.snapshot, proxy_for(result.snapshot, args.source, args.gateway),
                                             Request.parse(args.url, args.method, args.headers))
        if comparison is not None:
            if args.output in ("json", "yaml"):
                sys.stdout.write(dump(comparison.to_json(), args.output) + ("\n" if args.output == "json" else ""))
            else:
                actual_trace.print_comparison(comparison)
            return 0
    else:
        trace = build_trace(result.snapshot, args.source, args.gateway, args.method, args.headers, args.url)
    if args.output in ("json", "yaml"):
        sys.stdout.write(dump(trace.to_json(), args.output))
        if args.output == "json":
            sys.stdout.write("\n")
        return 0
    from meshtui.cli.render_trace import print_trace

    print_trace(trace, color=use_color(args))
    return 0
