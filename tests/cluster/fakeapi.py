"""A small Kubernetes API server on loopback, for cluster-mode tests and the bench.

It speaks enough of the real API for the official client: discovery, list with limit/continue,
get, watch (chunked, with ERROR 410 when a resourceVersion is too old, bookmarks on request),
server-side apply with field managers, conflicts, force and dryRun=All, delete, bearer-token
auth (401) and per-verb RBAC refusals (403) with the real message shapes. Test hooks change
objects (emitting watch events), compact history (410), cut watch connections, add latency and
fail requests.

Run alone: `python tests/cluster/fakeapi.py --objects 10000` serves a generated mesh and prints
its URL (the bench uses this, so the server does not share the client's interpreter).
"""

from __future__ import annotations

import argparse
import base64
import copy
import json
import select
import socket
import ssl
import sys
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import yaml

ISTIO = "networking.istio.io"
SECURITY = "security.istio.io"
GATEWAY = "gateway.networking.k8s.io"
CRD_GROUPS = (ISTIO, SECURITY, GATEWAY)  # objects carry the version they were asked at
CREATED = "2024-05-01T10:00:00Z"


@dataclass(frozen=True)
class Res:
    group: str
    plural: str
    kind: str
    namespaced: bool = True

    @property
    def resource(self) -> str:
        return f"{self.plural}.{self.group}" if self.group else self.plural


RESOURCES: list[Res] = [
    Res("", "namespaces", "Namespace", namespaced=False),
    Res("", "services", "Service"),
    Res("", "pods", "Pod"),
    Res("", "secrets", "Secret"),
    Res("", "configmaps", "ConfigMap"),
    Res("discovery.k8s.io", "endpointslices", "EndpointSlice"),
    Res("apps", "deployments", "Deployment"),
    Res("apps", "statefulsets", "StatefulSet"),
    Res(ISTIO, "virtualservices", "VirtualService"),
    Res(ISTIO, "destinationrules", "DestinationRule"),
    Res(ISTIO, "gateways", "Gateway"),
    Res(ISTIO, "serviceentries", "ServiceEntry"),
    Res(ISTIO, "sidecars", "Sidecar"),
    Res(ISTIO, "workloadentries", "WorkloadEntry"),
    # served only when a test asks (serve_group): a cluster without these CRDs by default
    Res(SECURITY, "peerauthentications", "PeerAuthentication"),
    Res(SECURITY, "authorizationpolicies", "AuthorizationPolicy"),
    Res(SECURITY, "requestauthentications", "RequestAuthentication"),
    Res(GATEWAY, "gatewayclasses", "GatewayClass", namespaced=False),
    Res(GATEWAY, "gateways", "Gateway"),
    Res(GATEWAY, "httproutes", "HTTPRoute"),
    Res(GATEWAY, "grpcroutes", "GRPCRoute"),
    Res(GATEWAY, "tcproutes", "TCPRoute"),
    Res(GATEWAY, "tlsroutes", "TLSRoute"),
    Res(GATEWAY, "referencegrants", "ReferenceGrant"),
]
BY_GK = {(r.group, r.kind): r for r in RESOURCES}
# kind -> resource, the core/Istio one where a kind is in two groups (Gateway)
BY_KIND = {r.kind: r for r in reversed(RESOURCES)}
# every version each optional group serves in Gateway API v1.6.0 / Istio, and which kinds there
GATEWAY_V16 = {"v1": tuple(r.plural for r in RESOURCES if r.group == GATEWAY),
               "v1beta1": ("gatewayclasses", "gateways", "httproutes", "referencegrants"),
               "v1alpha2": ("tcproutes", "tlsroutes")}
SECURITY_ALL = dict.fromkeys(("v1", "v1beta1"), tuple(r.plural for r in RESOURCES if r.group == SECURITY))


def res_of(obj: dict) -> Res | None:
    """The resource an object is of, by its apiVersion's group and kind."""
    api = str(obj.get("apiVersion") or "")
    return BY_GK.get((api.split("/", 1)[0] if "/" in api else "", str(obj.get("kind") or "")))


def _res(kind: str, group: str | None) -> Res:
    return BY_KIND[kind] if group is None else BY_GK[(group, kind)]
GROUP_VERSIONS = {"": ["v1"], "discovery.k8s.io": ["v1"], "apps": ["v1"]}
SERVER_FIELDS = {"resourceVersion", "uid", "creationTimestamp", "generation", "managedFields"}

Key = tuple[str, str, str, str]  # group, plural, namespace, name


class HttpError(Exception):
    def __init__(self, code: int, reason: str, message: str, details: dict | None = None) -> None:
        super().__init__(message)
        self.code, self.reason, self.message, self.details = code, reason, message, details or {}

    def status(self) -> dict:
        return {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                "message": self.message, "reason": self.reason, "details": self.details, "code": self.code}


