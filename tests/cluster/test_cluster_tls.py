"""HTTPS with a cluster CA and client certificates from kubeconfig data, as real clusters use."""

from __future__ import annotations

import base64
import shutil
import ssl
import subprocess
from pathlib import Path

import pytest
from cluster_mesh import bookinfo
from fakeapi import FakeApiServer, write_kubeconfig

from meshtui.cluster.source import ClusterUnreachable, open_cluster
from meshtui.errors import EXIT_UNREACHABLE

pytestmark = pytest.mark.skipif(shutil.which("openssl") is None, reason="needs the openssl command")


def _openssl(*args: str, cwd: Path) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True, timeout=60)


def _ca(d: Path, name: str) -> None:
    _openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", f"{name}.key", "-out", f"{name}.crt",
             "-days", "2", "-subj", f"/CN={name}", cwd=d)


def _signed(d: Path, name: str, ca: str, ext: str) -> None:
    _openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", f"{name}.key", "-out", f"{name}.csr",
             "-subj", f"/CN={name}", cwd=d)
    (d / f"{name}.ext").write_text(ext)
    _openssl("x509", "-req", "-in", f"{name}.csr", "-CA", f"{ca}.crt", "-CAkey", f"{ca}.key", "-CAcreateserial",
             "-out", f"{name}.crt", "-days", "2", "-extfile", f"{name}.ext", cwd=d)


@pytest.fixture(scope="module")
def pki(tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp("pki")
    _ca(d, "ca")
    _ca(d, "other-ca")
    _signed(d, "server", "ca", "subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n")
    _signed(d, "client", "ca", "extendedKeyUsage=clientAuth\n")
    return d


def _b64(p: Path) -> str:
    return base64.b64encode(p.read_bytes()).decode()


@pytest.fixture
def tls_api(pki):
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH, cafile=str(pki / "ca.crt"))
    ctx.load_cert_chain(str(pki / "server.crt"), str(pki / "server.key"))
    ctx.verify_mode = ssl.CERT_REQUIRED
    srv = FakeApiServer(tls=ctx).start()
    srv.add_all(bookinfo())
    try:
        yield srv
    finally:
        srv.stop()


def test_lists_over_tls_with_client_certificates(tls_api, pki, tmp_path):
    assert tls_api.url.startswith("https://127.0.0.1:")
    kc = write_kubeconfig(tmp_path / "kc", tls_api.url, ca_data=_b64(pki / "ca.crt"),
                          cert_data=_b64(pki / "client.crt"), key_data=_b64(pki / "client.key"))
    with open_cluster(str(kc)) as src:
        assert len(src.list()) > 20


def test_a_server_certificate_from_another_ca_is_refused(tls_api, pki, tmp_path):
    kc = write_kubeconfig(tmp_path / "kc", tls_api.url, context="tls-ctx", ca_data=_b64(pki / "other-ca.crt"),
                          cert_data=_b64(pki / "client.crt"), key_data=_b64(pki / "client.key"))
    with open_cluster(str(kc)) as src, pytest.raises(ClusterUnreachable) as ei:
        src.list()
    msg = str(ei.value)
    assert ei.value.exit_code == EXIT_UNREACHABLE
    assert "TLS failed" in msg and tls_api.url in msg and "'tls-ctx'" in msg
