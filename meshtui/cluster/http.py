"""Raw JSON requests to the API server through the official kubernetes client.

The client's model objects are slow to build for thousands of Pods, so every call here asks for
the raw response (`call_api` never deserialises) and parses JSON itself. Authentication, TLS,
proxies and exec/OIDC token refresh all stay the client's.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import urllib3
from kubernetes import client as kclient
from kubernetes import config as kconfig
from kubernetes.config.config_exception import ConfigException

from meshtui.cluster.errors import (
    Action,
    ClusterError,
    ClusterTimeout,
    Endpoint,
    KubeconfigError,
    connection_error,
    http_error,
)

_NET_ERRORS = (urllib3.exceptions.HTTPError, OSError)


@dataclass
class Response:
    status: int
    body: bytes


class KubeHttp:
    """One API server connection: kubeconfig-resolved client plus the raw request helpers."""

    def __init__(self, api: kclient.ApiClient, context: str, timeout: float) -> None:
        self.api = api
        self.timeout = timeout
        self.endpoint = Endpoint(server=api.configuration.host, context=context)

    # -- plumbing ---------------------------------------------------------------------------
    def _send(self, method: str, path: str, query: list[tuple[str, Any]] | None, body: bytes | dict | None,
              content_type: str | None, timeout: Any) -> urllib3.BaseHTTPResponse:
        headers = {"Accept": "application/json"}
        if content_type:
            headers["Content-Type"] = content_type
        m, url, hdrs, _, post = self.api.param_serialize(
            method, path, query_params=query or [], header_params=headers, auth_settings=["BearerToken"]
        )
        resp = self.api.call_api(m, url, header_params=hdrs, body=body, post_params=post,
                                 _request_timeout=timeout)
        return resp.response

    def request(self, method: str, path: str, action: Action, *, query: list[tuple[str, Any]] | None = None,
                body: bytes | dict | None = None, content_type: str | None = None,
                ok: tuple[int, ...] = (200, 201), deadline: float | None = None) -> Response:
        """Send and read a whole response; statuses outside `ok` raise a ClusterError. A dict
        body goes as JSON; bytes go as they are (the apply content type). The exchange ends by
        `deadline` (a time.monotonic() value; default: the request timeout from now): the
        socket timeout alone bounds each read, not a server that trickles bytes."""
        end = deadline if deadline is not None else time.monotonic() + self.timeout
        left = end - time.monotonic()
        if left <= 0:
            raise self.late(action)
        wait = min(self.timeout, left)
        try:
            raw = self._send(method, path, query, body, content_type, (wait, wait))
            data = _read_by(raw, end)
            if data is None:
                raise self.late(action)
        except ClusterError:
            raise
        except _NET_ERRORS as exc:
            raise connection_error(self.endpoint, action, exc, self.timeout) from None
        except kclient.ApiException as exc:  # raised by the client itself, e.g. for TLS
            raise connection_error(self.endpoint, action, exc, self.timeout) from None
        if raw.status not in ok:
            raise http_error(self.endpoint, action, raw.status, data)
        return Response(raw.status, data)

    def late(self, action: Action, detail: str = "") -> ClusterTimeout:
        return ClusterTimeout(f"{self.endpoint.describe()} did not finish answering within --request-timeout "
                              f"({self.timeout:g}s) when asked to {action.describe()}{detail}; it may be slow or "
                              "overloaded (raise --request-timeout to wait longer).")

    def get_json(self, path: str, action: Action, query: list[tuple[str, Any]] | None = None) -> dict:
        resp = self.request("GET", path, action, query=query)
        return parse_json(resp.body, self.endpoint, action)

    def open_stream(self, path: str, action: Action, query: list[tuple[str, Any]],
                    read_timeout: float) -> urllib3.BaseHTTPResponse:
        """Open a watch: returns the live response (status checked by the caller)."""
        try:
            return self._send("GET", path, query, None, None, (self.timeout, read_timeout))
        except _NET_ERRORS as exc:
            raise connection_error(self.endpoint, action, exc, self.timeout) from None
        except kclient.ApiException as exc:
            raise connection_error(self.endpoint, action, exc, self.timeout) from None

    def close(self) -> None:
        try:
            self.api.close()
        except Exception:  # noqa: BLE001 - closing is best effort
            pass


def _read_by(raw: urllib3.BaseHTTPResponse, end: float) -> bytes | None:
    """The whole body, or None (the connection closed) when it is not all there by `end`."""
    parts: list[bytes] = []
    try:
        while True:
            if time.monotonic() > end:
                raw.close()  # half read: never back into the pool
                return None
            chunk = raw.read1(1 << 16)  # what one receive brings: a trickle cannot stretch a read
            if not chunk:
                return b"".join(parts)
            parts.append(chunk)
    finally:
        raw.release_conn()


def parse_json(body: bytes, ep: Endpoint, action: Action) -> dict:
    try:
        data = json.loads(body)
    except ValueError:
        raise ClusterError(f"{ep.describe()} sent a response that is not JSON when asked to "
                           f"{action.describe()}") from None
    if not isinstance(data, dict):
        raise ClusterError(f"{ep.describe()} sent an unexpected response when asked to {action.describe()}")
    return data


def iter_lines(resp: urllib3.BaseHTTPResponse) -> Iterator[bytes]:
    """Lines of a streamed (chunked) watch response as they arrive."""
    buf = b""
    chunks = resp.read_chunked() if getattr(resp, "chunked", False) else resp.stream(1024)
    for chunk in chunks:
        if not chunk:
            continue
        buf += chunk
        while b"\n" in buf:
            line, buf = buf.split(b"\n", 1)
            if line.strip():
                yield line
    if buf.strip():
        yield buf


def new_api_client(kubeconfig: str | None, context: str | None) -> tuple[kclient.ApiClient, str]:
    """The client for a kubeconfig and context, as kubectl would pick them; (client, context name)."""
    cfg = kclient.Configuration()
    # No urllib3 retries: an unreachable server should fail once, fast, with our message.
    cfg.retries = urllib3.Retry(total=0, connect=0, read=0, redirect=0, status=0, other=0)
    cfg.connection_pool_maxsize = 64  # one connection per watch stream, plus list workers
    path = kubeconfig or os.environ.get("KUBECONFIG") or os.path.expanduser("~/.kube/config")
    # $KUBECONFIG may list several files; the client merges them like kubectl.
    first = path.split(os.pathsep)[0]
    if not kubeconfig and not os.environ.get("KUBECONFIG") and not os.path.exists(first) \
            and os.environ.get("KUBERNETES_SERVICE_HOST"):
        try:
            kconfig.load_incluster_config(client_configuration=cfg)
        except ConfigException as exc:
            raise KubeconfigError(f"in-cluster configuration failed: {exc}") from None
        return kclient.ApiClient(cfg), "in-cluster"
    if not any(os.path.exists(p) for p in path.split(os.pathsep) if p):
        raise KubeconfigError(
            f"no kubeconfig at {path}: pass --kubeconfig PATH or set KUBECONFIG, "
            "or read files instead with -f (try `meshtui demo` for a built-in mesh)"
        )
    try:
        contexts, current = kconfig.list_kube_config_contexts(config_file=path)
        names = [c.get("name") for c in contexts or []]
        chosen = context or (current or {}).get("name")
        if context and context not in names:
            raise KubeconfigError(
                f"{path}: no context '{context}' (known: {', '.join(n for n in names if n) or 'none'})"
            )
        if not chosen:
            raise KubeconfigError(f"{path}: no current-context; pass --context NAME")
        kconfig.load_kube_config(config_file=path, context=chosen, client_configuration=cfg,
                                 persist_config=False)
    except KubeconfigError:
        raise
    except ConfigException as exc:
        raise KubeconfigError(f"{path}: {exc}") from None
    except (OSError, ValueError, TypeError, KeyError, AttributeError) as exc:
        raise KubeconfigError(f"{path}: cannot read kubeconfig: {exc}") from None
    return kclient.ApiClient(cfg), chosen
