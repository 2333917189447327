"""What `meshtui trace` does with a request Envoy or curl would refuse (issue 12), through the
real entry point: Envoy's own 400/431 is the trace's outcome (`rejected`, exit 0); a URL curl
would refuse is a usage error (exit 2). Plus the port the trace assumed, and the ports a service
has when the URL names another. tests/envoy/test_refused_requests.py checks the 400/431 cases
against a real Envoy byte for byte."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from model_kit import REPO

BOOKINFO = ["-f", "fixtures/bookinfo", "--from", "default/productpage-v1"]


def trace(*argv: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(REPO), "NO_COLOR": "1"}
    return subprocess.run([sys.executable, "-m", "meshtui", "trace", *BOOKINFO, *argv], cwd=REPO, capture_output=True,
                          text=True, timeout=60, env=env)


@pytest.mark.parametrize("argv, status, says", [
    (["-X", "BREW"], 400, "method 'BREW'"),
    (["-X", "get"], 400, "case-sensitive: GET"),
    (["-X", "CONNECT"], 400, "authority-form"),
    ([a for i in range(100) for a in ("-H", f"x-h{i}: v")], 431, "101 headers"),
    (["-H", "x-big: " + "a" * 61440], 431, "max_request_headers_kb"),
    (["-H", "x a: 1"], 400, "not a valid HTTP token"),
    (["-H", "Host: re views"], 400, "Host 're views'"),
])
def test_requests_envoy_refuses_are_rejected_not_routed(argv, status, says):
    proc = trace(*argv, "-o", "json", "http://reviews:9080/")
    assert proc.returncode == 0, proc.stderr  # a trace that ends in Envoy's own answer is still a trace
    t = json.loads(proc.stdout)
    assert (t["outcome"], t["status"]) == ("rejected", status)  # before: "routed"
    assert says in t["steps"][-1]["detail"]
    assert t["destinations"] == []


@pytest.mark.parametrize("url, says", [
    ("http://user:pass@reviews:9080/", "credentials in the URL"),
    ("http://user@reviews/", "credentials in the URL"),
    ("http://[::1]junk/", "'junk' after the IPv6 address"),
    ("http://[::1]:9080junk/", "port '9080junk'"),
    ("http://[nope]/", "'nope' in brackets is not an IPv6 address"),
    ("http://::1/", "an IPv6 address goes in brackets"),
    ("http://rev<iews/", "characters a host name cannot have"),
])
def test_urls_curl_refuses_are_usage_errors(url, says):
    proc = trace(url)
    assert proc.returncode == 2, proc.stdout  # before: traced (a routed or passthrough verdict)
    assert says in proc.stderr and "Traceback" not in proc.stderr and proc.stdout == ""


def test_bracketed_ipv6_keeps_its_brackets_in_the_host_header():
    proc = trace("-o", "json", "http://[::1]:9080/")
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["request"]["host"] == "::1"
    assert trace("http://[::1]:9080/").stdout.startswith("GET http://[::1]:9080/")


def test_header_says_which_port_was_assumed():
    out = trace("http://reviews/").stdout.splitlines()[0]
    assert "no port given: 9080 assumed, the service's only port; curl would dial 80" in out
    out = trace("http://example.com/").stdout.splitlines()[0]
    assert "no port given: 80 assumed, the http default" in out
    assert "assumed" not in trace("http://reviews:9080/").stdout.splitlines()[0]


def test_a_port_the_service_lacks_lists_the_ports_it_has():
    proc = trace("http://reviews:1234/")
    assert proc.returncode == 0
    assert "reviews.default.svc.cluster.local does not expose port 1234; its ports: 9080/http" in proc.stdout
