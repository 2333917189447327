"""`meshtui proxy-config`: the Envoy config meshtui generates for one proxy, as istioctl's tables
(with a VIRTUAL SERVICE column) or as Envoy's own config_dump JSON."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from meshtui.actual.drift import as_dump
from meshtui.cli.common import add_source_flags, load_from_args
from meshtui.cli.dump_source import add_actual_flags, wants_actual
from meshtui.errors import UsageError
from meshtui.heap import keeping
from meshtui.simulate.present import path_pattern
from meshtui.translate import TranslateOptions, translate
from meshtui.translate.config import ProxyConfig, Route
from meshtui.translate.envoy_json import render
from meshtui.translate.inbound_json import InboundRender

NAME = "proxy-config"
HELP = "the Envoy listeners, routes, clusters and endpoints meshtui generates for a proxy"


def configure(p: argparse.ArgumentParser) -> None:
    p.add_argument("what", choices=("listeners", "listener", "routes", "route", "clusters", "cluster",
                                     "endpoints", "endpoint", "all"), metavar="listeners|routes|clusters|endpoints|all")
    add_source_flags(p, output=("table", "json", "yaml"))
    p.add_argument("--proxy", required=True, metavar="NS/WORKLOAD", help="the Pod or Deployment whose proxy to show")
    p.add_argument("--proxy-type", choices=("sidecar", "router"), help="override sidecar/gateway detection")
    add_actual_flags(p)
    p.add_argument("--diff", action="store_true", help="where what Envoy holds (--config-dump, --envoy-admin, or the pod "
                   "through port-forward with --cluster) differs from meshtui's prediction, each with its likely cause")


def _table(rows: list[list[str]], header: list[str]) -> str:
    widths = [len(h) for h in header]
    for r in rows:
        for i, c in enumerate(r):
            widths[i] = max(widths[i], len(c))
    lines = ["  ".join(h.ljust(widths[i]) for i, h in enumerate(header)).rstrip()]
    for r in rows:
        lines.append("  ".join(c.ljust(widths[i]) for i, c in enumerate(r)).rstrip())
    return "\n".join(lines)


def listeners_table(cfg: ProxyConfig) -> str:
    rows = []
    for ls in cfg.listeners:
        chains = ls.chains + ([ls.default_chain] if ls.default_chain else [])
        for ch in chains:
            match = []
            if ch.server_names:
                match.append("SNI: " + ",".join(ch.server_names))
            if ch.prefix_ranges:
                match.append("Addr: " + ",".join(ch.prefix_ranges))
            if ch.destination_port is not None:
                match.append(f"Addr: *:{ch.destination_port}")
            if ch.transport and ls.kind == "inbound":
                match.append(f"Trans: {ch.transport}")
            if ch.application_protocols:
                match.append("ALPN: " + ",".join(ch.application_protocols))
            if ch is ls.default_chain:
                match.append("ALL (default chain)")
            dest = (f"{'Inline ' if ls.kind == 'inbound' else ''}Route: {ch.rds}" if ch.kind == "http" else
                    "Cluster: " + ",".join(c.cluster for c in ch.tcp.clusters) if ch.tcp else ch.kind)
            if ch.tls is not None:
                dest += " (mTLS)"
            for f in ch.rbac:
                dest += f"; RBAC {f.action}" + (f" {f.provider}" if f.provider else "") + ": " + (
                    ", ".join(p.name for p in f.policies) or "no policies")
            rows.append([ls.address, str(ls.port), "; ".join(match) or "ALL", dest])
    return _table(rows, ["ADDRESSES", "PORT", "MATCH", "DESTINATION"])


def _match_text(r: Route) -> str:
    m = r.match
    kind = path_pattern(m)
    extra = [("!" if h.invert else "") + h.name for h in m.headers] + [f"?{q.name}" for q in m.query]
    return f"{kind} [{', '.join(extra)}]" if extra else kind


def routes_table(cfg: ProxyConfig) -> str:
    rows = []
    for name, rc in cfg.route_configs.items():
        for vh in rc.virtual_hosts:
            doms = list(vh.domains)
            dom_text = doms[0] + (f" +{len(doms) - 1} more" if len(doms) > 1 else "") if doms else ""
            if not vh.routes:
                rows.append([name, vh.name, dom_text, "-", "404"])
            for r in vh.routes:
                vs = f"{r.virtual_service[1]}.{r.virtual_service[0]}" if r.virtual_service else ""
                rows.append([name, vh.name, dom_text, _match_text(r), vs or "-"])
    return _table(rows, ["NAME", "VHOST NAME", "DOMAINS", "MATCH", "VIRTUAL SERVICE"])


def clusters_table(cfg: ProxyConfig) -> str:
    rows = []
    for c in cfg.clusters.values():
        dr = f"{c.destination_rule.name}.{c.destination_rule.namespace}" if c.destination_rule else "-"
        rows.append([c.host or c.name, str(c.port) if c.port else "-", c.subset or "-",
                     c.direction if c.host or c.direction == "inbound" else "-",
                     c.type, dr])
    return _table(rows, ["SERVICE FQDN", "PORT", "SUBSET", "DIRECTION", "TYPE", "DESTINATION RULE"])


def endpoints_table(cfg: ProxyConfig) -> str:
    rows = []
    for name, eps in cfg.endpoints.items():
        for e in eps:
            status = "HEALTHY" if e.ready else "UNHEALTHY"
            rows.append([f"{e.address}:{e.port}", status, "OK", name, e.pod or "-" + (" (synthesized)" if e.synthesized else "")])
    return _table(rows, ["ENDPOINT", "STATUS", "OUTLIER CHECK", "CLUSTER", "POD"])


def config_dump(cfg: ProxyConfig, what: str) -> dict[str, Any]:
    # the mesh's mTLS as istiod sends it (the inbound listener, auto-mTLS on outbound clusters):
    # certificates from the istio-agent's SDS
    return as_dump(render(cfg, {}, inbound=InboundRender(client_mtls=True)), what)


def run(args: argparse.Namespace) -> int:
    result = load_from_args(args, require=True)
    with keeping():
        cfg = translate(result.snapshot, args.proxy, TranslateOptions(proxy_type=args.proxy_type))
    what = args.what if args.what.endswith("s") or args.what == "all" else args.what + "s"
    if args.diff or wants_actual(args):
        from meshtui.cli.dump_source import actual_config, actual_for

        actual = actual_for(args, cfg)
        if args.diff:
            from meshtui.cli.proxy_drift import print_drift

            return print_drift(args, cfg, actual, what)
        cfg = actual_config(actual, result.snapshot, cfg)
        if args.output in ("json", "yaml"):
            raise UsageError("-o json of what Envoy holds is the dump itself: read it from its source")
    if args.output in ("json", "yaml"):
        doc = config_dump(cfg, what)
        if args.output == "json":
            sys.stdout.write(json.dumps(doc, indent=2) + "\n")
        else:
            import yaml

            sys.stdout.write(yaml.safe_dump(doc, sort_keys=False))
        return 0
    parts = {"listeners": listeners_table, "routes": routes_table, "clusters": clusters_table, "endpoints": endpoints_table}
    chosen = list(parts) if what == "all" else [what]
    out = []
    for w in chosen:
        if what == "all":
            out.append(f"# {w.upper()}")
        out.append(parts[w](cfg))
    sys.stdout.write("\n\n".join(out) + "\n")
    return 0
