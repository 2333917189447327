"""The server side of a request: the destination pod's sidecar accepts the connection or not
(PeerAuthentication against what the client sends), then allows or denies the request
(AuthorizationPolicy: CUSTOM, then DENY, then ALLOW; AUDIT only logs).

Istio's rules, as istiod builds the inbound listener and its RBAC filters:
* PeerAuthentication: the workload's policy (port-level over workload-level), then the
  namespace's, then the root namespace's, then PERMISSIVE. UNSET inherits. Port-level settings
  count only on a policy with a selector.
* What the client sends: the DestinationRule's `tls.mode` when set; otherwise, with auto-mTLS on,
  Istio mTLS to endpoints whose pod carries a sidecar (`security.istio.io/tlsMode: istio`),
  unless the service's namespace (or the mesh) is DISABLE; plaintext otherwise.
* A STRICT server resets a plaintext connection; a DISABLE server cannot read mTLS: either way the
  client's Envoy answers 503 (upstream connect error ... reset).
* Authorization: a CUSTOM policy hands the decision to its provider; any matching DENY denies;
  when ALLOW policies select the workload, the request must match one of them. Peer identity
  (principals, namespaces) exists only over mTLS."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from meshtui.model.k8s import Pod
from meshtui.model.security import AuthorizationPolicy, AuthorizationRule, Condition, PeerAuthentication
from meshtui.model.snapshot import MeshSnapshot, creation_key, labels_match
from meshtui.simulate.trace import Outcome, Stage, Step, Trace, Verdict
from meshtui.translate.config import Cluster, ProxyConfig, Ref

if TYPE_CHECKING:
    from meshtui.simulate.request import Request

TLS_MODE_LABEL = "security.istio.io/tlsMode"
TRUST_DOMAIN = "cluster.local"  # MeshConfig trustDomain's default; meshtui reads no other yet


class ServerOutcome(StrEnum):
    ALLOWED = "allowed"
    DENIED = "denied"  # 403 RBAC: access denied
    TLS_REFUSED = "tls-refused"  # 503: the server sidecar resets the connection
    UNDECIDED = "undecided"  # a CUSTOM provider decides; meshtui cannot know its answer
    NO_SIDECAR = "no-sidecar"  # nothing on the server side enforces policy


@dataclass
class Peer:
    """The request as the server sidecar sees it."""

    principal: str  # "" without mTLS
    namespace: str  # the client's namespace, known only through its mTLS identity
    ip: str
    method: str
    host: str
    path: str  # without the query
    port: int  # the destination (target) port on the server pod
    address: str  # the server pod's address
    headers: dict[str, str]


@dataclass
class ServerVerdict:
    pod: str
    cluster: str
    outcome: ServerOutcome
    status: int | None
    mtls_mode: str
    client_tls: str  # mtls | plaintext | tls
    detail: str
    policy: Ref | None = None
    rule: int | None = None
    steps: list[Step] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {"pod": self.pod, "cluster": self.cluster, "outcome": str(self.outcome), "status": self.status,
                "mtlsMode": self.mtls_mode, "clientTls": self.client_tls, "detail": self.detail,
                "policy": self.policy.to_json() if self.policy else None, "rule": self.rule}


def _ref(obj: PeerAuthentication | AuthorizationPolicy, path: str = "", line: int | None = None) -> Ref:
    return Ref(obj.kind, obj.namespace, obj.name, path, obj.src.file, line or obj.src.line)


def _rule_ref(ap: AuthorizationPolicy, idx: int) -> Ref:
    rules = ap.spec.rules or ()
    return _ref(ap, f"spec.rules[{idx}]", rules[idx].src.line if idx < len(rules) else None)


def has_sidecar(pod: Pod) -> bool:
    if pod.metadata.labels.get(TLS_MODE_LABEL) == "istio":
        return True
    containers = pod.spec.containers if pod.spec else ()
    return any(c.name == "istio-proxy" for c in containers)


def principal_of(namespace: str, service_account: str) -> str:
    return f"{TRUST_DOMAIN}/ns/{namespace}/sa/{service_account or 'default'}"


# ------------------------------------------------------------------ PeerAuthentication


def _mode_of(pa: PeerAuthentication) -> str:
    return pa.spec.mtls.mode if pa.spec and pa.spec.mtls else "UNSET"


def _selected(pa_or_ap: PeerAuthentication | AuthorizationPolicy, labels: dict[str, str]) -> bool:
    sel = pa_or_ap.spec.selector if pa_or_ap.spec else None
    return sel is not None and bool(sel.match_labels) and labels_match(sel.match_labels, labels)


def namespace_mtls_mode(snapshot: MeshSnapshot, namespace: str) -> tuple[str, Ref | None]:
    """The namespace's mode, else the root namespace's (UNSET when neither says)."""
    root = snapshot.mesh.root_namespace
    for ns in (namespace, root):
        wide = sorted((p for p in snapshot.peer_authentications if p.namespace == ns and not (p.spec and p.spec.selector
                       and p.spec.selector.match_labels)), key=creation_key)
        for p in wide:
            if _mode_of(p) != "UNSET":
                return _mode_of(p), _ref(p, "spec.mtls.mode", p.spec.mtls.src.line if p.spec.mtls else None)
    return "UNSET", None


def server_mtls_mode(snapshot: MeshSnapshot, pod: Pod, port: int) -> tuple[str, Ref | None, str]:
    """(mode, the policy that decided, why) for a pod's port."""
    workload = sorted((p for p in snapshot.peer_authentications if p.namespace == pod.namespace
                       and _selected(p, pod.metadata.labels)), key=creation_key)
    if workload:
        p = workload[0]
        port_mode = p.spec.port_modes().get(port, "UNSET")
        if port_mode != "UNSET":
            return port_mode, _ref(p, f"spec.portLevelMtls.{port}"), f"port-level setting for port {port}"
        if _mode_of(p) != "UNSET":
            return _mode_of(p), _ref(p, "spec.mtls.mode", p.spec.mtls.src.line if p.spec.mtls else None), \
                "the workload's PeerAuthentication"
    mode, ref = namespace_mtls_mode(snapshot, pod.namespace)
    if ref is not None:
        scope = "the namespace's" if ref.namespace == pod.namespace else "the mesh-wide (root namespace)"
        return mode, ref, f"{scope} PeerAuthentication"
    return "PERMISSIVE", None, "no PeerAuthentication applies: Istio's default"


