"""What a client sidecar sends to an endpoint: Istio mTLS, plaintext or the DestinationRule's own
TLS (istiod's cluster_tls.go and the EDS mTLS checker).

* A DestinationRule `tls.mode` decides for every endpoint: ISTIO_MUTUAL (the mesh certificate),
  DISABLE (plaintext), SIMPLE/MUTUAL (TLS with other certificates).
* Without one, auto-mTLS (MeshConfig `enableAutoMtls`, on by default) gives the cluster two
  transport sockets chosen per endpoint: Istio mTLS for endpoints labelled
  `security.istio.io/tlsMode: istio` (a pod with a sidecar) whose own PeerAuthentication is not
  DISABLE on the endpoint's port, plaintext for the others; none for external services or when
  the service's namespace (or the mesh) is DISABLE.

The tracer (simulate/server.py) and the renderer (envoy_json) both ask here."""

from __future__ import annotations

from dataclasses import dataclass

from meshtui.model.k8s import Pod
from meshtui.model.snapshot import Endpoint, MeshSnapshot
from meshtui.translate.config import Cluster
from meshtui.translate.inbound import TLS_MODE_LABEL, compose_peer_authn, has_sidecar

ALPN_IN_MESH = ("istio-peer-exchange", "istio")
ALPN_IN_MESH_H2 = ("istio-peer-exchange", "istio", "h2")
H2_PROTOCOLS = ("HTTP2", "GRPC", "GRPC-WEB")


@dataclass(frozen=True, slots=True)
class UpstreamMtls:
    """Istio mTLS on an outbound cluster: SNI, ALPN, the server identities accepted, and whether
    it applies per endpoint (auto-mTLS: a transport socket match on the endpoint's tlsMode)."""

    sni: str
    alpn: tuple[str, ...]
    sans: tuple[str, ...]
    auto: bool


def _dr_mode(c: Cluster | None) -> str | None:
    policy = c.policy if c is not None else {}
    return (policy.get("tls") or {}).get("mode") if isinstance(policy, dict) else None


def _auto_off(snapshot: MeshSnapshot, c: Cluster | None, namespace: str) -> str | None:
    """Why auto-mTLS does not apply to this cluster at all (None: it does)."""
    if not snapshot.mesh.enable_auto_mtls:
        return f"no tls.mode and auto-mTLS is off ({snapshot.mesh.where('enable_auto_mtls')})"
    svc = c.service if c is not None else None
    if svc is not None and svc.mesh_external:
        return "an external service: auto-mTLS does not apply"
    ns_mode = compose_peer_authn(snapshot, svc.namespace if svc is not None else namespace, None).mode
    if ns_mode.mode == "DISABLE":
        return f"auto-mTLS: {ns_mode.ref.short() if ns_mode.ref else 'the namespace'} is DISABLE"
    return None


def endpoint_tls(snapshot: MeshSnapshot, c: Cluster | None, pod: Pod, port: int = 0) -> tuple[str, str]:
    """(mtls | plaintext | tls, why) for what the client's Envoy sends to one endpoint (`port`:
    the endpoint's target port)."""
    mode = _dr_mode(c)
    dr = (f"DestinationRule {c.destination_rule.namespace}/{c.destination_rule.name}"
          if c is not None and c.destination_rule else "the DestinationRule")
    if mode == "ISTIO_MUTUAL":
        return "mtls", f"{dr} sets tls.mode ISTIO_MUTUAL"
    if mode == "DISABLE":
        return "plaintext", f"{dr} sets tls.mode DISABLE (which also turns auto-mTLS off)"
    if mode in ("SIMPLE", "MUTUAL"):
        return "tls", f"{dr} sets tls.mode {mode}: TLS with certificates that are not the mesh's"
    off = _auto_off(snapshot, c, pod.namespace)
    if off is not None:
        return "plaintext", off
    if pod.metadata.labels.get(TLS_MODE_LABEL) == "istio":  # the endpoint metadata auto-mTLS matches on
        own = compose_peer_authn(snapshot, pod.namespace, pod.metadata.labels).for_port(port)
        if own.mode == "DISABLE":
            return "plaintext", f"auto-mTLS: the endpoint's workload is DISABLE on port {port} ({own.why})"
        return "mtls", f"auto-mTLS: the endpoint's pod carries a sidecar ({TLS_MODE_LABEL}: istio)"
    if has_sidecar(pod):  # an istio-proxy container without the injector's label: a gateway, or a hand-made pod
        return "plaintext", (f"auto-mTLS: the endpoint's pod runs istio-proxy but is not labelled {TLS_MODE_LABEL}: istio "
                             "(a gateway pod), so istiod's transport socket match sends it plaintext")
    return "plaintext", "auto-mTLS: the endpoint's pod has no sidecar"


def endpoint_gets_mtls(snapshot: MeshSnapshot, e: Endpoint) -> bool:
    """istiod's EDS mTLS checker: the endpoint carries tlsMode istio and its workload is not
    DISABLE on the endpoint's port (the metadata auto-mTLS matches on)."""
    if e.labels.get(TLS_MODE_LABEL) != "istio":
        return False
    ns = e.pod.partition("/")[0] if e.pod else ""
    return compose_peer_authn(snapshot, ns, e.labels).for_port(e.port).mode != "DISABLE" if ns else True


def cluster_mtls(snapshot: MeshSnapshot, c: Cluster) -> UpstreamMtls | None:
    """The Istio mTLS an outbound cluster carries, if any."""
    if c.direction != "outbound" or c.service is None or c.type == "ORIGINAL_DST":
        return None
    mode = _dr_mode(c)
    if mode in ("DISABLE", "SIMPLE", "MUTUAL"):
        return None  # SIMPLE/MUTUAL: the DestinationRule's own certificates (not modelled)
    if mode is None and _auto_off(snapshot, c, c.service.namespace) is not None:
        return None
    sp = c.service.port(c.port)
    h2 = sp is not None and sp.protocol in H2_PROTOCOLS
    td = snapshot.mesh.trust_domain
    accounts = set()
    for e in c.service.endpoints:
        if e.pod:
            ns, _, name = e.pod.partition("/")
            pod = snapshot.get("Pod", ns, name)
            if isinstance(pod, Pod) and pod.spec is not None:
                accounts.add(f"spiffe://{td}/ns/{ns}/sa/{pod.spec.service_account_name or 'default'}")
    return UpstreamMtls(f"outbound_.{c.port}_.{c.subset}_.{c.host}", ALPN_IN_MESH_H2 if h2 else ALPN_IN_MESH,
                        tuple(sorted(accounts)), auto=mode is None)
