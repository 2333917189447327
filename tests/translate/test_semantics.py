"""The edge cases a tracer must get right (istio-semantics.md §10), each on a small mesh."""

from __future__ import annotations

import pytest
from tracer_kit import client, dr, mesh, svc, vs

from meshtui.errors import UsageError
from meshtui.simulate import Request, simulate
from meshtui.translate import translate


def test_short_name_expands_with_the_vs_namespace_only_without_dots(trace):
    m = mesh(svc("reviews", "foo", versions=("v1", "v2")) + client(ns="foo") + dr("r", "reviews", "foo") + vs("r", """
  hosts: [reviews]
  http:
  - route: [{destination: {host: reviews, subset: v2}}]
""", "foo") + vs("dotted", """
  hosts: [reviews.foo]
  http:
  - route: [{destination: {host: reviews.foo, subset: v1}}]
""", "foo"))
    t = trace(m, "http://reviews:9080/", proxy="foo/client")
    assert t.destinations[0].cluster == "outbound|9080|v2|reviews.foo.svc.cluster.local"
    # `reviews.foo` is taken literally: it is no service, so that VS only lives on port 80
    cfg = translate(m, "foo/client")
    assert "reviews.foo:80" not in {vh.name for rc in cfg.route_configs.values() for vh in rc.virtual_hosts}


def test_port_in_host_header_is_ignored_for_vhost_selection(trace):
    m = mesh(svc("reviews") + client())
    t = trace(m, "http://reviews:9080/", headers=["Host: reviews:1234"])
    assert t.virtual_host == "reviews.default.svc.cluster.local:9080"


def test_other_namespace_short_name_is_not_a_domain(trace):
    m = mesh(svc("ratings", "other") + svc("reviews") + client())
    cfg = translate(m, "default/client")
    vh = next(v for v in cfg.route_configs["9080"].virtual_hosts if v.name.startswith("ratings"))
    assert "ratings" not in vh.domains and "ratings.other" in vh.domains
    assert "reviews" in next(v for v in cfg.route_configs["9080"].virtual_hosts if v.name.startswith("reviews")).domains


@pytest.mark.parametrize("mode,outcome,status", [("ALLOW_ANY", "passthrough", None), ("REGISTRY_ONLY", "blackhole", 502)])
def test_unknown_host_on_known_port(trace, mode, outcome, status):
    sidecar = f"""
---
apiVersion: networking.istio.io/v1
kind: Sidecar
metadata: {{name: default, namespace: default}}
spec:
  outboundTrafficPolicy: {{mode: {mode}}}
"""
    m = mesh(svc("reviews") + client() + sidecar)
    t = trace(m, "http://unknown.example.com:9080/")
    assert (t.outcome, t.status) == (outcome, status)
    assert t.virtual_host == ("allow_any" if mode == "ALLOW_ANY" else "block_all")


def test_one_vs_per_host_oldest_wins_and_exact_beats_wildcard(trace):
    older = vs("a-older", """
  hosts: [reviews]
  http:
  - route: [{destination: {host: reviews, subset: v1}}]
""").replace("metadata: {name: a-older, namespace: default}", "metadata: {name: a-older, namespace: default, creationTimestamp: '2024-01-01T00:00:00Z'}")
    newer = vs("z-newer", """
  hosts: [reviews.default.svc.cluster.local]
  http:
  - route: [{destination: {host: reviews, subset: v2}}]
""").replace("metadata: {name: z-newer, namespace: default}", "metadata: {name: z-newer, namespace: default, creationTimestamp: '2025-01-01T00:00:00Z'}")
    wildcard = vs("wild", """
  hosts: ["*.default.svc.cluster.local"]
  http:
  - route: [{destination: {host: ratings}}]
""")
    m = mesh(svc("reviews", versions=("v1", "v2")) + svc("ratings") + client() + dr("r", "reviews") + newer + older + wildcard)
    t = trace(m, "http://reviews:9080/")
    assert t.virtual_service.name == "a-older"
    assert t.destinations[0].subset == "v1"
    assert any("z-newer" in s.detail and "ignored" in s.detail for s in t.steps)
    t2 = trace(m, "http://ratings:9080/")
    assert t2.virtual_service.name == "wild"


