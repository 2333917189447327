"""How Envoy answers a gRPC request itself. A local reply (no route, a direct response, an abort,
an RBAC denial, no healthy upstream...) to a request with a gRPC content type goes out as HTTP 200
with no body and a `grpc-status` trailer, mapped from the HTTP status Envoy decided
(Grpc::Utility::httpToGrpcStatus, after gRPC's http-grpc-status-mapping)."""

from __future__ import annotations

# the codes a client library names (grpc/status.proto)
GRPC_CODE_NAMES = ("OK", "CANCELLED", "UNKNOWN", "INVALID_ARGUMENT", "DEADLINE_EXCEEDED", "NOT_FOUND",
                   "ALREADY_EXISTS", "PERMISSION_DENIED", "RESOURCE_EXHAUSTED", "FAILED_PRECONDITION", "ABORTED",
                   "OUT_OF_RANGE", "UNIMPLEMENTED", "INTERNAL", "UNAVAILABLE", "DATA_LOSS", "UNAUTHENTICATED")

_OF_HTTP = {400: 13, 401: 16, 403: 7, 404: 12, 429: 14, 502: 14, 503: 14, 504: 14}
UNKNOWN = 2


def grpc_status_of_http(status: int) -> int:
    """The grpc-status Envoy puts on a gRPC local reply that would have carried `status`."""
    return _OF_HTTP.get(status, UNKNOWN)


def grpc_code_text(code: int) -> str:
    name = GRPC_CODE_NAMES[code] if 0 <= code < len(GRPC_CODE_NAMES) else "?"
    return f"{code} {name}"
