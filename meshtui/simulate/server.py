"""The server side of a request: the destination pod's sidecar, walked through the inbound
configuration meshtui generates for it (translate/inbound.py, the same listener proxy-config shows
and a real server Envoy runs):

1. what the client's Envoy sends: the DestinationRule's `tls.mode`, or auto-mTLS (Istio mTLS to
   endpoints whose pod carries a sidecar, unless the service's namespace or the mesh is DISABLE);
2. the `virtualInbound` filter chain Envoy picks for it, field by field (destination port,
   transport protocol, ALPN). None: the connection is closed, and the client's Envoy answers 503
   (upstream reset). A chain that terminates Istio mTLS wants a client certificate;
3. the chain's RBAC filters in order (CUSTOM, AUDIT, DENY, ALLOW), policy by policy, naming the
   rule that matched or, for each that did not, the condition with expected and actual values.
   The peer identity exists only when the chain terminated mTLS."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from meshtui.model.k8s import Pod
from meshtui.model.snapshot import MeshSnapshot
from meshtui.simulate.chains import Connection, select_chain
from meshtui.simulate.trace import Outcome, Stage, Step, Trace, Verdict
from meshtui.translate.client_tls import endpoint_tls, mtls_sni
from meshtui.translate.config import Cluster, FilterChain, ProxyConfig, Ref
from meshtui.translate.gateway import is_gateway_workload
from meshtui.translate.inbound import (
    INBOUND_PASSTHROUGH,
    MTLS_HTTP_ALPN,
    MTLS_TCP_ALPN,
    Inbound,
    MtlsDecision,
    build_inbound,
    has_sidecar,
    principal_of,
)
from meshtui.translate.rbac import Miss, RbacAction, RbacPolicy, RbacRequest, first_match, policy_misses

if TYPE_CHECKING:
    from meshtui.simulate.request import Request

__all__ = ["ServerOutcome", "ServerVerdict", "server_side", "server_verdict"]


class ServerOutcome(StrEnum):
    ALLOWED = "allowed"
    DENIED = "denied"  # 403 RBAC: access denied
    TLS_REFUSED = "tls-refused"  # 503: the server sidecar resets the connection
    UNDECIDED = "undecided"  # a CUSTOM provider decides; meshtui cannot know its answer
    NO_SIDECAR = "no-sidecar"  # nothing on the server side enforces policy


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
    filter_chain: str = ""  # the virtualInbound chain Envoy picks ("" when none)
    rbac_policy: str = ""  # the Envoy RBAC policy that decided: ns[NS]-policy[NAME]-rule[N]

    def to_json(self) -> dict[str, Any]:
        return {"pod": self.pod, "cluster": self.cluster, "outcome": str(self.outcome), "status": self.status,
                "mtlsMode": self.mtls_mode, "clientTls": self.client_tls, "detail": self.detail,
                "policy": self.policy.to_json() if self.policy else None, "rule": self.rule,
                "filterChain": self.filter_chain, "rbacPolicy": self.rbac_policy}


# ------------------------------------------------------------------ what the client sends



def _connection(sent: str, http: bool, address: str, port: int, source_ip: str, sni: str) -> Connection:
    """What the server's listener filters learn: tls_inspector the transport and the client's
    ALPN (an Istio client sends istio-http/1.1 for HTTP/1.1, istio-peer-exchange,istio for TCP),
    http_inspector the plaintext HTTP version."""
    if sent == "mtls":
        alpn = (MTLS_HTTP_ALPN[1],) if http else MTLS_TCP_ALPN
        return Connection(address, port, sni, "tls", alpn, source_ip)
    if sent == "tls":
        return Connection(address, port, sni, "tls", ("h2", "http/1.1") if http else (), source_ip)
    return Connection(address, port, "", "raw_buffer", ("http/1.1",) if http else (), source_ip)


# ------------------------------------------------------------------ authorization


def _miss_step(stage: Stage, verdict: Verdict, head: str, p: RbacPolicy, misses: list[Miss]) -> Step:
    """One policy that did not match: each alternative's failing condition; the step points at
    the first failing field's line and carries its expected and actual values."""
    why = "; or ".join(m.text() for m in misses)
    first = misses[0] if misses else None
    ref = p.ref
    if first is not None and first.cond.path:
        ref = Ref(p.ref.kind, p.ref.namespace, p.ref.name, first.cond.path, p.ref.file, first.cond.line or p.ref.line)
    return Step(stage, verdict, f"{head}: {why}" if why else head, ref,
                expected=first.expected if first else None, actual=first.actual if first else None)