def test_no_fallthrough_404_when_vs_owns_host(trace):
    m = mesh(svc("reviews") + client() + vs("r", """
  hosts: [reviews]
  http:
  - match: [{uri: {prefix: /api}}]
    route: [{destination: {host: reviews}}]
"""))
    t = trace(m, "http://reviews:9080/other")
    assert (t.outcome, t.status, t.response_flags) == ("no-route", 404, "NR")
    assert "does not match '/other'" in next(s for s in t.steps if s.verdict == "no-match").detail


def test_rules_after_a_catch_all_are_dropped(trace):
    m = mesh(svc("reviews") + client() + vs("r", """
  hosts: [reviews]
  http:
  - route: [{destination: {host: reviews}}]
  - match: [{uri: {prefix: /never}}]
    directResponse: {status: 418}
"""))
    cfg = translate(m, "default/client")
    vh = next(v for v in cfg.route_configs["9080"].virtual_hosts if v.name.startswith("reviews"))
    assert len(vh.routes) == 1
    assert trace(m, "http://reviews:9080/never").outcome == "routed"


def test_config_time_filters_and_fallback_to_default_route(trace):
    m = mesh(svc("reviews") + client(labels="{app: client, team: a}") + client("other", labels="{app: other}") + vs("r", """
  hosts: [reviews]
  http:
  - match: [{sourceLabels: {team: a}}]
    route: [{destination: {host: reviews}}]
    fault: {abort: {httpStatus: 500, percentage: {value: 100}}}
"""))
    assert trace(m, "http://reviews:9080/").outcome == "fault-abort"
    t = trace(m, "http://reviews:9080/", proxy="default/other")
    assert t.outcome == "routed" and t.route_name == "default"
    assert any("filtered out" in s.detail for s in t.steps)


def test_non_registry_vs_host_only_on_port_80(trace):
    m = mesh(svc("web", port=80) + svc("api", port=8080) + client() + vs("ext", """
  hosts: [foo.example.com]
  http:
  - route: [{destination: {host: web}}]
"""))
    assert trace(m, "http://foo.example.com:80/").destinations[0].host == "web.default.svc.cluster.local"
    assert trace(m, "http://foo.example.com:8080/").outcome == "passthrough"


def test_destination_port_inference_and_missing_subset(trace):
    m = mesh(svc("reviews") + client() + vs("r", """
  hosts: [reviews]
  http:
  - route: [{destination: {host: reviews, subset: nope}}]
"""))
    t = trace(m, "http://reviews:9080/")
    assert (t.outcome, t.status) == ("cluster-not-found", 503)
    assert t.destinations[0].cluster == "outbound|9080|nope|reviews.default.svc.cluster.local"


def test_subset_with_zero_endpoints_is_503_uh(trace):
    m = mesh(svc("reviews", versions=("v1",)) + client() + dr("r", "reviews") + vs("r", """
  hosts: [reviews]
  http:
  - route: [{destination: {host: reviews, subset: v2}}]
"""))
    t = trace(m, "http://reviews:9080/")
    assert (t.outcome, t.status, t.response_flags) == ("no-healthy-upstream", 503, "UH")


def test_weights_drop_zero_and_are_relative(trace):
    m = mesh(svc("reviews", versions=("v1", "v2")) + client() + dr("r", "reviews") + vs("r", """
  hosts: [reviews]
  http:
  - route:
    - {destination: {host: reviews, subset: v1}, weight: 1}
    - {destination: {host: reviews, subset: v2}, weight: 3}
    - {destination: {host: reviews}, weight: 0}
"""))
    t = trace(m, "http://reviews:9080/")
    assert [(d.subset, d.probability) for d in t.destinations] == [("v1", 0.25), ("v2", 0.75)]


def test_single_destination_ignores_weight(trace):
    m = mesh(svc("reviews") + client() + vs("r", """
  hosts: [reviews]
  http:
  - route: [{destination: {host: reviews}, weight: 30}]
"""))
    assert trace(m, "http://reviews:9080/").destinations[0].probability == 1.0


