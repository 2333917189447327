"""The control API under many faults: `fault add` latency (the AddFault call, end to end over
gRPC with the credential) as the number of active faults grows, on the demo mesh with the
control plane meshtui runs (pre-armed routes, journal on disk, one proxy translated).

    .venv/bin/python bench/control_api.py                   # 0, 500, 1000, 2000 faults
    .venv/bin/python bench/control_api.py --upto 4000 --step 1000 --sample 50

Faults go to the mesh's hosts in turn (every 2nd one narrowed to a subset), half aborts, half
delays, each with its own id. At each checkpoint it times `--sample` adds (then removes them,
so the count stays put) and prints median / p90 / max, plus the server-side share (add_edit:
validation, dry run, translate, pack). Issue 12 measured 4 ms at 0 faults and 237 ms at 2,000.
Prints figures; asserts nothing."""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

HOSTS = [("reviews.default.svc.cluster.local", ("v1", "v2", "v3")), ("ratings.default.svc.cluster.local", ("v1",)),
         ("details.default.svc.cluster.local", ()), ("productpage.default.svc.cluster.local", ())]


def request(i: int) -> dict:
    host, subsets = HOSTS[i % len(HOSTS)]
    req: dict = {"host": host, "percent": 1 + i % 50, "ttl": "1h", "reason": f"bench {i}"}
    if subsets and i % 2:
        req["subset"] = subsets[(i // 2) % len(subsets)]
    if i % 3:
        req["abort"] = 500 + i % 4
    else:
        req["delay"] = f"{1 + i % 200}ms"
    return req


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--upto", type=int, default=2000)
    ap.add_argument("--checkpoints", default="0,500,1000,2000")
    ap.add_argument("--sample", type=int, default=30, help="timed adds per checkpoint")
    args = ap.parse_args()

    from meshtui.demo.session import DemoSession
    from meshtui.heap import settle
    from meshtui.sources.loader import load_sources
    from meshtui.translate import TranslateOptions
    from meshtui.xds.control_api import ControlClient
    from meshtui.xds.control_plane import ControlPlane
    from meshtui.xds.credentials import Authenticator, load_or_create_token
    from meshtui.xds.journal_file import JournalFile
    from meshtui.xds.loop_thread import LoopThread
    from meshtui.xds.translator import MeshTranslator

    tmp = Path(tempfile.mkdtemp(prefix="meshtui-bench-api-"))
    snap = load_sources([str(Path(DemoSession.__init__.__code__.co_filename).parent / "mesh")]).snapshot
    proxy = next(w.ref for w in snap.workloads if w.labels.get("app") == "productpage")
    translator = MeshTranslator(snap, {proxy: TranslateOptions(proxy_type="sidecar")}.get)
    token_file = tmp / "token"
    cp = ControlPlane(translator, journal=JournalFile(tmp / "journal.jsonl"),
                      auth=Authenticator(load_or_create_token(token_file)))
    loop = LoopThread()
    addr = loop.run(cp.start("127.0.0.1:0"))
    loop.call(cp.add_proxy, proxy)
    settle(collect=True)
    client = ControlClient(addr, token_file=str(token_file), timeout=30)
    server_side: list[float] = []
    real_add = cp.add_edit

    def timed_add(edit, **kw):
        t0 = time.perf_counter()
        try:
            return real_add(edit, **kw)
        finally:
            server_side.append(time.perf_counter() - t0)

    cp.add_edit = timed_add  # type: ignore[method-assign]  # wrapped to time each call
    checkpoints = sorted({int(x) for x in args.checkpoints.split(",") if x} | set())
    print(f"demo mesh, proxy {proxy}; AddFault over gRPC; {args.sample} timed adds per checkpoint")
    print(f"{'faults':>7}  {'median':>8}  {'p90':>8}  {'max':>8}  {'server median':>13}")
    n = 0
    for cpnt in checkpoints:
        while n < cpnt:
            client.call("AddFault", request(n))
            n += 1
        lat: list[float] = []
        server_side.clear()
        added = []
        for j in range(args.sample):
            t0 = time.perf_counter()
            view = client.call("AddFault", request(100_000 + j))
            lat.append(time.perf_counter() - t0)
            added.append(view["id"])
        srv = list(server_side)
        for fid in added:
            client.call("RemoveEdit", {"id": fid})
        lat.sort()
        print(f"{cpnt:>7}  {statistics.median(lat) * 1000:>6.1f}ms  {lat[int(len(lat) * 0.9) - 1] * 1000:>6.1f}ms  "
              f"{lat[-1] * 1000:>6.1f}ms  {statistics.median(srv) * 1000:>11.1f}ms", flush=True)
    client.close()
    loop.run(cp.stop(0))
    loop.stop()


if __name__ == "__main__":
    main()
