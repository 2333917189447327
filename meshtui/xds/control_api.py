"""The control API: unary gRPC methods with JSON payloads, on the same server as ADS.

Service `meshtui.control.v1.Control`; every method takes and returns one JSON object. Errors
come back as gRPC status INVALID_ARGUMENT (a usage problem, exit 2) or INTERNAL. The client side
(`ControlClient`) is what `meshtui fault|scope` use."""

from __future__ import annotations

import json
import logging
import math
import time
from typing import Any

import grpc

from meshtui.edits.model import FaultEdit, FaultTarget, ScopeEdit
from meshtui.edits.ttl import parse_duration
from meshtui.errors import MeshtuiError, UnreachableError, UsageError
from meshtui.model.schema import TYPE_NAMES, type_name
from meshtui.xds.bootstrap import is_loopback_host, parse_address

log = logging.getLogger("meshtui.control")

SERVICE = "meshtui.control.v1.Control"
DEFAULT_FAULT_TTL = 600.0


def _dumps(obj: Any) -> bytes:
    return json.dumps(obj, separators=(",", ":")).encode()


def _loads(data: bytes) -> Any:
    if not data:
        return {}
    return json.loads(data.decode("utf-8"))


# ---- server side --------------------------------------------------------------------------


def _field(req: dict, key: str, kinds: tuple[type, ...], flag: str, max_len: int = 1024):
    """A request field of one of `kinds` (None when absent): the API is reachable without the
    CLI, so every field is checked for its type before anything uses it."""
    v = req.get(key)
    if v is None:
        return None
    if isinstance(v, bool) and bool not in kinds:
        raise UsageError(f"{flag}: expected {' or '.join(TYPE_NAMES.get(k, k.__name__) for k in kinds)}, got {v!r}")
    if not isinstance(v, kinds):
        raise UsageError(f"{flag}: expected {' or '.join(TYPE_NAMES.get(k, k.__name__) for k in kinds)}, got {type_name(v)}")
    if isinstance(v, str) and len(v) > max_len:
        raise UsageError(f"{flag}: at most {max_len} characters")
    return v


def _whole(req: dict, key: str, flag: str) -> int | None:
    v = _number(req, key, flag, integral=True)
    return None if v is None else int(v)


def _number(req: dict, key: str, flag: str, integral: bool = False) -> float | int | None:
    v = _field(req, key, (int, float, str), flag, 64)
    if v is None:
        return None
    try:
        x = float(v)
    except (ValueError, OverflowError):
        raise UsageError(f"{flag}: not a number: {str(v)[:40]!r}") from None
    if not math.isfinite(x):
        raise UsageError(f"{flag}: must be a finite number, got {str(v)[:40]!r}")
    if integral:
        if x != int(x):
            raise UsageError(f"{flag}: must be a whole number, got {str(v)[:40]!r}")
        return int(x)
    return x


def _duration(req: dict, key: str, flag: str) -> float | None:
    v = _field(req, key, (int, float, str), flag, 64)
    if v is None or v == "":
        return None
    try:
        return parse_duration(str(v))
    except ValueError as exc:
        raise UsageError(f"{flag}: {exc}") from None


def fault_from_request(req: dict, now: float, owner: str | None = None, taken=()) -> FaultEdit:
    """A FaultEdit from a request, types checked; ranges are the control plane's (validate_edit).
    `owner`: the authenticated identity, which wins over what the request says."""
    from meshtui.xds.control_plane import default_owner, new_edit_id

    percent = _number(req, "percent", "--percent")
    if percent is None:
        raise UsageError("--percent is required")
    ttl = _duration(req, "ttl", "--ttl")
    return FaultEdit(
        id=_field(req, "id", (str,), "id", 64) or new_edit_id("f", taken),
        target=FaultTarget(virtual_service=_field(req, "virtualService", (str,), "--virtual-service", 512) or None,
                           rule=_whole(req, "rule", "--rule"),
                           host=_field(req, "host", (str,), "--host", 512) or None,
                           subset=_field(req, "subset", (str,), "--subset", 512) or None),
        percent=percent,
        abort_status=_whole(req, "abort", "--abort"),
        delay_seconds=_duration(req, "delay", "--delay"),
        ttl_seconds=DEFAULT_FAULT_TTL if ttl is None else ttl,
        created_at=now,
        reason=_field(req, "reason", (str,), "--reason", 1 << 20) or "",
        owner=owner or _field(req, "owner", (str,), "owner", 1 << 20) or default_owner(),
    )


