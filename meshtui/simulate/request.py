"""A sample request, as a user writes it: `[scheme://]host[:port][/path][?query]` plus method
and headers."""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass, field, replace
from typing import Any

from meshtui.errors import UsageError

# What Envoy's HTTP/1 codec (Balsa, `allow_custom_methods` off) and connection manager refuse before
# any routing, with the defaults Istio leaves alone; measured against Envoy 1.36 (tests/envoy/
# test_refused_requests.py). Methods are case-sensitive: `get` is refused.
ENVOY_METHODS = frozenset({
    "ACL", "BIND", "CHECKOUT", "CONNECT", "COPY", "DELETE", "GET", "HEAD", "LINK", "LOCK", "MERGE", "MKACTIVITY",
    "MKCALENDAR", "MKCOL", "MOVE", "MSEARCH", "NOTIFY", "OPTIONS", "PATCH", "POST", "PROPFIND", "PROPPATCH",
    "PURGE", "PUT", "QUERY", "REBIND", "REPORT", "SEARCH", "SOURCE", "SUBSCRIBE", "TRACE", "UNBIND", "UNLINK",
    "UNLOCK", "UNSUBSCRIBE"})
MAX_HEADERS_COUNT = 100  # HttpProtocolOptions.max_headers_count
MAX_REQUEST_HEADERS_KB = 60  # HttpConnectionManager.max_request_headers_kb
# RFC 9110 token: header names (and methods) are made of these
_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+\Z")
# the characters of a URL's host (RFC 3986 reg-name: unreserved, sub-delims, pct-encoded)
_REG_NAME = re.compile(r"[A-Za-z0-9\-._~!$&'()*+,;=%]+\Z")
# a Host header Envoy accepts (RFC 3986 authority characters; Envoy answers 400 invalid_authority otherwise)
_AUTHORITY = re.compile(r"[A-Za-z0-9\-._~!$&'()*+,;=%:@\[\]]*\Z")


@dataclass(frozen=True)
class Refusal:
    """Envoy answers the request itself, before routing: its status, response code details and why."""

    status: int
    details: str
    reason: str