def test_header_value_semantics(trace):
    m = mesh(svc("reviews") + client() + vs("r", """
  hosts: [reviews]
  http:
  - name: present
    match: [{headers: {x-a: {}}}]
    directResponse: {status: 201}
  - name: empty
    match: [{headers: {x-b: {exact: ""}}}]
    directResponse: {status: 202}
  - name: without
    match: [{withoutHeaders: {x-c: {exact: "yes"}}, uri: {exact: /w}}]
    directResponse: {status: 203}
  - name: regex-full
    match: [{uri: {regex: "/n/[0-9]+"}}]
    directResponse: {status: 204}
  - name: query
    match: [{queryParams: {q: {regex: "\\\\d+"}}}]
    directResponse: {status: 205}
  - route: [{destination: {host: reviews}}]
"""))
    assert trace(m, "http://reviews:9080/", headers=["x-a: anything"]).status == 201
    assert trace(m, "http://reviews:9080/", headers=["x-b: "]).status == 202
    assert trace(m, "http://reviews:9080/", headers=["x-b: x"]).outcome == "routed"
    assert trace(m, "http://reviews:9080/w").status == 203  # missing header counts as empty
    assert trace(m, "http://reviews:9080/w", headers=["x-c: yes"]).outcome == "routed"
    assert trace(m, "http://reviews:9080/n/12?x=1").status == 204  # regex ignores the query
    assert trace(m, "http://reviews:9080/n/12x").outcome == "routed"  # regex is a full match
    assert trace(m, "http://reviews:9080/?q=123").status == 205
    assert trace(m, "http://reviews:9080/?q=a123").outcome == "routed"


def test_ignore_uri_case_affects_prefix_not_regex(trace):
    m = mesh(svc("reviews") + client() + vs("r", """
  hosts: [reviews]
  http:
  - match: [{uri: {prefix: /API}, ignoreUriCase: true}]
    directResponse: {status: 201}
  - match: [{uri: {regex: "/CASE"}, ignoreUriCase: true}]
    directResponse: {status: 202}
  - route: [{destination: {host: reviews}}]
"""))
    assert trace(m, "http://reviews:9080/api/x").status == 201
    assert trace(m, "http://reviews:9080/case").outcome == "routed"


def test_defaults_timeout_retries_fault_without_percentage(trace):
    m = mesh(svc("reviews") + client() + vs("r", """
  hosts: [reviews]
  http:
  - match: [{uri: {prefix: /noretry}}]
    retries: {attempts: 0}
    route: [{destination: {host: reviews}}]
  - fault: {abort: {httpStatus: 500}}
    route: [{destination: {host: reviews}}]
"""))
    t = trace(m, "http://reviews:9080/")
    assert t.timeout is None
    assert t.retries is not None and t.retries.attempts == 2 and "connect-failure" in t.retries.retry_on
    assert t.outcome == "routed" and t.fault is not None and t.fault.abort is not None and t.fault.abort.probability == 0.0
    retries = trace(m, "http://reviews:9080/noretry").retries
    assert retries is not None and retries.to_json() == {"attempts": 0}


def test_dr_lookup_client_namespace_wildcard_shadows_service_namespace(trace):
    client_dr = """
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: wild, namespace: front}
spec:
  host: "*.back.svc.cluster.local"
  trafficPolicy: {loadBalancer: {simple: RANDOM}}
"""
    m = mesh(svc("api", "back") + client(ns="front") + client("c2", ns="other") + dr("api", "api", "back",
         extra="  trafficPolicy: {loadBalancer: {simple: ROUND_ROBIN}}") + client_dr)
    t = trace(m, "http://api.back:9080/", proxy="front/client")
    assert t.destinations[0].destination_rule.name == "wild"
    assert t.destinations[0].lb_policy == "RANDOM"
    t2 = trace(m, "http://api.back:9080/", proxy="other/c2")
    assert t2.destinations[0].destination_rule.name == "api" and t2.destinations[0].lb_policy == "ROUND_ROBIN"


def test_policy_layering_port_level_replaces_and_subset_block_overrides(trace):
    m = mesh(svc("api", versions=("v1", "v2")) + client() + dr("api", "api", extra="""  trafficPolicy:
    loadBalancer: {simple: ROUND_ROBIN}
    connectionPool: {tcp: {maxConnections: 10}}
    portLevelSettings:
    - port: {number: 9080}
      loadBalancer: {simple: RANDOM}
""").replace("  - {name: v2, labels: {version: v2}}", "  - {name: v2, labels: {version: v2}, trafficPolicy: {connectionPool: {http: {maxRetries: 1}}}}") + vs("api", """
  hosts: [api]
  http:
  - route: [{destination: {host: api, subset: v2}}]
"""))
    t = trace(m, "http://api:9080/")
    pol = t.destinations[0].traffic_policy
    assert pol["loadBalancer"] == {"simple": "RANDOM"}  # port level replaced the top level wholesale
    assert pol["connectionPool"] == {"http": {"maxRetries": 1}}  # the subset block replaced it, tcp gone