def client_tls(snapshot: MeshSnapshot, cluster: Cluster | None, pod: Pod) -> tuple[str, str]:
    """(mtls | plaintext | tls, why) for what the client's Envoy sends to this endpoint."""
    policy = cluster.policy if cluster is not None else {}
    mode = (policy.get("tls") or {}).get("mode") if isinstance(policy, dict) else None
    dr = (f"DestinationRule {cluster.destination_rule.namespace}/{cluster.destination_rule.name}"
          if cluster and cluster.destination_rule else "the DestinationRule")
    if mode == "ISTIO_MUTUAL":
        return "mtls", f"{dr} sets tls.mode ISTIO_MUTUAL"
    if mode == "DISABLE":
        return "plaintext", f"{dr} sets tls.mode DISABLE (which also turns auto-mTLS off)"
    if mode in ("SIMPLE", "MUTUAL"):
        return "tls", f"{dr} sets tls.mode {mode}: TLS with certificates that are not the mesh's"
    if not snapshot.mesh.enable_auto_mtls:
        return "plaintext", f"no tls.mode and auto-mTLS is off ({snapshot.mesh.where('enable_auto_mtls')})"
    svc = cluster.service if cluster is not None else None
    if svc is not None and svc.mesh_external:
        return "plaintext", "an external service: auto-mTLS does not apply"
    ns_mode, ns_ref = namespace_mtls_mode(snapshot, svc.namespace if svc is not None else pod.namespace)
    if ns_mode == "DISABLE":
        return "plaintext", f"auto-mTLS: {ns_ref.short() if ns_ref else 'the namespace'} is DISABLE"
    if has_sidecar(pod):
        return "mtls", f"auto-mTLS: the endpoint's pod carries a sidecar ({TLS_MODE_LABEL}: istio)"
    return "plaintext", "auto-mTLS: the endpoint's pod has no sidecar"