@dataclass
class Event:
    rv: int
    res: Res
    namespace: str
    type: str
    obj: dict


# -- server-side apply, simplified: leaf ownership with atomic lists -------------------------------
Path_ = tuple[str, ...]


def leaf_paths(obj: dict, prefix: Path_ = ()) -> set[Path_]:
    out: set[Path_] = set()
    for k, v in obj.items():
        if not prefix and k in ("apiVersion", "kind", "status"):
            continue
        if prefix == ("metadata",) and k in ("name", "namespace", *SERVER_FIELDS):
            continue
        if isinstance(v, dict) and v:
            out |= leaf_paths(v, (*prefix, k))
        else:
            out.add((*prefix, k))
    return out


_MISSING = object()


def get_path(obj: Any, path: Path_) -> Any:
    cur = obj
    for p in path:
        if not isinstance(cur, dict) or p not in cur:
            return _MISSING
        cur = cur[p]
    return cur


def set_path(obj: dict, path: Path_, value: Any) -> None:
    cur = obj
    for p in path[:-1]:
        if not isinstance(cur.get(p), dict):
            cur[p] = {}
        cur = cur[p]
    cur[path[-1]] = value


def del_path(obj: dict, path: Path_) -> None:
    chain = [obj]
    cur = obj
    for p in path[:-1]:
        cur = cur.get(p) if isinstance(cur, dict) else None
        if not isinstance(cur, dict):
            return
        chain.append(cur)
    cur.pop(path[-1], None)
    # prune maps left empty, as the real server does
    for i in range(len(path) - 2, -1, -1):
        if chain[i + 1] == {} and path[:i + 1] not in (("metadata",), ("spec",)):
            chain[i].pop(path[i], None)


def related(a: Path_, b: Path_) -> bool:
    n = min(len(a), len(b))
    return a[:n] == b[:n]


def fields_v1(paths: set[Path_]) -> dict:
    root: dict = {}
    for p in sorted(paths):
        cur = root
        for part in p:
            cur = cur.setdefault(f"f:{part}", {})
    return root


