"""`meshtui analyze`: configuration findings, as `istioctl analyze` reports them (CONTRACT.md).

Exit 0 when nothing reaches --failure-threshold, 79 when something does, 2 for bad input, 69 when
the cluster cannot be read."""

from __future__ import annotations

import argparse
import json
import sys
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from meshtui.analyze import CODES, LEVELS, Message, Suppression, all_analyzers, analyze, at_or_above, parse_level
from meshtui.analyze.codes import level_rank
from meshtui.analyze.registry import plan
from meshtui.analyze.suppress import apply as apply_suppressions
from meshtui.cli.common import add_source_flags, nothing_loaded, use_color
from meshtui.errors import EXIT_ANALYZE_FAILED, EXIT_OK, UsageError

if TYPE_CHECKING:
    from meshtui.model.parse import LoadResult
    from meshtui.model.source import Diagnostic

NAME = "analyze"
HELP = ("find configuration problems: istioctl-compatible IST codes and meshtui's own MT codes "
        "(exit 79 when a message reaches --failure-threshold)")

_COLORS = {"Error": "\x1b[31m", "Warning": "\x1b[33m", "Info": "\x1b[36m"}


def _level(text: str) -> str:
    level = parse_level(text)
    if level is None:
        raise argparse.ArgumentTypeError(f"invalid level {text!r} (choose from {', '.join(LEVELS)})")
    return level


def configure(p: argparse.ArgumentParser) -> None:
    add_source_flags(p, output=("log", "json", "yaml"))
    p.add_argument("paths", nargs="*", metavar="PATH", help="files or folders to analyse (same as -f)")
    p.add_argument("--failure-threshold", type=_level, default="Error", metavar="LEVEL",
                   help="exit 79 if any message is at or above this level: Info, Warning, Error (default Error)")
    p.add_argument("--output-threshold", type=_level, default="Info", metavar="LEVEL",
                   help="print only messages at or above this level (default Info)")
    p.add_argument("--suppress", action="append", default=[], metavar="CODE=RESOURCE",
                   help="drop a code for a resource, e.g. 'IST0101=VirtualService reviews.default' ('*' wildcards); repeatable")
    p.add_argument("--analyzer", action="append", default=None, metavar="NAME",
                   help="run only these analyzers (names as -L lists them; '*' wildcards); repeatable")
    p.add_argument("-L", "--list-analyzers", action="store_true", help="list the analyzers and their codes, then exit")


def run(args: argparse.Namespace) -> int:
    if args.list_analyzers:
        _list_analyzers()
        return EXIT_OK
    try:
        suppressions = [Suppression.parse(s) for s in args.suppress]
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    if args.analyzer:
        from fnmatch import fnmatchcase

        names = [a.name for a in all_analyzers()]
        unknown = [p for p in args.analyzer if not any(fnmatchcase(n, p) for n in names)]
        if unknown:
            raise UsageError(f"--analyzer {unknown[0]!r} matches no analyzer; `meshtui analyze -L` lists them")
    paths = list(args.filename) + list(args.paths)
    from meshtui.heap import settling

    with settling():  # kept to the end: frozen out of the cyclic collector's way, as the other commands do
        result, what = _load(args, paths)
    # certificates (a Gateway's credentialName Secret) are judged valid now
    messages = analyze(result.snapshot, result.diagnostics, only=args.analyzer, now=datetime.now(UTC))
    kept = apply_suppressions(messages, suppressions)
    shown = at_or_above(kept, args.output_threshold)
    _print(args, shown)
    if args.output == "log":
        _summary(kept, shown, len(messages) - len(kept), result.loaded, what)
        _, skipped = plan(result.snapshot, args.analyzer)
        for a, lacking in skipped:
            print(f"Skipped analyzer {a.name}: the sources hold no {' or '.join(lacking)}.", file=sys.stderr)
    return EXIT_ANALYZE_FAILED if at_or_above(kept, args.failure_threshold) else EXIT_OK


