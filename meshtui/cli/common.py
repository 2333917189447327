"""Flags shared by the commands (CONTRACT.md 'Common flags') and the code that turns them into a
snapshot. Commands call add_source_flags() then load_sources()."""

from __future__ import annotations

import argparse
import os
import sys


def add_source_flags(p: argparse.ArgumentParser, output: tuple[str, ...] = ("table", "json", "yaml")) -> None:
    p.add_argument("-f", "--filename", action="append", default=[], metavar="PATH",
                   help="a YAML/JSON file, a folder (recursive), or - for stdin; repeatable")
    p.add_argument("--cluster", action="store_true", help="read from the cluster of the current kubeconfig context")
    p.add_argument("--kubeconfig", metavar="PATH", help="kubeconfig file, as kubectl")
    p.add_argument("--context", metavar="NAME", help="kubeconfig context (implies --cluster)")
    p.add_argument("-n", "--namespace", metavar="NS", default=None,
                   help="namespace for objects that have none (default 'default'); with --cluster, the namespace to read")
    p.add_argument("-A", "--all-namespaces", action="store_true", help="with --cluster, read every namespace")
    p.add_argument("--request-timeout", type=float, default=10.0, metavar="SECONDS",
                   help="with --cluster, how long to wait for the API server")
    if output:
        p.add_argument("-o", "--output", choices=output, default=output[0])
    add_color_flag(p)


def add_color_flag(p: argparse.ArgumentParser) -> None:
    p.add_argument("--color", choices=("auto", "always", "never"), default="auto")


def use_color(args: argparse.Namespace, stream=None) -> bool:
    mode = getattr(args, "color", "auto")
    if mode == "always":
        return True
    if mode == "never":
        return False
    stream = stream or sys.stdout
    return bool(stream.isatty()) and "NO_COLOR" not in os.environ and os.environ.get("TERM") != "dumb"
