"""`fault` and `scope` in cluster mode: with --cluster/--context the edit is written to the
cluster as server-side apply (dry run, diff, confirm or --yes), only with --allow-write and
never with --readonly; istiod then pushes it to every proxy. Without those flags the commands
talk to a meshtui server, as before."""

from __future__ import annotations

import argparse
import sys
import time
from typing import TYPE_CHECKING

from meshtui.cli.common import ContextAction  # repeated --context is refused, not silently the last
from meshtui.errors import UsageError

if TYPE_CHECKING:
    from meshtui.cluster.patch import EditRecord
    from meshtui.edits.model import Edit


def add_cluster_write_flags(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("cluster write-back (instead of --server)")
    g.add_argument("--cluster", action="store_true", help="write the edit to the cluster of the current kubeconfig context")
    g.add_argument("--kubeconfig", metavar="PATH", help="kubeconfig file, as kubectl")
    g.add_argument("--context", metavar="NAME", action=ContextAction, help="kubeconfig context (implies --cluster)")
    g.add_argument("--request-timeout", type=float, default=10.0, metavar="SECONDS", help="API server timeout")
    g.add_argument("--allow-write", action="store_true", help="allow writing to the cluster (off by default)")
    g.add_argument("--readonly", action="store_true", help="never write, whatever else is asked")
    g.add_argument("--yes", action="store_true", help="apply without asking (the diff is still printed)")


def cluster_mode(args: argparse.Namespace) -> bool:
    return bool(getattr(args, "cluster", False) or getattr(args, "context", None))


def write(args: argparse.Namespace, edit: Edit) -> int:
    from meshtui.cli.cluster_write import write_edit

    res = write_edit(args, edit)
    print(res.message, file=sys.stderr)
    print(edit.id)
    return 0


def _records(args: argparse.Namespace, kind: str | None) -> list[tuple[str, str, str, EditRecord]]:
    from meshtui.cli.cluster_write import writer_from_args
    from meshtui.cluster.source import open_from_args

    with open_from_args(args) as src:
        w = writer_from_args(args, src)
        return [r for r in w.edits() if kind is None or r[3].type == kind]


def list_edits(args: argparse.Namespace, kind: str) -> int:
    rows = [("ID", "OBJECT", "OWNER", "EXPIRES", "REASON")]
    now = time.time()
    for k, ns, name, rec in _records(args, kind):
        exp = "never" if rec.expires_at is None else ("expired" if rec.expires_at <= now else f"in {int(rec.expires_at - now)}s")
        rows.append((rec.id, f"{k} {ns}/{name}", rec.owner or "-", exp, rec.reason or "-"))
    if len(rows) == 1:
        print(f"no meshtui {kind} edits on the cluster", file=sys.stderr)
        return 0
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    for r in rows:
        print("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip())
    return 0


def revert(args: argparse.Namespace, edit_id: str | None, kind: str) -> int:
    """Revert one edit by id, or (edit_id None) every meshtui edit of `kind`: the kill switch."""
    from meshtui.cli.cluster_write import revert_edit

    found = [r for r in _records(args, kind) if edit_id is None or r[3].id == edit_id]
    if edit_id is not None and not found:
        raise UsageError(f"no meshtui {kind} edit {edit_id!r} on the cluster (meshtui {kind} list --cluster shows them)")
    for k, ns, name, rec in found:
        res = revert_edit(args, k, ns, name, rec.id)
        print(res.message, file=sys.stderr)
    if edit_id is None:
        print(f"reverted {len(found)} {kind} edit(s)", file=sys.stderr)
    return 0
