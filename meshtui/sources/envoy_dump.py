"""Where an Envoy config dump comes from: a file (as `curl localhost:15000/config_dump` or
`istioctl proxy-config all -o json` saves it), an Envoy admin URL on loopback, or, in cluster
mode, the pod's admin port through the API server's port-forward subresource (as `kubectl
port-forward` does: no exec, no shell in the pod). The CLI's flags and the TUI both read here."""

from __future__ import annotations

import ipaddress
import json
import re
import sys
import urllib.parse
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from meshtui.actual.dump import ConfigDump, DumpError, parse_runtime, read_dump
from meshtui.errors import UnreachableError, UsageError

if TYPE_CHECKING:
    import socket

ADMIN_PORT = 15000
DUMP_PATH = "/config_dump?include_eds"
MAX_DUMP_BYTES = 256 * 1024 * 1024  # a large mesh's dump is tens of MB; refuse what cannot be one


@dataclass
class ActualConfig:
    dump: ConfigDump
    runtime: dict[str, float] = field(default_factory=dict)
    runtime_known: bool = False  # only an admin endpoint tells the runtime (the fault percentages)


def _json(raw: bytes, origin: str) -> object:
    try:
        return json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        line = getattr(exc, "lineno", None)
        col = getattr(exc, "colno", None)
        where = f":{line}:{col}" if line else ""
        raise UsageError(f"{origin}{where}: not JSON: {getattr(exc, 'msg', exc)} (expected an Envoy config dump)") from None


def _read_file(path: str) -> bytes:
    if path == "-":
        return sys.stdin.buffer.read(MAX_DUMP_BYTES + 1)
    try:
        with open(path, "rb") as fh:
            return fh.read(MAX_DUMP_BYTES + 1)
    except OSError as exc:
        raise UsageError(f"--config-dump {path}: {exc.strerror or exc}") from None


def _admin_base(url: str) -> str:
    parsed = urllib.parse.urlsplit(url if "://" in url else f"http://{url}")
    if parsed.scheme != "http":
        raise UsageError(f"--envoy-admin {url}: Envoy's admin endpoint speaks plain http (got {parsed.scheme}://)")
    host = parsed.hostname or ""
    try:
        loopback = host == "localhost" or ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = False
    if not loopback:
        raise UsageError(f"--envoy-admin {url}: only a loopback address (127.0.0.0/8, ::1, localhost); the admin endpoint "
                         "is unauthenticated, so reach a remote one through `kubectl port-forward` or --cluster")
    if parsed.port is None:
        raise UsageError(f"--envoy-admin {url}: give the port (Istio's sidecars use {ADMIN_PORT})")
    return f"http://{parsed.netloc}"


def _http_get(url: str, timeout: float) -> bytes:
    # imported here: urllib.request brings http.client, ssl and email (a tenth of a second), which
    # every `meshtui trace` would pay for a flag it seldom has (--envoy-admin)
    import urllib.error
    import urllib.request

    try:
        with urllib.request.urlopen(url, timeout=timeout) as resp:  # loopback http only, checked above
            return resp.read(MAX_DUMP_BYTES + 1)
    except urllib.error.HTTPError as exc:
        raise UnreachableError(f"{url}: Envoy's admin answered {exc.code} {exc.reason}") from None
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise UnreachableError(f"{url}: cannot reach Envoy's admin endpoint ({reason})") from None


def _checked(raw: bytes, origin: str) -> bytes:
    if len(raw) > MAX_DUMP_BYTES:
        raise UsageError(f"{origin}: larger than {MAX_DUMP_BYTES // (1024 * 1024)} MiB: not a config dump meshtui reads")
    return raw


def from_file(path: str) -> ActualConfig:
    origin = "<stdin>" if path == "-" else path
    return _parse(_checked(_read_file(path), origin), origin, None)


