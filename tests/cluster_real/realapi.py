"""A real kube-apiserver with etcd on loopback, for the cluster-mode tests.

The binaries come from `make apiserver` (testinfra/apiserver: built from k8s.io/kubernetes and
go.etcd.io/etcd/server/v3); Istio's CRDs are read from the istio.io/istio module in the Go module
cache at test time. Serving certificates and keys are made per run with openssl. Two identities
authenticate with static tokens: `admin` (system:masters) and `viewer` (bound to the built-in
`view` ClusterRole, which grants no Istio kinds and no writes)."""

from __future__ import annotations

import glob
import json
import os
import shutil
import socket
import ssl
import subprocess
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from meshtui.cluster.kinds import kind_by_name

REPO = Path(__file__).resolve().parents[2]
ISTIO_MODULE = "istio.io/istio@v0.0.0-20260827124520-eed52ebb66ad"
CRD_FILE = "manifests/charts/base/files/crd-all.gen.yaml"
# the Gateway API CRDs (bundle v1.6.0, experimental channel) Istio's integration tests install,
# which the Go oracle also reads: from the same module, so both see one schema
GATEWAY_CRD_FILE = "tests/integration/pilot/testdata/gateway-api-crd.yaml"
ADMIN_TOKEN = "meshtui-admin-token"
VIEWER_TOKEN = "meshtui-viewer-token"
# ServiceEntries skip the watch cache, so a watch from a compacted resourceVersion is answered by
# etcd itself (410 Gone): the real way an API server expires a resourceVersion on demand.
UNCACHED = "serviceentries.networking.istio.io"


def bin_dir() -> Path:
    return Path(os.environ.get("MESHTUI_APISERVER_BIN") or REPO / ".cache" / "bin")


def gomodcache() -> Path:
    env = os.environ.get("GOMODCACHE")
    if env:
        return Path(env)
    if shutil.which("go"):
        try:
            out = subprocess.run(["go", "env", "GOMODCACHE"], capture_output=True, text=True, timeout=30).stdout.strip()
            if out:
                return Path(out)
        except (OSError, subprocess.SubprocessError):
            pass
    return Path(os.environ.get("GOPATH") or Path.home() / "go") / "pkg" / "mod"


_STUCK = 10.0  # seconds a deleted CRD may fail to list its instances before its finalizer is cleared

def istio_crd_file(name: str = CRD_FILE) -> Path | None:
    exact = gomodcache() / ISTIO_MODULE / name
    if exact.exists():
        return exact
    found = sorted(glob.glob(str(gomodcache() / "istio.io" / "istio@*" / name)))
    return Path(found[-1]) if found else None


def gateway_crd_file() -> Path | None:
    return istio_crd_file(GATEWAY_CRD_FILE)


def missing() -> str | None:
    """Why the real API server cannot run here (one line), or None."""
    b = bin_dir()
    if not (b / "kube-apiserver").exists() or not (b / "etcd").exists():
        why = "Go is not installed" if not shutil.which("go") else f"not built in {b}"
        return f"real API server: kube-apiserver/etcd missing ({why}; `make apiserver` builds them)"
    if not shutil.which("openssl"):
        return "real API server: openssl is needed to make serving certificates"
    if istio_crd_file() is None:
        return f"real API server: Istio's CRDs ({ISTIO_MODULE}/{CRD_FILE}) are not in the Go module cache"
    return None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _run(cmd: list[str], cwd: Path) -> None:
    subprocess.run(cmd, cwd=cwd, check=True, capture_output=True, timeout=60)


