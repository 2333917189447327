"""The resource model covers the Istio API: every field of every networking message (istio/api
networking/v1alpha3 at b8f8791, the snapshot istio-semantics.md was written from) has a place in
the model, a manifest that uses them all loads without a single warning, and every parsed object
remembers its file, line, column and field path."""

from __future__ import annotations

import textwrap

import pytest

from meshtui.model import istio as I
from meshtui.model.parse import RawDoc, build_snapshot
from meshtui.model.schema import Duration, _plan
from meshtui.model.yamlpos import parse_yaml
from meshtui.sources.loader import read_docs

# (proto message, model class, its fields as YAML names); generated once from the .proto files
API = [
    ("VirtualService", I.VirtualServiceSpec, "hosts gateways http tls tcp exportTo"),
    ("Destination", I.Destination, "host subset port"),
    ("HTTPRoute", I.HTTPRoute, "name match route redirect directResponse delegate rewrite timeout retries fault mirror mirrors mirrorPercent mirrorPercentage corsPolicy headers"),
    ("Delegate", I.Delegate, "name namespace"),
    ("Headers", I.Headers, "request response"),
    ("HeaderOperations", I.HeaderOperations, "set add remove"),
    ("TLSRoute", I.TLSRoute, "match route"),
    ("TCPRoute", I.TCPRoute, "match route"),
    ("HTTPMatchRequest", I.HTTPMatchRequest, "name uri scheme method authority headers port sourceLabels gateways queryParams ignoreUriCase withoutHeaders sourceNamespace statPrefix"),
    ("HTTPRouteDestination", I.HTTPRouteDestination, "destination weight headers"),
    ("RouteDestination", I.RouteDestination, "destination weight"),
    ("L4MatchAttributes", I.L4MatchAttributes, "destinationSubnets port sourceSubnet sourceLabels gateways sourceNamespace"),
    ("TLSMatchAttributes", I.TLSMatchAttributes, "sniHosts destinationSubnets port sourceLabels gateways sourceNamespace"),
    ("HTTPRedirect", I.HTTPRedirect, "uri authority port derivePort scheme redirectCode prefixRewrite"),
    ("HTTPDirectResponse", I.HTTPDirectResponse, "status body"),
    ("HTTPBody", I.HTTPBody, "string bytes"),
    ("HTTPRewrite", I.HTTPRewrite, "uri authority uriRegexRewrite"),
    ("RegexRewrite", I.RegexRewrite, "match rewrite"),
    ("StringMatch", I.StringMatch, "exact prefix regex"),
    ("HTTPRetry", I.HTTPRetry, "attempts perTryTimeout retryOn retryRemoteLocalities retryIgnorePreviousHosts backoff"),
    ("CorsPolicy", I.CorsPolicy, "allowOrigin allowOrigins allowMethods allowHeaders exposeHeaders maxAge allowCredentials unmatchedPreflights"),
    ("HTTPFaultInjection", I.HTTPFaultInjection, "delay abort"),
    ("Delay", I.FaultDelay, "percent fixedDelay exponentialDelay percentage"),
    ("Abort", I.FaultAbort, "httpStatus grpcStatus http2Error percentage"),
    ("HTTPMirrorPolicy", I.HTTPMirrorPolicy, "destination percentage"),
    ("PortSelector", I.PortSelector, "number"),
    ("Percent", I.Percent, "value"),
    ("DestinationRule", I.DestinationRuleSpec, "host trafficPolicy subsets exportTo workloadSelector"),
    ("TrafficPolicy", I.TrafficPolicy, "loadBalancer connectionPool outlierDetection tls portLevelSettings tunnel proxyProtocol retryBudget"),
    ("PortTrafficPolicy", I.PortTrafficPolicy, "port loadBalancer connectionPool outlierDetection tls"),
    ("TunnelSettings", I.TunnelSettings, "protocol targetHost targetPort"),
    ("ProxyProtocol", I.ProxyProtocol, "version"),
    ("RetryBudget", I.RetryBudget, "percent minRetryConcurrency budgetInterval"),
    ("Subset", I.Subset, "name labels trafficPolicy"),
    ("LoadBalancerSettings", I.LoadBalancerSettings, "simple consistentHash localityLbSetting zoneAwareLbSetting warmupDurationSecs warmup"),
    ("ConsistentHashLB", I.ConsistentHashLB, "httpHeaderName httpCookie useSourceIp httpQueryParameterName ringHash maglev minimumRingSize"),
    ("RingHash", I.RingHash, "minimumRingSize"),
    ("MagLev", I.MagLev, "tableSize"),
    ("HTTPCookie", I.HTTPCookie, "name path ttl attributes"),
    ("Attribute", I.HTTPCookieAttribute, "name value"),
    ("WarmupConfiguration", I.WarmupConfiguration, "duration minimumPercent aggression"),
    ("ConnectionPoolSettings", I.ConnectionPoolSettings, "tcp http"),
    ("TCPSettings", I.TCPSettings, "maxConnections connectTimeout tcpKeepalive maxConnectionDuration idleTimeout"),
    ("TcpKeepalive", I.TcpKeepalive, "probes time interval"),
    ("HTTPSettings", I.HTTPSettings, "http1MaxPendingRequests http2MaxRequests maxRequestsPerConnection maxRetries idleTimeout h2UpgradePolicy useClientProtocol maxConcurrentStreams http2KeepAlive"),
    ("ConnectionKeepalive", I.ConnectionKeepalive, "interval timeout"),
    ("OutlierDetection", I.OutlierDetection, "consecutiveErrors splitExternalLocalOriginErrors consecutiveLocalOriginFailures consecutiveGatewayErrors consecutive5xxErrors interval baseEjectionTime maxEjectionPercent minHealthPercent outlierDetectionHttpErrorCodes"),
    ("ClientTLSSettings", I.ClientTLSSettings, "mode clientCertificate privateKey caCertificates credentialName subjectAltNames sni insecureSkipVerify caCrl"),
    ("LocalityLoadBalancerSetting", I.LocalityLoadBalancerSetting, "distribute failover failoverPriority enabled"),
    ("Distribute", I.LocalityDistribute, "from to"),
    ("Failover", I.LocalityFailover, "from to"),
    ("ZoneAwareLoadBalancerSetting", I.ZoneAwareLoadBalancerSetting, "enabled failover failoverPriority minClusterSize"),
    ("Gateway", I.GatewaySpec, "servers selector"),
    ("Server", I.Server, "port bind hosts tls defaultEndpoint name"),
    ("Port", I.GatewayPort, "number protocol name targetPort"),
    ("ServerTLSSettings", I.ServerTLSSettings, "httpsRedirect mode serverCertificate privateKey caCertificates caCrl credentialName credentialNames caCertCredentialName tlsCertificates subjectAltNames verifyCertificateSpki verifyCertificateHash minProtocolVersion maxProtocolVersion cipherSuites insecureSkipVerify"),
    ("TLSCertificate", I.ServerTLSCertificate, "serverCertificate privateKey caCertificates"),
    ("ServiceEntry", I.ServiceEntrySpec, "hosts addresses ports location resolution endpoints workloadSelector exportTo subjectAltNames"),
    ("ServicePort", I.SEPort, "number protocol name targetPort"),
    ("Sidecar", I.SidecarSpec, "workloadSelector ingress egress inboundConnectionPool outboundTrafficPolicy"),
    ("IstioIngressListener", I.IstioIngressListener, "port bind captureMode defaultEndpoint tls connectionPool"),
    ("IstioEgressListener", I.IstioEgressListener, "port bind captureMode hosts"),
    ("WorkloadSelector", I.WorkloadSelector, "labels"),
    ("OutboundTrafficPolicy", I.OutboundTrafficPolicy, "mode egressProxy"),
    ("SidecarPort", I.SidecarPort, "number protocol name targetPort"),
    ("WorkloadEntry", I.WorkloadEntrySpec, "address ports labels network locality weight serviceAccount"),
]


