"""Cluster mode: how long 10,000 objects take from the API server into a snapshot.

The API server is the loopback test server (tests/cluster/fakeapi.py) in its own process, so
it does not share this interpreter; the client is the real kubernetes client. Prints figures;
asserts nothing about speed.

    python bench/cluster_list.py [--objects 10000] [--runs 3]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "tests" / "cluster"))

from fakeapi import write_kubeconfig  # noqa: E402 - importable after the sys.path lines above

from meshtui.cluster.source import open_cluster  # noqa: E402 - importable after the sys.path lines above


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--objects", type=int, default=10_000)
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args()

    server = subprocess.Popen([sys.executable, str(REPO / "tests" / "cluster" / "fakeapi.py"),
                               "--objects", str(args.objects), "--seconds", "600"],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        line = server.stdout.readline() if server.stdout else ""
        if not line:
            print("the test API server did not start", file=sys.stderr)
            return 1
        info = json.loads(line)
        with tempfile.TemporaryDirectory() as tmp:
            kc = write_kubeconfig(Path(tmp) / "kubeconfig", info["url"])
            lists, builds, totals = [], [], []
            n = 0
            for _ in range(max(1, args.runs)):
                t0 = time.perf_counter()
                with open_cluster(str(kc), timeout=30) as src:
                    docs = src.list()
                    t1 = time.perf_counter()
                    result = src.build(docs)
                    t2 = time.perf_counter()
                n = len(docs)
                lists.append(t1 - t0)
                builds.append(t2 - t1)
                totals.append(t2 - t0)
                errors = len(result.errors)
        print(f"cluster_list: {n} objects served ({info['objects']} on the server, Secrets never read), "
              f"{args.runs} runs")
        print(f"  discovery + list (raw JSON, 6 parallel lists, pages of 500): "
              f"median {statistics.median(lists):.2f} s, best {min(lists):.2f} s")
        print(f"  build_snapshot (the shared loader):                        "
              f"median {statistics.median(builds):.2f} s, best {min(builds):.2f} s")
        print(f"  total into a snapshot:                                     "
              f"median {statistics.median(totals):.2f} s, best {min(totals):.2f} s (target < 3 s)")
        print(f"  loader errors: {errors}")
    finally:
        if server.stdin:
            server.stdin.close()
        try:
            server.wait(10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait(5)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
