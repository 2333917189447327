"""Run the Envoy oracle by hand on any sources, outside pytest:

    .venv/bin/python tests/envoy/oracle_run.py -f fixtures/bookinfo [--proxy NS/WORKLOAD]... [--show N]

For each proxy (default: every workload, identical configs once), meshtui's static bootstrap
runs in a real Envoy on a random 127.a.b.1 with echo backends; the generated requests go through
Envoy and through simulate. Prints the agreement count per proxy and the first N disagreements.
Exit status 0 when every request agrees, 1 otherwise."""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from oracle_cases import Case, distinct_proxies
from oracle_compare import run_probes
from oracle_echo import EchoPool
from oracle_envoy import OracleEnvoy
from oracle_requests import probes_for


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("-f", "--filename", action="append", required=True, help="a YAML file or folder (repeatable)")
    ap.add_argument("--proxy", action="append", default=[], help="NS/WORKLOAD (repeatable; default: all)")
    ap.add_argument("--show", type=int, default=10, help="disagreements to print per proxy")
    args = ap.parse_args(argv)
    case = Case("manual", tuple(args.filename), tuple(args.proxy))
    proxies, dups = distinct_proxies(case)
    total = agreed = 0
    with tempfile.TemporaryDirectory(prefix="meshtui-oracle-") as tmp:
        for name, cfg in proxies:
            pool = EchoPool()
            envoy = OracleEnvoy(cfg, pool, Path(tmp) / name.replace("/", "_"))
            try:
                envoy.start()
                probes, skipped = probes_for(cfg, envoy.rewired.listeners)
                res = run_probes(cfg, envoy, probes)
            finally:
                envoy.stop()
                pool.close()
            total += res.sent
            agreed += res.agreed
            outcomes = ", ".join(f"{k} {v}" for k, v in sorted(res.outcomes.items()))
            print(f"{name}: {res.agreed}/{res.sent} agree ({outcomes})")
            for s in skipped:
                print(f"  skipped: {s}")
            for d in res.disagreements[: args.show]:
                print("  " + str(d).replace("\n", "\n  "))
    print(f"total: {agreed}/{total} requests agree; {dups} proxies had a config identical to one already run")
    return 0 if agreed == total else 1


if __name__ == "__main__":
    raise SystemExit(main())
