"""The project's scenario meshes (fixtures/scenarios), applied the way the tasks apply them: the
platform file, then the networking files of one task, over the ingress gateway of a demo-profile
install (fixtures/analyze/platform). Every message is listed here and is a true finding; the only
Info allowed besides is MT0002 (kinds meshtui skips, e.g. ServiceAccount). The same ground as
test_samples.py, on a fresh clone."""

from __future__ import annotations

import pytest
from analyze_helpers import FIXTURES, SCENARIOS, assert_findings

INSTALL = FIXTURES / "platform" / "istio-demo-ingressgateway.yaml"
B = "bookinfo/"
APP = B + "app.yaml"
GW = B + "gateway.yaml"

_ROUTES = ["route-all-v1", "reviews-jason-v2-else-v3", "reviews-jason-v2-else-v1", "reviews-v1-90-v2-10",
           "reviews-v1-80-v2-20", "reviews-v1-50-v3-50", "reviews-v2-50-v3-50", "reviews-v3",
           "ratings-abort-for-jason", "ratings-delay-for-jason"]



def unused(details: int = 1, ratings: int = 3) -> dict[tuple[str, str], int]:
    """subsets.yaml defines subsets for versions app.yaml does not deploy (details v2; ratings v2,
    v2-mysql, v2-mysql-vm): each selects no pod. No route uses them, so each is a note (IST0173 at
    Info; istioctl reports the same subsets, as errors)."""
    out = {("IST0173", "DestinationRule default/details"): details, ("IST0173", "DestinationRule default/ratings"): ratings}
    return {k: n for k, n in out.items() if n}


CASES: dict[str, tuple[list[str], dict[tuple[str, str], int]]] = {
    **{f"bookinfo-{r}": ([APP, GW, B + "subsets.yaml", B + f"{r}.yaml"], unused()) for r in _ROUTES if r != "route-all-v1"},
    # route-all-v1 pins productpage to v1 for the mesh; the gateway route has no subset (istioctl's IST0140)
    "bookinfo-route-all-v1": ([APP, GW, B + "subsets.yaml", B + "route-all-v1.yaml"],
                              {("IST0140", "VirtualService default/bookinfo"): 1, **unused()}),
    "bookinfo-mtls": ([APP, GW, B + "subsets-mtls.yaml", B + "route-all-v1.yaml"],
                      {("IST0140", "VirtualService default/bookinfo"): 1, **unused(ratings=1)}),
    "bookinfo-reviews-random": ([APP, B + "reviews-random.yaml", B + "reviews-v3.yaml"], {}),
    "bookinfo-details-v2": ([APP, B + "details-v2.yaml", B + "subsets.yaml", B + "details-v2-route.yaml"], unused(details=0)),
    "bookinfo-ratings-v2": ([APP, B + "ratings-v2.yaml", B + "subsets.yaml", B + "ratings-v2-route.yaml"], unused(ratings=2)),
    # The second rule follows a rule without match: it can never run (istioctl says so too).
    "bookinfo-details-abort": ([APP, B + "details-abort-555.yaml"], {("IST0130", "VirtualService default/details"): 1}),
    # TLS origination without caCertificates: istioctl's IST0129.
    "bookinfo-egress-googleapis": ([APP, B + "egress-googleapis.yaml"],
                                   {("IST0129", "DestinationRule default/originate-tls-for-googleapis"): 1}),
    "helloworld": (["helloworld/helloworld.yaml", "helloworld/gateway.yaml", "clients/curl.yaml"], {}),
    "httpbin": (["httpbin/httpbin.yaml", "httpbin/gateway.yaml", "clients/sleep.yaml"], {}),
    # Two tasks' Gateways on the same port for every host: the gateway merges them (a true finding).
    "helloworld-and-httpbin": (["helloworld", "httpbin"], {("IST0145", "Gateway default/helloworld-gateway"): 1,
                                                          ("IST0145", "Gateway default/httpbin-gateway"): 1}),
    "tcp-echo-all-v1": (["tcp-echo/services.yaml", "tcp-echo/all-v1.yaml"], {}),
    # Applied after all-v1, the 80/20 VirtualService replaces it: the loader says which one wins.
    "tcp-echo-80-20": (["tcp-echo/services.yaml", "tcp-echo/all-v1.yaml", "tcp-echo/v1-80-v2-20.yaml"],
                       {("MT0001", "VirtualService default/tcp-echo"): 1}),
    "external": (["external", "clients/curl.yaml"], {}),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_scenario(name, analyze_files):
    files, expected = CASES[name]
    assert_findings(analyze_files(INSTALL, *(SCENARIOS / f for f in files)), expected)


def test_without_the_install_the_standard_gateway_is_assumed(analyze_files):
    """Files alone: like `istioctl analyze --use-kube=false`, a Gateway on Istio's standard ingress
    (istio=ingressgateway) is judged against the stand-in gateway istioctl assumes, not reported."""
    messages = analyze_files(SCENARIOS / APP, SCENARIOS / GW)
    assert [(m.code, m.resource) for m in messages if m.code != "MT0002"] == []


@pytest.mark.parametrize(("route", "dr"), [("details-v2-route.yaml", "details"), ("ratings-v2-route.yaml", "ratings")])
def test_a_subset_without_pods_is_reported(analyze_files, route, dr):
    """Routing to v2 without its Deployment (details-v2.yaml, ratings-v2.yaml): the subset selects no Pods,
    and a route sends it traffic: an error (the unused subsets without pods are notes)."""
    messages = analyze_files(INSTALL, *(SCENARIOS / B / f for f in ("app.yaml", "subsets.yaml", route)))
    got = [(m.code, m.resource) for m in messages if m.code != "MT0002" and m.level != "Info"]
    assert got == [("IST0173", f"DestinationRule default/{dr}")], "\n".join(m.log_line() for m in messages)
    routed = next(m for m in messages if m.level == "Error")
    assert routed.message.startswith("The Subset v2 ") and "receives traffic from" in routed.message
