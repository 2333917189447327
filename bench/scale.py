"""Scale benchmark (issue 15): meshtui on meshes of 1,000 / 5,000 / 10,000 services, side by side.

    .venv/bin/python bench/scale.py [--sizes 1000,5000,10000] [--runs 3] [--skip tui,analyze] [--keep]

The mesh is bench/scale_mesh.py's (per service: Service, VirtualService of 3 rules, DestinationRule
with 2 subsets, 2 Pods; Sidecars in half the namespaces), one file per service. Each figure runs in
its own child process, so its peak RSS (os.wait4's rusage) is its own:

  bare parse       read every file + yaml.load_all(CSafeLoader), nothing else: the floor
  trace 1st        whole process `python -m meshtui trace -f DIR --from POD URL`, empty cache dir
  trace 2nd        the same command again (the snapshot cache is warm, if meshtui has one)
  load             load_sources() in process (read, parse with positions, validate, index)
  cold trace       the first trace from a proxy once the snapshot is loaded (translate what it
                   needs + simulate), in a namespace without a Sidecar (its scope is the mesh)
  full xlate       translate() of the whole sidecar config of a second such proxy
  xlate 1st/2nd    in a process of its own: translate() of one such proxy first thing after the
                   load (nothing translated before: it pays for what proxies share), then of a
                   second one (which reuses it)
  analyze          analyze(snapshot) after loading
  tui paint        MeshtuiApp given the loaded snapshot -> its objects painted (headless)
  tui key          a key typed into the trace URL -> the new trace shown (median over 20)

Times are CPU seconds (user + system) of the process doing the work, not wall time: the machine
this was written on is shared, and wall time there measured the neighbours (`os.getloadavg()`
is printed with the figures). The TUI figures are wall time (they wait for frames), each with
the process's CPU time beside it.

Targets: trace 1st <= 2.5x bare; trace 2nd < 1 s; RSS < 1 GB; cold trace < 50 ms; full xlate
< 1 s; tui paint < 1.5 s; tui key < 50 ms; analyze (50,000 resources) < 10 s. Figures only: this
script never fails on them."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import scale_mesh

# ---------------------------------------------------------------------------- children

# CPU seconds of this process: the machine is shared, and a busy neighbour stretches wall time
# but not the work done (the stages are single-threaded)
clock = time.process_time

def child_bare(folder: str) -> dict:
    import yaml

    from meshtui.sources.loader import expand_paths

    t = clock()
    n = 0
    for f in expand_paths([folder]):
        with open(f, encoding="utf-8") as fh:
            n += sum(1 for d in yaml.load_all(fh.read(), Loader=yaml.CSafeLoader) if d is not None)
    return {"seconds": clock() - t, "objects": n}


def _pick_proxies(services: int) -> tuple[str, str]:
    # two pods in namespaces without a Sidecar (even-numbered ones): scope = the whole mesh
    n_ns = scale_mesh.namespaces(services)
    return f"ns-000/svc-{0:05d}-v1-0", f"ns-002/svc-{2 % n_ns:05d}-v2-0"


def child_stages(folder: str, services: int, skip: set[str]) -> dict:
    from meshtui.heap import keeping, settling
    from meshtui.sources.loader import load_sources

    out: dict = {}
    t = clock()
    with settling():  # as the CLI loads (the collector off until the snapshot is frozen)
        result = load_sources([folder])
    out["load"] = clock() - t
    snap = result.snapshot
    out["objects"] = len(snap.by_key)
    p1, p2 = _pick_proxies(services)
    url = scale_mesh.a_url(services)
    from meshtui.cli.trace_cmd import build_trace

    t = clock()
    tr = build_trace(snap, p1, None, "GET", ["x-canary: true"], url)
    out["cold_trace"] = clock() - t
    out["trace_ok"] = bool(tr.to_json())
    t = clock()
    build_trace(snap, p1, None, "GET", [], url.replace("/api/", "/other/"))
    out["warm_trace"] = clock() - t
    from meshtui.translate import translate

    t = clock()
    with keeping():
        cfg = translate(snap, p2)
    cfg.envoy_resources() if hasattr(cfg, "envoy_resources") else None
    out["full_translate_render"] = clock() - t
    t = clock()
    with keeping():
        cfg = translate(snap, p1)
    out["full_translate"] = clock() - t
    out["routes"] = sum(len(vh.routes) for rc in cfg.route_configs.values() for vh in rc.virtual_hosts)
    if "analyze" not in skip:
        from meshtui.analyze import analyze

        t = clock()
        msgs = analyze(snap)
        out["analyze"] = clock() - t
        out["analyze_messages"] = len(msgs)
    return out


def child_first(folder: str, services: int) -> dict:
    """The first full sidecar translation in a fresh process, then a second proxy's."""
    from meshtui.heap import keeping, settling
    from meshtui.sources.loader import load_sources
    from meshtui.translate import translate

    with settling():
        result = load_sources([folder])
    snap = result.snapshot
    p1, p2 = _pick_proxies(services)
    t = clock()
    with keeping():  # as proxy-config, the TUI's proxy view and serve translate
        translate(snap, p2)
    first = clock() - t
    t = clock()
    with keeping():
        cfg = translate(snap, p1)
    second = clock() - t
    import resource

    return {"first_translate": first, "second_translate": second,
            "first_routes": sum(len(vh.routes) for rc in cfg.route_configs.values() for vh in rc.virtual_hosts),
            "first_peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


async def _tui(folder: str, services: int) -> dict:
    os.environ["MESHTUI_CONFIG_FILE"] = "/nonexistent/meshtui/config.yaml"
    os.environ.setdefault("TEXTUAL_ANIMATIONS", "none")
    from textual import events

    from meshtui.sources.loader import load_sources
    from meshtui.tui.app import MeshtuiApp
    from meshtui.tui.config import TuiConfig
    from meshtui.tui.tracing import TraceQuery
    from meshtui.tui.workspace import SourceInfo

    result = load_sources([folder])
    out: dict = {}
    app = MeshtuiApp(result=result, source=SourceInfo("files", folder), config=TuiConfig(), cursor_blink=False)
    cpu0 = clock()
    async with app.run_test(size=(120, 36)) as pilot:
        deadline = time.monotonic() + 600
        while app.first_data_paint is None and time.monotonic() < deadline:
            await pilot.pause(0.001)
        out["paint"] = app.first_data_paint
        # CPU of the whole process to the first paint (the analysis thread's share included): on
        # a machine shared with busy neighbours the wall time above mostly measures them
        out["paint_cpu"] = clock() - cpu0
    p1, _ = _pick_proxies(services)
    q = TraceQuery(source=p1, url=scale_mesh.a_url(services))
    app = MeshtuiApp(result=result, source=SourceInfo("files", folder), config=TuiConfig(), trace=q,
                     start_view="trace", analyze=False, cursor_blink=False)
    async with app.run_test(size=(120, 36)) as pilot:
        t = time.perf_counter()
        deadline = time.monotonic() + 120
        while (app.last_trace is None or app.last_trace.query != q) and time.monotonic() < deadline:
            await pilot.pause(0.001)
        out["first_trace"] = time.perf_counter() - t
        url = app.screen.query_one("#url")
        url.focus()
        await pilot.press("end")
        await pilot.pause()
        keys = []
        cpu0 = clock()
        for i in range(20):
            ch = str(i % 10)
            want = url.value + ch
            t = time.perf_counter()
            app.post_message(events.Key(ch, ch))
            deadline = time.monotonic() + 10
            while not (app.last_trace is not None and app.last_trace.query.url == want) and time.monotonic() < deadline:
                await asyncio.sleep(0)
            keys.append(time.perf_counter() - t)
            await pilot.pause()
        out["key"] = statistics.median(keys)
        out["key_cpu"] = (clock() - cpu0) / 20
    return out


def child_tui(folder: str, services: int) -> dict:
    return asyncio.run(_tui(folder, services))


# ---------------------------------------------------------------------------- parent

def run_child(argv: list[str], env: dict | None = None) -> tuple[float, float, str, int]:
    """(CPU seconds, peak RSS MB, stdout, exit code) of one child process. CPU (user + system)
    rather than wall time: on a shared machine the wall time mostly measures the neighbours."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        t = time.perf_counter()
        p = subprocess.Popen(argv, stdout=out, stderr=err, env=env, cwd=str(ROOT))
        _, status, ru = os.wait4(p.pid, 0)
        wall = time.perf_counter() - t
        last_wall[0] = wall
        cpu = ru.ru_utime + ru.ru_stime
        p.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        text = out.read().decode(errors="replace")
        if p.returncode != 0:
            sys.stderr.write(err.read().decode(errors="replace")[-2000:])
    return cpu, ru.ru_maxrss / 1024, text, p.returncode


last_wall = [0.0]


def child_env(**extra: str) -> dict:
    """The children's environment: this tree first, and bytecode as an installed meshtui has it
    (PYTHONDONTWRITEBYTECODE, set on some machines, would have every run compile every module
    again: half a second of each whole-process figure)."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env.update(PYTHONPATH=str(ROOT), **extra)
    return env


def compile_once() -> None:
    import compileall

    compileall.compile_dir(str(ROOT / "meshtui"), quiet=1)


def me(*args: str) -> list[str]:
    return [sys.executable, str(Path(__file__).resolve()), *args]


def measure(services: int, skip: set[str], keep: bool) -> dict:
    folder = Path(tempfile.mkdtemp(prefix=f"meshtui-scale-{services}-"))
    cache = Path(tempfile.mkdtemp(prefix="meshtui-scale-cache-"))
    fig: dict = {"services": services}
    try:
        t = time.perf_counter()
        objects, files = scale_mesh.generate(folder, services)
        fig["objects"], fig["files"] = objects, len(files)
        fig["megabytes"] = sum(f.stat().st_size for f in files) / 1e6
        print(f"[{services}] generated {objects} objects in {len(files)} files, {fig['megabytes']:.1f} MB "
              f"({time.perf_counter() - t:.1f} s)", flush=True)
        wall, rss, text, _ = run_child(me("--child", "bare", str(folder)))
        fig["bare"] = json.loads(text)["seconds"]
        fig["bare_rss"] = rss
        print(f"[{services}] bare parse {fig['bare']:.2f} s", flush=True)
        env = child_env(XDG_CACHE_HOME=str(cache), NO_COLOR="1")
        cmd = [sys.executable, "-m", "meshtui", "trace", "-f", str(folder), "--from", _pick_proxies(services)[0],
               "-H", "x-canary: true", scale_mesh.a_url(services)]
        for which in ("trace1", "trace2"):
            wall, rss, text, rc = run_child(cmd, env)
            fig[which], fig[which + "_rss"], fig[which + "_rc"], fig[which + "_wall"] = wall, rss, rc, last_wall[0]
            print(f"[{services}] {which} {wall:.2f} s CPU ({last_wall[0]:.2f} s wall), peak {rss:.0f} MB, exit {rc}", flush=True)
        fig["trace_out"] = text[-400:]
        wall, rss, text, rc = run_child(me("--child", "stages", str(folder), str(services), ",".join(skip)),
                                        child_env())
        if rc == 0:
            fig.update(json.loads(text.strip().splitlines()[-1]))
            fig["stages_rss"] = rss
            stages = {k: v for k, v in fig.items() if k in ("load", "cold_trace", "full_translate", "analyze")}
            print(f"[{services}] stages {json.dumps(stages)}", flush=True)
        if "first" not in skip:
            wall, rss, text, rc = run_child(me("--child", "first", str(folder), str(services)), child_env())
            if rc == 0:
                fig.update(json.loads(text.strip().splitlines()[-1]))
                fig["first_rss"] = rss
                print(f"[{services}] full translation, 1st proxy {fig['first_translate']:.2f} s, "
                      f"2nd {fig['second_translate']:.2f} s CPU", flush=True)
        if "tui" not in skip:
            wall, rss, text, rc = run_child(me("--child", "tui", str(folder), str(services)),
                                            child_env())
            if rc == 0:
                fig["tui"] = json.loads(text.strip().splitlines()[-1])
                print(f"[{services}] tui {fig['tui']}", flush=True)
    finally:
        if not keep:
            shutil.rmtree(folder, ignore_errors=True)
        else:
            print(f"[{services}] kept {folder}")
        shutil.rmtree(cache, ignore_errors=True)
    return fig


def median_of(runs: list[dict]) -> dict:
    """One figure per key: the median of the runs' numbers (nested dicts too), the first run's
    other values; `runs` keeps them all."""
    def merge(values: list) -> object:
        first = values[0]
        if isinstance(first, dict):
            return {k: merge([v.get(k) for v in values if isinstance(v, dict)]) for k in first}
        nums = [v for v in values if isinstance(v, int | float) and not isinstance(v, bool)]
        return statistics.median(nums) if nums and len(nums) == len(values) else first

    out = merge(runs)
    assert isinstance(out, dict)
    if len(runs) > 1:
        out["runs"] = runs
    return out


def table(figs: list[dict]) -> str:
    def ms(x: float | None) -> str:
        return "-" if x is None else (f"{x * 1000:.0f} ms" if x < 1 else f"{x:.2f} s")

    rows = [
        ("objects", lambda f: f"{f['objects']:,}", ""),
        ("bare CSafeLoader parse", lambda f: ms(f.get("bare")), "floor"),
        ("trace, whole process, 1st", lambda f: ms(f.get("trace1")), "<= 2.5x bare"),
        ("  ratio to bare", lambda f: f"{f['trace1'] / f['bare']:.2f}x", "<= 2.5x"),
        ("  wall time", lambda f: ms(f.get("trace1_wall")), ""),
        ("trace, whole process, 2nd", lambda f: ms(f.get("trace2")), "< 1 s"),
        ("  wall time", lambda f: ms(f.get("trace2_wall")), ""),
        ("peak RSS, 1st trace", lambda f: f"{f['trace1_rss']:.0f} MB", "< 1 GB"),
        ("peak RSS, 2nd trace", lambda f: f"{f['trace2_rss']:.0f} MB", ""),
        ("load_sources in process", lambda f: ms(f.get("load")), ""),
        ("cold first trace (loaded)", lambda f: ms(f.get("cold_trace")), "< 50 ms"),
        ("warm trace, same proxy", lambda f: ms(f.get("warm_trace")), ""),
        ("full sidecar translation", lambda f: ms(f.get("full_translate")), "< 1 s"),
        ("  1st in a fresh process", lambda f: ms(f.get("first_translate")), "< 1 s"),
        ("  2nd proxy after it", lambda f: ms(f.get("second_translate")), ""),
        ("analyze after parsing", lambda f: ms(f.get("analyze")), "< 10 s @50k"),
        ("TUI first paint (loaded)", lambda f: ms((f.get("tui") or {}).get("paint")), "< 1.5 s"),
        ("  CPU to first paint", lambda f: ms((f.get("tui") or {}).get("paint_cpu")), ""),
        ("TUI key -> trace, median", lambda f: ms((f.get("tui") or {}).get("key")), "< 50 ms"),
        ("  CPU per key", lambda f: ms((f.get("tui") or {}).get("key_cpu")), ""),
    ]
    head = f"{'':30s}" + "".join(f"{f['services']:>12,}" for f in figs) + "   target"
    lines = [head]
    for name, fn, target in rows:
        cells = []
        for f in figs:
            try:
                cells.append(fn(f))
            except (KeyError, TypeError, ZeroDivisionError):
                cells.append("-")
        lines.append(f"{name:30s}" + "".join(f"{c:>12s}" for c in cells) + f"   {target}")
    return "\n".join(lines)


def main() -> int:
    if len(sys.argv) > 2 and sys.argv[1] == "--child":
        which, folder = sys.argv[2], sys.argv[3]
        if which == "bare":
            print(json.dumps(child_bare(folder)))
        elif which == "stages":
            skip = set(sys.argv[5].split(",")) if len(sys.argv) > 5 else set()
            print(json.dumps(child_stages(folder, int(sys.argv[4]), skip)))
        elif which == "tui":
            print(json.dumps(child_tui(folder, int(sys.argv[4]))))
        elif which == "first":
            print(json.dumps(child_first(folder, int(sys.argv[4]))))
        return 0
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="1000,5000,10000")
    ap.add_argument("--skip", default="", help="comma-separated: tui, analyze, first")
    ap.add_argument("--keep", action="store_true", help="keep the generated folders")
    ap.add_argument("--json", metavar="FILE", help="also write the figures here")
    ap.add_argument("--runs", type=int, default=1, help="measure each size this many times; the table shows medians")
    args = ap.parse_args()
    skip = {s for s in args.skip.split(",") if s}
    compile_once()
    figs = [median_of([measure(int(n), skip, args.keep) for _ in range(args.runs)]) for n in args.sizes.split(",")]
    print()
    print(f"load average at the end: {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    print(table(figs))
    if args.json:
        Path(args.json).write_text(json.dumps(figs, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
