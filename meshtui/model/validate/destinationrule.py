"""DestinationRule checks: traffic policies, connection pools, load balancers, client TLS."""

from __future__ import annotations

from collections.abc import Iterator

from meshtui.model.istio import (
    ClientTLSSettings,
    ConnectionPoolSettings,
    DestinationRule,
    LoadBalancerSettings,
    OutlierDetection,
    PortTrafficPolicy,
    TrafficPolicy,
)
from meshtui.model.validate.common import (
    Problem,
    Warn,
    duration,
    export_to,
    fqdn_error,
    is_dns_label,
    is_ip,
    labels,
    port_range,
    wildcard_domain_error,
)


def _outlier(o: OutlierDetection | None, path: str) -> Iterator[Problem]:
    if o is None:
        return
    yield from duration(o.base_ejection_time, f"{path}.baseEjectionTime")
    yield from duration(o.interval, f"{path}.interval")
    if o.consecutive_errors:
        yield Warn(f"{path}.consecutiveErrors", "consecutiveErrors is deprecated, use consecutiveGatewayErrors or consecutive5xxErrors")
    if not o.split_external_local_origin_errors and (o.consecutive_local_origin_failures or 0) > 0:
        yield f"{path}.consecutiveLocalOriginFailures", "consecutiveLocalOriginFailures needs splitExternalLocalOriginErrors: true"


def connection_pool(cp: ConnectionPoolSettings | None, path: str) -> Iterator[Problem]:
    if cp is None:
        return
    if cp.http is None and cp.tcp is None:
        yield path, "connection pool must have at least one field"
        return
    h = cp.http
    if h is not None:
        hp = f"{path}.http"
        for attr, yname in (("http1_max_pending_requests", "http1MaxPendingRequests"), ("http2_max_requests", "http2MaxRequests"),
                            ("max_requests_per_connection", "maxRequestsPerConnection"), ("max_retries", "maxRetries"),
                            ("max_concurrent_streams", "maxConcurrentStreams")):
            v = getattr(h, attr)
            if v is not None and v < 0:
                yield f"{hp}.{yname}", f"{yname} must not be negative"
        yield from duration(h.idle_timeout, f"{hp}.idleTimeout")
        if h.h2_upgrade_policy == "UPGRADE" and h.use_client_protocol:
            yield f"{hp}.useClientProtocol", "useClientProtocol must not be true when h2UpgradePolicy is UPGRADE"
        ka = h.http2_keep_alive
        if ka is not None:
            for attr in ("interval", "timeout"):
                if getattr(ka, attr) is None:
                    yield f"{hp}.http2KeepAlive.{attr}", f"http2KeepAlive {attr} is required"
                else:
                    yield from duration(getattr(ka, attr), f"{hp}.http2KeepAlive.{attr}")
    t = cp.tcp
    if t is not None:
        tp = f"{path}.tcp"
        if t.max_connections is not None and t.max_connections < 0:
            yield f"{tp}.maxConnections", "maxConnections must not be negative"
        yield from duration(t.connect_timeout, f"{tp}.connectTimeout")
        yield from duration(t.max_connection_duration, f"{tp}.maxConnectionDuration")
        if t.idle_timeout is not None and t.idle_timeout.seconds >= 0.001:  # 0s disables it
            yield from duration(t.idle_timeout, f"{tp}.idleTimeout")
        if t.tcp_keepalive is not None:
            yield from duration(t.tcp_keepalive.time, f"{tp}.tcpKeepalive.time")
            yield from duration(t.tcp_keepalive.interval, f"{tp}.tcpKeepalive.interval")


def _is_prime(x: int) -> bool:
    if 0 < x < 4:
        return True
    if x % 2 == 0:
        return False
    f = 3
    while f * f <= x:
        if x % f == 0:
            return False
        f += 2
    return True


def _load_balancer(lb: LoadBalancerSettings | None, path: str) -> Iterator[Problem]:
    if lb is None:
        return
    if lb.simple is not None and lb.consistent_hash is not None:  # a oneof
        yield path, "only one of simple or consistentHash may be set"
    ch = lb.consistent_hash
    if ch is not None:
        cp = f"{path}.consistentHash"
        keys = [k for k in (ch.http_header_name, ch.http_cookie, ch.use_source_ip, ch.http_query_parameter_name) if k is not None]
        if len(keys) > 1:
            yield cp, "only one hash key (httpHeaderName, httpCookie, useSourceIp, httpQueryParameterName) may be set"
        if ch.http_cookie is not None:
            if not ch.http_cookie.name:
                yield f"{cp}.httpCookie.name", "name required for httpCookie"
            names: set[str] = set()
            for i, at in enumerate(ch.http_cookie.attributes):
                if not at.name:
                    yield f"{cp}.httpCookie.attributes[{i}].name", "cookie attribute name cannot be empty"
                elif at.name in names:
                    yield f"{cp}.httpCookie.attributes[{i}].name", f"duplicate cookie attribute name: {at.name}"
                names.add(at.name)
        if ch.ring_hash is not None and ch.maglev is not None:
            yield cp, "only one of ringHash or maglev may be set"
        if ch.minimum_ring_size:
            yield Warn(f"{cp}.minimumRingSize", "minimumRingSize is deprecated, use ringHash")
            if ch.ring_hash is not None or ch.maglev is not None:
                yield cp, "only one of minimumRingSize or maglev/ringHash can be specified"
        ml = ch.maglev
        if ml is not None:
            if ml.table_size == 0:
                yield f"{cp}.maglev.tableSize", "tableSize must be set for maglev"
            elif ml.table_size >= 5000011:
                yield f"{cp}.maglev.tableSize", "tableSize must be less than 5000011 for maglev"
            elif not _is_prime(ml.table_size):
                yield f"{cp}.maglev.tableSize", "tableSize must be a prime number for maglev"
    if lb.locality_lb_setting is not None and lb.zone_aware_lb_setting is not None:
        yield path, "only one of localityLbSetting and zoneAwareLbSetting can be set"
    w = lb.warmup
    if w is not None:
        if w.duration is None:
            yield f"{path}.warmup.duration", "duration is required"
        else:
            yield from duration(w.duration, f"{path}.warmup.duration")
        if (w.minimum_percent or 0) > 100:
            yield f"{path}.warmup.minimumPercent", "minimumPercent must be at most 100"
        if w.aggression is not None and w.aggression <= 0:
            yield f"{path}.warmup.aggression", "aggression must be greater than 0"


