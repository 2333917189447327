"""A real Envoy for the oracle: one static bootstrap, listeners on a loopback address of their own
(127.<a>.<b>.1, random, so parallel tests and the demo never share listener ports), admin on
127.0.0.1 port 0, `--disable-hot-restart --concurrency 1`, stopped by PID. Plus a keep-alive
HTTP/1.1 client that sends exactly the headers it is given."""

from __future__ import annotations

import http.client
import json
import os
import random
import socket
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from oracle_echo import EchoPool
from oracle_rewire import DETAILS_HEADER, FLAGS_HEADER, Rewired, assert_loopback, rewire

from meshtui.translate.config import ProxyConfig
from meshtui.translate.envoy_json import static_bootstrap
from meshtui.xds.envoy_process import EnvoyProcess


def pick_bind_address(ports: list[int], tries: int = 20) -> str:
    """A random 127.a.b.1 where every port is free (bounded tries)."""
    rng = random.SystemRandom()
    for _ in range(tries):
        addr = f"127.{rng.randint(100, 250)}.{rng.randint(1, 254)}.1"
        try:
            for p in ports:
                with socket.socket() as s:
                    s.bind((addr, p))
            return addr
        except OSError:
            continue
    raise RuntimeError(f"no free loopback address for ports {ports} after {tries} tries")


@dataclass
class Observation:
    status: int
    headers: dict[str, str]
    body: bytes

    @property
    def backend(self) -> dict[str, Any] | None:
        if self.headers.get("x-oracle-backend") != "1":
            return None
        return json.loads(self.body)

    @property
    def details(self) -> str:
        return self.headers.get(DETAILS_HEADER, "")

    @property
    def flags(self) -> str:
        return self.headers.get(FLAGS_HEADER, "")

    def short(self) -> str:
        b = self.backend
        if b is not None:
            return f"{self.status} from backend cluster={b['cluster']} pod={b['pod']} path={b['path']}"
        loc = f" location={self.headers['location']}" if "location" in self.headers else ""
        return f"{self.status} details={self.details or '-'} flags={self.flags or '-'}{loc} body={self.body[:80]!r}"


class Client:
    """One keep-alive connection to one listener; reconnects when Envoy closes it."""

    def __init__(self, address: str, port: int, timeout: float = 10.0):
        self.address, self.port, self.timeout = address, port, timeout
        self.conn: http.client.HTTPConnection | None = None

    def send(self, method: str, target: str, headers: list[tuple[str, str]]) -> Observation:
        for attempt in range(2):
            if self.conn is None:
                self.conn = http.client.HTTPConnection(self.address, self.port, timeout=self.timeout)
            try:
                self.conn.putrequest(method, target, skip_host=True, skip_accept_encoding=True)
                for k, v in headers:
                    self.conn.putheader(k, v)
                self.conn.endheaders()
                resp = self.conn.getresponse()
                body = resp.read()
                hdrs: dict[str, str] = {}
                for k, v in resp.getheaders():
                    k = k.lower()
                    hdrs[k] = f"{hdrs[k]},{v}" if k in hdrs else v
                if resp.will_close:
                    self.close()
                return Observation(resp.status, hdrs, body)
            except (http.client.HTTPException, ConnectionError):
                self.close()
                if attempt:
                    raise
        raise AssertionError("unreachable")

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()
            self.conn = None


class OracleEnvoy:
    """meshtui's static bootstrap of `cfg`, rewired for loopback, running in a real Envoy."""

    def __init__(self, cfg: ProxyConfig, pool: EchoPool, workdir: Path, name: str = "oracle"):
        self.cfg = cfg
        ports = sorted({ls.port for ls in cfg.listeners if ls.kind != "virtual"})
        root = os.geteuid() == 0  # below 1024 only root can bind (rewire moves those ports otherwise)
        self.bind_address = pick_bind_address([p for p in ports if root or p >= 1024])
        boot = static_bootstrap(cfg, "127.0.0.1", 0, self.bind_address)
        self.rewired: Rewired = rewire(boot, cfg, pool, self.bind_address)
        assert_loopback(self.rewired.bootstrap)
        self.process = EnvoyProcess(self.rewired.bootstrap, workdir, name=name, concurrency=1, log_level="warning",
                                    extra_args=["--file-flush-interval-msec", "50"])
        self.clients: dict[str, Client] = {}

    def start(self) -> OracleEnvoy:
        self.process.start(wait_ready=True, timeout=30.0)
        return self

    def client(self, listener: str) -> Client:
        if listener not in self.clients:
            addr, port = self.rewired.listeners[listener]
            self.clients[listener] = Client(addr, port)
        return self.clients[listener]

    def stop(self) -> None:
        for c in self.clients.values():
            c.close()
        self.process.stop()

    @property
    def pid(self) -> int | None:
        return self.process.pid

