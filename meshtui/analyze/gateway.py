"""Gateway checks: selectors that match no workload (IST0101), ports the gateway's Service does not
expose (IST0162), servers that clash with another Gateway's (IST0145), certificates served by
several Gateways (IST0138), and credentialName Secrets that are missing (IST0101) or hold no usable
certificate (IST0161). Gateways that fail validation are checked too, as istioctl does."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator
from datetime import datetime

from meshtui.analyze.context import STAND_IN_GATEWAY_LABELS, STAND_IN_GATEWAY_PORTS, Context
from meshtui.analyze.message import Message
from meshtui.analyze.registry import analyzer
from meshtui.model.istio import Gateway, ServerTLSSettings
from meshtui.model.k8s import Secret
from meshtui.model.snapshot import Workload, labels_match


def selector_text(sel: dict[str, str]) -> str:
    """As Kubernetes prints a label selector: `app=x,istio=ingressgateway` (keys sorted)."""
    return ",".join(f"{k}={v}" for k, v in sorted(sel.items()))


def _service_ports(ctx: Context, workloads: Iterable[Workload]) -> set[int]:
    """TCP ports of the Services that select these workloads: service ports and target ports
    (the server port may be either, by the legacy and the current convention)."""
    ports: set[int] = set()
    by_ns: dict[str, list[Workload]] = {}
    for w in workloads:
        by_ns.setdefault(w.namespace, []).append(w)
    for svc in ctx.snap.services:
        pool = by_ns.get(svc.namespace)
        if not pool or not svc.spec.selector:
            continue
        if any(labels_match(svc.spec.selector, w.labels) for w in pool):
            for p in svc.spec.ports:
                if p.protocol.upper() in ("UDP", "SCTP"):
                    continue
                ports.add(p.port)
                if isinstance(p.target_port, int):
                    ports.add(p.target_port)
                elif isinstance(p.target_port, str) and p.target_port.isdigit():
                    ports.add(int(p.target_port))
    return ports


def _stand_in_selected(ctx: Context, sel: dict[str, str]) -> bool:
    return ctx.files_only and labels_match(sel, STAND_IN_GATEWAY_LABELS)


@analyzer("gateway.IngressGatewayPort", ("IST0101", "IST0162"),
          "Checks that a Gateway's selector matches workloads and that their Service exposes each server port",
          inputs=("Gateway",), istio="gateway.IngressGatewayPortAnalyzer")
def ingress_gateway_port(ctx: Context) -> Iterator[Message]:
    seen: dict[str, tuple[list[Workload], set[int], bool]] = {}
    for gw in ctx.with_rejected(Gateway):
        sel = gw.spec.selector
        if not sel:
            continue  # an empty selector selects every workload
        key = selector_text(sel)
        if key not in seen:
            workloads = ctx.selected_workloads(sel)
            # the stand-in Service also selects a real pod of Istio's namespace with its labels
            stand_in = _stand_in_selected(ctx, sel) or (ctx.files_only and any(
                w.namespace == ctx.root_ns and labels_match(STAND_IN_GATEWAY_LABELS, w.labels) for w in workloads))
            ports = _service_ports(ctx, workloads) if workloads else set()
            seen[key] = (workloads, ports | (STAND_IN_GATEWAY_PORTS if stand_in else set()), stand_in)
        workloads, ports, stand_in = seen[key]
        if not workloads and not stand_in:
            yield _selects_nothing(ctx, gw, key)
            continue
        for srv in gw.spec.servers:
            if srv.port is None or srv.port.number in ports:
                continue
            exposed = ", ".join(map(str, sorted(ports))) or "no ports (no Service selects the gateway workloads)"
            assumed = " (Istio's standard ingress gateway is assumed, as no workload in the sources has its labels)" \
                if stand_in and not workloads else ""
            yield ctx.report("IST0162", gw, srv.port, port=srv.port.number, selector=key,
                             detail=f"If you need to access the gateway port through the gateway Service, it will not be "
                                    f"available: the Service exposes {exposed}{assumed}. Add the port to the Service or "
                                    "use one it exposes.")


def _selects_nothing(ctx: Context, gw: Gateway, key: str) -> Message:
    return ctx.report("IST0101", gw, path="spec.selector", reftype="selector", ref=key,
                      detail="No pod or Deployment in any namespace has these labels, so no gateway proxy serves "
                             "this Gateway. Fix the selector or deploy the gateway (e.g. the istio-ingressgateway "
                             "of your Istio install).")


def _gateway_namespaces(ctx: Context, gw: Gateway) -> list[str]:
    """The namespaces of the gateway proxies a Gateway selects: where its credentialName Secrets
    must be (istiod reads them from the proxy's namespace, not the Gateway's)."""
    sel = gw.spec.selector
    if not sel:  # selects every workload: istiod's analyzer takes the first pod's namespace
        return [ctx.snap.workloads[0].namespace] if ctx.snap.workloads else []
    found = sorted({w.namespace for w in ctx.selected_workloads(sel)})
    if not found and _stand_in_selected(ctx, sel):
        found = [ctx.root_ns]
    return found


def credential_problem(secret: Secret, now: datetime | None) -> str:
    """Why istiod cannot serve this Secret as a gateway certificate ("" if it can): the keys it
    looks for (cert/key, then tls.crt/tls.key, non-empty), then the certificate itself
    (pilot/pkg/credentials/kube ExtractCertInfo and xds.ValidateCertificate)."""
    data = secret.contents
    if data.has_values("cert", "key"):
        cert = data.certs.get("cert")
    elif data.has_values("tls.crt", "tls.key"):
        cert = data.certs.get("tls.crt")
    else:
        for a, b in (("cert", "key"), ("tls.crt", "tls.key")):
            if a in data.keys and b in data.keys:
                return f"it has the keys {a} and {b}, but they are empty"
        found = ", ".join(data.keys) or "no keys"
        return f"it has neither the keys cert and key nor tls.crt and tls.key (found: {found})"
    if cert is None or cert.error:
        return f"its certificate does not parse ({cert.error if cert else 'empty'})"
    if now is not None and cert.not_before is not None and cert.not_after is not None \
            and not cert.not_before <= now <= cert.not_after:
        when = "expired on" if now > cert.not_after else "is valid only from"
        at = cert.not_after if now > cert.not_after else cert.not_before
        return f"its certificate {when} {at:%Y-%m-%d %H:%M} UTC"
    return ""


@analyzer("gateway.CredentialSecrets", ("IST0101", "IST0161"),
          "Checks that each Gateway credentialName names a Secret in the gateway proxy's namespace that holds a "
          "valid certificate and key",
          inputs=("Gateway", "Secret"), istio="gateway.SecretAnalyzer")
def credential_secrets(ctx: Context) -> Iterator[Message]:
    for gw in ctx.with_rejected(Gateway):
        namespaces = _gateway_namespaces(ctx, gw)
        if not namespaces:
            yield _selects_nothing(ctx, gw, selector_text(gw.spec.selector))
            continue
        for i, srv in enumerate(gw.spec.servers):
            name = srv.tls.credential_name if srv.tls is not None else ""
            if not name:
                continue
            path = f"spec.servers[{i}].tls.credentialName"
            for ns in namespaces:
                sns, _, sname = name.rpartition("/")
                secret = ctx.snap.get("Secret", sns or ns, sname)
                if not isinstance(secret, Secret):
                    yield ctx.report("IST0101", gw, path=path, reftype="credentialName", ref=name,
                                     detail=f"The gateway proxies of this Gateway run in namespace {ns}, and istiod reads "
                                            f"the certificate from there: there is no Secret {sns or ns}/{sname}, so "
                                            "this server has no certificate and its TLS handshakes fail. Create the "
                                            "Secret in that namespace.")
                    continue
                why = credential_problem(secret, ctx.now)
                if why:
                    yield ctx.report("IST0161", gw, path=path, gateway=gw.name, namespace=ns,
                                     detail=f"Secret {secret.ref} cannot be served: {why}. The server has no "
                                            "certificate and its TLS handshakes fail.")


def _same_proxies(ctx: Context, a: dict[str, str], b: dict[str, str]) -> bool:
    """Do two Gateway selectors pick the same gateway proxies? Identical selectors do; a
    selector contained in the other does when some workload has both (istioctl's rule)."""
    if a == b:
        return True
    if not (a.items() <= b.items() or b.items() <= a.items()):
        return False
    return any(labels_match(a, w.labels) and labels_match(b, w.labels) for w in ctx.snap.workloads)


@analyzer("gateway.ConflictingGateways", ("IST0145",),
          "Checks that Gateways selecting the same workloads do not define the same port and host twice (the "
          "same host as written: a wildcard and a host under it are told apart by SNI and by route domain)",
          inputs=("Gateway",), istio="gateway.ConflictingGatewayAnalyzer")
def conflicting_gateways(ctx: Context) -> Iterator[Message]:
    by_port: dict[int, list[tuple[Gateway, int]]] = defaultdict(list)
    for gw in ctx.with_rejected(Gateway):
        for i, srv in enumerate(gw.spec.servers):
            if srv.port is not None:
                by_port[srv.port.number].append((gw, i))
    for port, entries in by_port.items():
        for gw, i in entries:
            srv = gw.spec.servers[i]
            others = sorted({o.ref for o, k in entries if o.ref != gw.ref
                             and srv.bind == o.spec.servers[k].bind
                             and _same_proxies(ctx, gw.spec.selector, o.spec.selector)
                             and set(srv.hosts) & set(o.spec.servers[k].hosts)})
            if not others:
                continue
            sel = selector_text(gw.spec.selector)
            yield ctx.report("IST0145", gw, srv, gateways=",".join(others), selector=sel or "(all workloads)",
                             port=port, hosts=",".join(srv.hosts),
                             detail="The gateway proxy merges them and, where hosts overlap, one server's settings "
                                    "silently win, so which TLS settings and routes apply is undefined; merge the servers "
                                    "into one Gateway or make their hosts distinct.")


def _same_certificate(a: ServerTLSSettings, b: ServerTLSSettings) -> bool:
    if a.credential_name and b.credential_name:
        return a.credential_name == b.credential_name
    if a.credential_name or b.credential_name:
        return False
    return bool(a.server_certificate and a.server_certificate == b.server_certificate
                and a.private_key and a.private_key == b.private_key)


@analyzer("gateway.DuplicateCertificate", ("IST0138",),
          "Finds Gateways on the same proxies that serve the same certificate (HTTP/2 connection reuse then "
          "sends requests for one host to the other's server)",
          inputs=("Gateway",), istio="gateway.CertificateAnalyzer")
def duplicate_certificate(ctx: Context) -> Iterator[Message]:
    gws = ctx.with_rejected(Gateway)
    for gw in gws:
        sel = gw.spec.selector
        for other in gws:
            if other.ref == gw.ref or not sel.items() <= other.spec.selector.items():
                continue
            shared = next((s.tls for s in gw.spec.servers for t in other.spec.servers
                           if s.tls is not None and t.tls is not None and _same_certificate(s.tls, t.tls)), None)
            if shared is None:
                continue
            what = f"credential {shared.credential_name}" if shared.credential_name else \
                f"certificate {shared.server_certificate}"
            yield ctx.report("IST0138", gw, path="metadata.name", gateways=f"[{gw.ref} {other.ref}]",
                             detail=f"Both serve {what}. A client that reuses an HTTP/2 connection for another host "
                                    "covered by that certificate reaches the first server, which has no route for it; "
                                    "give each Gateway its own certificate or merge them.")
