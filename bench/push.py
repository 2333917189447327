"""Push latency of meshtui's control plane to a real Envoy: edit -> ACK and edit -> first changed
answer, median and p90, on the demo mesh and on a synthetic mesh of N services (default 1,000).

    .venv/bin/python bench/push.py                 # both scenarios, 20 toggles each
    .venv/bin/python bench/push.py --scenario demo --repeat 50
    .venv/bin/python bench/push.py --scenario synthetic --services 1000

The edit is a fault (abort 503 at 100 %) added, then removed, on one host. The control plane's
routes are pre-armed (a fault filter on every route reading per-route runtime keys), so the edit
is an RTDS push of the fault layer alone. "ACK" is the moment Envoy ACKs the last resource type
the edit changed (RTDS; RDS if a route config changed too); "effect"
is the send time of the first probe request that shows the new behaviour, from a separate
process sending one request every ~2 ms over keep-alive connections (CLOCK_MONOTONIC is shared
by processes). Server-side compute (translate + pack) is reported separately. Prints figures;
asserts nothing."""

from __future__ import annotations

import argparse
import http.client
import multiprocessing as mp
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def prober(addr: str, host: str, headers: dict, conn, interval: float = 0.002) -> None:
    """Runs in its own process: GET every `interval`, record (send time, status); on a message
    from the parent, send back what was recorded since the last one."""
    h, _, p = addr.rpartition(":")
    c = http.client.HTTPConnection(h, int(p), timeout=5)
    records: list[tuple[float, int]] = []
    nxt = time.monotonic()
    while True:
        if conn.poll():
            msg = conn.recv()
            if msg == "stop":
                return
            conn.send(records)
            records = []
        now = time.monotonic()
        if now < nxt:
            time.sleep(min(nxt - now, 0.0005))
            continue
        nxt = now + interval
        t = time.monotonic()
        try:
            c.request("GET", "/bench", headers={"Host": host, **headers})
            r = c.getresponse()
            r.read()
            records.append((t, r.status))
        except (OSError, http.client.HTTPException):
            c.close()
            c = http.client.HTTPConnection(h, int(p), timeout=5)


def pct(xs: list[float], q: float) -> float:
    xs = sorted(xs)
    if not xs:
        return float("nan")
    k = (len(xs) - 1) * q
    lo, hi = int(k), min(int(k) + 1, len(xs) - 1)
    return xs[lo] + (xs[hi] - xs[lo]) * (k - lo)


def fmt(xs: list[float]) -> str:
    if not xs:
        return "n/a"
    return f"{statistics.median(xs) * 1000:6.2f} / {pct(xs, 0.9) * 1000:6.2f} ms"


