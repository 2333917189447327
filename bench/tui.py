"""TUI benchmark (issue 15): first paint, keystroke to trace, filter and tree navigation on the
synthetic mesh of bench/scale_mesh.py at 1,000 / 5,000 / 10,000 services, side by side.

    .venv/bin/python bench/tui.py [--services 1000,5000,10000] [--runs 3] [--keys 20] [--no-tmux]

Per mesh size (each figure the median of --runs, keystroke figures the median and p90 of every
key of every run):
  * load: `load_sources` cold (parse, validate, index) and cached (meshtui/sources/snapshot_cache),
    in this process.
  * first paint after the snapshot is ready: MeshtuiApp(result=...) constructed -> the tree with
    the objects and the first object's YAML and related objects painted (a frame rendered after
    they are in the widgets), headless. The process is set as the app's own is once it has
    loaded (meshtui.heap.settle) and has imported the TUI's modules, as the real command has by
    the time the snapshot is ready.
  * cached run from the command (real binary, needs tmux): `meshtui -f DIR` spawned in a tmux pane
    with a warm snapshot cache and meshtui's bytecode written -> the object count on screen; also the CPU seconds the process had
    used by then (/proc), a figure a shared machine disturbs less than the wall clock.
  * keystroke -> updated trace: a character typed at the end of the trace workbench's URL -> the
    new trace in the widgets, and -> the frame painted with it.
  * filter keystroke -> repaint: `/` in the resources view, then one character at a time of a
    service name -> the tree rebuilt for the new filter and painted.
  * tree cursor -> detail: `down` in the resources tree -> the next object's YAML and related
    objects painted.

Targets (issue 15): first paint under 1.5 s after the snapshot is ready; cached run under 2 s from
the command; keystroke to trace under 50 ms; the filter responsive. This script prints figures; it
never fails on them. The snapshot cache it uses is a private temporary folder (XDG_CACHE_HOME)."""

from __future__ import annotations

import argparse
import asyncio
import gc
import importlib
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
os.environ["MESHTUI_CONFIG_FILE"] = "/nonexistent/meshtui/config.yaml"
os.environ.setdefault("TEXTUAL_ANIMATIONS", "none")
CACHE_HOME = ""  # main() makes a private one (importing this module makes nothing)

import scale_mesh  # noqa: E402 - bench/ on the path above

Figures = dict[str, list[float]]


def p90(xs: list[float]) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, round(0.9 * (len(xs) - 1)))]


