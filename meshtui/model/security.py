"""security.istio.io resources: PeerAuthentication, AuthorizationPolicy and RequestAuthentication
(v1 and v1beta1 share one schema). They decide the server side of a request: whether the server sidecar accepts the
connection (mTLS mode) and whether it lets the request through (authorization)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from meshtui.model.istio import Resource
from meshtui.model.schema import Node, fld

MtlsMode = Literal["UNSET", "DISABLE", "PERMISSIVE", "STRICT"]
AuthzAction = Literal["ALLOW", "DENY", "AUDIT", "CUSTOM"]


def _mode(v: str) -> str | None:
    return None if v in ("UNSET", "DISABLE", "PERMISSIVE", "STRICT") else \
        f"mode must be one of UNSET, DISABLE, PERMISSIVE, STRICT, got {v!r}"


@dataclass(frozen=True, kw_only=True)
class SecuritySelector(Node):
    match_labels: dict[str, str] = fld({})


@dataclass(frozen=True, kw_only=True)
class PeerAuthenticationMtls(Node):
    mode: str = fld("UNSET", check=_mode)


@dataclass(frozen=True, kw_only=True)
class PeerAuthenticationSpec(Node):
    selector: SecuritySelector | None = fld(None)
    mtls: PeerAuthenticationMtls | None = fld(None)
    # keyed by port number; YAML writes the keys as integers, which the typed mapping refuses
    port_level_mtls: Any = fld(None)

    def port_modes(self) -> dict[int, str]:
        """portLevelMtls as {port: mode}; keys that are not ports are left out (validation says so)."""
        out: dict[int, str] = {}
        if isinstance(self.port_level_mtls, dict):
            for k, v in self.port_level_mtls.items():
                try:
                    port = int(k)
                except (TypeError, ValueError):
                    continue
                mode = v.get("mode", "UNSET") if isinstance(v, dict) else "UNSET"
                out[port] = str(mode)
        return out


@dataclass(frozen=True, kw_only=True)
class RuleSource(Node):
    principals: tuple[str, ...] = fld(())
    not_principals: tuple[str, ...] = fld(())
    request_principals: tuple[str, ...] = fld(())
    not_request_principals: tuple[str, ...] = fld(())
    namespaces: tuple[str, ...] = fld(())
    not_namespaces: tuple[str, ...] = fld(())
    ip_blocks: tuple[str, ...] = fld(())
    not_ip_blocks: tuple[str, ...] = fld(())
    remote_ip_blocks: tuple[str, ...] = fld(())
    not_remote_ip_blocks: tuple[str, ...] = fld(())
    service_accounts: tuple[str, ...] = fld(())
    not_service_accounts: tuple[str, ...] = fld(())
    trust_domains: tuple[str, ...] = fld(())
    not_trust_domains: tuple[str, ...] = fld(())


@dataclass(frozen=True, kw_only=True)
class RuleFrom(Node):
    source: RuleSource | None = fld(None)


@dataclass(frozen=True, kw_only=True)
class Operation(Node):
    hosts: tuple[str, ...] = fld(())
    not_hosts: tuple[str, ...] = fld(())
    ports: tuple[str, ...] = fld(())
    not_ports: tuple[str, ...] = fld(())
    methods: tuple[str, ...] = fld(())
    not_methods: tuple[str, ...] = fld(())
    paths: tuple[str, ...] = fld(())
    not_paths: tuple[str, ...] = fld(())


@dataclass(frozen=True, kw_only=True)
class RuleTo(Node):
    operation: Operation | None = fld(None)


@dataclass(frozen=True, kw_only=True)
class Condition(Node):
    key: str = fld("", required=True)
    values: tuple[str, ...] = fld(())
    not_values: tuple[str, ...] = fld(())


@dataclass(frozen=True, kw_only=True)
class AuthorizationRule(Node):
    from_: tuple[RuleFrom, ...] = fld((), name="from")
    to: tuple[RuleTo, ...] = fld(())
    when: tuple[Condition, ...] = fld(())


@dataclass(frozen=True, kw_only=True)
class ExtensionProvider(Node):
    name: str = fld("")


@dataclass(frozen=True, kw_only=True)
class PolicyTargetReference(Node):
    group: str = fld("")
    kind: str = fld("")
    name: str = fld("")
    namespace: str = fld("")


@dataclass(frozen=True, kw_only=True)
class AuthorizationPolicySpec(Node):
    selector: SecuritySelector | None = fld(None)
    target_ref: PolicyTargetReference | None = fld(None)
    target_refs: tuple[PolicyTargetReference, ...] = fld(())
    # None: the field was not written, which Istio treats as no rules (allow nothing for ALLOW)
    rules: tuple[AuthorizationRule, ...] | None = fld(None)
    action: AuthzAction = fld("ALLOW")
    provider: ExtensionProvider | None = fld(None)


@dataclass(frozen=True, kw_only=True)
class PeerAuthentication(Resource):
    spec: PeerAuthenticationSpec = fld(None)


@dataclass(frozen=True, kw_only=True)
class AuthorizationPolicy(Resource):
    spec: AuthorizationPolicySpec = fld(None)


@dataclass(frozen=True, kw_only=True)
class RequestAuthenticationSpec(Node):
    selector: SecuritySelector | None = fld(None)
    target_ref: PolicyTargetReference | None = fld(None)
    target_refs: tuple[PolicyTargetReference, ...] = fld(())
    jwt_rules: tuple[Any, ...] = fld(())  # issuers and keys: only their presence is read (JWT claim routes)


@dataclass(frozen=True, kw_only=True)
class RequestAuthentication(Resource):
    spec: RequestAuthenticationSpec = fld(None)


SECURITY_KINDS: dict[str, type[Resource]] = {
    "PeerAuthentication": PeerAuthentication,
    "AuthorizationPolicy": AuthorizationPolicy,
    "RequestAuthentication": RequestAuthentication,
}
SECURITY_VERSIONS = ("security.istio.io/v1", "security.istio.io/v1beta1")