def run_toggles(loop, cp, proxy: str, fault_factory, probe_addr: str, host: str, headers: dict,
                repeat: int, settle: float = 0.05) -> dict[str, list[float]]:
    from meshtui.xds.resources import ROUTE, RUNTIME

    acks: list[tuple[float, str, str]] = []

    def on_event(e) -> None:
        if e.kind == "ack" and e.proxy == proxy:
            acks.append((e.mono, e.type, e.version))

    loop.call(cp.subscribe, on_event)
    ctx = mp.get_context("spawn")  # fork() with gRPC threads running can deadlock the child
    parent, child = ctx.Pipe()
    proc = ctx.Process(target=prober, args=(probe_addr, host, headers, child), daemon=True)
    proc.start()
    out: dict[str, list[float]] = {k: [] for k in ("on_ack", "on_effect", "off_ack", "off_effect", "compute")}
    try:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:  # wait until the prober answers
            parent.send("collect")
            if parent.poll(1.0) and parent.recv():
                break
        parent.send("collect")
        parent.recv()
        for _ in range(repeat):
            for phase in ("on", "off"):
                before = loop.call(lambda: {t: cp.cache.get(proxy).types[t].version for t in (ROUTE, RUNTIME)
                                            if t in cp.cache.get(proxy).types})
                t_edit = time.monotonic()
                if phase == "on":
                    view = loop.call(cp.add_edit, fault_factory())
                    fid = view["id"]
                else:
                    loop.call(cp.remove_edit, fid)
                t_set = time.monotonic()
                # the ACK that counts is the last type the edit changed, in push order (RTDS before
                # RDS): with pre-armed routes a fault is an RTDS push alone
                after = loop.call(lambda: {t: cp.cache.get(proxy).types[t].version for t in (ROUTE, RUNTIME)
                                           if t in cp.cache.get(proxy).types})
                rtype = ROUTE if after.get(ROUTE) != before.get(ROUTE) else RUNTIME
                short = "RDS" if rtype == ROUTE else "RTDS"
                version = after.get(rtype)
                deadline = time.monotonic() + 5
                while time.monotonic() < deadline and not any(
                        v == version and t == short and m >= t_edit for m, t, v in acks):
                    time.sleep(0.001)
                time.sleep(settle)
                parent.send("collect")
                recs = parent.recv()
                ack = next((m for m, t, v in acks if t == short and v == version and m >= t_edit), None)
                want = 503 if phase == "on" else 200
                eff = next((s for s, st in recs if s >= t_edit and st == want), None)
                if ack is not None:
                    out[f"{phase}_ack"].append(ack - t_edit)
                if eff is not None:
                    out[f"{phase}_effect"].append(max(0.0, eff - t_edit))
                out["compute"].append(t_set - t_edit)
                time.sleep(0.02)
    finally:
        parent.send("stop")
        proc.join(5)
        if proc.is_alive():
            proc.kill()
    return out


def report(name: str, res: dict[str, list[float]]) -> None:
    print(f"\n== {name} (median / p90 over {len(res['on_ack'])} toggles)")
    print(f"  edit -> ACK     add fault    {fmt(res['on_ack'])}")
    print(f"                  remove       {fmt(res['off_ack'])}")
    print(f"  edit -> effect  add fault    {fmt(res['on_effect'])}")
    print(f"                  remove       {fmt(res['off_effect'])}")
    print(f"  server compute (translate + pack + set) {fmt(res['compute'])}")
    both_ack = res["on_ack"] + res["off_ack"]
    both_eff = res["on_effect"] + res["off_effect"]
    print(f"  all edits: ACK {fmt(both_ack)}; effect {fmt(both_eff)}")


def bench_demo(repeat: int) -> None:
    from meshtui.demo.session import DemoSession
    from meshtui.edits.model import FaultEdit, FaultTarget
    from meshtui.xds.control_plane import new_edit_id
    from meshtui.xds.journal_file import JournalFile

    tmp = Path(tempfile.mkdtemp(prefix="meshtui-bench-"))
    s = DemoSession(journal=JournalFile(tmp / "journal.jsonl"), with_gateway=False, restore=False)
    info = s.start()
    try:
        def fault():
            return FaultEdit(id=new_edit_id("f"), target=FaultTarget(host="reviews.default.svc.cluster.local",
                                                                     subset="v2"),
                             percent=100, abort_status=503, ttl_seconds=600, created_at=time.time())
        res = run_toggles(s.loop, s.cp, info.sidecar_proxy, fault, info.listeners["9080"], "reviews",
                          {"end-user": "jason"}, repeat)
        report("demo mesh (productpage sidecar, fault on reviews v2)", res)
    finally:
        s.stop()


def synthetic_mesh(n: int, dirpath: Path) -> None:
    docs = []
    for i in range(n):
        ip = f"127.0.{20 + i // 250}.{i % 250 + 1}"
        docs.append(f"""apiVersion: v1
kind: Service
metadata: {{name: svc{i}, namespace: default}}
spec:
  selector: {{app: svc{i}}}
  ports: [{{name: http, port: 9080}}]
---
apiVersion: v1
kind: Pod
metadata: {{name: svc{i}-0, namespace: default, labels: {{app: svc{i}, version: v1}}}}
spec: {{containers: [{{name: c, ports: [{{containerPort: 9080}}]}}]}}
status: {{podIP: {ip}}}""")
    docs.append("""apiVersion: v1
kind: Pod
metadata: {name: client-0, namespace: default, labels: {app: client}}
spec: {containers: [{name: c}]}
status: {podIP: 127.0.19.1}""")
    (dirpath / "mesh.yaml").write_text("\n---\n".join(docs))