class FakeApiServer:
    def __init__(self, *, istio_versions: tuple[str, ...] = ("v1", "v1beta1", "v1alpha3"),
                 token: str | None = None, user: str = "system:serviceaccount:test:meshtui",
                 host: str = "127.0.0.1", tls: ssl.SSLContext | None = None) -> None:
        self.tls = tls
        self.unserved: set[str] = set()  # resources answered with 404, e.g. "endpointslices.discovery.k8s.io"
        self.istio_versions = list(istio_versions)
        # optional CRD groups: group -> version -> plurals served there. Istio's CRDs come with
        # security.istio.io; the Gateway API's are installed apart (serve_group).
        self.optional: dict[str, dict[str, tuple[str, ...]]] = {SECURITY: dict(SECURITY_ALL)} if istio_versions else {}
        self.token = token
        self.user = user
        self.host = host
        self.cond = threading.Condition()
        self.objects: dict[Key, dict] = {}
        self.owners: dict[Key, dict[str, set[Path_]]] = {}
        self.rv = 1000
        self.uid = 0
        self.events: list[Event] = []
        self.compacted_rv = 0
        self.forbidden: set[tuple[str, str]] = set()  # (verb, resource) e.g. ("list", "pods")
        self.latency = 0.0
        self.fail_next: list[int] = []  # answer the next requests with these statuses
        self.fail_watches = 0  # answer this many next watch requests with 500
        self.gone_as_http = False  # answer a too-old watch with HTTP 410 instead of an ERROR event
        self.compact_after_pages = 0  # compact history after serving this many list pages (0: never)
        # misbehaving servers, for the client's bounds: a list page sent one byte every `trickle`
        # seconds; list pages that always carry a new continue token; raw list bodies by plural
        self.trickle = 0.0
        self.endless_continue = False
        self.list_bodies: dict[str, bytes] = {}
        self.requests: list[tuple[str, str, dict]] = []
        self._cache: dict[tuple, bytes] = {}
        self.closing = False
        self._conns: set[socket.socket] = set()
        self._watch_socks: set[socket.socket] = set()
        self.httpd: ThreadingHTTPServer | None = None
        self.thread: threading.Thread | None = None

    # -- lifecycle ----------------------------------------------------------------------------
    def start(self) -> FakeApiServer:
        server = self

        class Handler(_Handler):
            api = server

        self.httpd = _QuietServer((self.host, 0), Handler)
        if self.tls is not None:
            self.httpd.socket = self.tls.wrap_socket(self.httpd.socket, server_side=True)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05},
                                       daemon=True, name="fakeapi")
        self.thread.start()
        return self

    @property
    def url(self) -> str:
        assert self.httpd is not None
        host, port = self.httpd.server_address[:2]
        return f"{'https' if self.tls else 'http'}://{host}:{port}"

    def stop(self) -> None:
        with self.cond:
            self.closing = True
            self.cond.notify_all()
        if self.httpd is not None:
            self.httpd.shutdown()
            self.httpd.server_close()
        for s in list(self._conns):
            _kill(s)
        if self.thread is not None:
            self.thread.join(5)

    def __enter__(self) -> FakeApiServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- test hooks ---------------------------------------------------------------------------
    def add(self, obj: dict, manager: str = "kubectl-client-side-apply") -> dict:
        """Create or replace an object as a client's update would (emits ADDED/MODIFIED)."""
        obj = copy.deepcopy(obj)
        res = res_of(obj) or BY_KIND[obj["kind"]]
        meta = obj.setdefault("metadata", {})
        ns = meta.get("namespace", "default") if res.namespaced else ""
        if res.namespaced:
            meta["namespace"] = ns
        key = (res.group, res.plural, ns, meta["name"])
        with self.cond:
            old = self.objects.get(key)
            for f in ("resourceVersion", "managedFields"):
                meta.pop(f, None)
            meta.setdefault("uid", old["metadata"]["uid"] if old else self._next_uid())
            meta.setdefault("creationTimestamp", CREATED)
            if res.group in CRD_GROUPS:
                meta["generation"] = (old["metadata"].get("generation", 0) + 1) if old else 1
            self.owners[key] = {manager: leaf_paths(obj)}
            self._store(key, res, obj, "MODIFIED" if old else "ADDED")
            return copy.deepcopy(obj)

    def add_all(self, objs: list[dict]) -> None:
        for o in objs:
            self.add(o)

    def serve_group(self, group: str, versions: dict[str, tuple[str, ...]]) -> None:
        """Serve an optional CRD group (SECURITY, GATEWAY): version -> the plurals served there."""
        self.optional[group] = dict(versions)

    def delete(self, kind: str, namespace: str, name: str, group: str | None = None) -> None:
        res = _res(kind, group)
        key = (res.group, res.plural, namespace if res.namespaced else "", name)
        with self.cond:
            obj = self.objects.pop(key)
            self.owners.pop(key, None)
            self.rv += 1
            obj = copy.deepcopy(obj)
            obj["metadata"]["resourceVersion"] = str(self.rv)
            self.events.append(Event(self.rv, res, key[2], "DELETED", obj))
            self.cond.notify_all()

    def get(self, kind: str, namespace: str, name: str, group: str | None = None) -> dict | None:
        res = _res(kind, group)
        with self.cond:
            o = self.objects.get((res.group, res.plural, namespace if res.namespaced else "", name))
            return copy.deepcopy(o) if o else None

    def managers(self, kind: str, namespace: str, name: str) -> dict[str, set[Path_]]:
        res = BY_KIND[kind]
        with self.cond:
            return copy.deepcopy(self.owners.get((res.group, res.plural, namespace, name), {}))

    def compact(self) -> None:
        """Forget history: any watch or continue token from before now gets 410 Gone."""
        with self.cond:
            self.rv += 1
            self.compacted_rv = self.rv
            self.events.clear()
            self.cond.notify_all()

    def drop_watches(self) -> int:
        """Cut every open watch connection mid-stream, as a failing load balancer would."""
        with self.cond:
            socks = list(self._watch_socks)
        for s in socks:
            _kill(s)
        return len(socks)

    def open_watches(self) -> int:
        with self.cond:
            return len(self._watch_socks)

    def requests_for(self, plural: str) -> list[tuple[str, str, dict]]:
        return [r for r in list(self.requests) if f"/{plural}" in r[1]]

    # -- internals ----------------------------------------------------------------------------
    def _next_uid(self) -> str:
        self.uid += 1
        return f"00000000-0000-4000-8000-{self.uid:012d}"

    def _store(self, key: Key, res: Res, obj: dict, typ: str) -> None:
        self.rv += 1
        obj["metadata"]["resourceVersion"] = str(self.rv)
        self.objects[key] = obj
        self.events.append(Event(self.rv, res, key[2], typ, copy.deepcopy(obj)))
        self.cond.notify_all()

    def rendered_bytes(self, key: Key, res: Res, version: str) -> bytes:
        """A list item as JSON, cached by resourceVersion (a real server serves lists from its
        watch cache; re-rendering each time would make this test server the bottleneck)."""
        obj = self.objects[key]
        ck = (key, obj["metadata"]["resourceVersion"], version)
        data = self._cache.get(ck)
        if data is None:
            data = json.dumps(self.render(obj, res, version, key, in_list=True), separators=(",", ":")).encode()
            self._cache[ck] = data
        return data

    def render(self, obj: dict, res: Res, version: str, key: Key, in_list: bool) -> dict:
        out = copy.deepcopy(obj)
        if res.group in CRD_GROUPS:
            out["apiVersion"] = f"{res.group}/{version}"
        elif in_list:  # real list items of built-in kinds carry no kind/apiVersion
            out.pop("apiVersion", None)
            out.pop("kind", None)
        owners = self.owners.get(key, {})
        out["metadata"]["managedFields"] = [
            {"manager": m, "operation": "Apply" if m == "meshtui" else "Update",
             "apiVersion": f"{res.group}/{version}" if res.group else version,
             "time": CREATED, "fieldsType": "FieldsV1", "fieldsV1": fields_v1(p)}
            for m, p in sorted(owners.items())
        ]
        return out