@pytest.mark.parametrize("message, cls, names", API, ids=[a[0] for a in API])
def test_every_api_field_has_a_place_in_the_model(message, cls, names):
    have = {entry[1] for entry in _plan(cls).fields}
    missing = [n for n in names.split() if n not in have]
    assert missing == [], f"{message}: {missing} would be reported as unknown fields"


def test_istio_api_versions_share_one_schema():
    for version in ("networking.istio.io/v1", "networking.istio.io/v1beta1", "networking.istio.io/v1alpha3"):
        docs = [RawDoc({"apiVersion": version, "kind": "Sidecar", "metadata": {"name": "s"},
                        "spec": {"egress": [{"hosts": ["./*"]}]}}, "t.yaml", 1)]
        result = build_snapshot(docs)
        assert result.loaded == 1 and result.diagnostics == []
    result = build_snapshot([RawDoc({"apiVersion": "networking.istio.io/v2", "kind": "Sidecar",
                                     "metadata": {"name": "s"}}, "t.yaml", 1)])
    assert result.skipped_kinds == {"networking.istio.io/v2/Sidecar": 1}


KITCHEN_SINK = textwrap.dedent("""\
    apiVersion: networking.istio.io/v1
    kind: VirtualService
    metadata:
      name: everything
      namespace: shop
      labels: {team: web}
      annotations: {note: all fields}
      creationTimestamp: "2024-01-01T00:00:00Z"
    spec:
      hosts: [everything, everything.example.com]
      gateways: [mesh, shop/gw]
      exportTo: [".", frontend]
      http:
      - name: all-matches
        match:
        - name: m0
          uri: {prefix: /api/}
          scheme: {exact: https}
          method: {regex: "GET|HEAD"}
          authority: {prefix: everything}
          headers:
            end-user: {exact: jason}
            x-present: {}
          port: 8080
          sourceLabels: {app: web}
          gateways: [mesh]
          queryParams:
            debug: {exact: "1"}
          ignoreUriCase: true
          withoutHeaders:
            x-skip: {}
          sourceNamespace: frontend
          statPrefix: api
        rewrite:
          uriRegexRewrite: {match: "^/api/(.*)$", rewrite: "/\\\\1"}
          authority: backend
        timeout: 2.5s
        retries:
          attempts: 3
          perTryTimeout: 500ms
          retryOn: 5xx,503,reset
          retryRemoteLocalities: true
          retryIgnorePreviousHosts: false
          backoff: 25ms
        mirror: {host: shadow, subset: v2, port: {number: 8080}}
        mirrorPercentage: {value: 12.5}
        corsPolicy:
          allowOrigins: [{exact: "https://shop.example.com"}, {regex: "https://.*\\\\.example\\\\.com"}]
          allowMethods: [GET, POST]
          allowHeaders: [authorization]
          exposeHeaders: [x-trace]
          maxAge: 24h
          allowCredentials: true
          unmatchedPreflights: IGNORE
        headers:
          request: {set: {x-a: "1"}, add: {x-b: "2"}, remove: [x-c]}
          response: {set: {x-d: "4"}, remove: [server]}
        route:
        - destination: {host: everything, subset: v1, port: {number: 8080}}
          weight: 75
          headers: {request: {set: {x-dest: v1}}}
        - destination: {host: everything, subset: v2}
          weight: 25
      - name: faults
        fault:
          delay: {fixedDelay: 100ms, percentage: {value: 0.1}}
          abort: {grpcStatus: UNAVAILABLE, percentage: {value: 1}}
        mirrors:
        - destination: {host: shadow}
          percentage: {value: 5}
        route:
        - destination: {host: everything}
      - name: old-percent
        fault:
          delay: {fixedDelay: 1s, percent: 10}
        mirror: {host: shadow}
        mirrorPercent: 50
        route:
        - destination: {host: everything}
      - name: moved
        match: [{uri: {prefix: /old/}}]
        redirect: {prefixRewrite: /new/, authority: new.example.com, derivePort: FROM_REQUEST_PORT, scheme: https, redirectCode: 308}
      - name: gone
        match: [{uri: {exact: /gone}}]
        directResponse: {status: 410, body: {string: gone}}
      - name: bytes
        match: [{uri: {exact: /bin}}]
        directResponse: {status: 200, body: {bytes: aGVsbG8=}}
      - name: redirect-port
        match: [{uri: {exact: /port}}]
        redirect: {uri: /p, port: 8443}
      - name: last
        route:
        - destination: {host: everything}
      tls:
      - match:
        - sniHosts: [everything.example.com]
          destinationSubnets: [10.0.0.0/8]
          port: 443
          sourceLabels: {app: web}
          gateways: [mesh]
          sourceNamespace: frontend
        route:
        - destination: {host: everything, port: {number: 443}}
      tcp:
      - match:
        - destinationSubnets: [10.1.0.0/16]
          port: 5432
          sourceLabels: {app: web}
          gateways: [mesh]
          sourceNamespace: frontend
          sourceSubnet: 10.2.0.0/16
        route:
        - destination: {host: everything, port: {number: 5432}}
          weight: 100
    ---
    apiVersion: networking.istio.io/v1
    kind: VirtualService
    metadata: {name: delegator, namespace: shop}
    spec:
      hosts: [delegator.example.com]
      gateways: [shop/gw]
      http:
      - match: [{uri: {prefix: /d/}}]
        delegate: {name: delegate, namespace: shop}
    ---
    apiVersion: networking.istio.io/v1
    kind: DestinationRule
    metadata: {name: everything, namespace: shop}
    spec:
      host: everything
      exportTo: ["*"]
      trafficPolicy:
        loadBalancer:
          consistentHash:
            httpCookie: {name: session, path: /, ttl: 0s, attributes: [{name: SameSite, value: Strict}]}
            ringHash: {minimumRingSize: 1024}
          localityLbSetting:
            enabled: true
            distribute: [{from: region1/zone1/*, to: {"region1/zone1/*": 80, "region1/zone2/*": 20}}]
          warmup: {duration: 30s, minimumPercent: 10, aggression: 1.5}
        connectionPool:
          tcp:
            maxConnections: 100
            connectTimeout: 30ms
            tcpKeepalive: {probes: 3, time: 7200s, interval: 75s}
            maxConnectionDuration: 1h
            idleTimeout: 0s
          http:
            http1MaxPendingRequests: 10
            http2MaxRequests: 100
            maxRequestsPerConnection: 1
            maxRetries: 3
            idleTimeout: 1h
            h2UpgradePolicy: UPGRADE
            useClientProtocol: false
            maxConcurrentStreams: 100
            http2KeepAlive: {interval: 30s, timeout: 5s}
        outlierDetection:
          splitExternalLocalOriginErrors: true
          consecutiveLocalOriginFailures: 5
          consecutiveGatewayErrors: 3
          consecutive5xxErrors: 5
          interval: 10s
          baseEjectionTime: 30s
          maxEjectionPercent: 50
          minHealthPercent: 20
          outlierDetectionHttpErrorCodes: [503, 504]
        tls:
          mode: SIMPLE
          sni: everything.example.com
          subjectAltNames: [everything.example.com]
          caCertificates: /etc/ca.pem
          caCrl: /etc/crl.pem
          insecureSkipVerify: false
        portLevelSettings:
        - port: {number: 8080}
          loadBalancer: {simple: LEAST_REQUEST}
          connectionPool: {http: {http1MaxPendingRequests: 5}}
          outlierDetection: {consecutive5xxErrors: 2}
          tls: {mode: ISTIO_MUTUAL}
        retryBudget: {percent: 20, minRetryConcurrency: 3, budgetInterval: 10s}
      subsets:
      - name: v1
        labels: {version: v1}
        trafficPolicy:
          loadBalancer:
            zoneAwareLbSetting: {enabled: true, failover: [{from: a, to: b}], failoverPriority: [topology.kubernetes.io/zone], minClusterSize: 3}
          tunnel: {protocol: CONNECT, targetHost: egress.example.com, targetPort: 8443}
      - name: v2
        labels: {version: v2}
        trafficPolicy:
          loadBalancer:
            consistentHash: {useSourceIp: true, maglev: {tableSize: 65537}}
          proxyProtocol: {version: V2}
      - name: v3
        labels: {version: v3}
        trafficPolicy:
          loadBalancer:
            simple: ROUND_ROBIN
            warmupDurationSecs: 60s
            localityLbSetting:
              failover: [{from: us-east, to: us-west}]
              failoverPriority: [topology.istio.io/network]
          tls: {mode: MUTUAL, credentialName: client-cert}
    ---
    apiVersion: networking.istio.io/v1
    kind: Gateway
    metadata: {name: gw, namespace: shop}
    spec:
      selector: {istio: ingressgateway}
      servers:
      - name: https
        port: {number: 443, name: https, protocol: HTTPS}
        bind: 0.0.0.0
        hosts: [shop/everything.example.com]
        defaultEndpoint: 127.0.0.1:8080
        tls:
          mode: MUTUAL
          serverCertificate: /etc/cert.pem
          privateKey: /etc/key.pem
          caCertificates: /etc/ca.pem
          subjectAltNames: [client.example.com]
          verifyCertificateSpki: [abc]
          verifyCertificateHash: [def]
          minProtocolVersion: TLSV1_2
          maxProtocolVersion: TLSV1_3
          cipherSuites: [ECDHE-RSA-AES256-GCM-SHA384]
      - port: {number: 80, name: http, protocol: HTTP}
        hosts: ["*/everything.example.com"]
        tls: {httpsRedirect: true}
      - port: {number: 8443, name: tls-multi, protocol: HTTPS}
        hosts: [everything.example.com]
        tls:
          mode: SIMPLE
          tlsCertificates:
          - {serverCertificate: /etc/rsa.pem, privateKey: /etc/rsa.key}
          - {serverCertificate: /etc/ec.pem, privateKey: /etc/ec.key}
      - port: {number: 9443, name: creds, protocol: HTTPS}
        hosts: [everything.example.com]
        tls: {mode: OPTIONAL_MUTUAL, credentialNames: [a, b], caCertCredentialName: ca}
    ---
    apiVersion: networking.istio.io/v1
    kind: ServiceEntry
    metadata: {name: everything, namespace: shop}
    spec:
      hosts: [vm.example.com]
      addresses: [10.50.0.1]
      ports: [{number: 80, protocol: HTTP, name: http, targetPort: 8080}]
      location: MESH_INTERNAL
      resolution: STATIC
      endpoints:
      - address: 10.50.0.2
        ports: {http: 8081}
        labels: {version: v1}
        network: net1
        locality: region1/zone1
        weight: 10
        serviceAccount: vm
      exportTo: ["*"]
      subjectAltNames: [spiffe://cluster.local/ns/shop/sa/vm]
    ---
    apiVersion: networking.istio.io/v1
    kind: Sidecar
    metadata: {name: everything, namespace: shop}
    spec:
      workloadSelector: {labels: {app: everything}}
      ingress:
      - port: {number: 9080, protocol: HTTP, name: http}
        defaultEndpoint: 127.0.0.1:8080
        captureMode: DEFAULT
        connectionPool: {http: {http1MaxPendingRequests: 10}}
      - port: {number: 9443, protocol: HTTPS, name: https}
        tls: {mode: SIMPLE, serverCertificate: /etc/c.pem, privateKey: /etc/k.pem}
      egress:
      - port: {number: 3306, protocol: MYSQL, name: mysql}
        bind: 127.0.0.1
        captureMode: NONE
        hosts: ["*/mysql.example.com"]
      - hosts: ["./*", "~/secret.example.com"]
      inboundConnectionPool: {tcp: {maxConnections: 50}}
      outboundTrafficPolicy:
        mode: ALLOW_ANY
        egressProxy: {host: egress.example.com, subset: v1, port: {number: 3128}}
    ---
    apiVersion: networking.istio.io/v1
    kind: WorkloadEntry
    metadata: {name: vm-1, namespace: shop}
    spec:
      address: 10.50.0.9
      ports: {http: 8080}
      labels: {app: vm}
      network: net1
      locality: region1/zone2
      weight: 5
      serviceAccount: vm
    """)


