"""Game-day edits as data. An edit is an overlay: snapshot + edits = a new snapshot, and
reverting is dropping the edit. Times are epoch seconds passed in by the caller (the core never
reads the clock)."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class FaultTarget:
    """Either one VirtualService rule (`virtual_service` = "ns/name", `rule` = index into
    spec.http, None = every rule of that VS) or a host (FQDN) optionally narrowed to a subset:
    then every route with a destination on that host/subset gets the fault, VS-owned or default."""

    virtual_service: str | None = None
    rule: int | None = None
    host: str | None = None
    subset: str | None = None

    def describe(self) -> str:
        if self.virtual_service:
            return f"vs/{self.virtual_service}" + (f" rule {self.rule}" if self.rule is not None else "")
        return f"host/{self.host}" + (f" subset {self.subset}" if self.subset else "")


@dataclass(frozen=True, slots=True)
class FaultEdit:
    id: str
    target: FaultTarget
    percent: float  # 0..100
    abort_status: int | None = None  # HTTP status for an abort
    delay_seconds: float | None = None  # fixed delay
    ttl_seconds: float = 600.0
    created_at: float = 0.0
    reason: str = ""
    owner: str = ""

    @property
    def kind(self) -> str:
        return "abort" if self.abort_status is not None else "delay"

    @property
    def expires_at(self) -> float:
        return self.created_at + self.ttl_seconds

    def runtime_key(self, what: str) -> str:
        """The Envoy runtime key that holds this fault's live percentage (`abort_percent` or
        `delay_percent`). The pushed route config defaults it to 0; a TTL'd runtime layer sets it,
        so the fault dies with the layer if meshtui dies."""
        return f"meshtui.fault.{self.id}.{what}"


@dataclass(frozen=True, slots=True)
class ScopeEdit:
    """Replace the egress scope of the Sidecar that applies to `namespace` (and `workload_labels`
    when set) with `egress_hosts` and, if given, `outbound_traffic_policy` (ALLOW_ANY|REGISTRY_ONLY)."""

    id: str
    namespace: str
    egress_hosts: tuple[str, ...] = ()
    outbound_traffic_policy: str | None = None
    workload_labels: dict[str, str] = field(default_factory=dict)
    ttl_seconds: float | None = None
    created_at: float = 0.0
    reason: str = ""
    owner: str = ""

    @property
    def expires_at(self) -> float | None:
        return None if self.ttl_seconds is None else self.created_at + self.ttl_seconds


Edit = FaultEdit | ScopeEdit
