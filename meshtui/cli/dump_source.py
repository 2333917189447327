"""The CLI's flags for what Envoy actually holds (`--config-dump`, `--envoy-admin`, or the pod
through port-forward with `--cluster`); the reading itself is meshtui.sources.envoy_dump."""

from __future__ import annotations

import argparse

from meshtui.actual.dump import to_proxy_config
from meshtui.errors import UsageError
from meshtui.model.snapshot import MeshSnapshot
from meshtui.sources.envoy_dump import ActualConfig, from_admin, from_file, from_pod
from meshtui.translate.config import ProxyConfig


def add_actual_flags(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("what Envoy actually holds")
    g.add_argument("--config-dump", metavar="FILE", help="an Envoy config dump (admin /config_dump?include_eds, or "
                   "`istioctl proxy-config all -o json`); - for stdin")
    g.add_argument("--envoy-admin", metavar="URL", help="an Envoy admin endpoint on loopback, e.g. http://127.0.0.1:15000")


def wants_actual(args: argparse.Namespace) -> bool:
    return bool(getattr(args, "config_dump", None) or getattr(args, "envoy_admin", None))


def load_actual(args: argparse.Namespace) -> ActualConfig:
    """The dump the flags name, or a usage error that says which flags give one."""
    if getattr(args, "config_dump", None) and getattr(args, "envoy_admin", None):
        raise UsageError("give one of --config-dump and --envoy-admin")
    if getattr(args, "config_dump", None):
        return from_file(args.config_dump)
    if getattr(args, "envoy_admin", None):
        return from_admin(args.envoy_admin, float(getattr(args, "request_timeout", None) or 10.0))
    raise UsageError("say where Envoy's config comes from: --config-dump FILE or --envoy-admin URL")


def actual_for(args: argparse.Namespace, predicted: ProxyConfig) -> ActualConfig:
    if wants_actual(args):
        return load_actual(args)
    if getattr(args, "cluster", False) or getattr(args, "context", None):
        wl = predicted.proxy.workload_ref
        if wl is None or wl.kind != "Pod" or wl.synthesized:
            raise UsageError("what Envoy holds on a cluster is read from a pod's Envoy: name a Pod (NS/POD), not a template")
        from meshtui.cluster.http import new_api_client

        api, _ = new_api_client(getattr(args, "kubeconfig", None), getattr(args, "context", None))
        return from_pod(api, wl.namespace, wl.name, float(getattr(args, "request_timeout", None) or 10.0))
    raise UsageError("say where Envoy's config comes from: --config-dump FILE, --envoy-admin URL, or --cluster "
                     "with the proxy's pod (a pod's Envoy admin through port-forward)")


def actual_config(actual: ActualConfig, snapshot: MeshSnapshot, predicted: ProxyConfig) -> ProxyConfig:
    """The dump as a ProxyConfig, seen as the predicted proxy (its namespace decides DNS)."""
    cfg = to_proxy_config(actual.dump, snapshot, actual.runtime, predicted.proxy)
    cfg.sidecar_scope_reason = "the Sidecar scope istiod applied is not visible in a config dump, only its result"
    if not actual.runtime_known:
        cfg.notes.append("a config dump file carries no runtime: faults driven by runtime keys show their defaults")
    return cfg
