"""`meshtui fault add|list|rm|clear --server ADDR ...`: game-day faults on a running server."""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from datetime import UTC
from typing import TYPE_CHECKING, Any

from meshtui.cli.cluster_edit import add_cluster_write_flags, cluster_mode
from meshtui.errors import UsageError

if TYPE_CHECKING:
    from meshtui.xds.control_api import ControlClient

NAME = "fault"
HELP = "add, list, remove or clear live faults on a running meshtui server"

DEFAULT_SERVER = "127.0.0.1:15010"


def add_client_flags(p: argparse.ArgumentParser) -> None:
    p.add_argument("--server", default=os.environ.get("MESHTUI_SERVER", DEFAULT_SERVER), metavar="ADDR",
                   help=f"the meshtui server (default $MESHTUI_SERVER or {DEFAULT_SERVER})")
    p.add_argument("--tls-ca", metavar="PEM", help="CA that signed the server's certificate (TLS)")
    p.add_argument("--tls-cert", metavar="PEM", help="client certificate, if the server asks for one")
    p.add_argument("--tls-key", metavar="PEM", help="client private key")
    p.add_argument("--insecure", action="store_true", help="plaintext to a non-loopback server")
    p.add_argument("--timeout", type=float, default=10.0, metavar="SECONDS", help="how long to wait for the server")
    p.add_argument("--token-file", metavar="PATH",
                   help="the server's credential (default $MESHTUI_TOKEN_FILE or $XDG_STATE_HOME/meshtui/token)")


def client_for(args: argparse.Namespace) -> ControlClient:
    from meshtui.xds.control_api import ControlClient

    return ControlClient(args.server, tls_ca=args.tls_ca, tls_cert=args.tls_cert, tls_key=args.tls_key,
                         insecure=args.insecure, timeout=args.timeout, token_file=args.token_file)


def add_list_and_rm(sub: argparse._SubParsersAction[argparse.ArgumentParser], what: str, list_help: str,
                    rm_help: str) -> None:
    """The `list` and `rm` actions, alike for every kind of live edit (`what`: faults, scope edits)."""
    ls = sub.add_parser("list", help=list_help)
    add_client_flags(ls)
    ls.add_argument("--all", action="store_true", help=f"also removed, expired and rejected {what}")
    ls.add_argument("-o", "--output", choices=("table", "json"), default="table")
    add_cluster_write_flags(ls)

    rm = sub.add_parser("rm", help=rm_help)
    add_client_flags(rm)
    rm.add_argument("id", metavar="ID")
    rm.add_argument("--reason", default="", metavar="TEXT", help="why, for the journal")
    add_cluster_write_flags(rm)


def configure(p: argparse.ArgumentParser) -> None:
    sub = p.add_subparsers(dest="action", parser_class=type(p))

    add = sub.add_parser("add", help="inject a fault (prints its id)")
    add_client_flags(add)
    tgt = add.add_mutually_exclusive_group(required=True)
    tgt.add_argument("--virtual-service", metavar="NS/NAME", help="a VirtualService (every rule, or --rule N)")
    tgt.add_argument("--host", metavar="HOST", help="every route to this host (FQDN), or --subset S of it")
    add.add_argument("--rule", type=int, metavar="N", help="index into the VirtualService's spec.http")
    add.add_argument("--subset", metavar="S", help="only routes to this subset of --host")
    kind = add.add_mutually_exclusive_group(required=True)
    kind.add_argument("--abort", type=int, metavar="STATUS", help="answer with this HTTP status")
    kind.add_argument("--delay", metavar="DURATION", help="delay requests by this long (e.g. 200ms, 2s)")
    add.add_argument("--percent", type=float, required=True, metavar="P", help="share of requests, 0..100")
    add.add_argument("--ttl", default="10m", metavar="DURATION", help="lifetime (default 10m)")
    add.add_argument("--reason", default="", metavar="TEXT", help="why, for the journal")
    add.add_argument("-o", "--output", choices=("id", "json"), default="id")
    add_cluster_write_flags(add)

    add_list_and_rm(sub, "faults", "active faults with their per-proxy push state", "remove one fault")

    clear = sub.add_parser("clear", help="the kill switch: remove every fault from every proxy in one push")
    add_client_flags(clear)
    add_cluster_write_flags(clear)