def _label(p: RbacPolicy) -> str:
    return f"{p.ref.namespace}/{p.ref.name} rule {p.rule}"


def _authorize(chain: FilterChain, req: RbacRequest, steps: list[Step]
               ) -> tuple[ServerOutcome, str, Ref | None, int | None, str]:
    """(outcome, detail, policy ref, rule, Envoy policy name) from the chain's RBAC filters."""
    if not chain.rbac:
        steps.append(Step(Stage.AUTHORIZATION, Verdict.INFO, "no AuthorizationPolicy applies to this workload: allowed"))
        return ServerOutcome.ALLOWED, "no AuthorizationPolicy applies", None, None, ""
    for f in chain.rbac:
        if f.action is RbacAction.CUSTOM:
            hit = first_match(f, req)
            if hit is not None:
                steps.append(Step(Stage.AUTHORIZATION, Verdict.WARNING, f"CUSTOM policy {_label(hit)} matches "
                                  f"({hit.name}): the external authorizer {f.provider or '(no provider)'!r} decides, "
                                  "which meshtui cannot predict", hit.ref))
                return ServerOutcome.UNDECIDED, f"external authorizer {f.provider!r}", hit.ref, hit.rule, hit.name
            steps.append(Step(Stage.AUTHORIZATION, Verdict.NO_MATCH, f"CUSTOM ({f.provider}): no policy marks this request "
                              "for the external authorizer"))
        elif f.action is RbacAction.LOG:
            hit = first_match(f, req)
            if hit is not None:
                steps.append(Step(Stage.AUTHORIZATION, Verdict.INFO, f"AUDIT policy {_label(hit)} matches: logged only", hit.ref))
        elif f.action is RbacAction.DENY:
            for p in f.policies:
                misses = policy_misses(p, req)
                if not misses and not p.never:
                    steps.append(Step(Stage.AUTHORIZATION, Verdict.FINAL, f"DENY policy {_label(p)} matches ({p.name}): "
                                      + ("the network RBAC filter closes the connection" if f.tcp else "403 RBAC: access denied"), p.ref))
                    return ServerOutcome.DENIED, f"denied by DENY policy {_label(p)}", p.ref, p.rule, p.name
                head = f"DENY policy {_label(p)} does not match" + (" (it has no rules)" if p.never else "")
                steps.append(_miss_step(Stage.AUTHORIZATION, Verdict.NO_MATCH, head, p, misses))
        else:
            last: Step | None = None
            for p in f.policies:
                misses = policy_misses(p, req)
                if not misses and not p.never:
                    steps.append(Step(Stage.AUTHORIZATION, Verdict.SELECTED, f"ALLOW policy {_label(p)} matches ({p.name})", p.ref))
                    return ServerOutcome.ALLOWED, f"allowed by ALLOW policy {_label(p)}", p.ref, p.rule, p.name
                if p.never:
                    last = Step(Stage.AUTHORIZATION, Verdict.NO_MATCH,
                                f"ALLOW policy {p.ref.namespace}/{p.ref.name}: it has no rules, so it allows nothing", p.ref)
                else:
                    last = _miss_step(Stage.AUTHORIZATION, Verdict.NO_MATCH, f"ALLOW policy {_label(p)} does not match", p, misses)
                steps.append(last)
            names = ", ".join(sorted({f"{p.ref.namespace}/{p.ref.name}" for p in f.policies})) or "every rule left out on this chain"
            ref = last.ref if last is not None else None
            steps.append(Step(Stage.AUTHORIZATION, Verdict.FINAL, f"ALLOW policies select this workload ({names}) and none "
                              "matches: " + ("the network RBAC filter closes the connection" if f.tcp else "403 RBAC: access denied"), ref,
                              expected=last.expected if last else None, actual=last.actual if last else None))
            return ServerOutcome.DENIED, f"no ALLOW policy matches ({names})", ref, None, ""
    steps.append(Step(Stage.AUTHORIZATION, Verdict.INFO, "no DENY matched and no ALLOW policy applies: allowed"))
    return ServerOutcome.ALLOWED, "no DENY matched and no ALLOW policy applies", None, None, ""


