"""`meshtui scope set|list|rm --server ADDR ...`: live Sidecar-scope edits (egress hosts and
outbound traffic policy) on a running meshtui server."""

from __future__ import annotations

import argparse
import json
import sys
import time

from meshtui.cli.cluster_edit import add_cluster_write_flags, cluster_mode
from meshtui.cli.fault_cmd import add_client_flags, add_list_and_rm, client_for, edit_json
from meshtui.errors import UsageError

NAME = "scope"
HELP = "replace a Sidecar's egress scope live on a running meshtui server"


def configure(p: argparse.ArgumentParser) -> None:
    sub = p.add_subparsers(dest="action", parser_class=type(p))

    s = sub.add_parser("set", help="replace the egress scope of the Sidecar for a namespace (prints the edit id)")
    add_client_flags(s)
    s.add_argument("-n", "--namespace", required=True, metavar="NS", help="namespace of the proxies")
    s.add_argument("--selector", action="append", default=[], metavar="KEY=VALUE",
                   help="only workloads with these labels; repeatable")
    s.add_argument("--egress-host", action="append", default=[], metavar="NS/HOST",
                   help="an egress host entry as in Sidecar.egress.hosts (./*, istio-system/*, ns/host); repeatable")
    s.add_argument("--outbound-policy", choices=("ALLOW_ANY", "REGISTRY_ONLY"),
                   help="outboundTrafficPolicy.mode for those proxies")
    s.add_argument("--ttl", default=None, metavar="DURATION", help="lifetime (default: until removed)")
    s.add_argument("--reason", default="", metavar="TEXT")
    s.add_argument("-o", "--output", choices=("id", "json"), default="id")
    add_cluster_write_flags(s)

    add_list_and_rm(sub, "scope edits", "active scope edits",
                    "remove a scope edit (the Sidecar from the sources applies again)")


def _labels(items: list[str]) -> dict[str, str]:
    out: dict[str, str] = {}
    for it in items:
        k, sep, v = it.partition("=")
        if not sep or not k:
            raise UsageError(f"--selector {it!r}: expected KEY=VALUE")
        out[k] = v
    return out


def run(args: argparse.Namespace) -> int:
    action = getattr(args, "action", None)
    if action is None:
        raise UsageError("scope: say set, list or rm (see meshtui scope --help)")
    if cluster_mode(args):
        from meshtui.cli import cluster_edit

        if action == "set":
            if not args.egress_host and not args.outbound_policy:
                raise UsageError("give --egress-host (repeatable) and/or --outbound-policy")
            from meshtui.xds.control_api import scope_from_request

            edit = scope_from_request({"namespace": args.namespace, "selector": _labels(args.selector),
                                        "egressHosts": args.egress_host, "outboundTrafficPolicy": args.outbound_policy,
                                        "ttl": args.ttl, "reason": args.reason}, time.time())
            return cluster_edit.write(args, edit)
        if action == "list":
            return cluster_edit.list_edits(args, "scope")
        return cluster_edit.revert(args, args.id, "scope")
    with client_for(args) as client:
        if action == "set":
            if not args.egress_host and not args.outbound_policy:
                raise UsageError("give --egress-host (repeatable) and/or --outbound-policy")
            view = client.call("AddScope", {"namespace": args.namespace, "selector": _labels(args.selector),
                                            "egressHosts": args.egress_host,
                                            "outboundTrafficPolicy": args.outbound_policy,
                                            "ttl": args.ttl, "reason": args.reason})
            print(json.dumps(edit_json(view), indent=2) if args.output == "json" else view["id"])
            return 0
        if action == "list":
            res = client.call("ListEdits", {"kind": "scope", "all": args.all})
            if args.output == "json":
                print(json.dumps({"edits": [edit_json(e) for e in res["edits"]]}, indent=2))
                return 0
            now = res.get("now") or time.time()
            if not res["edits"]:
                print("no scope edits", file=sys.stderr)
            for e in res["edits"]:
                exp = e.get("expiresAt")
                left = "" if exp is None else f" (expires in {max(0, exp - now):.0f}s)"
                print(f"{e['id']}  {e['state']}  {e['summary']}{left}")
            return 0
        if action == "rm":
            view = client.call("RemoveEdit", {"id": args.id, "reason": args.reason})
            print(f"removed {view['id']}", file=sys.stderr)
            return 0
    raise UsageError(f"scope: unknown action {action!r}")
