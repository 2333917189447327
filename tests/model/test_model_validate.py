"""Admission checks as Istio's webhook makes them (istio/istio pkg/config/validation): what it
refuses is left out with a located error, what it accepts loads (with a warning where it warns)."""

from __future__ import annotations

import pytest

from meshtui.model.parse import RawDoc, build_snapshot
from meshtui.model.source import ERROR, WARNING
from meshtui.model.validate import fqdn_error, host_matches, host_subset_of, wildcard_domain_error

ROUTE = [{"destination": {"host": "reviews"}}]


def load(kind: str, spec: dict, name: str = "x", ns: str = "default"):
    group = "security.istio.io" if kind == "PeerAuthentication" else "networking.istio.io"
    doc = {"apiVersion": f"{group}/v1", "kind": kind, "metadata": {"name": name, "namespace": ns}, "spec": spec}
    return build_snapshot([RawDoc(doc, "t.yaml", 1)])


def vs(**spec):
    return {"hosts": ["reviews"], **spec} if "hosts" not in spec else spec


# (kind, spec, None if Istio accepts it, else (path, words of the reason))
REFUSED = [
    ("VirtualService", vs(http=[{"route": ROUTE, "timeout": "0s"}]), ("spec.http[0].timeout", "at least 1ms")),
    ("VirtualService", vs(http=[{"route": ROUTE, "timeout": "1500us"}]), ("spec.http[0].timeout", "ms precision")),
    ("VirtualService", vs(hosts=["*.com", "foo.com"], http=[{"route": ROUTE}]), ("spec.hosts[0]", "duplicate hosts")),
    ("VirtualService", vs(hosts=["*"], http=[{"route": ROUTE}]), ("spec.hosts[0]", "not allowed for virtual services bound to the mesh")),
    ("VirtualService", vs(hosts=["a_b.com"], http=[{"route": ROUTE}]), ("spec.hosts[0]", "invalid")),
    ("VirtualService", vs(http=[{"route": ROUTE, "match": [{"headers": {"x": {"prefix": ""}}}]}]),
     ("spec.http[0].match[0].headers.x.prefix", "should not be empty")),
    ("VirtualService", vs(http=[{"route": ROUTE, "match": [{"uri": {"regex": ""}}]}]), ("spec.http[0].match[0].uri.regex", "should not be empty")),
    ("VirtualService", vs(http=[{"route": ROUTE, "match": [{"headers": {"x": {"regex": "*"}}}]}]),
     ("spec.http[0].match[0].headers.x.regex", "invalid regex")),
    ("VirtualService", vs(http=[{"route": ROUTE, "match": [{"uri": {"regex": "a" * 1025}}]}]), ("spec.http[0].match[0].uri.regex", "too large")),
    ("VirtualService", vs(http=[{"route": ROUTE, "match": [{"uri": {"exact": "/a", "prefix": "/b"}}]}]),
     ("spec.http[0].match[0].uri", "only one of exact, prefix, regex")),
    ("VirtualService", vs(http=[{"route": [{"destination": {"host": "*"}}]}]), ("spec.http[0].route[0].destination.host", "invalid destination host")),
    ("VirtualService", vs(http=[{"route": [{"destination": {"host": "reviews", "subset": "V_1"}}]}]),
     ("spec.http[0].route[0].destination.subset", "subset name is invalid")),
    ("VirtualService", vs(http=[{"route": [{"destination": {"host": "a"}, "weight": -1}, {"destination": {"host": "b"}, "weight": 1}]}]),
     ("spec.http[0].route[0].weight", "must not be negative")),
    ("VirtualService", vs(http=[{"route": [{"destination": {"host": "a"}, "weight": 0}, {"destination": {"host": "b"}}]}]),
     ("spec.http[0].route", "add up to 0")),
    ("VirtualService", vs(http=[{"redirect": {"uri": "/a"}, "directResponse": {"status": 200}}]), ("spec.http[0].redirect", "directResponse")),
    ("VirtualService", vs(http=[{"directResponse": {"status": 200}, "route": ROUTE}]), ("spec.http[0].directResponse", "route")),
    ("VirtualService", vs(http=[{"directResponse": {"status": 700}}]), ("spec.http[0].directResponse.status", "not in range")),
    ("VirtualService", vs(http=[{"redirect": {"redirectCode": 301}}]), ("spec.http[0].redirect", "must specify uri, authority, scheme or port")),
    ("VirtualService", vs(http=[{"redirect": {"uri": "/a", "redirectCode": 200}}]), ("spec.http[0].redirect.redirectCode", "must be 3xx")),
    ("VirtualService", vs(http=[{"redirect": {"uri": "/a", "scheme": "ftp"}}]), ("spec.http[0].redirect.scheme", "http")),
    ("VirtualService", vs(http=[{"redirect": {"uri": "/a", "prefixRewrite": "/b"}}]), ("spec.http[0].redirect", "one of uri or prefixRewrite")),
    ("VirtualService", vs(http=[{"match": [{"uri": {"exact": "/a"}}], "redirect": {"prefixRewrite": "/b"}}]),
     ("spec.http[0].match[0].uri", "prefix match")),
    ("VirtualService", vs(http=[{"route": ROUTE, "rewrite": {}}]), ("spec.http[0].rewrite", "at least one of")),
    ("VirtualService", vs(http=[{"route": ROUTE, "rewrite": {"uri": "/", "uriRegexRewrite": {"match": "a", "rewrite": "b"}}}]),
     ("spec.http[0].rewrite", "one of uri or uriRegexRewrite")),
    ("VirtualService", vs(http=[{"route": ROUTE, "rewrite": {"authority": "a"}, "headers": {"request": {"set": {"host": "b"}}}}]),
     ("spec.http[0].headers.request.set.host", "authority header cannot be set multiple times")),
    ("VirtualService", vs(http=[{"route": ROUTE, "retries": {"attempts": 0, "retryOn": "5xx"}}]), ("spec.http[0].retries", "attempts is 0")),
    ("VirtualService", vs(http=[{"route": ROUTE, "retries": {"attempts": 2, "retryOn": "5xx,sometimes"}}]),
     ("spec.http[0].retries.retryOn", "'sometimes' is not a valid retryOn policy")),
    ("VirtualService", vs(http=[{"route": ROUTE, "fault": {"abort": {"grpcStatus": "BROKEN"}}}]),
     ("spec.http[0].fault.abort.grpcStatus", "not supported")),
    ("VirtualService", vs(http=[{"route": ROUTE, "fault": {"abort": {"http2Error": "X"}}}]), ("spec.http[0].fault.abort.http2Error", "not supported")),
    ("VirtualService", vs(http=[{"route": ROUTE, "fault": {"delay": {"exponentialDelay": "1s"}}}]),
     ("spec.http[0].fault.delay.exponentialDelay", "not supported")),
    ("VirtualService", vs(http=[{"route": ROUTE, "fault": {"delay": {"fixedDelay": "1s", "percentage": {"value": -1}}}}]),
     ("spec.http[0].fault.delay.percentage.value", "between 0 and 100")),
    ("VirtualService", vs(http=[{"route": ROUTE, "mirror": {"host": "a"}, "mirrors": [{"destination": {"host": "b"}}]}]),
     ("spec.http[0].mirrors", "mirror and mirrors")),
    ("VirtualService", vs(http=[{"route": ROUTE, "corsPolicy": {"allowMethods": ["FETCH"]}}]),
     ("spec.http[0].corsPolicy.allowMethods[0]", "not a supported HTTP method")),
    ("VirtualService", vs(http=[{"route": ROUTE}], exportTo=["~"]), ("spec.exportTo[0]", "not allowed")),
    ("VirtualService", vs(http=[{"route": ROUTE}], exportTo=["*", "ns1"]), ("spec.exportTo", "public (*) and non-public")),
    ("VirtualService", vs(http=[{"route": ROUTE}], gateways=["a/b/c"]), ("spec.gateways[0]", "invalid value for gateway name")),
    ("VirtualService", {"hosts": [], "gateways": ["gw"], "http": [{"route": ROUTE}]}, ("spec.gateways", "delegate")),
    ("VirtualService", vs(), ("spec", "http, tcp or tls must be provided")),
    ("VirtualService", vs(tls=[{"match": [{"sniHosts": ["other.com"]}], "route": ROUTE}]),
     ("spec.tls[0].match[0].sniHosts[0]", "not a compatible subset")),
    ("VirtualService", vs(tcp=[{"match": [{"destinationSubnets": ["10.0.0.0/33"]}], "route": ROUTE}]),
     ("spec.tcp[0].match[0].destinationSubnets[0]", "not a valid IP")),
    ("DestinationRule", {"host": "r", "trafficPolicy": {}}, ("spec.trafficPolicy", "at least one field")),
    ("DestinationRule", {"host": "r", "subsets": [{"name": "v1"}, {"name": "v1"}]}, ("spec.subsets[1].name", "duplicate subset names")),
    ("DestinationRule", {"host": "r", "trafficPolicy": {"connectionPool": {"http": {"http2KeepAlive": {"interval": "1s"}}}}},
     ("spec.trafficPolicy.connectionPool.http.http2KeepAlive.timeout", "required")),
    ("DestinationRule", {"host": "r", "trafficPolicy": {"loadBalancer": {"consistentHash": {"maglev": {"tableSize": 1000}, "useSourceIp": True}}}},
     ("spec.trafficPolicy.loadBalancer.consistentHash.maglev.tableSize", "prime")),
    ("DestinationRule", {"host": "r", "trafficPolicy": {"loadBalancer": {"simple": "RANDOM", "consistentHash": {"useSourceIp": True}}}},
     ("spec.trafficPolicy.loadBalancer", "only one of simple or consistentHash")),
    ("DestinationRule", {"host": "r", "trafficPolicy": {"tls": {"mode": "MUTUAL"}}}, ("spec.trafficPolicy.tls.clientCertificate", "required")),
    ("DestinationRule", {"host": "r", "trafficPolicy": {"portLevelSettings": [{"port": {"number": 80}}]}},
     ("spec.trafficPolicy.portLevelSettings[0]", "at least one field")),
    ("DestinationRule", {"host": "r", "trafficPolicy": {"outlierDetection": {"consecutiveLocalOriginFailures": 2}}},
     ("spec.trafficPolicy.outlierDetection.consecutiveLocalOriginFailures", "splitExternalLocalOriginErrors")),
    ("DestinationRule", {"host": "r", "exportTo": ["*"], "workloadSelector": {"matchLabels": {"a": "b"}}},
     ("spec.exportTo", "cannot be exported beyond its own namespace")),
    ("Gateway", {"servers": [{"port": {"number": 80, "protocol": "HTTP"}, "hosts": ["a.com"]}]}, ("spec.servers[0].port.name", "must be set")),
    ("Gateway", {"servers": [{"port": {"number": 80, "protocol": "HTTP", "name": "h"}, "hosts": ["a"]}]},
     ("spec.servers[0].hosts[0]", "short names")),
    ("Gateway", {"servers": [{"port": {"number": 80, "protocol": "HTTP", "name": "h"}, "hosts": ["*foo.com"]}]},
     ("spec.servers[0].hosts[0]", "partial wildcard")),
    ("Gateway", {"servers": [{"port": {"number": 443, "protocol": "HTTPS", "name": "h"}, "hosts": ["a.com"]}]},
     ("spec.servers[0].tls", "must have TLS settings")),
    ("Gateway", {"servers": [{"port": {"number": 443, "protocol": "HTTPS", "name": "h"}, "hosts": ["a.com"], "tls": {"mode": "SIMPLE"}}]},
     ("spec.servers[0].tls.serverCertificate", "credentialName")),
    ("Gateway", {"servers": [{"port": {"number": 80, "protocol": "HTTP", "name": "h"}, "hosts": ["a.com"]},
                             {"port": {"number": 81, "protocol": "HTTP", "name": "h"}, "hosts": ["a.com"]}]},
     ("spec.servers[1].port.name", "must be unique")),
    ("Gateway", {"servers": [{"port": {"number": 80, "protocol": "QUIC", "name": "h"}, "hosts": ["a.com"]}]},
     ("spec.servers[0].port.protocol", "invalid protocol")),
    ("Gateway", {"servers": []}, ("spec.servers", "at least one server")),
    ("ServiceEntry", {"hosts": ["*"], "ports": [{"number": 80, "name": "http"}]}, ("spec.hosts[0]", "cannot be '*'")),
    ("ServiceEntry", {"hosts": ["a.com"], "ports": [{"number": 80, "name": "http"}, {"number": 80, "name": "http2"}]},
     ("spec.ports[1].number", "already defined")),
    ("ServiceEntry", {"hosts": ["a.com"], "ports": [{"number": 80, "name": "HTTP_1"}]}, ("spec.ports[0].name", "invalid port name")),
    ("ServiceEntry", {"hosts": ["a.com"], "resolution": "STATIC", "endpoints": [{"address": "a.com"}]},
     ("spec.endpoints[0].address", "not a valid IP")),
    ("ServiceEntry", {"hosts": ["a.com"], "resolution": "NONE", "endpoints": [{"address": "1.2.3.4"}]}, ("spec.endpoints", "resolution NONE")),
    ("ServiceEntry", {"hosts": ["a.com", "b.com"], "resolution": "DNS", "ports": [{"number": 5432, "name": "tcp", "protocol": "TCP"}]},
     ("spec.hosts", "multiple hosts provided with non-HTTP")),
    ("ServiceEntry", {"hosts": ["a.com"], "resolution": "DNS", "addresses": ["10.0.0.0/24"]}, ("spec.addresses", "CIDR")),
    ("Sidecar", {}, ("spec", "empty Sidecar")),
    ("Sidecar", {"egress": [{"hosts": ["reviews"]}]}, ("spec.egress[0].hosts[0]", "namespace/dnsName")),
    ("Sidecar", {"egress": [{"hosts": ["./reviews"]}]}, ("spec.egress[0].hosts[0]", "short names")),
    ("Sidecar", {"egress": [{"hosts": ["./*"]}, {"port": {"number": 80}, "hosts": ["./*"]}]},
     ("spec.egress[0]", "without a port must be the last")),
    ("Sidecar", {"outboundTrafficPolicy": {"mode": "REGISTRY_ONLY", "egressProxy": {"host": "a.com", "port": {"number": 80}}}},
     ("spec.outboundTrafficPolicy.egressProxy", "ALLOW_ANY")),
    ("WorkloadEntry", {"labels": {"a": "b"}}, ("spec.address", "address is required")),
    # labels.Instance.Validate: Kubernetes label syntax wherever Istio takes a label set
    ("VirtualService", vs(http=[{"route": ROUTE, "match": [{"sourceLabels": {"app!": "a"}}]}]),
     ("spec.http[0].match[0].sourceLabels.app!", "invalid tag key")),
    ("VirtualService", vs(http=[{"route": ROUTE, "match": [{"sourceLabels": {"app": "-a"}}]}]),
     ("spec.http[0].match[0].sourceLabels.app", "invalid tag value")),
    ("VirtualService", vs(tcp=[{"match": [{"sourceLabels": {"k" * 64: "a"}}], "route": ROUTE}]),
     (f"spec.tcp[0].match[0].sourceLabels.{'k' * 64}", "name is too long")),
    ("VirtualService", vs(tls=[{"match": [{"sniHosts": ["reviews"], "sourceLabels": {"a/b/c": "x"}}], "route": ROUTE}]),
     ("spec.tls[0].match[0].sourceLabels.a/b/c", "invalid tag key")),
    ("DestinationRule", {"host": "r", "subsets": [{"name": "v1", "labels": {"version": "v 1"}}]},
     ("spec.subsets[0].labels.version", "invalid tag value")),
    ("WorkloadEntry", {"address": "10.0.0.1", "labels": {"_app": "a"}}, ("spec.labels._app", "invalid tag key")),
    ("ServiceEntry", {"hosts": ["a.com"], "resolution": "STATIC", "ports": [{"number": 80, "name": "http", "protocol": "HTTP"}],
                      "endpoints": [{"address": "10.0.0.1", "labels": {"app": "a" * 64 + "!"}}]},
     ("spec.endpoints[0].labels.app", "invalid tag value")),
    # ValidatePeerAuthentication
    ("PeerAuthentication", {"mtls": {"mode": "STRICT"}, "portLevelMtls": {8080: {"mode": "DISABLE"}}},
     ("spec.portLevelMtls", "mesh/namespace peer authentication cannot have port level mTLS")),
    ("PeerAuthentication", {"selector": {"matchLabels": {"app": "a"}}, "portLevelMtls": {0: {"mode": "DISABLE"}}},
     ("spec.portLevelMtls.0", "range 1..65535")),
    ("PeerAuthentication", {"selector": {"matchLabels": {"app": "a"}}, "portLevelMtls": {"http": {"mode": "DISABLE"}}},
     ("spec.portLevelMtls.http", "must be a number")),
    ("PeerAuthentication", {"selector": {"matchLabels": {"app": "a"}}, "portLevelMtls": {8080: {"mode": "OFF"}}},
     ("spec.portLevelMtls.8080.mode", "mode must be one of")),
    ("PeerAuthentication", {"selector": {"matchLabels": {"app": "*"}}}, ("spec.selector.matchLabels.app", "wildcard is not supported")),
]

