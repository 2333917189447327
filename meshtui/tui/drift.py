"""Drift between what meshtui pushed to a live proxy and what that proxy's Envoy holds, for the
proxies view: the Envoy admin endpoints the demo started are read in a worker thread."""

from __future__ import annotations

from dataclasses import dataclass, field

from meshtui.actual.drift import Drift, drift


@dataclass
class ProxyDrift:
    proxy: str
    found: list[Drift] = field(default_factory=list)
    unmodelled: dict[str, int] = field(default_factory=dict)
    error: str = ""

    @property
    def label(self) -> str:
        if self.error:
            return "unreadable"
        return "none" if not self.found else f"{len(self.found)} difference{'s' if len(self.found) != 1 else ''}"


def admin_for(control: object, proxy: str) -> str | None:
    """The Envoy admin address of a proxy the control plane started (the demo's), if any."""
    info = getattr(control, "info", None)
    if info is None:
        return None
    if proxy == getattr(info, "sidecar_proxy", None):
        return getattr(info, "envoy_admin", None) or None
    if proxy == getattr(info, "gateway_proxy", None):
        return getattr(info, "gateway_admin", None) or None
    return None


def proxy_drift(control: object, proxy: str) -> ProxyDrift | None:
    """What the proxy holds against what the control plane pushes to it; None when meshtui cannot
    reach that proxy's admin endpoint (a proxy it did not start)."""
    admin = admin_for(control, proxy)
    if admin is None:
        return None
    from meshtui.errors import MeshtuiError
    from meshtui.sources.envoy_dump import from_admin

    try:
        pushed = control.proxy_config(proxy)  # type: ignore[attr-defined]  # only the demo's control plane has an admin address (admin_for)
        actual = from_admin(f"http://{admin}", timeout=5.0)
        found, unmodelled = drift(pushed, actual.dump, pushed.envoy_resources(), actual.runtime)
    except MeshtuiError as exc:
        return ProxyDrift(proxy, error=str(exc))
    return ProxyDrift(proxy, found, unmodelled)
