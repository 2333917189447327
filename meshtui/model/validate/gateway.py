"""Gateway checks: servers, their hosts, ports and TLS."""

from __future__ import annotations

from collections.abc import Iterator

from meshtui.model.istio import (
    Gateway,
    ServerTLSSettings,
)
from meshtui.model.protocol import UNSUPPORTED, is_http, parse_protocol
from meshtui.model.validate.common import Problem, Warn, is_dns_label, is_ip, ns_slash_host


def _server_tls(t: ServerTLSSettings, path: str) -> Iterator[Problem]:
    if t.mode == "ISTIO_MUTUAL":
        for attr, yname in (("server_certificate", "serverCertificate"), ("private_key", "privateKey"),
                            ("ca_certificates", "caCertificates"), ("tls_certificates", "tlsCertificates"),
                            ("credential_name", "credentialName"), ("credential_names", "credentialNames")):
            if getattr(t, attr):
                yield f"{path}.{yname}", f"ISTIO_MUTUAL TLS cannot have an associated {yname}"
        return
    if t.mode in (None, "PASSTHROUGH", "AUTO_PASSTHROUGH") and (
            t.ca_crl or t.server_certificate or t.private_key or t.ca_certificates or t.tls_certificates
            or t.credential_name or t.credential_names):
        yield Warn(path, f"{t.mode or 'PASSTHROUGH'} mode does not use certificates, they will be ignored")
    sources = sum(bool(x) for x in (t.server_certificate and t.private_key, t.credential_name, t.credential_names, t.tls_certificates))
    if sources > 1:
        yield path, "only one of credentialName, credentialNames, serverCertificate/privateKey, tlsCertificates should be specified"
    if t.mode in ("SIMPLE", "MUTUAL", "OPTIONAL_MUTUAL"):
        if t.credential_name or t.credential_names:
            return
        label = "SIMPLE TLS" if t.mode == "SIMPLE" else "MUTUAL TLS"
        if t.mode != "SIMPLE" and not t.ca_certificates:
            yield f"{path}.caCertificates", f"{label} requires a client CA bundle (or credentialName)"
        # (where, certificate, key): each of tlsCertificates, or the settings' own pair
        pairs = ([(f"{path}.tlsCertificates[{i}]", c.server_certificate, c.private_key) for i, c in enumerate(t.tls_certificates)]
                 or [(path, t.server_certificate, t.private_key)])
        for p, cert, key in pairs:
            if not cert:
                yield f"{p}.serverCertificate", f"{label} requires credentialName, or serverCertificate and privateKey"
            if not key:
                yield f"{p}.privateKey", f"{label} requires credentialName, or serverCertificate and privateKey"
    if t.ca_crl:
        if t.credential_name:
            yield f"{path}.caCrl", "CRL is not supported with credentialName (put it in the credential)"
        if t.mode == "SIMPLE":
            yield f"{path}.caCrl", "CRL is not supported with SIMPLE TLS"


def gateway(gw: Gateway) -> Iterator[Problem]:
    s = gw.spec
    if not is_dns_label(gw.name):
        yield "metadata.name", f"invalid gateway name {gw.name!r} (a Gateway name is a DNS label: no dots)"
    if not s.servers:
        yield "spec.servers", "a Gateway needs at least one server"
    port_names: set[str] = set()
    for i, srv in enumerate(s.servers):
        p = f"spec.servers[{i}]"
        if not srv.hosts:
            yield f"{p}.hosts", "server config must contain at least one host"
        for j, h in enumerate(srv.hosts):
            yield from ns_slash_host(h, f"{p}.hosts[{j}]", gateway=True)
        port_ok = srv.port is not None
        if srv.port is not None:
            pp = f"{p}.port"
            proto = parse_protocol(srv.port.protocol)
            if proto == UNSUPPORTED:
                port_ok = False
                yield (f"{pp}.protocol", f"invalid protocol {srv.port.protocol!r}, "
                       "supported protocols are HTTP, HTTP2, GRPC, GRPC-WEB, HTTPS, TLS, MONGO, REDIS, MYSQL, TCP")
            if srv.port.number or not srv.bind.startswith("unix://"):
                if not 0 < srv.port.number <= 65535:
                    port_ok = False
                    yield f"{pp}.number", f"port number {srv.port.number} must be in the range 1..65535"
            if srv.port.target_port:
                port_ok = False
                yield f"{pp}.targetPort", "targetPort has no impact on Gateways"
            if not srv.port.name:
                port_ok = False
                yield f"{pp}.name", "port name must be set"
            elif srv.port.name in port_names:
                yield f"{pp}.name", f"port names in servers must be unique: duplicate name {srv.port.name}"
            port_names.add(srv.port.name)
            if srv.tls is not None and srv.tls.https_redirect and not is_http(proto):
                yield Warn(f"{p}.tls.httpsRedirect", "tls.httpsRedirect should only be used with http servers")
        if srv.bind and not srv.bind.startswith("unix://") and not is_ip(srv.bind):
            yield f"{p}.bind", f"bind {srv.bind!r} must be an IP address"
        if srv.tls is not None:
            yield from _server_tls(srv.tls, f"{p}.tls")
        if port_ok and srv.port is not None:
            proto = parse_protocol(srv.port.protocol)
            tls_port = proto in ("HTTPS", "TLS")
            if tls_port and srv.tls is None:
                yield f"{p}.tls", f"server must have TLS settings for {proto}"
            elif not tls_port and srv.tls is not None:
                t = srv.tls
                passthrough = t.mode in (None, "PASSTHROUGH", "AUTO_PASSTHROUGH")
                if is_http(proto):
                    if not passthrough or t.ca_certificates or t.private_key or t.server_certificate:
                        yield f"{p}.tls", "server cannot have TLS settings for plain text HTTP ports (only httpsRedirect)"
                else:
                    yield f"{p}.tls", "server cannot have TLS settings for non HTTPS/TLS ports"