# ------------------------------------------------------------------ AuthorizationPolicy


def _match_value(pattern: str, value: str, ignore_case: bool = False) -> bool:
    """Istio's string match: exact, `prefix*`, `*suffix`, or `*` (any non-empty value)."""
    if ignore_case:
        pattern, value = pattern.lower(), value.lower()
    if pattern == "*":
        return value != ""
    if pattern.endswith("*"):
        return value.startswith(pattern[:-1])
    if pattern.startswith("*"):
        return value.endswith(pattern[1:])
    return value == pattern


def _in_blocks(blocks: tuple[str, ...], ip: str) -> bool:
    try:
        addr = ipaddress.ip_address(ip)
    except ValueError:
        return False
    for b in blocks:
        try:
            if addr in ipaddress.ip_network(b, strict=False):
                return True
        except ValueError:
            continue
    return False


def _field(name: str, values: tuple[str, ...], negated: tuple[str, ...], actual: str, ignore_case: bool = False,
           match=None) -> str | None:
    """None if the field matches; else why not, naming expected and actual."""
    test = match or (lambda p, v: _match_value(p, v, ignore_case))
    shown = repr(actual) if actual else "none (no mTLS identity)" if name in ("principals", "namespaces") else "''"
    if values and not any(test(p, actual) for p in values):
        return f"{name} must be one of {list(values)}, the request has {shown}"
    if negated and any(test(p, actual) for p in negated):
        return f"not{name[0].upper()}{name[1:]} excludes {shown}"
    return None


def _header(peer: Peer, key: str) -> str | None:
    name = key[len("request.headers["):-1].lower()
    if name in (":authority", "host"):
        return peer.host
    if name == ":method":
        return peer.method
    if name == ":path":
        return peer.path
    return peer.headers.get(name)


def _condition(c: Condition, peer: Peer) -> str | None:
    key = c.key
    if key.startswith("request.headers[") and key.endswith("]"):
        actual = _header(peer, key)
        if actual is None:
            return f"when {key}: the request has no such header" if c.values else None
        return _field(f"when {key}", c.values, c.not_values, actual)
    simple = {"source.ip": peer.ip, "remote.ip": peer.ip, "source.namespace": peer.namespace,
              "source.principal": peer.principal, "destination.ip": peer.address, "destination.port": str(peer.port)}
    if key in ("source.ip", "remote.ip", "destination.ip"):
        return _field(f"when {key}", c.values, c.not_values, simple[key], match=lambda b, v: _in_blocks((b,), v))
    if key in simple:
        return _field(f"when {key}", c.values, c.not_values, simple[key])
    if key.startswith("request.auth."):
        return f"when {key}: no RequestAuthentication (JWT) is modelled, so no request carries {key}"
    return f"when {key}: a condition meshtui does not evaluate"


def _rule(rule: AuthorizationRule, peer: Peer) -> str | None:
    """None when the rule matches the request; else the first condition that fails."""
    if rule.from_:
        reasons = []
        for f in rule.from_:
            s = f.source
            if s is None:
                return None
            why = (_field("principals", s.principals, s.not_principals, peer.principal)
                   or _field("namespaces", s.namespaces, s.not_namespaces, peer.namespace)
                   or _field("ipBlocks", s.ip_blocks, s.not_ip_blocks, peer.ip, match=lambda b, v: _in_blocks((b,), v))
                   or _field("remoteIpBlocks", s.remote_ip_blocks, s.not_remote_ip_blocks, peer.ip,
                             match=lambda b, v: _in_blocks((b,), v))
                   or _field("serviceAccounts", s.service_accounts, s.not_service_accounts,
                             peer.principal.split("/ns/", 1)[-1].replace("/sa/", "/") if peer.principal else "")
                   or (f"requestPrincipals {list(s.request_principals)}: no RequestAuthentication (JWT) is modelled"
                       if s.request_principals else None))
            if why is None:
                break
            reasons.append(why)
        else:
            return "from: " + "; or ".join(reasons)
    if rule.to:
        reasons = []
        for t in rule.to:
            op = t.operation
            if op is None:
                return None
            why = (_field("hosts", op.hosts, op.not_hosts, peer.host, ignore_case=True)
                   or _field("ports", op.ports, op.not_ports, str(peer.port))
                   or _field("methods", op.methods, op.not_methods, peer.method)
                   or _field("paths", op.paths, op.not_paths, peer.path))
            if why is None:
                break
            reasons.append(why)
        else:
            return "to: " + "; or ".join(reasons)
    for c in rule.when:
        why = _condition(c, peer)
        if why is not None:
            return why
    return None