def scope_from_request(req: dict, now: float, owner: str | None = None, taken=()) -> ScopeEdit:
    from meshtui.xds.control_plane import default_owner, new_edit_id

    labels = _field(req, "selector", (dict,), "--selector") or {}
    if not all(isinstance(k, str) and isinstance(v, str) for k, v in labels.items()):
        raise UsageError("--selector: expected KEY=VALUE pairs")
    hosts = _field(req, "egressHosts", (list,), "--egress-host") or []
    if not all(isinstance(h, str) for h in hosts):
        raise UsageError("--egress-host: expected NAMESPACE/HOST strings")
    return ScopeEdit(
        id=_field(req, "id", (str,), "id", 64) or new_edit_id("s", taken),
        namespace=_field(req, "namespace", (str,), "--namespace", 253) or "",
        egress_hosts=tuple(hosts),
        outbound_traffic_policy=_field(req, "outboundTrafficPolicy", (str,), "--outbound-policy", 64) or None,
        workload_labels=dict(labels),
        ttl_seconds=_duration(req, "ttl", "--ttl"),
        created_at=now,
        reason=_field(req, "reason", (str,), "--reason", 1 << 20) or "",
        owner=owner or _field(req, "owner", (str,), "owner", 1 << 20) or default_owner(),
    )


def add_control_api(server: grpc.aio.Server, cp) -> None:
    """Register the control methods for ControlPlane `cp` on a grpc.aio server."""

    def add_fault(req: dict, owner: str | None) -> dict:
        return cp.add_edit(fault_from_request(req, cp.clock(), owner, cp.records))

    def add_scope(req: dict, owner: str | None) -> dict:
        return cp.add_edit(scope_from_request(req, cp.clock(), owner, cp.records))

    def remove(req: dict, _owner: str | None) -> dict:
        return cp.remove_edit(str(req.get("id", ""))[:64], detail=str(req.get("reason") or "")[:1024])

    def clear(_req: dict, _owner: str | None) -> dict:
        return {"cleared": cp.clear_faults()}

    def list_edits(req: dict, _owner: str | None) -> dict:
        kind = req.get("kind") if req.get("kind") in ("fault", "scope") else None
        return {"edits": cp.edits(kind, bool(req.get("all"))), "now": cp.clock()}

    def proxies(_req: dict, _owner: str | None) -> dict:
        return {"proxies": cp.proxies()}

    def journal(_req: dict, _owner: str | None) -> dict:
        return {"entries": [e.to_dict() for e in cp.journal_entries()]}

    methods = {
        "AddFault": add_fault,
        "AddScope": add_scope,
        "RemoveEdit": remove,
        "ClearFaults": clear,
        "ListEdits": list_edits,
        "ListProxies": proxies,
        "Journal": journal,
    }

    def wrap(fn):
        async def handler(request: Any, context: grpc.aio.ServicerContext) -> Any:
            who = cp.auth.identify(context)
            if who is None:
                cp.refused_call(context.peer() or "", fn.__name__)
                await context.abort(grpc.StatusCode.UNAUTHENTICATED, cp.auth.refusal())
            try:
                if not isinstance(request, dict):
                    raise UsageError("the request must be a JSON object")
                # a certificate names its owner; a token holder says who they are
                return fn(request, who.name if who.kind == "certificate" else None)
            except UsageError as exc:
                await context.abort(grpc.StatusCode.INVALID_ARGUMENT, str(exc))
            except MeshtuiError as exc:
                await context.abort(grpc.StatusCode.FAILED_PRECONDITION, str(exc))
            except (ValueError, TypeError, OverflowError, KeyError, RecursionError) as exc:
                # a request nobody foresaw: refuse it, keep serving, leave a trace for the bug report
                log.warning("control API %s: %r", fn.__name__, exc, exc_info=True)
                await context.abort(grpc.StatusCode.INVALID_ARGUMENT, f"request refused: {exc}"[:500])

        return grpc.unary_unary_rpc_method_handler(handler, request_deserializer=_loads_safe,
                                                   response_serializer=_dumps)

    server.add_generic_rpc_handlers((grpc.method_handlers_generic_handler(
        SERVICE, {name: wrap(fn) for name, fn in methods.items()}),))


