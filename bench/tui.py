"""TUI benchmark: start to first paint on bookinfo, and keystroke to updated trace on a
1,000-service synthetic mesh.

    .venv/bin/python bench/tui.py [--services 1000] [--keys 30] [--no-tmux]

Figures:
  * first paint, real binary: `meshtui -f fixtures/bookinfo` spawned in a tmux pane until the
    resource tree with the objects is on screen (process start, imports, load, analysis start,
    render), median of 5. Needs tmux.
  * first paint, in process: MeshtuiApp constructed -> the loaded objects painted (no interpreter
    start or imports), median of 5.
  * keystroke to updated trace: a character typed into the URL of the trace workbench -> the new
    trace on screen, on a 1,000-service mesh (5,500 objects); median and p90 over --keys presses.
    The first trace of a source translates its proxy (reported separately): typing only re-runs
    the simulation against the cached translation.

Targets (issue 4): first paint under 1 s; keystroke to trace under 50 ms. This script prints
figures; it never fails on them."""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ["MESHTUI_CONFIG_FILE"] = "/nonexistent/meshtui/config.yaml"
os.environ.setdefault("TEXTUAL_ANIMATIONS", "none")

BOOKINFO = "fixtures/bookinfo" if (ROOT / "fixtures/bookinfo").is_dir() else "meshtui/demo/mesh"


def p90(xs: list[float]) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, round(0.9 * (len(xs) - 1)))]


def first_paint_tmux(runs: int = 5) -> list[float] | None:
    if shutil.which("tmux") is None:
        return None
    meshtui = str(Path(sys.executable).parent / "meshtui")
    out = []
    for _ in range(runs):
        sock = f"meshtui-bench-{os.getpid()}-{uuid.uuid4().hex[:6]}"

        def tmux(*args: str, sock: str = sock) -> str:
            return subprocess.run(["tmux", "-L", sock, *args], capture_output=True, text=True, timeout=10).stdout

        t0 = time.perf_counter()
        tmux("-f", "/dev/null", "new-session", "-d", "-s", "b", "-x", "120", "-y", "36",
             f"cd {str(ROOT)!r} && exec env MESHTUI_CONFIG_FILE=/nonexistent TERM=xterm-256color "
             f"TEXTUAL_ANIMATIONS=none {meshtui} -f {BOOKINFO}")
        pid = None
        try:
            pid = int(tmux("display-message", "-p", "-t", "b", "#{pane_pid}").strip() or 0) or None
            deadline = t0 + 30
            while time.perf_counter() < deadline:
                screen = tmux("capture-pane", "-p", "-t", "b")
                if " objects" in screen and "VirtualServices" in screen:
                    out.append(time.perf_counter() - t0)
                    break
                time.sleep(0.005)
        finally:
            if pid:
                try:
                    os.kill(pid, 9)
                except ProcessLookupError:
                    pass
            tmux("kill-server")
    return out


async def _first_paint_in_process() -> float:
    from meshtui.sources.loader import load_sources
    from meshtui.tui.app import MeshtuiApp
    from meshtui.tui.config import TuiConfig
    from meshtui.tui.workspace import SourceInfo

    app = MeshtuiApp(load=lambda progress: load_sources([BOOKINFO]), source=SourceInfo("files", BOOKINFO),
                     config=TuiConfig(), cursor_blink=False)
    async with app.run_test(size=(120, 36)) as pilot:
        deadline = time.monotonic() + 30
        while app.first_data_paint is None and time.monotonic() < deadline:
            await pilot.pause(0.001)
        return app.first_data_paint or float("nan")


def synthetic_mesh(services: int) -> Path:
    spec = importlib.util.spec_from_file_location("bench_load", ROOT / "bench" / "load.py")
    assert spec is not None and spec.loader is not None, "bench/load.py is part of the repository"
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    folder = Path(tempfile.mkdtemp(prefix="meshtui-bench-tui-"))
    mod.generate(folder, services)
    return folder