def policies_for(snapshot: MeshSnapshot, pod: Pod) -> list[AuthorizationPolicy]:
    """The AuthorizationPolicies that apply to a pod's sidecar, in Istio's order of age."""
    root = snapshot.mesh.root_namespace
    out = []
    for ap in snapshot.authorization_policies:
        spec = ap.spec
        if spec is None or spec.target_ref is not None or spec.target_refs:
            continue  # targetRef policies bind gateways and waypoints, not sidecars
        sel = spec.selector.match_labels if spec.selector else {}
        if ap.namespace == root or ap.namespace == pod.namespace:
            if not sel or labels_match(sel, pod.metadata.labels):
                out.append(ap)
    return sorted(out, key=creation_key)


def _authorize(snapshot: MeshSnapshot, pod: Pod, peer: Peer, steps: list[Step]) -> tuple[ServerOutcome, str, Ref | None, int | None]:
    policies = policies_for(snapshot, pod)
    if not policies:
        steps.append(Step(Stage.AUTHORIZATION, Verdict.INFO, "no AuthorizationPolicy applies to this workload: allowed"))
        return ServerOutcome.ALLOWED, "no AuthorizationPolicy applies", None, None

    def first_match(ap: AuthorizationPolicy) -> tuple[int | None, list[str]]:
        misses = []
        for i, rule in enumerate(ap.spec.rules or ()):
            why = _rule(rule, peer)
            if why is None:
                return i, misses
            misses.append(f"rule {i}: {why}")
        return None, misses

    for ap in policies:
        if ap.spec.action == "AUDIT":
            steps.append(Step(Stage.AUTHORIZATION, Verdict.INFO, f"AUDIT policy {ap.namespace}/{ap.name} only logs", _ref(ap)))
    for ap in (p for p in policies if p.spec.action == "CUSTOM"):
        idx, _ = first_match(ap)
        provider = ap.spec.provider.name if ap.spec.provider else "(no provider)"
        if idx is not None:
            steps.append(Step(Stage.AUTHORIZATION, Verdict.WARNING, f"CUSTOM policy {ap.namespace}/{ap.name} rule {idx} matches: the "
                                    f"external authorizer {provider!r} decides, which meshtui cannot predict",
                                    _rule_ref(ap, idx)))
            return ServerOutcome.UNDECIDED, f"external authorizer {provider!r}", _rule_ref(ap, idx), idx
    for ap in (p for p in policies if p.spec.action == "DENY"):
        idx, misses = first_match(ap)
        if idx is not None:
            ref = _rule_ref(ap, idx)
            steps.append(Step(Stage.AUTHORIZATION, Verdict.FINAL, f"DENY policy {ap.namespace}/{ap.name} rule {idx} matches: "
                                    "403 RBAC: access denied", ref))
            return ServerOutcome.DENIED, f"denied by DENY policy {ap.namespace}/{ap.name} rule {idx}", ref, idx
        steps.append(Step(Stage.AUTHORIZATION, Verdict.NO_MATCH, f"DENY policy {ap.namespace}/{ap.name} does not match"
                                + (f": {'; '.join(misses)}" if misses else " (no rules)"), _ref(ap)))
    allows = [p for p in policies if p.spec.action == "ALLOW"]
    if not allows:
        steps.append(Step(Stage.AUTHORIZATION, Verdict.INFO, "no ALLOW policy selects this workload: allowed"))
        return ServerOutcome.ALLOWED, "no DENY matched and no ALLOW policy applies", None, None
    last: tuple[Ref, str] | None = None
    for ap in allows:
        idx, misses = first_match(ap)
        if idx is not None:
            ref = _rule_ref(ap, idx)
            steps.append(Step(Stage.AUTHORIZATION, Verdict.SELECTED, f"ALLOW policy {ap.namespace}/{ap.name} rule {idx} matches", ref))
            return ServerOutcome.ALLOWED, f"allowed by ALLOW policy {ap.namespace}/{ap.name} rule {idx}", ref, idx
        why = "; ".join(misses) if misses else "it has no rules, so it allows nothing"
        steps.append(Step(Stage.AUTHORIZATION, Verdict.NO_MATCH, f"ALLOW policy {ap.namespace}/{ap.name} does not match: {why}", _ref(ap)))
        last = (_ref(ap), why)
    names = ", ".join(f"{p.namespace}/{p.name}" for p in allows)
    steps.append(Step(Stage.AUTHORIZATION, Verdict.FINAL, f"ALLOW policies select this workload ({names}) and none matches: "
                            "403 RBAC: access denied", last[0] if last else None))
    return ServerOutcome.DENIED, f"no ALLOW policy matches ({names})", last[0] if last else None, None


