"""Istio's sample tasks as meshtui's analyze tests apply them (tests/analyze/test_samples.py) and as
the oracle compares them with istioctl analyze (tests/oracle/test_analyze_folders.py): for each
case, the sample files (relative to the samples folder) and meshtui's expected findings (code,
resource) -> count. A plain module, so both suites read one list."""

from __future__ import annotations

B = "bookinfo/platform/kube/bookinfo.yaml"
N = "bookinfo/networking/"
P = "bookinfo/platform/kube/"

_REVIEWS = ["reviews-50-v3", "reviews-80-20", "reviews-90-10", "reviews-jason-v2-v3", "reviews-test-v2",
            "reviews-v2-v3", "reviews-v3", "ratings-test-abort", "ratings-test-delay", "all-v1"]



def unused(details: int = 1, ratings: int = 3) -> dict[tuple[str, str], int]:
    """destination-rule-all.yaml defines subsets for versions the sample does not deploy (details v2;
    ratings v2, v2-mysql, v2-mysql-vm): each selects no pod. No route uses them, so each is a note
    (IST0173 at Info; istioctl reports the same subsets, as errors)."""
    out = {("IST0173", "DestinationRule default/details"): details, ("IST0173", "DestinationRule default/ratings"): ratings}
    return {k: n for k, n in out.items() if n}