# ---------------------------------------------------------------- sources


def _load(args: argparse.Namespace, paths: list[str]) -> tuple[LoadResult, str]:
    namespace = args.namespace or "default"
    if args.cluster or args.context:
        return _load_cluster(args, paths, namespace)
    if not paths:
        raise UsageError("nothing to analyse; give files or folders with -f PATH "
                         "(or - for stdin), or read the cluster with --cluster")
    from meshtui.cli.common import mesh_from_args
    from meshtui.model.meshconfig import MeshConfig
    from meshtui.sources.loader import load_sources

    mesh_diags: list[Diagnostic] = []
    mesh = mesh_from_args(args, mesh_diags) or MeshConfig()
    result = load_sources(paths, default_namespace=namespace, mesh=mesh, cache=args.cache)
    result.diagnostics[:0] = mesh_diags
    empty = nothing_loaded(result, paths)
    if empty is not None:
        print(f"meshtui: Warning: {empty}", file=sys.stderr)
    return result, f"{len(result.files)} file{'s' if len(result.files) != 1 else ''}"


def _load_cluster(args: argparse.Namespace, paths: list[str], namespace: str) -> tuple[LoadResult, str]:
    from meshtui.cluster.source import load_cluster_snapshot

    result = load_cluster_snapshot(args, paths)
    where = f"cluster context '{result.files[0].removeprefix('cluster:')}'" if result.files else "the cluster"
    if paths:
        where += f" with {len(paths)} file argument{'s' if len(paths) != 1 else ''} layered over it"
    return result, where


# ---------------------------------------------------------------- output


def _print(args: argparse.Namespace, messages: list[Message]) -> None:
    out = sys.stdout
    if args.output == "json":
        json.dump([m.to_dict() for m in messages], out, indent=2)
        out.write("\n")
    elif args.output == "yaml":
        import yaml

        out.write(yaml.safe_dump([m.to_dict() for m in messages], sort_keys=False, allow_unicode=True, width=100000)
                  if messages else "[]\n")
    else:
        color = use_color(args, out)
        for m in messages:
            line = m.log_line()
            if color:
                head = f"{m.level} [{m.code}]"
                line = f"{_COLORS.get(m.level, '')}{head}\x1b[0m{line[len(head):]}"
            out.write(line + "\n")
    out.flush()


def _summary(kept: list[Message], shown: list[Message], suppressed: int, resources: int, what: str) -> None:
    if not kept:
        text = f"\u2714 No validation issues found when analyzing {what} ({resources} resources)."
    else:
        counts = {lvl: sum(1 for m in kept if m.level == lvl) for lvl in LEVELS}
        parts = [f"{n} {lvl}" for lvl, n in sorted(counts.items(), key=lambda kv: -level_rank(kv[0])) if n]
        text = f"{len(kept)} message{'s' if len(kept) != 1 else ''} ({', '.join(parts)}) in {what} ({resources} resources)"
        hidden = len(kept) - len(shown)
        if hidden:
            text += f"; {hidden} below --output-threshold not shown"
        text += "."
    if suppressed:
        text += f" {suppressed} suppressed."
    print(text, file=sys.stderr)


def _list_analyzers() -> None:
    rows = all_analyzers()
    width = max(len(a.name) for a in rows)
    print("Available analyzers:")
    for a in rows:
        codes = ", ".join(a.codes)
        note = " (replays requests through the tracer)" if a.uses_tracer else ""
        reads = f" Reads {', '.join(a.inputs)}." if a.inputs else ""
        mirrors = f" Mirrors istioctl's {a.istio}." if a.istio else ""
        print(f"  {a.name.ljust(width)}  {codes}: {a.description}{note}.{reads}{mirrors}")
    print("\nCodes:")
    for c in CODES.values():
        print(f"  {c.code}  {c.level.ljust(7)}  {c.name}: {c.summary}")
