"""security.istio.io checks (istio pkg/config/validation: ValidatePeerAuthentication).

AuthorizationPolicy and RequestAuthentication are not checked here yet: their objects load as
parsed (the analyzers read them as istioctl does)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import get_args

from meshtui.model.security import MtlsMode, PeerAuthentication
from meshtui.model.validate.common import Problem, port_range, selector

MODES: tuple[str, ...] = get_args(MtlsMode)


def peer_authentication(pa: PeerAuthentication) -> Iterator[Problem]:
    s = pa.spec
    if s.selector is not None:
        yield from selector(s.selector.match_labels, "spec.selector.matchLabels", "PeerAuthentication")
    ports = s.port_level_mtls
    if ports is None:
        return
    path = "spec.portLevelMtls"
    if not isinstance(ports, dict):
        yield path, "portLevelMtls must be a map from port number to mTLS settings"
        return
    if ports and (s.selector is None or not s.selector.match_labels):
        yield path, "mesh/namespace peer authentication cannot have port level mTLS"
    for key, value in ports.items():
        p = f"{path}.{key}"
        try:
            number = int(key)
        except (TypeError, ValueError):
            yield p, f"port must be a number, got {key!r}"
            continue
        yield from port_range(number, p)
        if value is None:
            continue
        if not isinstance(value, dict):
            yield p, "port level mTLS settings must be a map with a mode"
            continue
        unknown = sorted(str(k) for k in value if k != "mode")
        if unknown:
            yield f"{p}.{unknown[0]}", f"unknown field {unknown[0]!r} (port level mTLS has only mode)"
        mode = value.get("mode", "UNSET")
        if mode not in MODES:
            yield f"{p}.mode", f"mode must be one of {', '.join(MODES)}, got {mode!r}"