def _cpu_seconds(pid: int) -> float:
    """utime + stime of a process, from /proc (0 when it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def cached_run_tmux(folder: Path, runs: int) -> tuple[list[float], list[float]] | None:
    """(wall seconds, CPU seconds) from spawning `meshtui -f folder` to the object count on screen."""
    if shutil.which("tmux") is None:
        return None
    walls: list[float] = []
    cpus: list[float] = []
    for i in range(runs + 1):  # the first run warms the cache (and the page cache); not counted
        sock = f"meshtui-bench-{os.getpid()}-{uuid.uuid4().hex[:6]}"

        def tmux(*args: str, sock: str = sock) -> str:
            return subprocess.run(["tmux", "-L", sock, *args], capture_output=True, text=True, timeout=10).stdout

        t0 = time.perf_counter()
        tmux("-f", "/dev/null", "new-session", "-d", "-s", "b", "-x", "120", "-y", "36",
             # -u PYTHONDONTWRITEBYTECODE: an installed meshtui has its bytecode; with the variable set
             # (as in some shells) every run compiled meshtui's modules again (~0.4 s); the first,
             # uncounted run writes it
             f"cd {str(ROOT)!r} && exec env -u PYTHONDONTWRITEBYTECODE PYTHONPATH={str(ROOT)!r} XDG_CACHE_HOME={CACHE_HOME!r} "
             f"MESHTUI_CONFIG_FILE=/nonexistent TERM=xterm-256color TEXTUAL_ANIMATIONS=none "
             f"{sys.executable} -m meshtui -f {str(folder)!r}")
        pid = None
        try:
            pid = int(tmux("display-message", "-p", "-t", "b", "#{pane_pid}").strip() or 0) or None
            deadline = t0 + 300
            while time.perf_counter() < deadline:
                screen = tmux("capture-pane", "-p", "-t", "b")
                if " objects" in screen:
                    if i:
                        walls.append(time.perf_counter() - t0)
                        cpus.append(_cpu_seconds(pid) if pid else float("nan"))
                    break
                time.sleep(0.01)
        finally:
            if pid:
                try:
                    os.kill(pid, 9)
                except ProcessLookupError:
                    pass
            tmux("kill-server")
    return walls, cpus


def _paint_recorder(app) -> list[float]:
    """Every frame the app renders ends in post_display_hook (also headless): the paint times."""
    frames: list[float] = []
    original_hook = app.post_display_hook

    def hook() -> None:
        frames.append(time.perf_counter())
        original_hook()

    app.post_display_hook = hook  # the hook that records paint times
    return frames


async def _until(cond: Callable[[], bool], timeout: float, step: float = 0.0) -> bool:
    deadline = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > deadline:
            return False
        await asyncio.sleep(step)
    return True


async def _painted_after(frames: list[float], t: float) -> float:
    await _until(lambda: bool(frames) and frames[-1] > t, 5, 0.0005)
    return frames[-1] if frames and frames[-1] > t else time.perf_counter()


def _app(result, **kw):
    from meshtui.tui.app import MeshtuiApp
    from meshtui.tui.config import TuiConfig
    from meshtui.tui.workspace import SourceInfo

    return MeshtuiApp(result=result, source=SourceInfo("files", "synthetic"), config=TuiConfig(), cursor_blink=False,
                      own_process=True, **kw)  # as run_app


async def _first_paint(result) -> tuple[float, float]:
    """Construction -> the tree and the selected object's detail painted: (wall seconds, CPU
    seconds of this thread, the UI's, which other processes on the machine disturb less)."""
    t0 = time.perf_counter()
    c0 = time.thread_time()
    app = _app(result)
    frames = _paint_recorder(app)
    async with app.run_test(size=(120, 36)) as pilot:
        screen = app.screen
        await _until(lambda: getattr(screen, "selected", None) is not None and app.first_data_paint is not None, 60)
        done = await _painted_after(frames, time.perf_counter())
        cpu = time.thread_time() - c0
        await pilot.pause()
        return done - t0, cpu


CPU: list[float] = []  # the CPU seconds (every thread of this process) of each key since the last reset


async def _type(app, frames: list[float], keys: list[str], shown: Callable[[str], bool]) -> tuple[list[float], list[float]]:
    """Each key posted as a terminal would send it; (key -> shown(key) true, key -> frame painted).
    The process CPU from the key to the frame goes to CPU (a figure the machine's other load
    disturbs less than the wall clock)."""
    from textual import events

    to_shown, to_paint = [], []
    for ch in keys:
        t = time.perf_counter()
        c = time.process_time()
        app.post_message(events.Key(ch, ch if len(ch) == 1 else None))
        await _until(lambda ch=ch: shown(ch), 10)
        t_shown = time.perf_counter()
        to_shown.append(t_shown - t)
        to_paint.append(await _painted_after(frames, t_shown) - t)
        CPU.append(time.process_time() - c)
        await asyncio.sleep(0.02)  # a person types: let the app idle between keys
    return to_shown, to_paint


