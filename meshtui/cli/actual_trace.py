"""`trace --actual` and `trace --compare`: the same trace on what Envoy holds, or both side by side
and where they part."""

from __future__ import annotations

import argparse
import sys
from typing import TextIO

from meshtui.actual.compare import Comparison, compare_traces
from meshtui.cli.dump_source import actual_config, actual_for, add_actual_flags
from meshtui.model.snapshot import MeshSnapshot
from meshtui.simulate import Request, simulate
from meshtui.simulate.trace import Stage, Step, Trace, Verdict
from meshtui.translate.config import ProxyConfig


def configure(p: argparse.ArgumentParser) -> None:
    add_actual_flags(p)
    g = p.add_mutually_exclusive_group()
    g.add_argument("--actual", action="store_true",
                   help="trace on the config Envoy holds (--config-dump, --envoy-admin, or with --cluster the --from pod "
                        "through port-forward) instead of meshtui's prediction")
    g.add_argument("--compare", action="store_true", help="trace on both, side by side, and say where they part")


def requested(args: argparse.Namespace) -> bool:
    return bool(getattr(args, "actual", False) or getattr(args, "compare", False))


def run(args: argparse.Namespace, snapshot: MeshSnapshot, predicted: ProxyConfig, request: Request) -> tuple[Trace, Comparison | None]:
    actual = actual_for(args, predicted)
    act_cfg = actual_config(actual, snapshot, predicted)
    act_trace = simulate(act_cfg, request)
    for note in reversed(act_cfg.notes):
        act_trace.steps.insert(0, Step(Stage.LISTENER, Verdict.INFO, note))
    if not getattr(args, "compare", False):
        return act_trace, None
    return act_trace, compare_traces(simulate(predicted, request), act_trace)


def print_comparison(c: Comparison, out: TextIO | None = None) -> None:
    out = out or sys.stdout
    p, a = c.predicted.to_json(), c.actual.to_json()
    rows = [("listener", p.get("listener"), a.get("listener")),
            ("route config", p.get("routeConfig"), a.get("routeConfig")),
            ("virtual host", p.get("virtualHost"), a.get("virtualHost")),
            ("route", (p.get("route") or {}).get("name"), (a.get("route") or {}).get("name")),
            ("destinations", ", ".join(f"{d['cluster']} {d['probability']:.0%}" for d in p.get("destinations") or []) or "-",
             ", ".join(f"{d['cluster']} {d['probability']:.0%}" for d in a.get("destinations") or []) or "-"),
            ("outcome", f"{p.get('outcome')} {p.get('status') or ''}".strip(), f"{a.get('outcome')} {a.get('status') or ''}".strip())]
    differing = {d for d, _, _ in c.differences}
    w0 = max(len(r[0]) for r in rows) + 2
    w1 = max(len(str(r[1] or "-")) for r in rows) + 2
    print(f"  {'':{w0}}{'PREDICTED (meshtui)':{w1}}ACTUAL (Envoy)", file=out)
    for label, left, right in rows:
        mark = "≠" if label in differing else " "
        print(f"{mark} {label:{w0}}{left or '-'!s:{w1}}{right or '-'}", file=out)
    if c.agree:
        print("\nthe prediction and Envoy agree on every decision for this request", file=out)
    else:
        print(f"\nthey part at the {c.part_at}:", file=out)
        for d, left, right in c.differences:
            print(f"  {d}: predicted {left!r}, Envoy {right!r}", file=out)
