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

from meshtui.model.istio import ServiceEntry, WorkloadEntry
from meshtui.model.k8s import Pod
from meshtui.model.snapshot import Endpoint, MeshSnapshot
from meshtui.translate.config import Cluster
from meshtui.translate.inbound import TLS_MODE_LABEL, compose_peer_authn, has_sidecar, principal_of

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


def mtls_sni(c: Cluster) -> str:
    """The SNI a client sidecar sends with Istio mTLS to an outbound cluster (istiod's
    BuildDNSSrvSubsetKey: `outbound_.PORT_.SUBSET_.HOST`)."""
    return f"outbound_.{c.port}_.{c.subset}_.{c.host}"


def _dr_mode(c: Cluster | None) -> str | None:
    policy = c.policy if c is not None else {}
    return (policy.get("tls") or {}).get("mode") if isinstance(policy, dict) else None


def endpoint_tls_mode(snapshot: MeshSnapshot, e: Endpoint) -> str:
    """istiod's TLSMode of an endpoint: its `security.istio.io/tlsMode` label (a Pod's, the
    injector's); a WorkloadEntry (or a ServiceEntry's inline endpoint) without the label is `istio`
    when it names a service account (serviceentry/conversion.go getTLSModeFromWorkloadEntry);
    anything else `disabled`."""
    mode = e.labels.get(TLS_MODE_LABEL)
    if mode is not None:
        return mode
    ref, _, inline = e.pod.partition("#endpoints[")
    ns, _, name = ref.partition("/")
    if inline:
        se = snapshot.get("ServiceEntry", ns, name)
        i = int(inline.rstrip("]")) if inline.rstrip("]").isdigit() else -1
        if isinstance(se, ServiceEntry) and se.spec is not None and 0 <= i < len(se.spec.endpoints):
            return "istio" if se.spec.endpoints[i].service_account else "disabled"
    elif e.origin.startswith("WorkloadEntry "):
        we = snapshot.get("WorkloadEntry", ns, name)
        if isinstance(we, WorkloadEntry) and we.spec is not None and we.spec.service_account:
            return "istio"
    return "disabled"


def _passthrough_disabled(snapshot: MeshSnapshot, c: Cluster | None) -> str | None:
    """BestEffortInferServiceMTLSMode for a passthrough service (headless, resolution NONE, or a
    DestinationRule loadBalancer PASSTHROUGH): mTLS only when the port has endpoints and none of
    them is TLS-disabled."""
    svc = c.service if c is not None else None
    if c is None or svc is None:
        return None
    lb = c.policy.get("loadBalancer") if isinstance(c.policy, dict) else None
    if svc.resolution != "Passthrough" and not (isinstance(lb, dict) and lb.get("simple") == "PASSTHROUGH"):
        return None
    sp = svc.port(c.port)
    eps = [e for e in svc.endpoints if sp is not None and e.port_name == sp.name]
    if not eps:
        return "auto-mTLS: a passthrough service (headless or PASSTHROUGH) whose port has no endpoints is sent plaintext"
    if any(endpoint_tls_mode(snapshot, e) == "disabled" for e in eps):
        return ("auto-mTLS: a passthrough service (headless or PASSTHROUGH) with an endpoint that has no sidecar "
                f"({TLS_MODE_LABEL} not istio) is sent plaintext")
    return None


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
    return _passthrough_disabled(snapshot, c)


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


def endpoint_gets_mtls(snapshot: MeshSnapshot, e: Endpoint, c: Cluster | None = None) -> bool:
    """istiod's EDS mTLS checker: the metadata auto-mTLS matches on. Only an endpoint whose TLSMode
    is istio carries it; then a DestinationRule tls.mode of the cluster decides (ISTIO_MUTUAL: yes,
    any other: no), and without one the endpoint's workload must not be DISABLE on its port."""
    if endpoint_tls_mode(snapshot, e) != "istio":
        return False
    mode = _dr_mode(c)
    if mode is not None:
        return mode == "ISTIO_MUTUAL"
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
    accounts = set()
    for e in c.service.endpoints:
        if e.pod:
            ns, _, name = e.pod.partition("/")
            pod = snapshot.get("Pod", ns, name)
            if isinstance(pod, Pod) and pod.spec is not None:
                accounts.add(principal_of(snapshot, ns, pod.spec.service_account_name))
    return UpstreamMtls(mtls_sni(c), ALPN_IN_MESH_H2 if h2 else ALPN_IN_MESH,
                        tuple(sorted(accounts)), auto=mode is None)