def test_sidecar_scope_egress_and_exclusion(trace):
    sc = """
---
apiVersion: networking.istio.io/v1
kind: Sidecar
metadata: {name: default, namespace: default}
spec:
  egress:
  - hosts: ["./*", "~/ratings.default.svc.cluster.local"]
  outboundTrafficPolicy: {mode: REGISTRY_ONLY}
"""
    m = mesh(svc("reviews") + svc("ratings") + svc("api", "other") + client() + sc)
    assert trace(m, "http://reviews:9080/").outcome == "routed"
    assert trace(m, "http://ratings:9080/").outcome == "blackhole"
    assert trace(m, "http://api.other:9080/").outcome == "blackhole"
    t = trace(m, "http://reviews:9080/")
    assert t.sidecar_scope.name == "default"


def test_root_namespace_sidecar_dot_means_proxy_namespace(trace):
    sc = """
---
apiVersion: networking.istio.io/v1
kind: Sidecar
metadata: {name: default, namespace: istio-system}
spec:
  egress:
  - hosts: ["./*"]
"""
    m = mesh(svc("reviews", "team") + svc("api", "other") + client(ns="team") + sc)
    cfg = translate(m, "team/client")
    hosts = {vh.name for vh in cfg.route_configs["9080"].virtual_hosts}
    assert "reviews.team.svc.cluster.local:9080" in hosts and "api.other.svc.cluster.local:9080" not in hosts


def test_vs_export_to_private(trace):
    m = mesh(svc("reviews", "back", versions=("v1", "v2")) + client(ns="back") + client(ns="front") + dr("r", "reviews", "back")
             + vs("r", """
  hosts: [reviews]
  exportTo: ["."]
  http:
  - route: [{destination: {host: reviews, subset: v2}}]
""", "back"))
    assert trace(m, "http://reviews.back:9080/", proxy="back/client").destinations[0].subset == "v2"
    assert trace(m, "http://reviews.back:9080/", proxy="front/client").route_name == "default"


def test_multi_port_service_without_port_is_a_usage_error():
    m = mesh(svc("api", extra_ports="\n  - {name: grpc, port: 9090, targetPort: 9090}") + client())
    cfg = translate(m, "default/client")
    with pytest.raises(UsageError, match=r"9080.*9090"):
        simulate(cfg, Request.parse("http://api/"))


def test_unknown_workload_lists_close_names():
    m = mesh(svc("reviews") + client("productpage-v1"))
    with pytest.raises(UsageError, match="productpage-v1"):
        translate(m, "default/productpage")


def test_redirect_location_and_direct_response(trace):
    m = mesh(svc("web", port=80) + client() + vs("web", """
  hosts: [web]
  http:
  - match: [{uri: {exact: /old}}]
    redirect: {uri: /new, authority: new.example.com, redirectCode: 308}
  - match: [{uri: {prefix: /health}}]
    directResponse: {status: 200, body: {string: ok}}
  - route: [{destination: {host: web}}]
"""))
    t = trace(m, "http://web/old?a=1")
    assert (t.outcome, t.status, t.location) == ("redirect", 308, "http://new.example.com/new?a=1")
    t = trace(m, "http://web/healthz")
    assert (t.outcome, t.status, t.body) == ("direct-response", 200, "ok")


def test_redirect_location_keeps_the_host_case_as_sent(trace):
    """Envoy writes the Host header into a redirect's Location as the client sent it (the virtual
    host is still chosen without case); tests/envoy/test_redirect_case.py checks Envoy agrees."""
    m = mesh(svc("web", port=80) + client() + vs("web", """
  hosts: [web]
  http:
  - match: [{uri: {exact: /old}}]
    redirect: {uri: /new}
  - route: [{destination: {host: web}}]
"""))
    for host in ("WEB", "Web.Default.svc.cluster.local"):
        t = trace(m, f"http://{host}/old")
        assert (t.outcome, t.location) == ("redirect", f"http://{host}/new")
    t = trace(m, "http://web/old", headers=["Host: Web:80"])
    assert t.location == "http://Web:80/new"


