"""`proxy-config --diff`: drift between meshtui's prediction and what the proxy's Envoy holds."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any, TextIO

from meshtui.actual.drift import Drift, drift
from meshtui.sources.envoy_dump import ActualConfig
from meshtui.translate.config import ProxyConfig

KINDS_FOR = {"listeners": ("listener",), "routes": ("route-config", "virtual-host", "route"),
             "clusters": ("cluster",), "endpoints": ("endpoints",)}


def drift_doc(cfg: ProxyConfig, found: list[Drift], unmodelled: dict[str, int], origin: str) -> dict[str, Any]:
    return {"apiVersion": "meshtui/v1alpha1", "kind": "ProxyDrift",
            "proxy": cfg.proxy.to_json(), "actual": origin, "agree": not found,
            "drift": [d.to_json() for d in found], "notModelled": unmodelled}


def print_drift(args: argparse.Namespace, cfg: ProxyConfig, actual: ActualConfig, what: str, out: TextIO | None = None) -> int:
    out = out or sys.stdout
    found, unmodelled = drift(cfg, actual.dump, actual_runtime=actual.runtime if actual.runtime_known else None)
    if what != "all":
        found = [d for d in found if d.kind in KINDS_FOR[what]]
        unmodelled = {k: v for k, v in unmodelled.items() if k in KINDS_FOR[what]}
    if args.output in ("json", "yaml"):
        doc = drift_doc(cfg, found, unmodelled, actual.dump.origin)
        if args.output == "json":
            out.write(json.dumps(doc, indent=2) + "\n")
        else:
            import yaml

            out.write(yaml.safe_dump(doc, sort_keys=False))
        return 0
    who = f"{cfg.proxy.namespace}/{cfg.proxy.workload}"
    if not found:
        print(f"no drift: what {actual.dump.origin} holds for {who} is what meshtui predicts", file=out)
    else:
        print(f"{len(found)} difference{'s' if len(found) != 1 else ''} between meshtui's prediction for {who} and "
              f"{actual.dump.origin}:", file=out)
        for d in found:
            print(f"\n{d.kind.upper()} {d.name}  [{d.cause}]", file=out)
            print(f"  {d.explanation}", file=out)
            for path, left, right in d.fields:
                print(f"  {path or '(value)'}: predicted {left}, Envoy holds {right}", file=out)
    if unmodelled:
        counts = ", ".join(f"{n} {k}{'s' if n != 1 else ''}" for k, n in sorted(unmodelled.items()))
        print(f"\nnot modelled (Envoy holds them, meshtui does not generate them): {counts}", file=out)
    return 0