async def _keystrokes(result, services: int, keys: int) -> Figures:
    from meshtui.tui.tracing import TraceQuery

    q = TraceQuery(source=scale_mesh.a_pod(services), url=scale_mesh.a_url(services).rsplit("/", 1)[0] + "/v")
    t = time.perf_counter()
    app = _app(result, trace=q, start_view="trace", analyze=False)
    out: Figures = {}
    async with app.run_test(size=(120, 36)) as pilot:
        await _until(lambda: app.last_trace is not None and app.last_trace.query == q, 120, 0.001)
        out["first_trace"] = [time.perf_counter() - t]  # from construction: the view, the translation, the trace
        url = app.screen.query_one("#url")
        url.focus()
        await pilot.press("end")  # focusing selects the whole URL; the first key must not replace it
        await pilot.pause()
        frames = _paint_recorder(app)
        want: dict[str, str] = {}

        def shown(ch: str) -> bool:
            return app.last_trace is not None and app.last_trace.query.url == want[ch]

        chars = [str(i % 10) for i in range(keys)]
        shown_t, paint_t = [], []
        CPU.clear()
        for ch in chars:  # one at a time: `want` is the URL after this key
            want[ch] = url.value + ch
            s, p = await _type(app, frames, [ch], shown)
            shown_t += s
            paint_t += p
        out["trace_shown"], out["trace_painted"], out["trace_cpu"] = shown_t, paint_t, list(CPU)
    return out


async def _resources(result, services: int) -> Figures:
    """Filter keystrokes and tree cursor moves in the resources view."""
    app = _app(result, analyze=False)
    out: Figures = {}
    async with app.run_test(size=(120, 36)) as pilot:
        screen = app.screen
        await _until(lambda: getattr(screen, "selected", None) is not None, 60)
        await pilot.pause()
        frames = _paint_recorder(app)
        # tree cursor: down, each time the next object's detail is shown
        from textual.widgets import Tree

        tree = screen.query_one(Tree)
        tree.focus()
        await pilot.pause()
        down_shown, down_paint = [], []
        CPU.clear()
        for _ in range(10):
            before = tree.cursor_line
            s, p = await _type(app, frames, ["down"], lambda _c, b=before: tree.cursor_line != b and (
                not isinstance(tree.cursor_node.data, tuple) or tree.cursor_node.data == screen.selected))
            down_shown += s
            down_paint += p
        out["down_shown"], out["down_painted"], out["down_cpu"] = down_shown, down_paint, list(CPU)
        # the filter: `/` then a service name typed a key at a time
        name = f"svc-{services // 2:05d}"
        app.action_command_line("/")
        await pilot.pause()
        typed = {"v": ""}

        def filtered(ch: str) -> bool:
            return screen.filter_text == typed["v"]

        f_shown, f_paint = [], []
        CPU.clear()
        for ch in name:
            typed["v"] += ch
            s, p = await _type(app, frames, [ch], filtered)
            f_shown += s
            f_paint += p
        out["filter_shown"], out["filter_painted"], out["filter_cpu"] = f_shown, f_paint, list(CPU)
        out["filter_matches"] = [float(len(screen._tree_nodes))]
    return out


def _median_ms(xs: list[float]) -> str:
    return f"{statistics.median(xs) * 1000:.0f}" if xs else "-"


def _keys_ms(xs: list[float]) -> str:
    return f"{statistics.median(xs) * 1000:.1f} / {p90(xs) * 1000:.1f}" if xs else "-"