# ------------------------------------------------------------------ the verdict


def server_verdict(snapshot: MeshSnapshot, cluster: Cluster | None, cluster_name: str, pod: Pod, port: int,
                   client_ns: str, client_sa: str, client_ip: str, method: str, host: str, path: str,
                   headers: dict[str, str], address: str) -> ServerVerdict:
    pod_name = f"{pod.namespace}/{pod.name}"
    steps: list[Step] = []
    if not has_sidecar(pod):
        steps.append(Step(Stage.INBOUND, Verdict.INFO, f"{pod_name} has no sidecar: no PeerAuthentication or "
                                "AuthorizationPolicy is enforced on the server side"))
        return ServerVerdict(pod_name, cluster_name, ServerOutcome.NO_SIDECAR, None, "-", "plaintext", "no server sidecar", steps=steps)
    mode, mode_ref, mode_why = server_mtls_mode(snapshot, pod, port)
    sent, sent_why = client_tls(snapshot, cluster, pod)
    steps.append(Step(Stage.INBOUND, Verdict.SELECTED, f"{pod_name}'s sidecar, inbound port {port} (virtualInbound)"))
    steps.append(Step(Stage.PEER_AUTHENTICATION, Verdict.INFO, f"mTLS mode {mode}: {mode_why}", mode_ref))
    steps.append(Step(Stage.PEER_AUTHENTICATION, Verdict.INFO, f"the client sends {sent}: {sent_why}"))
    if mode == "STRICT" and sent != "mtls":
        detail = (f"STRICT mTLS on {pod_name}:{port} refuses a {sent} connection: the client's Envoy answers 503 "
                  "(upstream connect error or disconnect/reset before headers. reset reason: connection termination)")
        steps.append(Step(Stage.PEER_AUTHENTICATION, Verdict.FINAL, detail, mode_ref, expected="mtls", actual=sent))
        return ServerVerdict(pod_name, cluster_name, ServerOutcome.TLS_REFUSED, 503, mode, sent, detail, mode_ref, steps=steps)
    if mode == "DISABLE" and sent == "mtls":
        detail = (f"mTLS DISABLE on {pod_name}:{port}: the sidecar expects plaintext and cannot read the client's mTLS; "
                  "the client's Envoy answers 503 (upstream reset)")
        steps.append(Step(Stage.PEER_AUTHENTICATION, Verdict.FINAL, detail, mode_ref, expected="plaintext", actual=sent))
        return ServerVerdict(pod_name, cluster_name, ServerOutcome.TLS_REFUSED, 503, mode, sent, detail, mode_ref, steps=steps)
    mtls = sent == "mtls"
    peer = Peer(principal_of(client_ns, client_sa) if mtls else "", client_ns if mtls else "", client_ip, method,
                host, path.split("?", 1)[0], port, address, headers)
    if mtls:
        steps.append(Step(Stage.PEER_AUTHENTICATION, Verdict.SELECTED, f"peer identity {peer.principal}"))
    else:
        steps.append(Step(Stage.PEER_AUTHENTICATION, Verdict.INFO, "plaintext accepted (PERMISSIVE): no peer identity, so "
                                "principals and namespaces match nothing"))
    outcome, detail, ref, rule = _authorize(snapshot, pod, peer, steps)
    status = 403 if outcome is ServerOutcome.DENIED else None
    return ServerVerdict(pod_name, cluster_name, outcome, status, mode, sent, detail, ref, rule, steps)