class _QuietServer(ThreadingHTTPServer):
    def handle_error(self, request: Any, client_address: Any) -> None:
        # Clients that hang up (a stopped watch, a closed pool) are normal here.
        exc = sys.exc_info()[1]
        if isinstance(exc, OSError):
            return
        super().handle_error(request, client_address)


def _peer_closed(s: socket.socket) -> bool:
    """True once the client has hung up (a watch only learns it by looking)."""
    try:
        r, _, _ = select.select([s], [], [], 0)
        if not r:
            return False
        # the raw socket even under TLS: only the FIN matters here
        return socket.socket.recv(s, 1, socket.MSG_PEEK) == b""
    except (OSError, ValueError):
        return True


def _kill(s: socket.socket) -> None:
    try:
        s.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
    try:
        s.close()
    except OSError:
        pass


class _Handler(BaseHTTPRequestHandler):
    api: FakeApiServer
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body go out in separate writes

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def setup(self) -> None:
        super().setup()
        with self.api.cond:
            self.api._conns.add(self.connection)

    def finish(self) -> None:
        with self.api.cond:
            self.api._conns.discard(self.connection)
            self.api._watch_socks.discard(self.connection)
        try:
            super().finish()
        except OSError:
            pass

    def do_GET(self) -> None:
        self._handle("GET")

    def do_PATCH(self) -> None:
        self._handle("PATCH")

    def do_DELETE(self) -> None:
        self._handle("DELETE")

    def do_POST(self) -> None:
        self._handle("POST")

    def do_PUT(self) -> None:
        self._handle("PUT")

    # -- plumbing -----------------------------------------------------------------------------
    def _send_json(self, code: int, body: dict) -> None:
        data = json.dumps(body, separators=(",", ":")).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _handle(self, method: str) -> None:
        api = self.api
        parts = urlsplit(self.path)
        query = {k: v[-1] for k, v in parse_qs(parts.query, keep_blank_values=True).items()}
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        api.requests.append((method, parts.path, query))
        try:
            if api.latency:
                with api.cond:
                    api.cond.wait_for(lambda: api.closing, timeout=api.latency)
            if api.fail_next:
                code = api.fail_next.pop(0)
                raise HttpError(code, "InternalError", f"injected failure {code}")
            if api.token is not None and self.headers.get("Authorization") != f"Bearer {api.token}":
                raise HttpError(401, "Unauthorized", "Unauthorized")
            self._route(method, parts.path, query, body)
        except HttpError as e:
            self._send_json(e.code, e.status())
        except (BrokenPipeError, ConnectionResetError, OSError):
            self.close_connection = True

    def _route(self, method: str, path: str, q: dict, body: bytes) -> None:
        api = self.api
        segs = [s for s in path.split("/") if s]
        if method == "GET" and segs == ["api"]:
            return self._send_json(200, {"kind": "APIVersions", "versions": ["v1"]})
        if method == "GET" and segs == ["apis"]:
            return self._send_json(200, {"kind": "APIGroupList", "apiVersion": "v1",
                                         "groups": [self._group(g) for g in self._groups() if g]})
        if segs[:1] == ["api"] and len(segs) >= 2:
            group, version, rest = "", segs[1], segs[2:]
        elif segs[:1] == ["apis"] and len(segs) >= 2:
            group = segs[1]
            if group not in self._groups():
                raise HttpError(404, "NotFound", "the server could not find the requested resource")
            if len(segs) == 2:
                return self._send_json(200, self._group(group))
            version, rest = segs[2], segs[3:]
        else:
            raise HttpError(404, "NotFound", "the server could not find the requested resource")
        if version not in self._groups()[group]:
            raise HttpError(404, "NotFound", "the server could not find the requested resource")
        if not rest:
            return self._send_json(200, {
                "kind": "APIResourceList", "apiVersion": "v1",
                "groupVersion": f"{group}/{version}" if group else version,
                "resources": [{"name": r.plural, "singularName": r.kind.lower(), "namespaced": r.namespaced,
                               "kind": r.kind, "verbs": ["get", "list", "watch", "patch", "delete"]}
                              for r in RESOURCES if r.group == group and self._serves(r, version)]})
        ns: str | None = None
        if rest[0] == "namespaces" and len(rest) >= 3:
            ns, rest = rest[1], rest[2:]
        plural, name = rest[0], (rest[1] if len(rest) > 1 else None)
        res = next((r for r in RESOURCES if r.group == group and r.plural == plural), None)
        if res is None or len(rest) > 2 or res.resource in api.unserved or not self._serves(res, version):
            raise HttpError(404, "NotFound", "the server could not find the requested resource")
        watching = q.get("watch") in ("1", "true")
        verb = {"GET": "watch" if watching else ("get" if name else "list"),
                "PATCH": "patch", "DELETE": "delete", "POST": "create", "PUT": "update"}[method]
        self._authorize(verb, res, ns, name)
        if method == "GET" and watching:
            return self._watch(res, version, ns, q)
        if method == "GET" and name:
            with api.cond:
                key = (group, plural, ns or "", name)
                obj = api.objects.get(key)
                if obj is None:
                    raise HttpError(404, "NotFound", f'{res.resource} "{name}" not found',
                                    {"name": name, "group": group, "kind": plural})
                return self._send_json(200, api.render(obj, res, version, key, in_list=False))
        if method == "GET":
            return self._list(res, version, ns, q)
        if method == "PATCH" and name:
            return self._apply(res, version, ns or "", name, q, body)
        if method == "DELETE" and name:
            return self._delete(res, version, ns or "", name, q)
        raise HttpError(405, "MethodNotAllowed", f"{method} is not supported by this test server")

    def _groups(self) -> dict[str, list[str]]:
        g = dict(GROUP_VERSIONS)
        if self.api.istio_versions:
            g[ISTIO] = list(self.api.istio_versions)
        for group, versions in self.api.optional.items():
            g[group] = list(versions)
        return g

    def _serves(self, res: Res, version: str) -> bool:
        served = self.api.optional.get(res.group)
        if res.group in (SECURITY, GATEWAY):
            return served is not None and res.plural in served.get(version, ())
        return True

    def _group(self, name: str) -> dict:
        versions = [{"groupVersion": f"{name}/{v}", "version": v} for v in self._groups()[name]]
        return {"kind": "APIGroup", "apiVersion": "v1", "name": name, "versions": versions,
                "preferredVersion": versions[0]}

    def _authorize(self, verb: str, res: Res, ns: str | None, name: str | None) -> None:
        if (verb, res.resource) not in self.api.forbidden and (verb, "*") not in self.api.forbidden:
            return
        what = f'{res.resource} "{name}"' if name else res.resource
        scope = f'in the namespace "{ns}"' if ns else "at the cluster scope"
        raise HttpError(403, "Forbidden",
                        f'{what} is forbidden: User "{self.api.user}" cannot {verb} resource '
                        f'"{res.plural}" in API group "{res.group}" {scope}',
                        {"name": name or "", "group": res.group, "kind": res.plural})

    # -- list ---------------------------------------------------------------------------------
    def _list(self, res: Res, version: str, ns: str | None, q: dict) -> None:
        api = self.api
        if res.plural in api.list_bodies:
            return self._send_raw(api.list_bodies[res.plural])
        limit = int(q.get("limit") or 0)
        start = 0
        with api.cond:
            list_rv = api.rv
            if q.get("continue"):
                tok = json.loads(base64.b64decode(q["continue"]))
                if tok["rv"] < api.compacted_rv:
                    raise HttpError(410, "Expired", "The provided continue parameter is too old to display a "
                                                    "consistent list result. You can start a new list without "
                                                    "the continue parameter.")
                start, list_rv = tok["start"], tok["rv"]
            keys = sorted(k for k in api.objects if k[0] == res.group and k[1] == res.plural
                          and (ns is None or k[2] == ns))
            page = keys[start:start + limit] if limit else keys[start:]
            items = [api.rendered_bytes(k, res, version) for k in page]
            more = bool(limit) and start + limit < len(keys)
        meta: dict[str, Any] = {"resourceVersion": str(list_rv)}
        if more:
            meta["continue"] = base64.b64encode(json.dumps({"rv": list_rv, "start": start + limit}).encode()).decode()
        elif api.endless_continue:  # a fresh token every time, back to the first page
            with api.cond:
                api.uid += 1
                n = api.uid
            meta["continue"] = base64.b64encode(json.dumps({"rv": list_rv, "start": 0, "n": n}).encode()).decode()
        head = json.dumps({"kind": f"{res.kind}List", "apiVersion": f"{res.group}/{version}" if res.group else version,
                           "metadata": meta}, separators=(",", ":")).encode()
        data = head[:-1] + b',"items":[' + b",".join(items) + b"]}"
        with api.cond:
            if api.compact_after_pages > 0:
                api.compact_after_pages -= 1
                if api.compact_after_pages == 0:
                    api.compact()
        self._send_raw(data)

    def _send_raw(self, data: bytes) -> None:
        api = self.api
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if not api.trickle:
            self.wfile.write(data)
            return
        for i in range(len(data)):  # until the client gives up (a broken pipe) or the server stops
            self.wfile.write(data[i:i + 1])
            self.wfile.flush()
            with api.cond:
                if api.cond.wait_for(lambda: api.closing, timeout=api.trickle):
                    return

    # -- watch --------------------------------------------------------------------------------
    def _watch(self, res: Res, version: str, ns: str | None, q: dict) -> None:
        api = self.api
        with api.cond:
            if api.fail_watches > 0:
                api.fail_watches -= 1
                raise HttpError(500, "InternalError", "injected watch failure")
            rv_param = q.get("resourceVersion", "")
            too_old = rv_param not in ("", "0") and int(rv_param) < api.compacted_rv
            if too_old and api.gone_as_http:
                raise HttpError(410, "Expired", f"too old resource version: {rv_param} ({api.compacted_rv})")
        timeout = min(float(q.get("timeoutSeconds") or 60), 600.0)
        deadline = time.monotonic() + timeout
        with api.cond:  # registered before the client can see the 200
            api._watch_socks.add(self.connection)
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()

        def emit(typ: str, obj: dict) -> None:
            line = json.dumps({"type": typ, "object": obj}, separators=(",", ":")).encode() + b"\n"
            self.wfile.write(f"{len(line):x}\r\n".encode() + line + b"\r\n")
            self.wfile.flush()

        try:
            if too_old:
                emit("ERROR", HttpError(410, "Expired", f"too old resource version: {rv_param} "
                                                         f"({api.compacted_rv})").status())
                return self._end_chunks()
            with api.cond:
                if rv_param in ("", "0"):
                    cursor = api.rv
                    initial = [(k, api.render(o, res, version, k, False)) for k, o in sorted(api.objects.items())
                               if k[0] == res.group and k[1] == res.plural and (ns is None or k[2] == ns)]
                else:
                    cursor, initial = int(rv_param), []
            for _, obj in initial:
                emit("ADDED", obj)
            while True:
                if _peer_closed(self.connection):
                    break
                with api.cond:
                    if api.closing:
                        break
                    left = deadline - time.monotonic()
                    if left <= 0:
                        break
                    pending = [e for e in api.events if e.rv > cursor]
                    if not pending:
                        api.cond.wait(min(left, 0.2))
                        continue
                    out = []
                    for e in pending:
                        cursor = e.rv
                        if e.res is res and (ns is None or e.namespace == ns):
                            key = (res.group, res.plural, e.namespace, e.obj["metadata"]["name"])
                            out.append((e.type, _render_event(api, e, version, key)))
                for typ, obj in out:
                    emit(typ, obj)
            self._end_chunks()
        except (BrokenPipeError, ConnectionResetError, OSError, ValueError):
            self.close_connection = True
        finally:
            with api.cond:
                api._watch_socks.discard(self.connection)

    def _end_chunks(self) -> None:
        self.wfile.write(b"0\r\n\r\n")
        self.wfile.flush()

    # -- writes -------------------------------------------------------------------------------
    def _apply(self, res: Res, version: str, ns: str, name: str, q: dict, body: bytes) -> None:
        api = self.api
        ctype = self.headers.get("Content-Type", "")
        if ctype != "application/apply-patch+yaml":
            raise HttpError(415, "UnsupportedMediaType", f"this test server only takes server-side apply, not {ctype}")
        manager = q.get("fieldManager")
        if not manager:
            raise HttpError(400, "BadRequest", "PATCH /apply requires a fieldManager")
        force = q.get("force") in ("true", "1")
        dry = q.get("dryRun") == "All"
        try:
            cfg = yaml.safe_load(body)
        except yaml.YAMLError as exc:
            raise HttpError(400, "BadRequest", f"error decoding YAML: {exc}") from None
        if not isinstance(cfg, dict) or cfg.get("kind") != res.kind:
            raise HttpError(400, "BadRequest", "the apply body must be an object of the kind in the URL")
        meta = cfg.get("metadata") or {}
        if meta.get("name") != name or (res.namespaced and meta.get("namespace", ns) != ns):
            raise HttpError(400, "BadRequest", "the name/namespace of the body does not match the URL")
        key = (res.group, res.plural, ns, name)
        with api.cond:
            live = copy.deepcopy(api.objects.get(key))
            created = live is None
            if live is None:
                if ("create", res.resource) in api.forbidden:
                    self._authorize("create", res, ns, name)
                live = {"apiVersion": cfg.get("apiVersion"), "kind": res.kind,
                        "metadata": {"name": name, "namespace": ns, "creationTimestamp": CREATED}}
            want_rv = meta.get("resourceVersion")
            if want_rv and (created or str(want_rv) != live["metadata"].get("resourceVersion")):
                raise HttpError(409, "Conflict", f'Operation cannot be fulfilled on {res.resource} "{name}": '
                                                 "the object has been modified; please apply your changes "
                                                 "to the latest version and try again")
            owners = copy.deepcopy(api.owners.get(key, {}))
            new = leaf_paths(cfg)
            conflicts: list[tuple[str, Path_]] = []
            for p in sorted(new):
                for m, paths in owners.items():
                    if m == manager:
                        continue
                    for o in list(paths):
                        if related(o, p) and get_path(live, o) != get_path(cfg, o):
                            conflicts.append((m, o))
                            if force:
                                paths.discard(o)
            if conflicts and not force:
                text = "; ".join(f'conflict with "{m}": .{".".join(p)}' for m, p in conflicts)
                raise HttpError(409, "Conflict", f"Apply failed with {len(conflicts)} conflict(s): {text}",
                                {"causes": [{"reason": "FieldManagerConflict", "field": "." + ".".join(p),
                                             "message": f'conflict with "{m}"'} for m, p in conflicts]})
            mine = owners.get(manager, set())
            others = set().union(*(p for m, p in owners.items() if m != manager)) if owners else set()
            old_spec = copy.deepcopy(live.get("spec"))
            for p in mine - new:
                if p not in others:
                    del_path(live, p)
            for p in new:
                set_path(live, p, copy.deepcopy(get_path(cfg, p)))
            owners[manager] = new
            owners = {m: p for m, p in owners.items() if p}
            if res.group in CRD_GROUPS and (created or live.get("spec") != old_spec):
                live["metadata"]["generation"] = live["metadata"].get("generation", 0) + 1
            if created:
                live["metadata"]["uid"] = api._next_uid()
            if not dry:
                api.owners[key] = owners
                api._store(key, res, live, "ADDED" if created else "MODIFIED")
                out = api.render(live, res, version, key, in_list=False)
            else:
                saved = api.owners.get(key)
                api.owners[key] = owners
                out = api.render(live, res, version, key, in_list=False)
                if saved is None:
                    api.owners.pop(key, None)
                else:
                    api.owners[key] = saved
        self._send_json(201 if created else 200, out)

    def _delete(self, res: Res, version: str, ns: str, name: str, q: dict) -> None:
        api = self.api
        key = (res.group, res.plural, ns, name)
        with api.cond:
            obj = api.objects.get(key)
            if obj is None:
                raise HttpError(404, "NotFound", f'{res.resource} "{name}" not found')
            out = api.render(obj, res, version, key, in_list=False)
            if q.get("dryRun") != "All":
                api.delete(res.kind, ns, name, res.group)
        self._send_json(200, out)