def bench_synthetic(n: int, repeat: int) -> None:
    from meshtui import heap
    from meshtui.demo.backends import Backend, Identity
    from meshtui.edits.model import FaultEdit, FaultTarget
    from meshtui.sources.loader import load_sources
    from meshtui.translate import TranslateOptions
    from meshtui.xds.bootstrap import ads_bootstrap
    from meshtui.xds.control_plane import ControlPlane, new_edit_id
    from meshtui.xds.envoy_process import EnvoyProcess
    from meshtui.xds.journal_file import JournalFile
    from meshtui.xds.loop_thread import LoopThread
    from meshtui.xds.translator import MeshTranslator

    tmp = Path(tempfile.mkdtemp(prefix="meshtui-bench-"))
    synthetic_mesh(n, tmp)
    t0 = time.monotonic()
    snap = load_sources([str(tmp)]).snapshot
    print(f"\nsynthetic mesh: {n} services loaded in {(time.monotonic() - t0) * 1000:.0f} ms")
    proxy = "default/client-0"
    bind = "127.0.19.250"
    opts = TranslateOptions(proxy_type="sidecar", bind_address=bind)
    loop = LoopThread()
    cp = ControlPlane(MeshTranslator(snap, {proxy: opts}.get), journal=JournalFile(tmp / "journal.jsonl"),
                      loopback_only=True, restore=False)
    backend = Backend(Identity("svc0", "v1", "svc0-0"), "127.0.20.1", 9080)

    async def boot():
        await backend.start()
        return await cp.start("127.0.0.1:0")

    addr = loop.run(boot())
    t0 = time.monotonic()
    loop.call(cp.add_proxy, proxy)
    print(f"first translate + pack for the proxy: {(time.monotonic() - t0) * 1000:.0f} ms")
    env = EnvoyProcess(ads_bootstrap(addr, proxy, admin_port=0), tmp / "envoy", name="client")
    try:
        t0 = time.monotonic()
        env.start(timeout=60)
        assert loop.run(cp.wait_synced(proxy, 60), 70)
        print(f"Envoy ready and synced in {(time.monotonic() - t0) * 1000:.0f} ms")
        heap.settle(collect=True)
        sizes = loop.call(lambda: {t: sum(len(a.value) for a in tr.resources.values())
                                   for t, tr in cp.cache.get(proxy).types.items()})
        print("snapshot sizes: " + ", ".join(f"{k.rsplit('.', 1)[-1]} {v // 1024} KiB" for k, v in sizes.items()))

        def fault():
            return FaultEdit(id=new_edit_id("f"), target=FaultTarget(host="svc0.default.svc.cluster.local"),
                             percent=100, abort_status=503, ttl_seconds=600, created_at=time.time())
        res = run_toggles(loop, cp, proxy, fault, f"{bind}:9080", "svc0", {}, repeat, settle=0.1)
        report(f"synthetic mesh, {n} services (one route config with {n} vhosts)", res)
    finally:
        env.stop()
        loop.run(cp.stop(0))
        loop.run(backend.stop())
        loop.stop()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--scenario", choices=("demo", "synthetic", "all"), default="all")
    ap.add_argument("--repeat", type=int, default=20)
    ap.add_argument("--services", type=int, default=1000)
    args = ap.parse_args()
    os.environ.setdefault("XDG_STATE_HOME", tempfile.mkdtemp(prefix="meshtui-bench-state-"))
    print(f"meshtui push benchmark: {os.cpu_count()} CPUs, Python {sys.version.split()[0]}")
    if args.scenario in ("demo", "all"):
        bench_demo(args.repeat)
    if args.scenario in ("synthetic", "all"):
        bench_synthetic(args.services, args.repeat)
    return 0


if __name__ == "__main__":
    sys.exit(main())