ACCEPTED = [
    ("VirtualService", vs(http=[{"match": [{"uri": {}}], "route": ROUTE}])),  # uri {} is prefix /
    ("VirtualService", vs(http=[{"match": [{"uri": {"prefix": ""}}], "route": ROUTE}])),
    ("VirtualService", vs(http=[{"redirect": {"uri": "/a", "redirectCode": 300}}])),
    ("VirtualService", vs(hosts=["*foo.example.com"], http=[{"route": ROUTE}])),
    ("VirtualService", vs(hosts=["*"], gateways=["gw"], http=[{"route": ROUTE}])),  # * is fine on gateways only
    ("VirtualService", vs(hosts=["10.0.0.1"], http=[{"route": ROUTE}])),
    ("VirtualService", vs(http=[{"route": ROUTE, "match": [{"withoutHeaders": {"x": {"regex": "*"}}}]}])),
    ("VirtualService", vs(http=[{"route": ROUTE, "fault": {"delay": {"percentage": {"value": 10}}}}])),
    ("VirtualService", vs(http=[{"route": ROUTE, "retries": {"attempts": 0}}])),
    ("VirtualService", vs(http=[{"route": ROUTE, "retries": {"attempts": 2, "retryOn": "503,retriable-4xx,unavailable"}}])),
    ("VirtualService", vs(http=[{"route": [{"destination": {"host": "a"}, "weight": 0}, {"destination": {"host": "b"}, "weight": 1}]}])),
    ("VirtualService", {"hosts": [], "http": [{"match": [{"uri": {"prefix": "/a"}}], "route": ROUTE}]}),  # a delegate
    ("VirtualService", vs(http=[{"match": [{"uri": {"prefix": "/a"}}], "delegate": {"name": "d"}}])),
    ("VirtualService", vs(http=[{"route": ROUTE}], exportTo=[".", "ns1"])),
    ("DestinationRule", {"host": "*.svc.cluster.local", "trafficPolicy": {"connectionPool": {"tcp": {"idleTimeout": "0s"}}}}),
    ("DestinationRule", {"host": "r", "trafficPolicy": {"loadBalancer": {"consistentHash": {"ringHash": {"minimumRingSize": 64}}}}}),
    ("DestinationRule", {"host": "r", "exportTo": ["."], "workloadSelector": {"matchLabels": {"a": "b"}}}),
    ("ServiceEntry", {"hosts": ["a.com"]}),  # no ports: Istio accepts it
    ("ServiceEntry", {"hosts": ["a.com"], "exportTo": ["~"], "resolution": "DNS", "ports": [{"number": 443, "name": "tls", "protocol": "TLS"}]}),
    ("ServiceEntry", {"hosts": ["a.com", "b.com"], "resolution": "DNS", "ports": [{"number": 80, "name": "http", "protocol": "HTTP"}]}),
    ("Gateway", {"servers": [{"port": {"number": 80, "protocol": "HTTP", "name": "h"}, "hosts": ["ns1/a.com", "*/b.com", "./c.com"],
                              "tls": {"httpsRedirect": True}}]}),
    ("Gateway", {"servers": [{"port": {"number": 443, "protocol": "TLS", "name": "t"}, "hosts": ["a.com"], "tls": {"mode": "PASSTHROUGH"}}]}),
    ("Sidecar", {"egress": [{"hosts": ["~/a.example.com", "*/*.example.com", "~prod/*"]}]}),
    ("Sidecar", {"outboundTrafficPolicy": {"mode": "REGISTRY_ONLY"}}),
    ("WorkloadEntry", {"address": "vm.example.com"}),
    # a DNS-prefixed key, an empty value and a value longer than 63 (Istio sets no length on values)
    ("VirtualService", vs(http=[{"route": ROUTE, "match": [{"sourceLabels": {"app.kubernetes.io/name": "web", "track": ""}}]}])),
    ("DestinationRule", {"host": "r", "subsets": [{"name": "v1", "labels": {"build": "b" * 80, "x_y.z": "A-1_b.c"}}]}),
    ("PeerAuthentication", {"selector": {"matchLabels": {"app": "a"}}, "mtls": {"mode": "STRICT"},
                            "portLevelMtls": {8080: {"mode": "DISABLE"}, "9090": {}}}),
    ("PeerAuthentication", {"mtls": {"mode": "PERMISSIVE"}}),
]