@pytest.fixture(scope="module")
def sink():
    return build_snapshot(read_docs("sink.yaml", KITCHEN_SINK))


def test_a_manifest_using_every_field_loads_clean(sink):
    # only the deprecation warning Istio's webhook gives too
    assert [(d.level, d.source.path) for d in sink.diagnostics] == [("Warning", "spec.http[2].mirrorPercent")]
    assert sink.loaded == 7 and sink.left_out == 0


def test_parsed_values(sink):
    vs = sink.snapshot.get("VirtualService", "shop", "everything")
    m = vs.spec.http[0].match[0]
    assert (m.uri.kind, m.uri.value) == ("prefix", "/api/") and m.method.regex == "GET|HEAD"
    assert m.headers["x-present"].kind == "present" and m.without_headers["x-skip"].kind == "present"
    assert m.port == 8080 and m.source_labels == {"app": "web"} and m.ignore_uri_case is True
    r = vs.spec.http[0]
    assert isinstance(r.timeout, Duration) and r.timeout.seconds == 2.5 and str(r.timeout) == "2.5s"
    assert r.retries.retry_ignore_previous_hosts is False and r.retries.backoff.seconds == 0.025
    assert r.cors_policy.max_age.seconds == 86400 and r.cors_policy.unmatched_preflights == "IGNORE"
    assert [d.weight for d in r.route] == [75, 25] and r.route[0].headers.request.set == {"x-dest": "v1"}
    assert vs.spec.http[1].fault.abort.grpc_status == "UNAVAILABLE"
    assert vs.spec.http[2].fault.delay.percent == 10 and vs.spec.http[2].mirror_percent == 50
    assert vs.spec.http[3].redirect.prefix_rewrite == "/new/" and vs.spec.http[3].redirect.redirect_code == 308
    assert vs.spec.http[5].direct_response.body.bytes == "aGVsbG8="
    assert vs.spec.tcp[0].match[0].source_subnet == "10.2.0.0/16"
    dr = sink.snapshot.get("DestinationRule", "shop", "everything")
    tp = dr.spec.traffic_policy
    assert tp.load_balancer.consistent_hash.http_cookie.attributes[0].value == "Strict"
    assert tp.load_balancer.locality_lb_setting.distribute[0].to == {"region1/zone1/*": 80, "region1/zone2/*": 20}
    assert tp.connection_pool.tcp.idle_timeout.seconds == 0 and tp.connection_pool.http.http2_keep_alive.timeout.seconds == 5
    assert tp.outlier_detection.outlier_detection_http_error_codes == (503, 504)
    assert tp.retry_budget.budget_interval.seconds == 10
    assert dr.spec.subsets[0].traffic_policy.load_balancer.zone_aware_lb_setting.min_cluster_size == 3
    assert dr.spec.subsets[1].traffic_policy.proxy_protocol.version == "V2"
    gw = sink.snapshot.get("Gateway", "shop", "gw")
    assert gw.spec.servers[0].tls.min_protocol_version == "TLSV1_2"
    assert [c.private_key for c in gw.spec.servers[2].tls.tls_certificates] == ["/etc/rsa.key", "/etc/ec.key"]
    assert gw.spec.servers[3].tls.ca_cert_credential_name == "ca"
    sc = sink.snapshot.get("Sidecar", "shop", "everything")
    assert sc.spec.egress[0].capture_mode == "NONE" and sc.spec.outbound_traffic_policy.egress_proxy.port.number == 3128