def run(args: argparse.Namespace) -> int:
    action = getattr(args, "action", None)
    if action is None:
        raise UsageError("fault: say add, list, rm or clear (see meshtui fault --help)")
    if cluster_mode(args):
        return _run_cluster(args, action)
    with client_for(args) as client:
        if action == "add":
            req = {"virtualService": args.virtual_service, "rule": args.rule, "host": args.host,
                   "subset": args.subset, "abort": args.abort, "delay": args.delay, "percent": args.percent,
                   "ttl": args.ttl, "reason": args.reason}
            if args.rule is not None and not args.virtual_service:
                raise UsageError("--rule needs --virtual-service")
            if args.subset is not None and not args.host:
                raise UsageError("--subset needs --host")
            view = client.call("AddFault", req)
            if args.output == "json":
                print(json.dumps(edit_json(view), indent=2))
            else:
                print(view["id"])
            return 0
        if action == "list":
            res = client.call("ListEdits", {"kind": "fault", "all": args.all})
            if args.output == "json":
                print(json.dumps({"edits": [edit_json(e) for e in res["edits"]]}, indent=2))
            else:
                print_fault_table(res["edits"], res.get("now") or time.time())
            return 0
        if action == "rm":
            view = client.call("RemoveEdit", {"id": args.id, "reason": args.reason})
            print(f"removed {view['id']}", file=sys.stderr)
            return 0
        if action == "clear":
            res = client.call("ClearFaults")
            n = len(res["cleared"])
            print(f"cleared {n} fault(s)" + (f": {', '.join(res['cleared'])}" if n else ""), file=sys.stderr)
            return 0
    raise UsageError(f"fault: unknown action {action!r}")


def _run_cluster(args: argparse.Namespace, action: str) -> int:
    from meshtui.cli import cluster_edit
    from meshtui.xds.control_api import fault_from_request

    if action == "add":
        if args.rule is not None and not args.virtual_service:
            raise UsageError("--rule needs --virtual-service")
        req = {"virtualService": args.virtual_service, "rule": args.rule, "host": args.host, "subset": args.subset,
               "abort": args.abort, "delay": args.delay, "percent": args.percent, "ttl": args.ttl, "reason": args.reason}
        return cluster_edit.write(args, fault_from_request(req, time.time()))
    if action == "list":
        return cluster_edit.list_edits(args, "fault")
    if action == "rm":
        return cluster_edit.revert(args, args.id, "fault")
    return cluster_edit.revert(args, None, "fault")


def _iso(at: float | None) -> str | None:
    from datetime import datetime

    if at is None:
        return None
    return datetime.fromtimestamp(at, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def edit_json(view: dict[str, Any]) -> dict[str, Any]:
    """An edit view from the server in the contract's JSON shape (camelCase, docs/CONTRACT.md
    "fault list -o json"); the server's views keep the journal's field names."""
    out: dict[str, Any] = {"id": view["id"], "kind": view.get("type", "fault")}
    if out["kind"] == "fault":
        t = view.get("target") or {}
        out["target"] = {k: v for k, v in (("virtualService", t.get("virtual_service")), ("rule", t.get("rule")),
                                            ("host", t.get("host")), ("subset", t.get("subset"))) if v is not None}
        out["abort"] = None if view.get("abort_status") is None else {"httpStatus": view["abort_status"]}
        out["delay"] = None if view.get("delay_seconds") is None else {"fixedDelaySeconds": view["delay_seconds"]}
        out["percent"] = view.get("percent")
    else:
        out.update({"namespace": view.get("namespace"), "egressHosts": view.get("egress_hosts") or [],
                    "outboundTrafficPolicy": view.get("outbound_traffic_policy"),
                    "workloadSelector": view.get("workload_labels") or {}})
    created = view.get("created_at")
    out.update({
        "owner": view.get("owner", ""), "reason": view.get("reason", ""),
        "createdAt": _iso(created), "ttlSeconds": view.get("ttl_seconds"), "expiresAt": _iso(view.get("expiresAt")),
        "state": view.get("state"), "detail": view.get("detail") or "", "summary": view.get("summary", ""),
        "proxies": [{"node": p, "state": s} for p, s in sorted((view.get("proxies") or {}).items())],
    })
    return out


def print_fault_table(edits: list[dict[str, Any]], now: float) -> None:
    from meshtui.edits.ttl import format_duration

    rows = [("ID", "TARGET", "KIND", "PERCENT", "EXPIRES", "STATE", "PROXIES")]
    for e in edits:
        kind = f"abort {e['abort_status']}" if e.get("abort_status") is not None else \
            f"delay {format_duration(e.get('delay_seconds') or 0)}"
        exp = e.get("expiresAt")
        expires = "never" if exp is None else ("expired" if exp <= now else f"in {format_duration(exp - now)}")
        proxies = " ".join(f"{p}={s}" for p, s in sorted((e.get("proxies") or {}).items())) or "-"
        rows.append((e["id"], e.get("targetText", ""), kind, f"{e['percent']:g}%", expires, e["state"], proxies))
    if len(rows) == 1:
        print("no faults", file=sys.stderr)
        return
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]) - 1)]
    for r in rows:
        print("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=False)) + "  " + r[-1])