@dataclass
class RealCluster:
    """One etcd + kube-apiserver pair; `stop()` ends both by PID."""

    workdir: Path
    etcd_url: str = ""
    url: str = ""
    ca_file: str = ""
    procs: list[subprocess.Popen] = field(default_factory=list)
    logs: list[Path] = field(default_factory=list)

    # -- start and stop ----------------------------------------------------------------------
    def start(self, timeout: float = 120.0) -> RealCluster:
        w = self.workdir
        w.mkdir(parents=True, exist_ok=True)
        _run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
              "-days", "2", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
              "-keyout", "serving.key", "-out", "serving.crt"], w)
        _run(["openssl", "ecparam", "-genkey", "-name", "prime256v1", "-noout", "-out", "sa.key"], w)
        (w / "tokens.csv").write_text(f'{ADMIN_TOKEN},admin,admin-uid,"system:masters"\n'
                                      f"{VIEWER_TOKEN},viewer,viewer-uid\n")
        self.ca_file = str(w / "serving.crt")
        ep, peer, port = free_port(), free_port(), free_port()
        self.etcd_url = f"http://127.0.0.1:{ep}"
        self.url = f"https://127.0.0.1:{port}"
        b = bin_dir()
        self._spawn("etcd", [str(b / "etcd"), "--name", "meshtui", "--data-dir", str(w / "etcd"),
                             "--listen-client-urls", self.etcd_url, "--advertise-client-urls", self.etcd_url,
                             "--listen-peer-urls", f"http://127.0.0.1:{peer}",
                             "--initial-advertise-peer-urls", f"http://127.0.0.1:{peer}",
                             "--initial-cluster", f"meshtui=http://127.0.0.1:{peer}", "--log-level", "error"])
        self._spawn("kube-apiserver", [
            str(b / "kube-apiserver"), "--etcd-servers", self.etcd_url,
            "--bind-address", "127.0.0.1", "--advertise-address", "127.0.0.1", "--secure-port", str(port),
            "--tls-cert-file", str(w / "serving.crt"), "--tls-private-key-file", str(w / "serving.key"),
            "--cert-dir", str(w / "certs"),
            "--service-account-issuer", "https://kubernetes.default.svc.cluster.local",
            "--service-account-key-file", str(w / "sa.key"), "--service-account-signing-key-file", str(w / "sa.key"),
            "--token-auth-file", str(w / "tokens.csv"), "--authorization-mode", "RBAC",
            "--service-cluster-ip-range", "10.96.0.0/15",  # the fixtures' Services use 10.96-97.x.x
            # no controller-manager runs: pods need no ServiceAccount object; tests write statuses as a kubelet would
            "--disable-admission-plugins", "ServiceAccount",
            "--etcd-compaction-interval", "0",  # compaction only when a test asks for it
            f"--watch-cache-sizes={UNCACHED}#0",
            "--enable-priority-and-fairness=false", "--profiling=false", "--v=0",
        ])
        try:
            self._wait_ready(timeout)
            self.install_istio_crds(timeout)
            self.grant_viewer()
        except BaseException:
            self.stop()
            raise
        return self

    def _spawn(self, name: str, cmd: list[str]) -> None:
        log = self.workdir / f"{name}.log"
        self.logs.append(log)
        from meshtui.xds.envoy_process import die_with_parent

        with open(log, "wb") as fh:  # killed with the test process too, should its finalizer never run
            self.procs.append(subprocess.Popen(die_with_parent(cmd), stdout=fh, stderr=subprocess.STDOUT,
                                               stdin=subprocess.DEVNULL))

    def stop(self) -> None:
        for p in reversed(self.procs):
            if p.poll() is None:
                p.terminate()
                try:
                    p.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    p.kill()
                    p.wait(timeout=5)
        self.procs.clear()

    def log_tail(self, n: int = 20) -> str:
        out = []
        for log in self.logs:
            try:
                lines = log.read_text(errors="replace").splitlines()[-n:]
            except OSError:
                continue
            out.append(f"--- {log.name}\n" + "\n".join(lines))
        return "\n".join(out)

    def _wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        last = ""
        while time.monotonic() < deadline:
            for p in self.procs:
                if p.poll() is not None:
                    raise RuntimeError(f"a test server exited ({p.returncode}) while starting:\n{self.log_tail()}")
            try:
                status, body = self.request("GET", "/readyz")
                if status == 200:
                    return
                last = body.decode(errors="replace")[-300:]
            except OSError as exc:
                last = str(exc)
            time.sleep(0.3)
        raise RuntimeError(f"kube-apiserver not ready after {timeout:.0f}s: {last}\n{self.log_tail()}")

    # -- requests ----------------------------------------------------------------------------
    def request(self, method: str, path: str, body: object = None, token: str = ADMIN_TOKEN,
                content_type: str = "application/json") -> tuple[int, bytes]:
        ctx = ssl.create_default_context(cafile=self.ca_file)
        data = None if body is None else (body if isinstance(body, bytes) else json.dumps(body).encode())
        req = urllib.request.Request(self.url + path, data=data, method=method,
                                     headers={"Authorization": f"Bearer {token}", "Content-Type": content_type,
                                              "Accept": "application/json"})
        try:
            with urllib.request.urlopen(req, context=ctx, timeout=30) as resp:
                return resp.status, resp.read()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read()

    def call(self, method: str, path: str, body: object = None, ok: tuple[int, ...] = (200, 201), **kw) -> dict:
        status, data = self.request(method, path, body, **kw)
        if status not in ok:
            raise AssertionError(f"{method} {path}: {status} {data.decode(errors='replace')[:500]}")
        return json.loads(data) if data else {}

    def apply(self, obj: dict, manager: str = "kubectl") -> dict:
        """Server-side apply as `manager` (what `kubectl apply --server-side` sends)."""
        return self.call("PATCH", self.path_of(obj) + f"?fieldManager={manager}&force=true", obj,
                         content_type="application/apply-patch+yaml")

    def create(self, obj: dict) -> dict:
        return self.call("POST", self.path_of(obj, collection=True), obj)

    def delete(self, obj: dict) -> None:
        self.call("DELETE", self.path_of(obj), ok=(200, 202, 404))

    def set_status(self, obj: dict, status: dict) -> dict:
        """Write a status as its controller (kubelet, ...) would: the status subresource."""
        return self.call("PATCH", self.path_of(obj) + "/status", {"status": status},
                         content_type="application/merge-patch+json")

    @staticmethod
    def path_of(obj: dict, collection: bool = False) -> str:
        api = obj["apiVersion"]
        kind = obj["kind"]
        known = kind_by_name(kind)  # the kinds meshtui reads; others (RBAC, CRDs, Secrets) by rule
        plural = known.plural if known is not None else (
            {"Endpoints": "endpoints"}.get(kind) or kind.lower() + ("es" if kind.endswith("s") else "s"))
        meta = obj.get("metadata") or {}
        base = f"/api/{api}" if "/" not in api else f"/apis/{api}"
        ns = meta.get("namespace")
        if kind == "Namespace" or kind.startswith("Cluster") or kind == "CustomResourceDefinition":
            ns = None
        path = f"{base}/namespaces/{ns}/{plural}" if ns else f"{base}/{plural}"
        return path if collection else f"{path}/{meta['name']}"

    # -- setup --------------------------------------------------------------------------------
    def install_istio_crds(self, timeout: float) -> None:
        crd_file = istio_crd_file()
        assert crd_file is not None
        self.install_crds([d for d in yaml.safe_load_all(crd_file.read_text()) if d], timeout)
        deadline = time.monotonic() + timeout
        # discovery must serve the group before a client can find it
        while self.request("GET", "/apis/networking.istio.io/v1")[0] != 200:
            if time.monotonic() > deadline:
                raise RuntimeError("networking.istio.io/v1 not served after the CRDs were established")
            time.sleep(0.2)

    def install_crds(self, docs: list[dict], timeout: float = 60.0) -> list[str]:
        """Apply the CustomResourceDefinitions among `docs` and wait until each is Established
        and discovery serves every version it serves; their names."""
        names = []
        served: list[tuple[str, str, str]] = []
        for doc in docs:
            if doc.get("kind") != "CustomResourceDefinition":
                continue
            self.apply(doc, manager="istio-installer")
            names.append(doc["metadata"]["name"])
            spec = doc["spec"]
            served += [(spec["group"], v["name"], spec["names"]["plural"]) for v in spec["versions"] if v.get("served")]
        deadline = time.monotonic() + timeout
        for name in names:
            while True:
                crd = self.call("GET", f"/apis/apiextensions.k8s.io/v1/customresourcedefinitions/{name}")
                conds = {c["type"]: c["status"] for c in (crd.get("status") or {}).get("conditions") or []}
                if conds.get("Established") == "True":
                    break
                if time.monotonic() > deadline:
                    raise RuntimeError(f"CRD {name} not established after {timeout:.0f}s")
                time.sleep(0.2)
        for group, version, plural in served:  # discovery lags the Established condition a little
            while plural not in self._discovered(group, version):
                if time.monotonic() > deadline:
                    raise RuntimeError(f"{plural}.{group}/{version} not in discovery after {timeout:.0f}s")
                time.sleep(0.2)
        return names

    def remove_crds(self, names: list[str], timeout: float = 120.0) -> None:
        """Delete CRDs (and so every object of them) and wait until they are gone.

        A CRD deleted while the API server is still setting up its storage can stick: its
        finalizer fails to list the instances ("storage is (re)initializing", InstanceDeletionFailed)
        and retries with a growing back-off (seen in CI under load, past two minutes). So each CRD's
        instances are listed once first (its storage is up), and one still stuck that way after
        _STUCK seconds has its finalizer cleared: these are a test's throwaway objects."""
        deadline = time.monotonic() + timeout
        base = "/apis/apiextensions.k8s.io/v1/customresourcedefinitions"
        for name in names:
            status, body = self.request("GET", f"{base}/{name}")
            if status != 200:
                continue
            spec = json.loads(body).get("spec") or {}
            plural = (spec.get("names") or {}).get("plural", "")
            for v in spec.get("versions") or []:
                if not v.get("served"):
                    continue
                while self.request("GET", f"/apis/{spec.get('group')}/{v.get('name')}/{plural}?limit=1")[0] != 200:
                    if time.monotonic() > deadline:
                        break
                    time.sleep(0.2)
        for name in names:
            self.call("DELETE", f"{base}/{name}", ok=(200, 202, 404))
        stuck_after = time.monotonic() + _STUCK
        for name in names:
            while True:
                status, body = self.request("GET", f"{base}/{name}")
                if status == 404:
                    break
                conds = (json.loads(body).get("status") or {}).get("conditions") if status == 200 else body[:300]
                failed = status == 200 and any(c.get("reason") == "InstanceDeletionFailed" for c in conds or [])
                if failed and time.monotonic() > stuck_after:
                    self.call("PATCH", f"{base}/{name}", {"metadata": {"finalizers": []}}, ok=(200, 404),
                              content_type="application/merge-patch+json")
                if time.monotonic() > deadline:
                    raise RuntimeError(f"CRD {name} still there after {timeout:.0f}s: {conds}")
                time.sleep(0.2)

    def _discovered(self, group: str, version: str) -> set[str]:
        status, body = self.request("GET", f"/apis/{group}/{version}")
        if status != 200:
            return set()
        return {r.get("name", "") for r in json.loads(body).get("resources", [])}

    def grant_viewer(self) -> None:
        self.apply({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
                    "metadata": {"name": "meshtui-viewer"},
                    "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "view"},
                    "subjects": [{"kind": "User", "name": "viewer", "apiGroup": "rbac.authorization.k8s.io"}]})

    def kubeconfig(self, path: Path) -> Path:
        """Contexts `admin` (current) and `viewer`."""
        cfg = {
            "apiVersion": "v1", "kind": "Config", "current-context": "admin",
            "clusters": [{"name": "real", "cluster": {"server": self.url, "certificate-authority": self.ca_file}}],
            "users": [{"name": "admin", "user": {"token": ADMIN_TOKEN}}, {"name": "viewer", "user": {"token": VIEWER_TOKEN}}],
            "contexts": [{"name": "admin", "context": {"cluster": "real", "user": "admin"}},
                         {"name": "viewer", "context": {"cluster": "real", "user": "viewer"}}],
        }
        path.write_text(yaml.safe_dump(cfg))
        return path

    def compact(self) -> int:
        """Compact etcd at its current revision (what kube-apiserver's compactor does every 5 minutes)."""
        ctx_rev = self._etcd("/v3/kv/range", {"key": "AA==", "limit": 1})["header"]["revision"]
        self._etcd("/v3/kv/compaction", {"revision": ctx_rev, "physical": True})
        return int(ctx_rev)

    def _etcd(self, path: str, body: dict) -> dict:
        req = urllib.request.Request(self.etcd_url + path, data=json.dumps(body).encode(), method="POST",
                                     headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=30) as resp:
            return json.loads(resp.read())
