"""A sample request, as a user writes it: `[scheme://]host[:port][/path][?query]` plus method
and headers."""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from meshtui.errors import UsageError


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
    def path_with_query(self) -> str:
        return f"{self.path}?{self.query}" if self.query else self.path

    @property
    def authority(self) -> str:
        """The Host header as a client sends it: with the port only when the URL gave one."""
        if "host" in self.headers:
            return self.headers["host"]
        if ":authority" in self.headers:
            return self.headers[":authority"]
        return f"{self.host}:{self.port}" if self.port_explicit and self.port else self.host

    def with_port(self, port: int) -> Request:
        return replace(self, port=port)

    def to_json(self) -> dict:
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
        host, port, explicit = hostport, None, False
        if hostport.startswith("["):
            end = hostport.find("]")
            if end < 0:
                raise UsageError(f"URL {url!r}: unclosed IPv6 address")
            host = hostport[1: end]
            tail = hostport[end + 1:]
            if tail.startswith(":"):
                port, explicit = _port(tail[1:], url), True
        elif ":" in hostport:
            host, _, p = hostport.rpartition(":")
            port, explicit = _port(p, url), True
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
        return Request(method.upper(), scheme, host, port, path, query, hdrs, explicit, repeated)


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
