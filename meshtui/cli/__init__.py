"""The `meshtui` command: one module per subcommand, dispatched here.

Each command module exposes `NAME`, `HELP`, `configure(parser)` and `run(args) -> int`.
Exit codes and message style follow docs/CONTRACT.md: data on stdout, diagnostics on stderr,
and never a traceback for a user (an internal error prints where to report it).
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
import traceback
from collections.abc import Sequence
from typing import NoReturn

from meshtui.errors import EXIT_INTERNAL, EXIT_USAGE, MeshtuiError

# command name -> module under meshtui.cli
COMMANDS: dict[str, str] = {
    "tui": "tui_cmd",
    "demo": "demo_cmd",
    "trace": "trace_cmd",
    "analyze": "analyze_cmd",
    "proxy-config": "proxy_config_cmd",
    "serve": "serve_cmd",
    "fault": "fault_cmd",
    "scope": "scope_cmd",
    "envoy-bootstrap": "bootstrap_cmd",
    "journal": "journal_cmd",
}

# one-line summaries for `meshtui --help`, so it need not import every command
SUMMARIES: dict[str, str] = {
    "tui": "the terminal UI (the default when no command is given)",
    "demo": "the embedded demo: bundled mesh, real Envoys on meshtui's xDS server, the TUI",
    "trace": "where this request goes, and why",
    "analyze": "find configuration problems (istioctl-compatible IST codes, meshtui's MT codes)",
    "proxy-config": "the Envoy config meshtui generates for a proxy",
    "serve": "run meshtui's xDS control plane and control API (headless)",
    "fault": "add, list, remove or clear live faults",
    "scope": "replace a Sidecar's egress scope live",
    "envoy-bootstrap": "print an Envoy bootstrap for a proxy",
    "journal": "export the game-day journal as a timeline",
}

REPORT_URL = "the meshtui issue tracker"


class _Parser(argparse.ArgumentParser):
    """argparse that raises instead of exiting, so main() owns every exit code."""

    def error(self, message: str) -> NoReturn:
        raise _ArgError(f"{self.prog}: {message}\n{self.format_usage().strip()}")


class _ArgError(Exception):
    pass


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    """The argument parser. With `only`, just that command's module is imported and configured
    (the others are listed for --help with their one-line summary): start-up stays fast."""
    parser = _Parser(prog="meshtui", description="A terminal debugger for Istio service meshes.")
    parser.add_argument("--version", action="store_true", help="print the version and exit")
    sub = parser.add_subparsers(dest="command", parser_class=_Parser)
    for name, modname in COMMANDS.items():
        if only is not None and name != only:
            sub.add_parser(name, help=SUMMARIES.get(name, ""))
            continue
        mod = importlib.import_module(f"meshtui.cli.{modname}")
        p = sub.add_parser(name, help=mod.HELP, description=mod.HELP)
        mod.configure(p)
        p.set_defaults(_run=mod.run)
    return parser


def _unknown_command(word: str) -> str:
    """A mistyped command: the nearest command names, not the TUI's usage."""
    import difflib

    near = difflib.get_close_matches(word, list(COMMANDS), n=2, cutoff=0.6)
    hint = f" (did you mean {' or '.join(near)}?)" if near else ""
    return f"meshtui: unknown command {word!r}{hint}; the commands are {', '.join(COMMANDS)} (meshtui --help)"


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        if argv and not argv[0].startswith("-") and argv[0] not in COMMANDS:
            raise _ArgError(_unknown_command(argv[0]))
        # `meshtui -f x` (no command) is the TUI.
        if not argv or (argv[0] not in COMMANDS and argv[0] not in ("-h", "--help", "--version")):
            argv = ["tui", *argv]
        parser = build_parser(only=argv[0] if argv[0] in COMMANDS else None)
        args = parser.parse_args(argv)
        if args.version:
            from meshtui import __version__

            print(f"meshtui {__version__}")
            return 0
        if not getattr(args, "_run", None):
            parser.print_help(sys.stderr)
            return EXIT_USAGE
        return int(args._run(args) or 0)
    except _ArgError as exc:
        print(str(exc), file=sys.stderr)
        return EXIT_USAGE
    except MeshtuiError as exc:
        print(f"meshtui: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # `meshtui ... | head`: the reader went away; nothing to report.
        try:
            sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - silence the flush at exit
        except OSError:
            pass
        return 0
    except Exception:  # noqa: BLE001 - the last line of defence: a bug, said as such
        if os.environ.get("MESHTUI_DEBUG"):
            traceback.print_exc()
        exc_type, err, tb = sys.exc_info()
        frames = traceback.extract_tb(tb)
        where = f"{frames[-1].filename}:{frames[-1].lineno}" if frames else "?"
        print(
            f"meshtui: internal error: {exc_type.__name__ if exc_type else '?'}: {err} (at {where}).\n"
            f"This is a bug in meshtui; please report it to {REPORT_URL} with the command you ran.\n"
            "Set MESHTUI_DEBUG=1 to see the full traceback.",
            file=sys.stderr,
        )
        return EXIT_INTERNAL


def entry() -> NoReturn:
    """The `meshtui` command: main(), then an exit that leaves the heap to the operating system.
    A snapshot of 10,000 services is hundreds of thousands of objects, and freeing them one by one
    as the interpreter shuts down took a tenth of a second after a trace and seconds after the TUI,
    for nothing: every file is closed and every child stopped before main() returns. Only the
    standard streams still hold output."""
    code = main()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):  # a closed pipe (`meshtui ... | head`): nothing left to say
            pass
    os._exit(code)