CASES: dict[str, tuple[list[str], dict[tuple[str, str], int]]] = {
    **{f"bookinfo-{v}": ([B, N + "bookinfo-gateway.yaml", N + "destination-rule-all.yaml", N + f"virtual-service-{v}.yaml"], unused())
       for v in _REVIEWS if v != "all-v1"},
    # all-v1 pins productpage to v1 for the mesh, while the gateway route sends to productpage with no
    # subset: requests from outside reach every version (istioctl's IST0140, reported the same way).
    "bookinfo-all-v1": ([B, N + "bookinfo-gateway.yaml", N + "destination-rule-all.yaml", N + "virtual-service-all-v1.yaml"],
                        {("IST0140", "VirtualService default/bookinfo"): 1, **unused()}),
    "bookinfo-mtls": ([B, N + "bookinfo-gateway.yaml", N + "destination-rule-all-mtls.yaml", N + "virtual-service-all-v1.yaml"],
                      {("IST0140", "VirtualService default/bookinfo"): 1, **unused()}),
    "bookinfo-reviews-dr": ([B, N + "destination-rule-reviews.yaml", N + "virtual-service-reviews-v3.yaml"], {}),
    "bookinfo-details-v2": ([B, P + "bookinfo-details-v2.yaml", N + "destination-rule-all.yaml",
                             N + "virtual-service-details-v2.yaml"], unused(details=0)),
    "bookinfo-ratings-db": ([B, P + "bookinfo-ratings-v2.yaml", P + "bookinfo-db.yaml", N + "destination-rule-all.yaml",
                             N + "virtual-service-ratings-db.yaml"], unused(ratings=2)),
    "bookinfo-ratings-mysql": ([B, P + "bookinfo-ratings-v2-mysql.yaml", P + "bookinfo-mysql.yaml",
                                N + "destination-rule-all.yaml", N + "virtual-service-ratings-mysql.yaml"], unused(ratings=2)),
    "bookinfo-ratings-mysql-vm": ([B, P + "bookinfo-ratings-v2-mysql-vm.yaml", N + "destination-rule-all.yaml",
                                   N + "virtual-service-ratings-mysql-vm.yaml"], unused(ratings=2)),
    # The sample's second rule follows a rule without match: it can never run (istioctl says so too).
    "bookinfo-fault-injection-details": ([B, N + "fault-injection-details-v1.yaml"],
                                         {("IST0130", "VirtualService default/details"): 1}),
    # TLS origination without caCertificates: istioctl's IST0129, reported the same way.
    "bookinfo-egress-googleapis": ([B, N + "egress-rule-google-apis.yaml"],
                                   {("IST0129", "DestinationRule default/originate-tls-for-googleapis"): 1}),
    # cert-manager creates cert-manager-resolver while it solves a challenge; it is not in the sources.
    "bookinfo-certmanager": ([B, N + "certmanager-gateway.yaml"],
                             {("IST0101", "VirtualService istio-system/cert-manager"): 1}),
    "bookinfo-versions": ([B, P + "bookinfo-versions.yaml"], {}),
    "bookinfo-dualstack": ([P + "bookinfo-dualstack.yaml", N + "bookinfo-gateway.yaml", N + "destination-rule-all.yaml",
                            N + "virtual-service-all-v1.yaml"], {("IST0140", "VirtualService default/bookinfo"): 1,
                                                                     **unused()}),
    "bookinfo-psa": ([P + "bookinfo-psa.yaml", N + "bookinfo-gateway.yaml"], {}),
    "bookinfo-parts": ([P + "bookinfo-details.yaml", P + "bookinfo-ratings.yaml", P + "productpage-nodeport.yaml",
                        P + "bookinfo-ingress.yaml", P + "bookinfo-certificate.yaml",
                        "bookinfo/policy/productpage_envoy_ratelimit.yaml"], {}),
    # Gateway API: the Gateway with the per-version Services, then one route file at a time (as the task applies them)
    **{f"bookinfo-gateway-api-{r}": ([B, P + "bookinfo-versions.yaml", "bookinfo/gateway-api/bookinfo-gateway.yaml",
                                      f"bookinfo/gateway-api/{r}.yaml"], {})
       for r in ("route-all-v1", "route-reviews-50-v3", "route-reviews-90-10", "route-reviews-v1", "route-reviews-v3")},
    "helloworld": (["helloworld/helloworld.yaml", "helloworld/helloworld-gateway.yaml"], {}),
    "helloworld-dual-stack": (["helloworld/helloworld-dual-stack.yaml", "helloworld/helloworld-gateway.yaml"], {}),
    "helloworld-gateway-api": (["helloworld/helloworld.yaml", "helloworld/gateway-api/helloworld-gateway.yaml"], {}),
    # the versions task replaces the first file's HTTPRoute: the loader says which one wins
    "helloworld-gateway-api-versions": (["helloworld/helloworld.yaml", "helloworld/gateway-api/helloworld-gateway.yaml",
                                         "helloworld/gateway-api/helloworld-versions.yaml", "helloworld/gateway-api/helloworld-route.yaml"],
                                        {("MT0001", "HTTPRoute default/helloworld"): 1}),
    "httpbin": (["httpbin/httpbin.yaml", "httpbin/httpbin-gateway.yaml", "httpbin/sample-client/fortio-deploy.yaml"], {}),
    "httpbin-nodeport": (["httpbin/httpbin-nodeport.yaml", "httpbin/gateway-api"], {}),
    "tcp-echo-all-v1": (["tcp-echo/tcp-echo-services.yaml", "tcp-echo/tcp-echo-all-v1.yaml"], {}),
    # The task applies all-v1, then 20-v2 replaces its VirtualService: the loader says which one wins.
    "tcp-echo-20-v2": (["tcp-echo/tcp-echo-services.yaml", "tcp-echo/tcp-echo-all-v1.yaml", "tcp-echo/tcp-echo-20-v2.yaml"],
                       {("MT0001", "VirtualService default/tcp-echo"): 1}),
    "tcp-echo-single": (["tcp-echo/tcp-echo.yaml"], {}),
    "tcp-echo-ipv4": (["tcp-echo/tcp-echo-ipv4.yaml"], {}),
    "websockets": (["websockets/app.yaml", "websockets/route.yaml"], {}),
    "external": (["external/aptget.yaml", "external/github.yaml", "external/pypi.yaml"], {}),
    "clients": (["sleep/sleep.yaml", "curl/curl.yaml", "grpc-echo/grpc-echo.yaml", "health-check", "mtls-echo/mtls-echo.yaml",
                 "extauthz"], {}),
}