def _service_account(config: ProxyConfig) -> str:
    wl = config.proxy.workload_ref
    res = wl.resource if wl is not None else None
    spec = getattr(res, "spec", None)
    if res is not None and res.kind == "Pod":
        return getattr(spec, "service_account_name", "") or "default"
    template = getattr(spec, "template", None)
    return getattr(getattr(template, "spec", None), "service_account_name", "") or "default"


def server_side(t: Trace, config: ProxyConfig, req: Request) -> None:
    """Continue a routed trace into each destination's server sidecar (its first endpoint pod):
    the steps, a verdict per destination, and the outcome when every share is refused or denied."""
    snapshot = config.snapshot
    if snapshot is None or not t.destinations:
        return
    final = t.steps.pop() if t.steps and t.steps[-1].stage == Stage.OUTCOME and t.steps[-1].verdict == Verdict.FINAL else None
    sa = _service_account(config)
    host = t.rewritten.authority if t.rewritten is not None else req.authority
    path = t.rewritten.path if t.rewritten is not None else req.path
    headers = dict(t.request_headers if t.request_headers is not None else req.headers)
    several = len(t.destinations) > 1
    refused = 0.0
    for d in t.destinations:
        ep = next((e for e in d.endpoints if e.pod), None)
        if ep is None:
            continue
        ns, _, name = ep.pod.partition("/")
        pod = snapshot.get("Pod", ns, name)
        if pod is None:
            continue
        v = server_verdict(snapshot, config.clusters.get(d.cluster), d.cluster, pod, ep.port, config.proxy.namespace,  # type: ignore[arg-type]  # pod: the snapshot holds a Pod for ep.pod
                           sa, config.proxy.ip, req.method, host, path, headers, ep.address)
        t.server.append(v)
        for step in v.steps:
            t.steps.append(Step(step.stage, step.verdict, f"{d.subset or d.host}: {step.detail}" if several else step.detail,
                                step.ref, step.expected, step.actual))
        if v.outcome in (ServerOutcome.DENIED, ServerOutcome.TLS_REFUSED):
            refused += d.probability
    verdicts = [v for v in t.server if v.outcome in (ServerOutcome.DENIED, ServerOutcome.TLS_REFUSED)]
    if verdicts and refused >= 0.999999:
        worst = verdicts[0]
        t.outcome = Outcome.DENIED if worst.outcome is ServerOutcome.DENIED else Outcome.TLS_REFUSED
        t.status = worst.status
        t.response_flags = "" if worst.outcome is ServerOutcome.DENIED else "UC"
        t.add(Stage.OUTCOME, Verdict.FINAL, f"{t.status}{' ' + t.response_flags if t.response_flags else ''} from the server side: "
              f"{worst.detail}", worst.policy)
        return
    if verdicts:
        t.add(Stage.OUTCOME, Verdict.WARNING, f"{refused:.0%} of requests are refused at the server: "
              + "; ".join(f"{v.cluster}: {v.detail}" for v in verdicts))
    if final is not None:
        t.steps.append(final)