WARNED = [
    ("VirtualService", vs(http=[{"route": ROUTE, "fault": {"abort": {"percentage": {"value": 10}}}}]),
     ("spec.http[0].fault.abort", "nothing is aborted")),
    ("VirtualService", vs(http=[{"route": ROUTE, "mirror": {"host": "a"}, "mirrorPercent": 10}]), ("spec.http[0].mirrorPercent", "deprecated")),
    ("Sidecar", {"egress": [{"hosts": ["./*", "./a.example.com"]}]}, ("spec.egress[0].hosts[1]", "duplicated egress host")),
    ("Sidecar", {"workloadSelector": {"labels": {}}, "egress": [{"hosts": ["./*"]}]}, ("spec.workloadSelector.labels", "without labels")),
    ("DestinationRule", {"host": "r", "trafficPolicy": {"outlierDetection": {"consecutiveErrors": 5}}},
     ("spec.trafficPolicy.outlierDetection.consecutiveErrors", "deprecated")),
]


@pytest.mark.parametrize("kind, spec, expect", REFUSED, ids=[f"{k}:{e[0]}:{e[1]}" for k, _, e in REFUSED])
def test_refused_as_istio_refuses(kind, spec, expect):
    result = load(kind, spec)
    path, words = expect
    assert result.left_out == 1, [str(d) for d in result.diagnostics]
    found = [d for d in result.errors if d.source.path == path]
    assert found, [str(d) for d in result.diagnostics]
    assert any(words in d.message for d in found), [d.message for d in found]


