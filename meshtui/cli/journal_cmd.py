"""`meshtui journal export|path`: the game-day journal as a timeline (Markdown or JSON)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from meshtui.errors import UsageError

NAME = "journal"
HELP = "export the game-day journal (every edit, push, ACK, NACK, expiry and revert) as a timeline"


def configure(p: argparse.ArgumentParser) -> None:
    sub = p.add_subparsers(dest="action", parser_class=type(p))
    ex = sub.add_parser("export", help="print the timeline")
    ex.add_argument("-o", "--output", choices=("markdown", "json"), default="markdown")
    ex.add_argument("--journal", metavar="PATH", help="journal file (default $XDG_STATE_HOME/meshtui/journal.jsonl)")
    ex.add_argument("--demo", action="store_true", help="the journal of `meshtui demo` (kept apart from serve's)")
    ex.add_argument("--edits-only", action="store_true", help="leave out pushes, ACKs and connects")
    pa = sub.add_parser("path", help="print where the journal is")
    pa.add_argument("--journal", metavar="PATH")
    pa.add_argument("--demo", action="store_true")


def run(args: argparse.Namespace) -> int:
    from meshtui.edits import journal as jr
    from meshtui.xds.journal_file import JournalFile, state_dir

    action = getattr(args, "action", None)
    if action is None:
        raise UsageError("journal: say export or path")
    if args.journal:
        jf = JournalFile(Path(args.journal))
    elif args.demo:
        jf = JournalFile(state_dir() / "demo-journal.jsonl")
    else:
        jf = JournalFile()
    if action == "path":
        print(jf.path)
        return 0
    entries, bad = jf.read()
    for n, why in bad:
        print(f"meshtui: {jf.path}:{n}: skipped an unreadable line ({why})", file=sys.stderr)
    if not entries and not jf.path.exists():
        print(f"meshtui: no journal at {jf.path} yet", file=sys.stderr)
    if args.edits_only:
        keep = jr.EDIT_KINDS | {jr.NACK, jr.SERVER_START, jr.SERVER_STOP}
        entries = [e for e in entries if e.kind in keep]
    if args.output == "json":
        print(json.dumps(jr.timeline_json(entries), indent=2))
    else:
        sys.stdout.write(jr.timeline_markdown(entries))
    return 0