async def _keystrokes(folder: Path, keys: int) -> dict:
    from meshtui.sources.loader import load_sources
    from meshtui.tui.app import MeshtuiApp
    from meshtui.tui.config import TuiConfig
    from meshtui.tui.tracing import TraceQuery
    from meshtui.tui.workspace import SourceInfo

    t = time.perf_counter()
    result = load_sources([str(folder)])
    load_s = time.perf_counter() - t
    snap = result.snapshot
    source = next(w.ref for w in snap.workloads if w.kind == "Pod")
    ns = source.split("/")[0]
    q = TraceQuery(source=source, url=f"http://svc-00010.{ns}:8080/api/v")
    app = MeshtuiApp(result=result, source=SourceInfo("files", "synthetic"), config=TuiConfig(), trace=q,
                     start_view="trace", analyze=False, cursor_blink=False)
    figures: dict = {"objects": len(snap.by_key), "load": load_s}
    async with app.run_test(size=(120, 36)) as pilot:
        t = time.perf_counter()
        deadline = time.monotonic() + 120
        while (app.last_trace is None or app.last_trace.query != q) and time.monotonic() < deadline:
            await pilot.pause(0.001)
        figures["first_trace"] = time.perf_counter() - t
        from textual import events

        screen = app.screen
        url = screen.query_one("#url")
        url.focus()
        await pilot.press("end")  # focusing selects the whole URL; the first key must not replace it
        await pilot.pause()
        # every frame the app renders ends in post_display_hook (also headless): the paint time
        frames: list[float] = []
        original_hook = app.post_display_hook

        def hook() -> None:
            frames.append(time.perf_counter())
            original_hook()

        app.post_display_hook = hook  # type: ignore[method-assign]  # the hook that records paint times
        shown, painted = [], []
        for i in range(keys):
            ch = str(i % 10)
            want = url.value + ch
            # the key goes in the way a terminal's would (no Pilot round trip in the figure)
            t = time.perf_counter()
            app.post_message(events.Key(ch, ch))
            deadline = time.monotonic() + 10
            while not (app.last_trace is not None and app.last_trace.query.url == want) and time.monotonic() < deadline:
                await asyncio.sleep(0)
            t_shown = time.perf_counter()
            shown.append(t_shown - t)
            deadline = time.monotonic() + 5
            while not (frames and frames[-1] > t_shown) and time.monotonic() < deadline:
                await asyncio.sleep(0.0005)
            painted.append((frames[-1] if frames and frames[-1] > t_shown else time.perf_counter()) - t)
            await pilot.pause()
        figures["keys"] = shown
        figures["painted"] = painted
        figures["simulate"] = [app.engine.run(snap, TraceQuery(source=source, url=f"http://svc-00010.{ns}:8080/api/v{i}")).seconds
                               for i in range(20)]
    return figures


def main() -> int:
    ap = argparse.ArgumentParser(description="TUI benchmark (prints figures)")
    ap.add_argument("--services", type=int, default=1000)
    ap.add_argument("--keys", type=int, default=30)
    ap.add_argument("--no-tmux", action="store_true", help="skip the real-binary first paint")
    args = ap.parse_args()

    print(f"first paint on {BOOKINFO}")
    if not args.no_tmux:
        runs = first_paint_tmux()
        if runs:
            print(f"  real binary in tmux (spawn -> tree on screen): median {statistics.median(runs) * 1000:.0f} ms, "
                  f"max {max(runs) * 1000:.0f} ms over {len(runs)} runs   (target < 1000 ms)")
        else:
            print("  real binary: skipped (tmux missing or the screen never showed the tree)")
    inproc = [asyncio.run(_first_paint_in_process()) for _ in range(5)]
    print(f"  in process (app constructed -> objects painted): median {statistics.median(inproc) * 1000:.0f} ms")

    folder = synthetic_mesh(args.services)
    try:
        f = asyncio.run(_keystrokes(folder, args.keys))
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    keys, painted = f["keys"], f["painted"]
    print(f"keystroke to updated trace, {args.services} services ({f['objects']} objects; loaded in {f['load']:.2f} s)")
    print(f"  first trace of the source (translate + simulate): {f['first_trace'] * 1000:.0f} ms")
    print(f"  keystroke -> new trace in the widgets: median {statistics.median(keys) * 1000:.1f} ms, "
          f"p90 {p90(keys) * 1000:.1f} ms, max {max(keys) * 1000:.1f} ms over {len(keys)} keys   (target < 50 ms)")
    print(f"  keystroke -> frame painted with it: median {statistics.median(painted) * 1000:.1f} ms, "
          f"p90 {p90(painted) * 1000:.1f} ms")
    print(f"  of which simulate(): median {statistics.median(f['simulate']) * 1000:.2f} ms")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