@pytest.mark.parametrize("kind, spec", ACCEPTED, ids=[f"{k}-{i}" for i, (k, _) in enumerate(ACCEPTED)])
def test_accepted_as_istio_accepts(kind, spec):
    result = load(kind, spec)
    assert [str(d) for d in result.diagnostics if d.level in (ERROR, WARNING)] == []
    assert result.loaded == 1


@pytest.mark.parametrize("kind, spec, expect", WARNED, ids=[e[0] for _, _, e in WARNED])
def test_accepted_with_a_warning(kind, spec, expect):
    result = load(kind, spec)
    assert result.loaded == 1 and result.errors == []
    (w,) = [d for d in result.diagnostics if d.level == WARNING]
    assert (w.source.path, w.code) == (expect[0], "MT0003") and expect[1] in w.message


def test_gateway_name_must_be_a_dns_label():
    result = load("Gateway", {"servers": [{"port": {"number": 80, "protocol": "HTTP", "name": "h"}, "hosts": ["a.com"]}]}, name="gw.prod")
    (e,) = result.errors
    assert e.source.path == "metadata.name" and "invalid gateway name" in e.message


def test_exportto_dot_and_own_namespace_are_duplicates():
    result = load("VirtualService", vs(http=[{"route": ROUTE}], exportTo=[".", "default"]))
    (e,) = result.errors
    assert e.source.path == "spec.exportTo[1]" and "duplicate entries" in e.message


