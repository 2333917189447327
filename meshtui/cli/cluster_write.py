"""What a command needs to write an edit to the cluster from its flags: --kubeconfig,
--context, --request-timeout, --allow-write, --readonly, --yes. The diff goes to stderr; the
confirmation is asked on the terminal, or --yes is required."""

from __future__ import annotations

import argparse
import sys
from typing import TextIO

from meshtui.cluster.expiry import ExpiryReverter
from meshtui.cluster.source import ClusterSource, open_from_args
from meshtui.cluster.writeback import ClusterWriter, Confirm, WriteRefused, WriteResult, check_allowed, tty_confirm
from meshtui.edits.model import Edit


def writer_from_args(args: argparse.Namespace, source: ClusterSource) -> ClusterWriter:
    return ClusterWriter.for_source(source, allow_write=bool(getattr(args, "allow_write", False)),
                                    readonly=bool(getattr(args, "readonly", False)))


def _confirm_or_refuse(args: argparse.Namespace, diff_text: str, out: TextIO) -> tuple[Confirm | None, bool]:
    if getattr(args, "yes", False):
        out.write(diff_text if diff_text.endswith("\n") else diff_text + "\n")
        return None, True
    ask = tty_confirm(stream_out=out)
    if ask is None:
        out.write(diff_text if diff_text.endswith("\n") else diff_text + "\n")
        raise WriteRefused("not applied: confirm in a terminal, or pass --yes to apply this diff")
    return ask, False


def write_edit(args: argparse.Namespace, edit: Edit, out: TextIO | None = None) -> WriteResult:
    """Dry run, diff, confirm, apply one edit on the cluster the flags name."""
    out = out or sys.stderr
    check_allowed(bool(getattr(args, "allow_write", False)), bool(getattr(args, "readonly", False)))
    with open_from_args(args) as src:
        w = writer_from_args(args, src)
        wp = w.plan(edit)
        if not wp.changes_anything:
            return w.apply(wp, yes=True)
        ask, yes = _confirm_or_refuse(args, wp.diff, out)
        return w.apply(wp, confirm=ask, yes=yes)


def revert_edit(args: argparse.Namespace, kind: str, namespace: str, name: str, edit_id: str, out: TextIO | None = None) -> WriteResult:
    out = out or sys.stderr
    check_allowed(bool(getattr(args, "allow_write", False)), bool(getattr(args, "readonly", False)))
    with open_from_args(args) as src:
        w = writer_from_args(args, src)
        wp = w.plan_revert(kind, namespace, name, edit_id)
        ask, yes = _confirm_or_refuse(args, wp.diff, out)
        return w.apply(wp, confirm=ask, yes=yes)


def start_reverter(args: argparse.Namespace, source: ClusterSource, interval: float = 5.0) -> ExpiryReverter | None:
    """For long-running commands (TUI, serve) in cluster mode with --allow-write: revert what
    expired while no meshtui ran, then keep reverting at expiry. None without --allow-write."""
    if not getattr(args, "allow_write", False) or getattr(args, "readonly", False):
        return None
    return ExpiryReverter(writer_from_args(args, source), interval=interval).start()
