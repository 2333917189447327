"""What a proxy actually holds: an Envoy config dump read back into the same `ProxyConfig` the
tracer walks, and the drift between that and meshtui's prediction.

Pure like the rest of the core: the dump arrives as a parsed JSON document; reading it from a
file, an admin URL or a pod's port-forward is the CLI's job (`meshtui.cli.dump_source`)."""

from meshtui.actual.drift import Drift, DriftCause, drift
from meshtui.actual.dump import DumpError, parse_config_dump, parse_runtime

__all__ = ["Drift", "DriftCause", "DumpError", "drift", "parse_config_dump", "parse_runtime"]