@pytest.mark.parametrize("a, b, overlap", [
    ("foo.com", "foo.com", True), ("*.com", "foo.com", True), ("*.foo.com", "foo.com", False),
    ("*", "anything.io", True), ("*.a.com", "*.com", True), ("*.a.com", "*.b.com", False), ("a.com", "b.com", False),
])
def test_host_matches(a, b, overlap):
    assert host_matches(a, b) is overlap and host_matches(b, a) is overlap


def test_host_subset_and_domains():
    assert host_subset_of("a.foo.com", "*.foo.com") and not host_subset_of("*.foo.com", "a.foo.com")
    assert host_subset_of("*.a.foo.com", "*.foo.com")
    assert wildcard_domain_error("*-svc.example.com") is None and wildcard_domain_error("a.*.com") is not None
    assert wildcard_domain_error("example.123") is not None and wildcard_domain_error("istio.io.") is None
    assert fqdn_error("*.example.com") is not None and fqdn_error("x" * 64 + ".com") is not None


# kinds meshtui reads without admission checks, each with why (a new kind must be added to
# validate.CHECKS or here)
NOT_CHECKED = {
    "AuthorizationPolicy": "Istio's ValidateAuthorizationPolicy is not ported yet: policies load as parsed",
    "RequestAuthentication": "read for the analyzers only; meshtui models no JWT",
    "Namespace": "only labels are read, nothing becomes Envoy config",
    "Node": "only labels are read, nothing becomes Envoy config",
    "Secret": "read for the gateway certificate analyzers (key names, certificate facts), never becomes Envoy config",
}


def test_every_kind_read_is_checked_or_says_why_not():
    from meshtui.model.istio import ISTIO_KINDS
    from meshtui.model.k8s import K8S_KINDS
    from meshtui.model.security import SECURITY_KINDS
    from meshtui.model.validate import CHECKS

    kinds = set(ISTIO_KINDS) | set(SECURITY_KINDS) | set(K8S_KINDS)
    assert kinds - set(CHECKS) == set(NOT_CHECKED)
    assert set(CHECKS) <= kinds