# ------------------------------------------------------------------ the verdict


def _mode_for(inbound: Inbound, chain: FilterChain | None, port: int) -> MtlsDecision:
    if chain is not None and chain.inbound is not None:
        return chain.inbound.mtls
    return inbound.peer_authn.for_port(port)


def server_verdict(snapshot: MeshSnapshot, cluster: Cluster | None, cluster_name: str, pod: Pod, port: int,
                   client_ns: str, client_sa: str, client_ip: str, method: str, host: str, path: str,
                   headers: dict[str, str], address: str, http: bool = True, inbound: Inbound | None = None) -> ServerVerdict:
    pod_name = f"{pod.namespace}/{pod.name}"
    steps: list[Step] = []
    if not has_sidecar(pod):
        steps.append(Step(Stage.INBOUND, Verdict.INFO, f"{pod_name} has no sidecar: no PeerAuthentication or "
                          "AuthorizationPolicy is enforced on the server side"))
        return ServerVerdict(pod_name, cluster_name, ServerOutcome.NO_SIDECAR, None, "-", "plaintext", "no server sidecar", steps=steps)
    wl = snapshot.find_workload(pod_name)
    if wl is not None and is_gateway_workload(snapshot, wl):
        steps.append(Step(Stage.INBOUND, Verdict.INFO, f"{pod_name} is a gateway: its own listeners take the connection "
                          "(a gateway has no virtualInbound, and its PeerAuthentication and AuthorizationPolicies apply to "
                          "what it serves); the trace stops here"))
        return ServerVerdict(pod_name, cluster_name, ServerOutcome.NO_SIDECAR, None, "-", "-", "a gateway pod", steps=steps)
    if inbound is None and wl is not None:
        inbound = build_inbound(snapshot, wl)
    assert inbound is not None  # a Pod in the snapshot is always a workload
    sent, sent_why = endpoint_tls(snapshot, cluster, pod, port)
    sni = mtls_sni(cluster) if cluster is not None and cluster.host else ""
    conn = _connection(sent, http, address, port, client_ip, sni)
    chain, how = select_chain(inbound.listener, conn)
    mode = _mode_for(inbound, chain, port)
    steps.append(Step(Stage.INBOUND, Verdict.INFO, f"{pod_name}'s sidecar: listener virtualInbound (0.0.0.0:15006), "
                      f"original destination {address}:{port}"))
    steps.append(Step(Stage.PEER_AUTHENTICATION, Verdict.INFO, f"mTLS mode {mode.mode} on port {port}: {mode.why}", mode.ref))
    steps.append(Step(Stage.PEER_AUTHENTICATION, Verdict.INFO, f"the client sends {sent}: {sent_why}"))
    wanted = {"STRICT": "mtls", "DISABLE": "plaintext"}.get(mode.mode, "mtls or plaintext")
    if chain is None:
        detail = (f"mTLS {mode.mode} on {pod_name}:{port}: no virtualInbound chain takes a {sent} connection ({how}); "
                  "the sidecar closes it and the client's Envoy answers 503 (upstream connect error or disconnect/reset "
                  "before headers. reset reason: connection termination)")
        steps.append(Step(Stage.PEER_AUTHENTICATION, Verdict.FINAL, detail, mode.ref, expected=wanted, actual=sent))
        return ServerVerdict(pod_name, cluster_name, ServerOutcome.TLS_REFUSED, 503, mode.mode, sent, detail, mode.ref, steps=steps)
    where = "passthrough (no Service declares the port)" if chain.inbound is not None and chain.inbound.cluster == INBOUND_PASSTHROUGH else (
        chain.inbound.cluster if chain.inbound is not None else "")
    steps.append(Step(Stage.FILTER_CHAIN, Verdict.SELECTED, f"inbound chain {chain.name} ({chain.transport or 'any transport'}"
                      f"{', terminates Istio mTLS' if chain.tls else ''}) {how}; to {where}", chain.ref))
    if chain.tls is not None and sent != "mtls":
        detail = (f"mTLS {mode.mode} on {pod_name}:{port}: the chain requires an Istio client certificate and the client "
                  f"sends {sent} without one: the handshake fails, the client's Envoy answers 503")
        steps.append(Step(Stage.PEER_AUTHENTICATION, Verdict.FINAL, detail, mode.ref, expected="mtls", actual=sent))
        return ServerVerdict(pod_name, cluster_name, ServerOutcome.TLS_REFUSED, 503, mode.mode, sent, detail, mode.ref,
                             steps=steps, filter_chain=chain.name)
    principal = principal_of(snapshot, client_ns, client_sa) if chain.tls is not None else ""
    if principal:
        steps.append(Step(Stage.PEER_AUTHENTICATION, Verdict.SELECTED, f"peer identity {principal} (the client's certificate)"))
    else:
        steps.append(Step(Stage.PEER_AUTHENTICATION, Verdict.INFO, f"{sent} accepted ({mode.mode}): no peer identity, so "
                          "principals, namespaces and service accounts match nothing"))
    hdrs = {k.lower(): v for k, v in headers.items()}
    hdrs.update({":authority": host, ":method": method, ":path": path})
    req = RbacRequest(principal, client_ip, address, port, hdrs, sni if sent != "plaintext" else "", http)
    outcome, detail, ref, rule, name = _authorize(chain, req, steps)
    status = 403 if outcome is ServerOutcome.DENIED and http else None
    return ServerVerdict(pod_name, cluster_name, outcome, status, mode.mode, sent, detail, ref, rule, steps, chain.name, name)