def measure(services: int, runs: int, keys: int, use_tmux: bool) -> Figures:
    from meshtui import heap
    from meshtui.sources.loader import load_sources

    folder = Path(tempfile.mkdtemp(prefix=f"meshtui-bench-tui-{services}-"))
    try:
        objects, _ = scale_mesh.generate(folder, services)
        fig: Figures = {"objects": [float(objects)]}
        t = time.perf_counter()
        result = load_sources([str(folder)], cache=True)
        fig["load_cold"] = [time.perf_counter() - t]
        del result
        gc.collect()
        t = time.perf_counter()
        result = load_sources([str(folder)], cache=True)
        fig["load_cached"] = [time.perf_counter() - t]
        # as the app's load does (heap.settling): the snapshot frozen out of the collector's way,
        # young collections in batches of 100,000 (a bare gc.freeze() left CPython's 700, and
        # the first paint then paid collections over everything it made, which no user sees)
        heap.settle()
        # the real command imports the app and shows its first view before the snapshot is
        # ready ("loading …"); the figure starts with a loaded snapshot, so not with imports
        for module in ("meshtui.tui.app", "meshtui.tui.screens.resources", "textual.pilot"):
            importlib.import_module(module)
        paints = [asyncio.run(_first_paint(result)) for _ in range(runs)]
        fig["first_paint"], fig["first_paint_cpu"] = [w for w, _ in paints], [c for _, c in paints]
        for _ in range(runs):
            for k, v in asyncio.run(_keystrokes(result, services, keys)).items():
                fig.setdefault(k, []).extend(v)
            for k, v in asyncio.run(_resources(result, services)).items():
                fig.setdefault(k, []).extend(v)
        if use_tmux:
            got = cached_run_tmux(folder, runs)
            if got:
                fig["cached_run"], fig["cached_run_cpu"] = got
        return fig
    finally:
        shutil.rmtree(folder, ignore_errors=True)


ROWS = [
    ("objects", "objects", lambda xs: f"{xs[0]:.0f}"),
    ("load, cold (s)", "load_cold", lambda xs: f"{xs[0]:.2f}"),
    ("load, cached (s)", "load_cached", lambda xs: f"{xs[0]:.2f}"),
    ("first paint after the snapshot (ms; < 1500)", "first_paint", _median_ms),
    ("  ... CPU of the UI thread by then (ms)", "first_paint_cpu", _median_ms),
    ("cached run from the command, wall (ms; < 2000)", "cached_run", _median_ms),
    ("  ... CPU used by then (ms)", "cached_run_cpu", _median_ms),
    ("trace view opened -> first trace shown (ms)", "first_trace", _median_ms),
    ("key -> trace in widgets (ms, median / p90; < 50)", "trace_shown", _keys_ms),
    ("key -> trace painted (ms, median / p90)", "trace_painted", _keys_ms),
    ("  ... CPU per key (ms, median / p90)", "trace_cpu", _keys_ms),
    ("filter key -> tree rebuilt (ms, median / p90)", "filter_shown", _keys_ms),
    ("filter key -> painted (ms, median / p90)", "filter_painted", _keys_ms),
    ("  ... CPU per key (ms, median / p90)", "filter_cpu", _keys_ms),
    ("tree down -> detail (ms, median / p90)", "down_shown", _keys_ms),
    ("tree down -> painted (ms, median / p90)", "down_painted", _keys_ms),
    ("  ... CPU per key (ms, median / p90)", "down_cpu", _keys_ms),
]


def main() -> int:
    ap = argparse.ArgumentParser(description="TUI benchmark (prints figures)")
    ap.add_argument("--services", default="1000,5000,10000", help="comma-separated mesh sizes")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--keys", type=int, default=20)
    ap.add_argument("--no-tmux", action="store_true", help="skip the real-binary cached run")
    args = ap.parse_args()
    sizes = [int(s) for s in args.services.split(",") if s.strip()]
    global CACHE_HOME
    CACHE_HOME = tempfile.mkdtemp(prefix="meshtui-bench-tui-cache-")  # mkdtemp: 0700
    os.environ["XDG_CACHE_HOME"] = CACHE_HOME
    results: dict[int, Figures] = {}
    try:
        for n in sizes:
            print(f"measuring {n} services ...", file=sys.stderr, flush=True)
            results[n] = measure(n, args.runs, args.keys, not args.no_tmux)
            gc.unfreeze()
            gc.collect()
    finally:
        shutil.rmtree(CACHE_HOME, ignore_errors=True)
    head = f"| figure (median of {args.runs} runs) | " + " | ".join(f"{n:,} services" for n in sizes) + " |"
    print(head)
    print("| --- |" + " --- |" * len(sizes))
    for label, key, fmt in ROWS:
        cells = [fmt(results[n][key]) if results[n].get(key) else "-" for n in sizes]
        print(f"| {label} | " + " | ".join(cells) + " |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