def _render_event(api: FakeApiServer, e: Event, version: str, key: Key) -> dict:
    out = copy.deepcopy(e.obj)
    if e.res.group in CRD_GROUPS:
        out["apiVersion"] = f"{e.res.group}/{version}"
    out["metadata"].pop("managedFields", None)
    return out


# -- kubeconfig and generated meshes ---------------------------------------------------------------
def write_kubeconfig(path: Path, server: str, *, token: str | None = None, context: str = "test-ctx",
                     ca_data: str | None = None, cert_data: str | None = None, key_data: str | None = None) -> Path:
    """A kubeconfig for the test server; *_data are base64 PEM, as kubeconfigs carry them."""
    user: dict[str, Any] = {"token": token} if token else {}
    if cert_data and key_data:
        user.update({"client-certificate-data": cert_data, "client-key-data": key_data})
    cluster: dict[str, Any] = {"server": server}
    if ca_data:
        cluster["certificate-authority-data"] = ca_data
    cfg = {
        "apiVersion": "v1", "kind": "Config", "current-context": context,
        "clusters": [{"name": "test-cluster", "cluster": cluster}],
        "users": [{"name": "test-user", "user": user}],
        "contexts": [{"name": context, "context": {"cluster": "test-cluster", "user": "test-user"}}],
    }
    path.write_text(yaml.safe_dump(cfg))
    return path