def test_delegate_merges_matches(trace):
    m = mesh(svc("reviews", versions=("v1", "v2")) + client() + dr("r", "reviews") + vs("root", """
  hosts: [reviews]
  http:
  - match: [{uri: {prefix: /api}}]
    delegate: {name: child}
  - route: [{destination: {host: reviews, subset: v1}}]
""") + vs("child", """
  http:
  - match: [{uri: {prefix: /api/v2}}]
    route: [{destination: {host: reviews, subset: v2}}]
  - match: [{uri: {prefix: /other}}]
    route: [{destination: {host: reviews, subset: v2}}]
"""))
    t = trace(m, "http://reviews:9080/api/v2/x")
    assert t.destinations[0].subset == "v2" and t.virtual_service.name == "root"
    assert trace(m, "http://reviews:9080/other").destinations[0].subset == "v1"  # conflicting delegate rule dropped


def test_gateway_merges_vs_and_moves_catch_all_last(trace):
    gw = """
---
apiVersion: v1
kind: Pod
metadata: {name: ingress, namespace: istio-system, labels: {istio: ingressgateway}}
status: {podIP: 10.9.0.1, phase: Running}
---
apiVersion: v1
kind: Service
metadata: {name: ingress, namespace: istio-system}
spec:
  selector: {istio: ingressgateway}
  ports: [{name: http2, port: 80, targetPort: 8080}]
---
apiVersion: networking.istio.io/v1
kind: Gateway
metadata: {name: gw, namespace: istio-system}
spec:
  selector: {istio: ingressgateway}
  servers:
  - port: {number: 80, name: http, protocol: HTTP}
    hosts: ["*/shop.example.com"]
"""
    catch = vs("a-catch", """
  hosts: [shop.example.com]
  gateways: [istio-system/gw]
  http:
  - route: [{destination: {host: web}}]
""")
    api = vs("b-api", """
  hosts: [shop.example.com]
  gateways: [istio-system/gw]
  http:
  - match: [{uri: {prefix: /api}}]
    route: [{destination: {host: api}}]
""")
    m = mesh(svc("web") + svc("api") + gw + catch + api)
    t = trace(m, "http://shop.example.com/api/x", proxy="istio-system/ingress")
    assert t.destinations[0].host == "api.default.svc.cluster.local"
    assert t.listener == "0.0.0.0_8080" and t.route_config == "http.8080"
    assert trace(m, "http://other.example.com/", proxy="istio-system/ingress").status == 404


def test_path_is_normalised_before_routing(trace):
    m = mesh(svc("web", port=80) + client() + vs("web", """
  hosts: [web]
  http:
  - match: [{uri: {prefix: /admin}}]
    directResponse: {status: 403}
  - route: [{destination: {host: web}}]
"""))
    t = trace(m, "http://web/public/../admin/x")
    assert t.status == 403
    assert any("normalised" in s.detail for s in t.steps)


def test_external_name_service_is_an_alias_of_its_target(trace):
    alias = """
---
apiVersion: v1
kind: Service
metadata: {name: legacy, namespace: default}
spec:
  type: ExternalName
  externalName: reviews.default.svc.cluster.local
  ports: [{name: http, port: 9080}]
---
apiVersion: v1
kind: Service
metadata: {name: outside, namespace: default}
spec:
  type: ExternalName
  externalName: api.example.com
  ports: [{name: http, port: 9080}]
"""
    m = mesh(svc("reviews", versions=("v1", "v2")) + client() + dr("r", "reviews") + alias + vs("r", """
  hosts: [reviews]
  http:
  - route: [{destination: {host: reviews, subset: v2}}]
"""))
    t = trace(m, "http://legacy:9080/")
    assert t.virtual_host == "reviews.default.svc.cluster.local:9080"
    assert t.destinations[0].subset == "v2"
    assert trace(m, "http://outside:9080/").outcome == "passthrough"


def test_egress_port_listener_does_not_pull_in_destinations_without_that_port(trace):
    sc = """
---
apiVersion: networking.istio.io/v1
kind: Sidecar
metadata: {name: default, namespace: default}
spec:
  egress:
  - port: {number: 9080, protocol: HTTP, name: http}
    hosts: ["./front.default.svc.cluster.local"]
"""
    m = mesh(svc("front") + svc("back", port=8080) + client() + sc + vs("front", """
  hosts: [front]
  http:
  - route: [{destination: {host: back, port: {number: 8080}}}]
"""))
    t = trace(m, "http://front:9080/")
    assert (t.outcome, t.status) == ("cluster-not-found", 503)