def from_admin(url: str, timeout: float = 10.0) -> ActualConfig:
    base = _admin_base(url)
    raw = _checked(_http_get(base + DUMP_PATH, timeout), base)
    runtime = _http_get(base + "/runtime", timeout)
    return _parse(raw, base + DUMP_PATH, _json(runtime, base + "/runtime"))


def _parse(raw: bytes, origin: str, runtime_doc: object | None) -> ActualConfig:
    try:
        dump = read_dump(_json(raw, origin), origin)
    except DumpError as exc:
        raise UsageError(str(exc)) from None
    if runtime_doc is None:
        return ActualConfig(dump)
    return ActualConfig(dump, parse_runtime(runtime_doc), True)


def from_pod(api_client: object, namespace: str, pod: str, timeout: float = 10.0, port: int = ADMIN_PORT) -> ActualConfig:
    """The pod's Envoy admin through the API server's port-forward subresource (RBAC: `create`
    on `pods/portforward`)."""
    from kubernetes.client import CoreV1Api
    from kubernetes.client.exceptions import ApiException
    from kubernetes.stream import portforward

    api = CoreV1Api(api_client)
    origin = f"pod {namespace}/{pod} admin port {port} (port-forward)"
    try:
        pf = portforward(api.connect_get_namespaced_pod_portforward, pod, namespace, ports=str(port))
    except ApiException as exc:
        status, said = _upgrade_refusal(exc)
        if status == 403:
            raise UnreachableError(f"{origin}: the API server refused port-forward (403 Forbidden: {said}); the RBAC rule "
                                   'that allows it: apiGroups [""], resources ["pods/portforward"], verbs ["create"]') from None
        raise UnreachableError(f"{origin}: the API server answered {status or 'an error'}: {said}") from None
    except Exception as exc:  # noqa: BLE001 - the websocket layer raises its own types; say what failed, no traceback
        raise UnreachableError(f"{origin}: port-forward failed: {exc}") from None
    try:
        dump_raw = _admin_over_socket(pf.socket(port), DUMP_PATH, timeout, origin)
        runtime_raw = _admin_over_socket(pf.socket(port), "/runtime", timeout, origin)
    finally:
        pf.close()
    return _parse(dump_raw, origin, _json(runtime_raw, origin + " /runtime"))


def _upgrade_refusal(exc: Exception) -> tuple[int, str]:
    """(status, the server's own message) of a refused port-forward. The client reports a refused
    websocket upgrade as status 0 with 'Handshake status N ... -+-+- headers -+-+- body'."""
    status = int(getattr(exc, "status", 0) or 0)
    text = str(getattr(exc, "reason", "") or exc)
    m = re.search(r"Handshake status (\d{3})", text)
    if m:
        status = int(m.group(1))
    said = text.split("-+-+-")[-1].strip() if "-+-+-" in text else text
    try:
        body = json.loads(said)
        said = str(body.get("message", said)) if isinstance(body, dict) else said
    except ValueError:
        pass
    return status, said


def _admin_over_socket(sock: socket.socket, path: str, timeout: float, origin: str) -> bytes:
    """One HTTP/1.0 GET over a forwarded socket, read to the end (bounded in size and time)."""
    sock.settimeout(timeout)
    sock.sendall(f"GET {path} HTTP/1.0\r\nHost: localhost\r\n\r\n".encode())
    chunks: list[bytes] = []
    total = 0
    try:
        while total <= MAX_DUMP_BYTES:
            chunk = sock.recv(1 << 16)
            if not chunk:
                break
            chunks.append(chunk)
            total += len(chunk)
    except OSError as exc:
        raise UnreachableError(f"{origin}: {path}: {exc}") from None
    head, _, body = b"".join(chunks).partition(b"\r\n\r\n")
    status = head.split(b"\r\n", 1)[0].decode("latin-1", "replace")
    if " 200 " not in status + " ":
        raise UnreachableError(f"{origin}: {path}: Envoy's admin answered {status!r}")
    return _checked(body, origin)