@dataclass(frozen=True)
class Request:
    method: str = "GET"
    scheme: str = "http"
    host: str = ""
    port: int | None = None  # None: the destination service's only port
    path: str = "/"
    query: str = ""
    headers: dict[str, str] = field(default_factory=dict)  # lower-case names
    port_explicit: bool = False
    # headers given more than once, each value in order: Envoy's header matchers match if any
    # one value matches (`headers` holds them joined by ",", as the upstream sees them)
    repeated: dict[str, tuple[str, ...]] = field(default_factory=dict)

    @property
    def is_grpc(self) -> bool:
        """Envoy's Grpc::Common::hasGrpcContentType: `application/grpc`, or it followed by `+` or `;`.
        Envoy answers such a request's local replies the gRPC way (HTTP 200 and a grpc-status)."""
        ct = self.headers.get("content-type", "")
        return ct == "application/grpc" or ct.startswith(("application/grpc+", "application/grpc;"))

    @property
    def path_with_query(self) -> str:
        return f"{self.path}?{self.query}" if self.query else self.path

    @property
    def authority(self) -> str:
        """The Host header as a client sends it: with the port only when the URL gave one."""
        if "host" in self.headers:
            return self.headers["host"]
        if ":authority" in self.headers:
            return self.headers[":authority"]
        host = f"[{self.host}]" if ":" in self.host else self.host  # an IPv6 address, as curl writes it
        return f"{host}:{self.port}" if self.port_explicit and self.port else host

    def value(self, name: str) -> str | None:
        """A request property by the name Envoy's header matchers give it: a pseudo-header
        (`:method`, `:authority`, `:scheme`, `:path`) or a lower-case header name."""
        if name == ":method":
            return self.method
        if name == ":authority" or name == "host":
            return self.authority
        if name == ":scheme":
            return self.scheme
        if name == ":path":
            return self.path_with_query
        return self.headers.get(name)

    def with_value(self, name: str, value: str) -> Request:
        """This request with a property set, named as `value` names it (the authority is the Host header)."""
        if name == ":method":
            return replace(self, method=value)
        if name == ":scheme":
            return replace(self, scheme=value)
        if name == ":path":
            path, _, query = value.partition("?")
            return replace(self, path=path, query=query)
        key = "host" if name == ":authority" else name
        return replace(self, headers={**self.headers, key: value})

    def query_params(self) -> dict[str, str]:
        """The query string's parameters as Envoy's route matcher reads them: not percent-decoded,
        the first value of a repeated name wins."""
        out: dict[str, str] = {}
        for part in self.query.split("&"):
            if not part:
                continue
            k, _, v = part.partition("=")
            out.setdefault(k, v)
        return out

    def with_query_param(self, name: str, value: str) -> Request:
        return replace(self, query="&".join(x for x in (self.query, f"{name}={value}") if x))

    def refusal(self) -> Refusal | None:
        """What Envoy's HTTP connection manager answers before routing, or None when it routes.
        The request carries the -H headers and, unless one of them is Host, a Host header."""
        m = self.method
        if m not in ENVOY_METHODS:
            hint = f" (methods are case-sensitive: {m.upper()})" if m.upper() in ENVOY_METHODS else ""
            return Refusal(400, "http1.codec_error", f"method {m!r} is not one Envoy's HTTP/1 codec accepts{hint}")
        if m == "CONNECT":
            return Refusal(400, "http1.invalid_url", "CONNECT needs an authority-form target (host:port), not a path")
        bad = next((k for k in self.headers if not _TOKEN.match(k)), None)
        if bad is not None:
            return Refusal(400, "http1.codec_error", f"header name {bad!r} is not a valid HTTP token")
        lines = [(k, v) for k, v in self.headers.items() if k not in self.repeated]
        lines += [(k, v) for k, vs in self.repeated.items() for v in vs]
        if "host" not in self.headers:
            lines.append(("host", self.authority))
        # Balsa bounds the raw header block: request line, `name: value\r\n` per header, final CRLF
        size = len(m) + len(self.path_with_query) + len("  HTTP/1.1\r\n") + sum(len(k) + len(v) + 4 for k, v in lines) + 2
        if size > MAX_REQUEST_HEADERS_KB * 1024:
            return Refusal(431, "http1.headers_too_large",
                           f"the request line and headers take {size} bytes, over Envoy's max_request_headers_kb "
                           f"({MAX_REQUEST_HEADERS_KB} KiB = {MAX_REQUEST_HEADERS_KB * 1024} bytes)")
        if len(lines) > MAX_HEADERS_COUNT:
            return Refusal(431, "http1.too_many_headers",
                           f"{len(lines)} headers (Host included), over Envoy's max_headers_count ({MAX_HEADERS_COUNT})")
        host = self.authority
        if not _AUTHORITY.match(host):
            return Refusal(400, "http.invalid_authority", f"Host {host!r} holds characters an authority cannot have")
        if m == "QUERY" and "content-type" not in self.headers:
            return Refusal(400, "query_missing_content_type", "a QUERY request needs a Content-Type header")
        return None

    def with_port(self, port: int) -> Request:
        return replace(self, port=port)

    def to_json(self) -> dict[str, Any]:
        return {"method": self.method, "scheme": self.scheme, "host": self.host, "port": self.port,
                "path": self.path, "query": self.query, "headers": dict(self.headers)}

    @staticmethod
    def parse(url: str, method: str = "GET", headers: list[str] | dict[str, str] | None = None) -> Request:
        if not url or any(c.isspace() for c in url):
            raise UsageError(f"URL {url!r} is not of the form [scheme://]host[:port][/path][?query]")
        scheme = "http"
        rest = url
        if "://" in url:
            scheme, rest = url.split("://", 1)
            scheme = scheme.lower()
            if scheme not in ("http", "https"):
                raise UsageError(f"URL scheme {scheme!r} is not supported (use http or https)")
        hostport, slash, path = rest.partition("/")
        path = "/" + path if slash else "/"
        query = ""
        if "?" in hostport:
            hostport, _, query = hostport.partition("?")
        elif "?" in path:
            path, _, query = path.partition("?")
        if "#" in query:
            query = query.split("#", 1)[0]
        if "#" in path:
            path = path.split("#", 1)[0]
        if "@" in hostport:  # curl would turn it into an Authorization header: say so, do not guess
            raise UsageError(f"URL {url!r}: credentials in the URL (user:pass@host) are not supported; give the host "
                             "alone and the credentials as a header, e.g. -H 'Authorization: Basic ...'")
        host, port, explicit = hostport, None, False
        if hostport.startswith("["):
            end = hostport.find("]")
            if end < 0:
                raise UsageError(f"URL {url!r}: unclosed IPv6 address")
            host = hostport[1: end]
            tail = hostport[end + 1:]
            try:
                ipaddress.IPv6Address(host)
            except ValueError:
                raise UsageError(f"URL {url!r}: {host!r} in brackets is not an IPv6 address") from None
            if tail.startswith(":"):
                port, explicit = _port(tail[1:], url), True
            elif tail:
                raise UsageError(f"URL {url!r}: {tail!r} after the IPv6 address; only :PORT may follow it")
        else:
            if ":" in hostport:
                host, _, p = hostport.rpartition(":")
                if ":" in host:
                    raise UsageError(f"URL {url!r}: an IPv6 address goes in brackets, e.g. http://[{hostport}]/")
                port, explicit = _port(p, url), True
            if host and not _REG_NAME.match(host):
                raise UsageError(f"URL {url!r}: host {host!r} holds characters a host name cannot have")
        if not host:
            raise UsageError(f"URL {url!r} has no host")
        hdrs: dict[str, str] = {}
        values: dict[str, list[str]] = {}
        if isinstance(headers, dict):
            hdrs = {k.lower(): v for k, v in headers.items()}
        else:
            for h in headers or []:
                name, sep, value = h.partition(":")
                if not sep or not name.strip():
                    raise UsageError(f"header {h!r} is not of the form 'Name: value'")
                key = name.strip().lower()
                hdrs[key] = f"{hdrs[key]},{value.strip()}" if key in hdrs else value.strip()
                values.setdefault(key, []).append(value.strip())
        repeated = {k: tuple(v) for k, v in values.items() if len(v) > 1}
        # the host keeps its case: it is the Host header a client sends, and Envoy keeps that as
        # sent (a redirect's Location, the upstream Host); names are compared case-insensitively
        return Request(method, scheme, host, port, path, query, hdrs, explicit, repeated)


def _port(text: str, url: str) -> int:
    if not text.isdigit() or not 0 < int(text) < 65536:
        raise UsageError(f"URL {url!r}: port {text!r} is not a number between 1 and 65535")
    return int(text)


def remove_dot_segments(path: str) -> str:
    """RFC 3986 §5.2.4, what Envoy's `normalize_path` (on in Istio's HCM) does to `.`/`..`."""
    if "/." not in path and not path.startswith("."):
        return path
    out: list[str] = []
    segments = path.split("/")
    for i, seg in enumerate(segments):
        if seg == ".":
            if i == len(segments) - 1:
                out.append("")
            continue
        if seg == "..":
            if len(out) > 1:
                out.pop()
            if i == len(segments) - 1:
                out.append("")
            continue
        out.append(seg)
    result = "/".join(out)
    return result if result.startswith("/") else "/" + result