def test_redirect_code_istio_cannot_translate_is_left_out_and_said(trace):
    m = mesh(svc("web", port=80) + client() + vs("web", """
  hosts: [web]
  http:
  - match: [{uri: {exact: /old}}]
    redirect: {uri: /new, redirectCode: 305}
  - route: [{destination: {host: web}}]
"""))
    t = trace(m, "http://web/old")
    assert t.outcome == "routed"
    assert any("redirectCode 305" in s.detail and "rejects this whole route configuration" in s.detail for s in t.steps)


def test_prearmed_routes_carry_live_faults_in_runtime_keys_only():
    from meshtui.edits.model import FaultEdit, FaultTarget
    from meshtui.edits.overlay import apply_edits
    from meshtui.translate import TranslateOptions

    m = mesh(svc("reviews", versions=("v1", "v2")) + client() + dr("r", "reviews") + vs("r", """
  hosts: [reviews]
  http:
  - match: [{headers: {x-slow: {}}}]
    fault: {delay: {fixedDelay: 2s, percentage: {value: 10}}}
    route: [{destination: {host: reviews, subset: v1}}]
  - route: [{destination: {host: reviews, subset: v2}}]
"""))
    edit = FaultEdit("f1", FaultTarget(host="reviews.default.svc.cluster.local", subset="v2"), 50, abort_status=503,
                     ttl_seconds=60, created_at=0)
    armed = TranslateOptions(prearm_faults=True)
    plain = translate(m, "default/client", armed).envoy_resources()
    live_cfg = translate(apply_edits(m, [edit], now=1), "default/client", armed)
    live = live_cfg.envoy_resources()
    assert live.routes == plain.routes  # a fault never changes the route configuration
    assert plain.runtime == {}
    t = simulate(live_cfg, Request.parse("http://reviews:9080/"))
    keys = list(t.fault.live.runtime_keys)
    assert set(keys) == set(live.runtime)  # the trace names the keys Envoy reads
    assert live.runtime[next(k for k in keys if k.endswith(".abort_status"))] == 503
    # the VirtualService's own delay stays the default of its route
    vh = next(v for rc in plain.routes for v in rc["virtual_hosts"] if v["name"].startswith("reviews"))
    fault = vh["routes"][0]["typed_per_filter_config"]["envoy.filters.http.fault"]
    assert fault["delay"]["fixed_delay"] == "2s" and fault["delay"]["percentage"]["numerator"] == 100000


def test_missing_subset_names_the_dr_in_effect_its_tier_and_the_shadowed_one_that_defines_it(trace):
    """A client-namespace DestinationRule without subsets shadows the service namespace's, which
    defines v2: the trace must say so instead of 'not defined in any DestinationRule'."""
    client_dr = """
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: api-local, namespace: front}
spec:
  host: api.back.svc.cluster.local
  trafficPolicy: {loadBalancer: {simple: RANDOM}}
"""
    route = vs("api", """
  hosts: [api.back.svc.cluster.local]
  http:
  - route: [{destination: {host: api.back.svc.cluster.local, subset: v2}}]
""", "front")
    m = mesh(svc("api", "back", versions=("v1", "v2")) + client(ns="front") + dr("api", "api", "back") + client_dr + route)
    t = trace(m, "http://api.back:9080/", proxy="front/client")
    assert t.outcome == "cluster-not-found"
    miss = next(s for s in t.steps if s.stage == "cluster" and s.verdict == "no-match")
    assert "not defined in any DestinationRule" not in miss.detail
    assert "DestinationRule front/api-local, the one in effect" in miss.detail and "(client namespace tier)" in miss.detail
    assert "DestinationRule back/api defines it, but the client-namespace DestinationRule front/api-local shadows it" in miss.detail
    dr_step = next(s for s in t.steps if s.stage == "destination-rule")
    assert dr_step.ref is not None and (dr_step.ref.namespace, dr_step.ref.name) == ("front", "api-local")
    # with no rule at all the old sentence stays
    t = trace(mesh(svc("api", "back") + client(ns="front") + route), "http://api.back:9080/", proxy="front/client")
    assert any("is not defined in any DestinationRule for api.back.svc.cluster.local" in s.detail for s in t.steps)
