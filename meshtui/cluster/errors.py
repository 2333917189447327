"""Errors from the Kubernetes API said in terms a user can act on.

Every message names the API server and the kubeconfig context. A 401/403 also names the verb and
resource that was refused and, for a 403, the RBAC rule that would allow it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from meshtui.errors import UnreachableError, UsageError


@dataclass(frozen=True, slots=True)
class Endpoint:
    """Which API server, reached through which kubeconfig context."""

    server: str
    context: str

    def describe(self) -> str:
        return f"the Kubernetes API server at {self.server} (context '{self.context}')"


@dataclass(frozen=True, slots=True)
class Action:
    """What meshtui was doing when a request failed: verb on group/resource in a namespace."""

    verb: str  # get, list, watch, patch, delete
    resource: str  # plural: pods, virtualservices
    group: str = ""
    namespace: str | None = None
    name: str | None = None

    def describe(self) -> str:
        if self.verb == "discover":
            return f"discover the {self.group or 'core'} API (which versions and resources it serves)"
        res = f"{self.resource}.{self.group}" if self.group else self.resource
        target = f"{res} {self.name}" if self.name else res
        where = f" in namespace '{self.namespace}'" if self.namespace else " across all namespaces"
        if self.resource == "namespaces":
            where = ""
        return f"{self.verb} {target}{where}"

    def rbac_rule(self) -> str:
        """The smallest rule (YAML, as in a Role or ClusterRole) that grants this action."""
        if self.verb == "discover":
            return ("a ClusterRole with this rule would allow it (the built-in system:discovery role has it):\n"
                    "  - nonResourceURLs: [\"/api\", \"/api/*\", \"/apis\", \"/apis/*\"]\n"
                    "    verbs: [\"get\"]")
        verbs = {"get": ["get"], "list": ["get", "list", "watch"], "watch": ["get", "list", "watch"]}
        v = verbs.get(self.verb, ["get", self.verb])
        kind = "Role (in that namespace)" if self.namespace else "ClusterRole"
        return (
            f"a {kind} with this rule would allow it:\n"
            f"  - apiGroups: [\"{self.group}\"]\n"
            f"    resources: [\"{self.resource}\"]\n"
            f"    verbs: [{', '.join(json.dumps(x) for x in v)}]"
        )


class KubeconfigError(UsageError):
    """No usable kubeconfig or context: a usage problem, not an unreachable server."""


class ClusterError(UnreachableError):
    """The API server could not be reached, refused us, or failed: exit 69."""

    def __init__(self, message: str, *, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class ClusterUnreachable(ClusterError):
    pass


class ClusterTimeout(ClusterUnreachable):
    pass


class ClusterUnauthorized(ClusterError):
    pass


class ClusterForbidden(ClusterError):
    def __init__(self, message: str, action: Action) -> None:
        super().__init__(message, status=403)
        self.action = action


class ClusterConflict(ClusterError):
    """409 on a write: someone changed the object between our read and our apply."""


class ClusterNotFound(ClusterError):
    pass


def server_message(body: bytes) -> str:
    """The `message` of a Kubernetes Status body, or a short excerpt of whatever came back."""
    try:
        data = json.loads(body)
        if isinstance(data, dict) and data.get("message"):
            return str(data["message"])
    except (ValueError, UnicodeDecodeError):
        pass
    text = body[:200].decode("utf-8", "replace").strip()
    return text


def http_error(ep: Endpoint, action: Action, status: int, body: bytes) -> ClusterError:
    msg = server_message(body)
    said = f": {msg}" if msg else ""
    if status == 401:
        return ClusterUnauthorized(
            f"{ep.describe()} refused the credentials (401 Unauthorized) when asked to "
            f"{action.describe()}{said}. The token or client certificate of context "
            f"'{ep.context}' is missing, wrong or expired; check it with "
            f"`kubectl --context {ep.context} auth whoami`.",
            status=401,
        )
    if status == 403:
        return ClusterForbidden(
            f"{ep.describe()} refused to {action.describe()} (403 Forbidden){said}.\n"
            f"{action.rbac_rule()}\n"
            "(the meshtui README has read-only and write-back ClusterRoles.)",
            action,
        )
    if status == 404:
        return ClusterNotFound(f"{ep.describe()}: not found when asked to {action.describe()}{said}", status=404)
    if status == 409:
        return ClusterConflict(
            f"{ep.describe()}: conflict when asked to {action.describe()} (409){said}. "
            "The object changed meanwhile; run the command again to work from the new version.",
            status=409,
        )
    if status == 422 or status == 400:
        return ClusterError(f"{ep.describe()} rejected the request to {action.describe()} ({status}){said}",
                            status=status)
    return ClusterError(
        f"{ep.describe()} answered {status} when asked to {action.describe()}{said}", status=status
    )


def connection_error(ep: Endpoint, action: Action, exc: BaseException, timeout: float | None) -> ClusterError:
    """Turn a urllib3/socket failure into a message that names server and context."""
    reason = _root_reason(exc)
    low = reason.lower()
    if "timed out" in low or "timeout" in low:
        t = f" after {timeout:g}s" if timeout else ""
        return ClusterTimeout(
            f"{ep.describe()} did not answer{t} when asked to {action.describe()}; "
            "it may be slow or unreachable (raise --request-timeout to wait longer)."
        )
    if "certificate" in low or "ssl" in low:
        return ClusterUnreachable(f"cannot reach {ep.describe()}: TLS failed: {reason}")
    return ClusterUnreachable(f"cannot reach {ep.describe()}: {reason}")


def _root_reason(exc: BaseException) -> str:
    # urllib3 wraps the socket error in MaxRetryError(reason=NewConnectionError(...)).
    seen = 0
    cur: BaseException | None = exc
    while cur is not None and seen < 5:
        inner = getattr(cur, "reason", None)
        if isinstance(inner, BaseException):
            cur = inner
            seen += 1
            continue
        break
    text = str(cur) if cur is not None else str(exc)
    # NewConnectionError text carries an object repr first: keep the useful tail.
    if ": " in text and text.startswith("<"):
        text = text.split(": ", 1)[1]
    if "Errno 111" in text or "Connection refused" in text:
        return "connection refused"
    return text or type(exc).__name__
