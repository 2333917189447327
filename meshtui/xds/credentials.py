"""Who may drive the control plane: a bearer token, or (with TLS and --tls-client-ca) a verified
client certificate.

The token is a random secret in $XDG_STATE_HOME/meshtui/token (~/.local/state/meshtui), created
0600 by the first server and read by the CLI run as the same user; the Envoy bootstraps meshtui
prints carry it as gRPC initial metadata of the ADS stream. Any local process could otherwise
add or clear faults, read the journal, or connect as a fake Envoy under a real proxy's name."""

from __future__ import annotations

import hmac
import os
import secrets
import stat
from dataclasses import dataclass
from pathlib import Path

from meshtui.errors import MeshtuiError, UsageError
from meshtui.xds.journal_file import state_dir

METADATA_KEY = "authorization"
SCHEME = "Bearer "


def default_token_path() -> Path:
    env = os.environ.get("MESHTUI_TOKEN_FILE")
    return Path(env) if env else state_dir() / "token"


def _check_private(path: Path, st: os.stat_result) -> None:
    if not stat.S_ISREG(st.st_mode):
        raise UsageError(f"token file {path}: not a regular file")
    if st.st_uid != os.getuid():
        raise UsageError(f"token file {path}: owned by another user; meshtui only trusts its own")
    if st.st_mode & 0o077:
        raise UsageError(f"token file {path}: readable by others (mode {stat.S_IMODE(st.st_mode):o}); "
                         "remove it so meshtui makes a new one, or chmod 600 it")


def load_or_create_token(path: Path | None = None) -> str:
    """The server's token: read it, or create it (0600, in a 0700 directory)."""
    path = path or default_token_path()
    try:
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC | os.O_NOFOLLOW, 0o600)
    except FileExistsError:
        token = read_token(path)
        if token:
            return token
        raise UsageError(f"token file {path} is empty; remove it so meshtui makes a new one") from None
    except OSError as exc:
        raise MeshtuiError(f"cannot create the token file {path}: {exc.strerror or exc}") from None
    token = secrets.token_urlsafe(32)
    try:
        os.write(fd, (token + "\n").encode())
        os.fsync(fd)
    finally:
        os.close(fd)
    return token


def read_token(path: Path | None = None) -> str | None:
    """The token a client presents: None when there is no token file (the server then says it
    wants one)."""
    path = path or default_token_path()
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC | os.O_NOFOLLOW)
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise UsageError(f"token file {path}: {exc.strerror or exc}") from None
    try:
        _check_private(path, os.fstat(fd))
        data = os.read(fd, 4096)
    finally:
        os.close(fd)
    return data.decode("ascii", "replace").strip() or None


def bearer(token: str) -> tuple[tuple[str, str], ...]:
    return ((METADATA_KEY, SCHEME + token),)


@dataclass(frozen=True)
class Identity:
    """Who a call or stream comes from: "token" (the owner is then what the request says) or a
    client certificate's name (the owner is that name, whatever the request says)."""

    kind: str  # token | certificate
    name: str = ""


class Authenticator:
    """Checks gRPC calls and streams. `token` None and `trust_client_certs` False: no checks
    (a library caller that knows what it does; serve and demo always set a token)."""

    def __init__(self, token: str | None, trust_client_certs: bool = False) -> None:
        self.token = token
        self.trust_client_certs = trust_client_certs

    @property
    def enabled(self) -> bool:
        return self.token is not None or self.trust_client_certs

    def identify(self, context) -> Identity | None:
        """The caller's identity, or None when it presented no valid credential."""
        if not self.enabled:
            return Identity("none")
        if self.trust_client_certs:
            name = _cert_name(context)
            if name:
                return Identity("certificate", name)
        if self.token is not None:
            for key, value in context.invocation_metadata() or ():
                if key == METADATA_KEY and isinstance(value, str) and value.startswith(SCHEME):
                    if hmac.compare_digest(value[len(SCHEME):].strip().encode(), self.token.encode()):
                        return Identity("token")
        return None

    def refusal(self) -> str:
        how = []
        if self.token is not None:
            how.append(f"the token from {default_token_path()} (the CLI reads it when run as the same user; "
                       "bootstraps from `meshtui envoy-bootstrap` carry it)")
        if self.trust_client_certs:
            how.append("a client certificate signed by --tls-client-ca")
        return "meshtui refuses calls without a credential: present " + " or ".join(how)


def _cert_name(context) -> str:
    try:
        auth = context.auth_context() or {}
    except Exception:  # noqa: BLE001 - no TLS on this connection: no certificate
        return ""
    for key in ("x509_common_name", "x509_subject_alternative_name"):
        for v in auth.get(key, ()) or ():
            name = v.decode("utf-8", "replace") if isinstance(v, bytes) else str(v)
            if name:
                return name[:256]
    return ""
