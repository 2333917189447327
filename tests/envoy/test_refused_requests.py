"""Requests Envoy answers itself before routing (its HTTP/1 codec and connection manager): an
unknown or lower-case method, CONNECT with a path, more than 100 headers, a header block over
60 KiB, a header name that is not a token, a Host with a space, QUERY without Content-Type.
Each is sent byte for byte to a real Envoy running meshtui's bootstrap and traced by `simulate`;
both must say the same: `rejected` with Envoy's status and response code details, or routed."""

from __future__ import annotations

import socket

import pytest
from oracle_cases import REPO, load
from oracle_rewire import DETAILS_HEADER

from meshtui.simulate import simulate
from meshtui.simulate.request import ENVOY_METHODS, MAX_HEADERS_COUNT, MAX_REQUEST_HEADERS_KB, Request
from meshtui.translate import translate

pytestmark = pytest.mark.envoy

LIMIT = MAX_REQUEST_HEADERS_KB * 1024
HOST = "reviews:9080"


def _block_size(method: str, target: str, headers: list[tuple[str, str]]) -> int:
    """The raw HTTP/1.1 header block: request line, Host, each header, the blank line."""
    lines = [f"{method} {target} HTTP/1.1", f"Host: {HOST}"] + [f"{k}: {v}" for k, v in headers]
    return sum(len(x) + 2 for x in lines) + 2


def _padded(total: int, method: str = "GET", target: str = "/", extra: list[tuple[str, str]] | None = None):
    """Headers that make the raw block exactly `total` bytes."""
    extra = list(extra or [])
    base = _block_size(method, target, extra + [("x-pad", "")])
    return extra + [("x-pad", "a" * (total - base))]


def probes() -> list[tuple[str, str, str, list[tuple[str, str]]]]:
    """(label, method, target, headers); Host is always sent as `reviews:9080`."""
    out = [(f"method {m}", m, "/", []) for m in sorted(ENVOY_METHODS)]
    out += [(f"method {m}", m, "/", []) for m in ("get", "Get", "BREW", "M-SEARCH", "PRI", "UPDATE")]
    out.append(("QUERY with Content-Type", "QUERY", "/", [("content-type", "text/plain")]))
    for n in (MAX_HEADERS_COUNT - 2, MAX_HEADERS_COUNT - 1, MAX_HEADERS_COUNT):  # plus Host
        out.append((f"{n} headers and Host", "GET", "/", [(f"x-h{i}", "v") for i in range(n)]))
    out.append((f"{MAX_HEADERS_COUNT} headers, one name repeated", "GET", "/", [("x-same", str(i)) for i in range(MAX_HEADERS_COUNT)]))
    for total in (LIMIT - 1, LIMIT, LIMIT + 1):
        out.append((f"header block of {total} bytes", "GET", "/", _padded(total)))
        out.append((f"header block of {total} bytes, long path and query", "POST", "/a/b?x=1",
                    _padded(total, "POST", "/a/b?x=1", [("x-a", "1"), ("x-a", "2")])))
    out.append(("header name with a space", "GET", "/", [("x a", "1")]))
    out.append(("header name with parentheses", "GET", "/", [("x(a)", "1")]))
    return out


def raw_send(addr: str, port: int, method: str, target: str, headers: list[tuple[str, str]], host: str = HOST) -> tuple[int, str]:
    lines = [f"{method} {target} HTTP/1.1", f"Host: {host}"] + [f"{k}: {v}" for k, v in headers]
    with socket.create_connection((addr, port), timeout=10) as s:
        s.sendall(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1"))
        data = b""
        while b"\r\n\r\n" not in data and len(data) < 1 << 20:
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
    head = data.split(b"\r\n\r\n", 1)[0].decode("latin-1").split("\r\n")
    status = int(head[0].split()[1])
    details = next((h.split(":", 1)[1].strip() for h in head[1:] if h.lower().startswith(DETAILS_HEADER + ":")), "")
    return status, details


def test_envoy_and_simulate_refuse_the_same_requests(start_envoy):
    snap = load((str(REPO / "fixtures" / "bookinfo"),))
    cfg = translate(snap, "default/productpage-v1")
    envoy = start_envoy(cfg, name="refused")
    addr, port = envoy.rewired.listeners["0.0.0.0_9080"]
    problems: list[str] = []
    rejected = 0
    cases = probes() + [("Host with a space", "GET", "/", [("Host", "re views")])]
    for label, method, target, headers in cases:
        req = Request.parse(f"http://{HOST}{target}", method, [f"{k}: {v}" for k, v in headers])
        trace = simulate(cfg, req)
        host = next((v for k, v in headers if k.lower() == "host"), HOST)
        wire = [(k, v) for k, v in headers if k.lower() != "host"]
        status, details = raw_send(addr, port, method, target, wire, host)
        refusal = req.refusal()
        if trace.outcome == "rejected":
            rejected += 1
            if (status, details) != (trace.status, refusal.details):
                problems.append(f"{label}: Envoy {status} {details!r}, simulate rejected {trace.status} {refusal.details!r}")
        elif status in (400, 431):
            problems.append(f"{label}: Envoy refused it ({status} {details!r}); simulate says {trace.summary()}")
    assert not problems, "\n".join(problems)
    assert rejected >= 15  # the boundary cases really exercise both sides


@pytest.mark.parametrize("total, status", [(LIMIT, None), (LIMIT + 1, 431)])
def test_header_block_boundary_is_exact(total, status):
    """Pure: the boundary the oracle test confirms, without Envoy."""
    headers = _padded(total)
    req = Request.parse(f"http://{HOST}/", "GET", [f"{k}: {v}" for k, v in headers])
    r = req.refusal()
    assert (r.status if r else None) == status