def test_every_object_and_field_keeps_its_source(sink):
    vs = sink.snapshot.get("VirtualService", "shop", "everything")
    assert (vs.src.file, vs.src.line, vs.src.column, vs.src.path) == ("sink.yaml", 1, 1, "")
    lines = KITCHEN_SINK.splitlines()

    def at(node, path, text):
        assert node.src.path == path and node.src.file == "sink.yaml"
        assert text in lines[node.src.line - 1], (path, node.src.line, lines[node.src.line - 1])

    at(vs.spec.http[0], "spec.http[0]", "- name: all-matches")
    at(vs.spec.http[0].match[0], "spec.http[0].match[0]", "- name: m0")
    at(vs.spec.http[0].match[0].headers["end-user"], "spec.http[0].match[0].headers.end-user", "end-user: {exact: jason}")
    at(vs.spec.http[0].route[1], "spec.http[0].route[1]", "- destination: {host: everything, subset: v2}")
    at(vs.spec.http[0].route[1].destination, "spec.http[0].route[1].destination", "host: everything, subset: v2")
    dr = sink.snapshot.get("DestinationRule", "shop", "everything")
    at(dr.spec.traffic_policy.port_level_settings[0].tls, "spec.trafficPolicy.portLevelSettings[0].tls", "mode: ISTIO_MUTUAL")
    at(dr.spec.subsets[2], "spec.subsets[2]", "- name: v3")
    raw = sink.snapshot.raw[("VirtualService", "shop", "everything")]
    assert raw["spec"]["http"][0]["name"] == "all-matches"  # the plain data is kept too


def test_positions_of_plain_yaml():
    (doc,) = parse_yaml("a:\n  b: [1, {c: 2}]\n  d: x\n")
    data = doc.data
    assert doc.line == 1 and data.pos["a"] == (2, 3) and data["a"].key_pos["d"] == (3, 3)
    assert data["a"]["b"].pos == [(2, 7), (2, 10)] and data["a"]["b"][1].line == 2