def generated_mesh(total: int, namespaces: int = 10) -> list[dict]:
    """About `total` objects shaped like a real mesh: per app a Deployment, Service,
    EndpointSlice, several Pods, a VirtualService and a DestinationRule."""
    objs: list[dict] = []
    for n in range(namespaces):
        objs.append({"apiVersion": "v1", "kind": "Namespace",
                     "metadata": {"name": f"ns{n}", "labels": {"istio-injection": "enabled"}}})
    per_app = 10  # 1 deploy + 1 svc + 1 slice + 5 pods + 1 vs + 1 dr
    apps = max(1, (total - namespaces) // per_app)
    for a in range(apps):
        ns = f"ns{a % namespaces}"
        app = f"app{a}"
        labels = {"app": app, "version": "v1"}
        objs.append({"apiVersion": "apps/v1", "kind": "Deployment",
                     "metadata": {"name": f"{app}-v1", "namespace": ns, "labels": labels},
                     "spec": {"replicas": 5, "selector": {"matchLabels": labels},
                              "template": {"metadata": {"labels": labels},
                                           "spec": {"containers": [{"name": app, "image": f"example/{app}:1",
                                                                    "ports": [{"containerPort": 8080}]}]}}}})
        objs.append({"apiVersion": "v1", "kind": "Service",
                     "metadata": {"name": app, "namespace": ns, "labels": {"app": app}},
                     "spec": {"selector": {"app": app}, "clusterIP": f"10.96.{a // 250}.{a % 250 + 1}",
                              "ports": [{"name": "http", "port": 80, "targetPort": 8080, "protocol": "TCP"}]}})
        eps = []
        for p in range(5):
            ip = f"10.{1 + a // 5000}.{(a // 50) % 100}.{(a % 50) * 5 + p + 1}"
            pod = f"{app}-v1-{p}"
            eps.append({"addresses": [ip], "conditions": {"ready": True},
                        "targetRef": {"kind": "Pod", "namespace": ns, "name": pod}})
            objs.append({"apiVersion": "v1", "kind": "Pod",
                         "metadata": {"name": pod, "namespace": ns, "labels": labels,
                                      "annotations": {"sidecar.istio.io/status": '{"containers":["istio-proxy"]}'},
                                      "ownerReferences": [{"kind": "ReplicaSet", "name": f"{app}-v1-abc"}]},
                         "spec": {"containers": [{"name": app, "image": f"example/{app}:1",
                                                  "ports": [{"containerPort": 8080}]},
                                                 {"name": "istio-proxy", "image": "istio/proxyv2:1.24"}],
                                  "serviceAccountName": app, "nodeName": "node-1"},
                         "status": {"phase": "Running", "podIP": ip, "podIPs": [{"ip": ip}],
                                    "conditions": [{"type": "Ready", "status": "True"}]}})
        objs.append({"apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
                     "metadata": {"name": f"{app}-abcde", "namespace": ns,
                                  "labels": {"kubernetes.io/service-name": app}},
                     "addressType": "IPv4", "endpoints": eps,
                     "ports": [{"name": "http", "port": 8080, "protocol": "TCP"}]})
        objs.append({"apiVersion": f"{ISTIO}/v1", "kind": "VirtualService",
                     "metadata": {"name": app, "namespace": ns},
                     "spec": {"hosts": [app], "http": [
                         {"name": "canary", "match": [{"headers": {"x-canary": {"exact": "1"}}}],
                          "route": [{"destination": {"host": app, "subset": "v1"}}]},
                         {"route": [{"destination": {"host": app, "subset": "v1"}, "weight": 100}],
                          "timeout": "5s"}]}})
        objs.append({"apiVersion": f"{ISTIO}/v1", "kind": "DestinationRule",
                     "metadata": {"name": app, "namespace": ns},
                     "spec": {"host": app, "subsets": [{"name": "v1", "labels": {"version": "v1"}}],
                              "trafficPolicy": {"loadBalancer": {"simple": "ROUND_ROBIN"}}}})
    return objs


def main() -> int:
    ap = argparse.ArgumentParser(description="serve a generated mesh on loopback")
    ap.add_argument("--objects", type=int, default=10_000)
    ap.add_argument("--seconds", type=float, default=300, help="stop by itself after this long")
    args = ap.parse_args()
    srv = FakeApiServer().start()
    for o in generated_mesh(args.objects):
        srv.add(o)
    print(json.dumps({"url": srv.url, "objects": len(srv.objects)}), flush=True)
    try:
        # Stop when the parent closes our stdin, or after --seconds at the latest.
        done = threading.Event()
        threading.Thread(target=lambda: (sys.stdin.read(), done.set()), daemon=True).start()
        done.wait(args.seconds)
    finally:
        srv.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