def _client_tls(t: ClientTLSSettings | None, path: str) -> Iterator[Problem]:
    if t is None:
        return
    if t.insecure_skip_verify:
        if t.mode == "SIMPLE" and (t.ca_certificates or t.credential_name or t.subject_alt_names):
            yield path, "cannot specify caCertificates, credentialName or subjectAltNames when insecureSkipVerify is true"
        if t.mode == "MUTUAL" and (t.ca_certificates or t.subject_alt_names):
            yield path, "cannot specify caCertificates or subjectAltNames when insecureSkipVerify is true"
    if t.mode in ("SIMPLE", "MUTUAL") and t.credential_name:
        if t.client_certificate or t.ca_certificates or t.private_key or t.ca_crl:
            yield path, "cannot specify client certificates, CA certificate or CA CRL when credentialName is set"
        return
    if t.mode == "MUTUAL":
        if not t.client_certificate:
            yield f"{path}.clientCertificate", "client certificate required for mutual TLS"
        if not t.private_key:
            yield f"{path}.privateKey", "private key required for mutual TLS"


def _policy_parts(tp: TrafficPolicy | PortTrafficPolicy, path: str) -> Iterator[Problem]:
    """What a policy and a port-level policy both carry."""
    yield from _outlier(tp.outlier_detection, f"{path}.outlierDetection")
    yield from connection_pool(tp.connection_pool, f"{path}.connectionPool")
    yield from _load_balancer(tp.load_balancer, f"{path}.loadBalancer")
    yield from _client_tls(tp.tls, f"{path}.tls")


def _traffic_policy(tp: TrafficPolicy | None, path: str) -> Iterator[Problem]:
    if tp is None:
        return
    if (tp.outlier_detection is None and tp.connection_pool is None and tp.load_balancer is None and tp.tls is None
            and not tp.port_level_settings and tp.tunnel is None and tp.proxy_protocol is None and tp.retry_budget is None):
        yield path, "traffic policy must have at least one field"
        return
    if tp.tunnel is not None and tp.proxy_protocol is not None:
        yield path, "tunnel and proxyProtocol must not be set together"
        return
    yield from _policy_parts(tp, path)
    for i, pl in enumerate(tp.port_level_settings):
        p = f"{path}.portLevelSettings[{i}]"
        if pl.port is None:
            yield f"{p}.port", "a port-level policy must have a port"
        else:
            yield from port_range(pl.port.number, f"{p}.port.number")
        if pl.outlier_detection is None and pl.connection_pool is None and pl.load_balancer is None and pl.tls is None:
            yield p, "port traffic policy must have at least one field"
            continue
        yield from _policy_parts(pl, p)
    t = tp.tunnel
    if t is not None:
        if t.protocol and t.protocol not in ("CONNECT", "POST"):
            yield f"{path}.tunnel.protocol", 'tunnel protocol must be "CONNECT" or "POST"'
        if fqdn_error(t.target_host) and not is_ip(t.target_host):
            yield f"{path}.tunnel.targetHost", f"tunnel target host {t.target_host!r} must be a valid FQDN or IP address"
        yield from port_range(t.target_port or 0, f"{path}.tunnel.targetPort")


def destination_rule(dr: DestinationRule) -> Iterator[Problem]:
    s = dr.spec
    err = wildcard_domain_error(s.host)
    if err:
        yield "spec.host", err
    yield from _traffic_policy(s.traffic_policy, "spec.trafficPolicy")
    names: set[str] = set()
    for i, sub in enumerate(s.subsets):
        if sub.name in names:
            yield f"spec.subsets[{i}].name", f"duplicate subset names: {sub.name}"
        names.add(sub.name)
        if not sub.name:
            yield f"spec.subsets[{i}].name", "subset name cannot be empty"
        elif not is_dns_label(sub.name):
            yield f"spec.subsets[{i}].name", f"subset name is invalid: {sub.name}"
        yield from labels(sub.labels, f"spec.subsets[{i}].labels")
        yield from _traffic_policy(sub.traffic_policy, f"spec.subsets[{i}].trafficPolicy")
    yield from export_to(s.export_to, dr.namespace, "spec.exportTo", dr_selector=s.workload_selector is not None)
