"""Write the SVGs the README shows: resources, trace, what-if, game day, proxies, drift, a
request the server side denies, and the Gateway API (an HTTPRoute and a trace through it).

    make screenshots        (or: .venv/bin/python screenshots/make_screenshots.py [--size 120x34])

It runs `meshtui demo` for real (the bundled mesh, meshtui's xDS server, real Envoys), drives the
TUI headless the way a person would, and saves each view with App.save_screenshot. Nothing here
is drawn by hand; run it again after changing the TUI and the pictures follow."""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))

os.environ.setdefault("TEXTUAL_ANIMATIONS", "none")
os.environ["MESHTUI_CONFIG_FILE"] = "/nonexistent/meshtui/config.yaml"  # the defaults, not yours

from meshtui.tui.app import MeshtuiApp
from meshtui.tui.config import TuiConfig
from meshtui.tui.tracing import TraceQuery
from meshtui.tui.workspace import SourceInfo


async def settle(pilot, rounds: int = 3) -> None:
    for _ in range(rounds):
        await pilot.pause()
        await pilot.app.workers.wait_for_complete()
    await pilot.pause()


async def until(pilot, predicate, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        await pilot.pause(0.05)
    raise SystemExit("screenshots: the app did not reach the expected state in time")


async def loaded(pilot, theme: str) -> None:
    """The app in `theme`, its sources loaded and analysed."""
    app = pilot.app
    app.theme = theme
    await settle(pilot)
    await until(pilot, lambda: app.workspace is not None and app.workspace.findings is not None)


async def object_then_trace(pilot, key: tuple[str, str, str], query: TraceQuery, save) -> None:
    """The resources view on `key` (its YAML and what it relates to), saved as "resources"; then
    the trace view once `query` has run, its steps focused, saved as "trace"."""
    app = pilot.app
    app.screen.go_to(key)
    await settle(pilot)
    save("resources")
    await pilot.press("2")
    await until(pilot, lambda: app.last_trace is not None and app.last_trace.query == query)
    app.screen.query_one("#steps").focus()
    await settle(pilot)
    save("trace")


async def shoot(demo, out: Path, size: tuple[int, int], theme: str) -> list[Path]:
    sidecar = demo.info.sidecar_proxy
    jason = TraceQuery(source=sidecar, url="http://reviews:9080/reviews/1", headers=("end-user: jason",))
    app = MeshtuiApp(demo=demo, source=SourceInfo("demo", "meshtui demo (bundled bookinfo, live Envoys)"),
                     config=TuiConfig(), trace=jason, cursor_blink=False)
    written: list[Path] = []

    def save(name: str) -> None:
        path = out / f"{name}.svg"
        app.save_screenshot(filename=path.name, path=str(out))
        written.append(path)

    async with app.run_test(size=size) as pilot:
        await loaded(pilot, theme)

        # resources: the reviews VirtualService, its YAML and what it is related to; trace:
        # jason's request, routed to reviews v2, the matched rule highlighted
        await object_then_trace(pilot, ("VirtualService", "default", "reviews"), jason, save)

        # what-if: jason's match changed to alice: his requests fall to the 80/20 rule
        await pilot.press("3")
        await settle(pilot)
        wi = app.screen
        wi.edit(("VirtualService", "default", "reviews"))
        await until(pilot, lambda: wi.before is not None)
        editor = wi.query_one("#wi-editor")
        editor.load_text(editor.text.replace("exact: jason", "exact: alice"))
        await until(pilot, lambda: wi.after is not None and wi.after.trace is not None
                    and wi.after.trace.route_name == "default")
        wi.query_one("#wi-diff").focus()
        await settle(pilot)
        save("whatif")

        # game day: a live fault on the reviews default rule, pushed and ACKed, then real traffic
        demo.add_fault(virtual_service="default/reviews", rule=1, abort=503, percent=50, ttl=600,
                       reason="game day: does productpage degrade gracefully?")
        await pilot.press("4")
        gd = app.screen
        await until(pilot, lambda: any(f.get("state") == "active" and set((f.get("proxies") or {}).values()) == {"acked"}
                                       for f in gd.faults))
        gd.query_one("#gd-faults").focus()
        await pilot.press("p")
        await until(pilot, lambda: "503" in gd.probe_text.plain)
        await settle(pilot)
        save("gameday")

        # proxies: the connected Envoys and their sync state, then one proxy's routes
        await pilot.press("5")
        px = app.screen
        await until(pilot, lambda: px.query_one("#px-connected").row_count >= 1)
        await settle(pilot)
        save("proxies")
        px.query_one("#px-connected").focus()
        await pilot.press("enter")
        await settle(pilot)
        pc = app.screen
        pc.query_one("#pc-tabs").active = "pc-tab-routes"
        await until(pilot, lambda: pc.query_one("#pc-routes").row_count > 0)
        pc.query_one("#pc-routes").focus()
        await settle(pilot)
        save("proxy-config")

        # what the sidecar's Envoy really holds, read from its admin endpoint, against what was pushed
        pc.query_one("#pc-tabs").active = "pc-tab-drift"
        await until(pilot, lambda: pc.query_one("#pc-drift").row_count > 0)
        pc.query_one("#pc-drift").focus()
        await settle(pilot)
        save("proxy-drift")
    demo.clear_faults()
    return written


async def shoot_denied(out: Path, size: tuple[int, int], theme: str) -> list[Path]:
    """A request the server sidecar denies: jason's call to reviews under fixtures/security's
    DENY policy, the trace ending at the RBAC policy and rule (files, no demo needed)."""
    from meshtui.sources.loader import load_sources

    files = [str(ROOT / "fixtures" / "bookinfo"), str(ROOT / "fixtures" / "security" / "deny-jason.yaml")]
    query = TraceQuery(source="default/productpage-v1", url="http://reviews:9080/reviews/1", headers=("end-user: jason",))
    app = MeshtuiApp(result=load_sources(files), source=SourceInfo("files", "fixtures/bookinfo + fixtures/security/deny-jason.yaml"),
                     config=TuiConfig(), trace=query, start_view="trace", cursor_blink=False, watch=False)
    async with app.run_test(size=size) as pilot:
        app.theme = theme
        await settle(pilot)
        await until(pilot, lambda: app.last_trace is not None and app.last_trace.query == query)
        steps = app.screen.query_one("#steps")
        steps.focus()
        await settle(pilot)
        # the step that decided: the DENY policy's rule, its YAML beside it
        final = next((i for i, st in enumerate(app.last_trace.trace.steps)
                      if st.stage == "authorization" and st.verdict == "final"), None)
        if final is not None:
            steps.highlighted = final
            await settle(pilot)
        app.save_screenshot(filename="trace-denied.svg", path=str(out))
    return [out / "trace-denied.svg"]


async def shoot_gatewayapi(out: Path, size: tuple[int, int], theme: str) -> list[Path]:
    """The Kubernetes Gateway API (fixtures/gatewayapi/mesh, files, no demo needed): an HTTPRoute
    with a cross-namespace backend and the ReferenceGrant that allows it, then a canary request
    through the Gateway's proxy, the steps pointing at the HTTPRoute rules."""
    from meshtui.sources.loader import load_sources

    query = TraceQuery(source="infra/public-istio", gateway=True, url="http://shop.example.com/api/users",
                       headers=("x-canary: true",))
    app = MeshtuiApp(result=load_sources([str(ROOT / "fixtures" / "gatewayapi" / "mesh")]),
                     source=SourceInfo("files", "fixtures/gatewayapi/mesh"), config=TuiConfig(), trace=query,
                     cursor_blink=False, watch=False)
    written: list[Path] = []

    def save(name: str) -> None:
        path = out / f"gatewayapi-{name}.svg"
        app.save_screenshot(filename=path.name, path=str(out))
        written.append(path)

    async with app.run_test(size=size) as pilot:
        await loaded(pilot, theme)
        await object_then_trace(pilot, ("HTTPRoute", "shop", "checkout"), query, save)
    return written


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size", default="120x34", help="terminal size, COLSxROWS (default 120x34)")
    ap.add_argument("--theme", default="meshtui-dark", help="meshtui-dark (default) or meshtui-light")
    ap.add_argument("--out", default=str(HERE), help="folder for the SVGs (default: screenshots/)")
    args = ap.parse_args()
    cols, _, rows = args.size.partition("x")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)

    from meshtui.demo.session import DemoSession
    from meshtui.xds.journal_file import JournalFile

    tmp = Path(tempfile.mkdtemp(prefix="meshtui-screenshots-"))
    demo = DemoSession(journal=JournalFile(tmp / "journal.jsonl"), workdir=tmp / "work", restore=False)
    print("screenshots: starting the demo (backends, xDS server, Envoys)...", file=sys.stderr)
    try:
        demo.start(timeout=60)
        written = asyncio.run(shoot(demo, out, (int(cols), int(rows)), args.theme))
    finally:
        demo.stop()
    written += asyncio.run(shoot_denied(out, (int(cols), int(rows)), args.theme))
    written += asyncio.run(shoot_gatewayapi(out, (int(cols), int(rows)), args.theme))
    for p in written:
        print(p.relative_to(ROOT) if p.is_relative_to(ROOT) else p)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