def _loads_safe(data: bytes) -> Any:
    try:
        return _loads(data)
    except (ValueError, UnicodeDecodeError, RecursionError):
        return None


# ---- client side --------------------------------------------------------------------------


class ControlClient:
    """A synchronous client for the control API. Plaintext to loopback; elsewhere TLS (with
    `tls_ca`, optionally a client cert) unless `insecure`."""

    def __init__(self, server: str, *, tls_ca: str | None = None, tls_cert: str | None = None,
                 tls_key: str | None = None, insecure: bool = False, timeout: float = 10.0,
                 token_file: str | None = None) -> None:
        from pathlib import Path

        from meshtui.xds.credentials import bearer, default_token_path, read_token

        host, _port = parse_address(server, "--server")
        self.server = server
        self.timeout = timeout
        self.token_path = Path(token_file) if token_file else default_token_path()
        token = read_token(self.token_path)
        self.metadata = bearer(token) if token else ()
        if bool(tls_cert) != bool(tls_key):
            # gRPC's C core aborts the process on half a key pair; refuse it first
            have, missing = ("--tls-cert", "--tls-key") if tls_cert else ("--tls-key", "--tls-cert")
            raise UsageError(f"{have} needs {missing}: a client certificate goes with its private key")
        if tls_ca or tls_cert:
            creds = grpc.ssl_channel_credentials(
                root_certificates=_read(tls_ca, "--tls-ca") if tls_ca else None,
                private_key=_read(tls_key, "--tls-key") if tls_key else None,
                certificate_chain=_read(tls_cert, "--tls-cert") if tls_cert else None,
            )
            self.channel = grpc.secure_channel(server, creds)
        elif is_loopback_host(host) or insecure:
            self.channel = grpc.insecure_channel(server)
        else:
            raise UsageError(f"--server {server}: not a loopback address; give --tls-ca (the server's CA) "
                             "or --insecure to send edits in plaintext")

    def call(self, method: str, request: dict | None = None) -> dict:
        fn = self.channel.unary_unary(f"/{SERVICE}/{method}", request_serializer=_dumps,
                                      response_deserializer=_loads)
        try:
            return fn(request or {}, timeout=self.timeout, wait_for_ready=False, metadata=self.metadata)
        except grpc.RpcError as exc:
            code = exc.code() if hasattr(exc, "code") else None
            detail = exc.details() if hasattr(exc, "details") else str(exc)
            if code == grpc.StatusCode.INVALID_ARGUMENT:
                raise UsageError(detail) from None
            if code == grpc.StatusCode.UNAUTHENTICATED:
                have = f"sent the token from {self.token_path}" if self.metadata else \
                    f"no token at {self.token_path}"
                raise UnreachableError(f"meshtui server {self.server} refused the credentials ({have}): "
                                       f"{detail}") from None
            if code in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED,
                        grpc.StatusCode.UNAUTHENTICATED, grpc.StatusCode.PERMISSION_DENIED):
                raise UnreachableError(f"meshtui server {self.server}: {detail or code.name}") from None
            if code == grpc.StatusCode.UNIMPLEMENTED:
                raise UnreachableError(f"{self.server} is not a meshtui server (no control API)") from None
            raise MeshtuiError(f"meshtui server {self.server}: {code.name if code else ''} {detail}") from None

    def close(self) -> None:
        self.channel.close()

    def __enter__(self) -> ControlClient:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def _read(path: str | None, what: str) -> bytes:
    try:
        with open(path or "", "rb") as fh:
            return fh.read()
    except OSError as exc:
        raise UsageError(f"{what} {path}: {exc.strerror or exc}") from None


def wait_for_server(client: ControlClient, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            client.call("ListProxies")
            return
        except UnreachableError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)