def _service_account(config: ProxyConfig) -> str:
    wl = config.proxy.workload_ref
    res = wl.resource if wl is not None else None
    spec = getattr(res, "spec", None)
    if res is not None and res.kind == "Pod":
        return getattr(spec, "service_account_name", "") or "default"
    template = getattr(spec, "template", None)
    return getattr(getattr(template, "spec", None), "service_account_name", "") or "default"


def server_side(t: Trace, config: ProxyConfig, req: Request, http: bool = True) -> None:
    """Continue a routed trace into each destination's server sidecar (its first endpoint pod):
    the steps, a verdict per destination, and the outcome when every share is refused or denied.
    `http` False: a TCP connection (the server's TCP chains and network RBAC; no HTTP status)."""
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
    inbound_by_pod: dict[str, Inbound] = {}
    for d in t.destinations:
        ep = next((e for e in d.endpoints if e.pod), None)
        if ep is None:
            continue
        ns, _, name = ep.pod.partition("/")
        pod = snapshot.get("Pod", ns, name)
        if not isinstance(pod, Pod):
            continue
        wl = snapshot.find_workload(ep.pod)
        inbound = inbound_by_pod.get(ep.pod)
        if inbound is None and wl is not None:
            inbound = inbound_by_pod[ep.pod] = build_inbound(snapshot, wl, config.drs)
        v = server_verdict(snapshot, config.clusters.get(d.cluster), d.cluster, pod, ep.port, config.proxy.namespace,
                           sa, config.proxy.ip, req.method, host, path, headers, ep.address, http=http, inbound=inbound)
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
        t.status = worst.status if http else None
        t.response_flags = "" if worst.outcome is ServerOutcome.DENIED else "UC"
        head = f"{t.status}{' ' + t.response_flags if t.response_flags else ''}" if http else "connection closed"
        t.add(Stage.OUTCOME, Verdict.FINAL, f"{head} from the server side: {worst.detail}", worst.policy)
        return
    if verdicts:
        t.add(Stage.OUTCOME, Verdict.WARNING, f"{refused:.0%} of requests are refused at the server: "
              + "; ".join(f"{v.cluster}: {v.detail}" for v in verdicts))
    if final is not None:
        t.steps.append(final)
