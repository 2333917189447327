"""Gateway credentialName Secrets (IST0101, IST0161): meshtui reads a Secret only as a summary
(key names, empty keys, each certificate's parse result and validity window); the values
themselves never reach the model, the raw objects, the snapshot cache or a message."""

from __future__ import annotations

import base64
import pickle
import re
from datetime import UTC, datetime

from analyze_helpers import FIXTURES

from meshtui.analyze import analyze
from meshtui.sources.loader import load_sources

FILE = FIXTURES / "ist0161-gateway-credential.yaml"


def _values(text: str) -> list[bytes]:
    """Every base64 value in the file, and what it decodes to."""
    out = []
    for v in re.findall(r"tls\.(?:crt|key): (\S+)", text):
        out += [v.encode(), base64.b64decode(v)]
    return out


def test_secret_values_are_never_kept(tmp_path):
    text = FILE.read_text() + (
        "---\napiVersion: v1\nkind: Secret\nmetadata:\n  name: applied\n  namespace: istio-system\n  annotations:\n"
        "    kubectl.kubernetes.io/last-applied-configuration: '{\"data\": {\"tls.key\": \"c2VjcmV0\"}}'\n"
        "data: {tls.crt: c2VjcmV0, tls.key: c2VjcmV0}\n")
    f = tmp_path / "mesh.yaml"
    f.write_text(text)
    result = load_sources([str(f)])
    snap = result.snapshot
    blob = pickle.dumps(snap)  # what the snapshot cache writes
    assert not [k for k in snap.raw if k[0] == "Secret"]
    messages = analyze(snap, result.diagnostics, now=datetime(2026, 6, 1, tzinfo=UTC))
    for v in _values(FILE.read_text()):
        assert v not in blob
        assert all(v.decode(errors="ignore") not in m.message for m in messages)
    assert b"c2VjcmV0" not in blob  # the last-applied annotation is dropped with its copy of the values
    applied = snap.get("Secret", "istio-system", "applied")
    assert applied is not None and applied.contents.keys == ("tls.crt", "tls.key")
    assert applied.contents.certs["tls.crt"].error  # "secret" is no certificate


def test_without_a_time_validity_is_not_judged():
    result = load_sources([str(FILE)])
    timed = {(m.code, m.name) for m in analyze(result.snapshot, result.diagnostics, now=datetime(2026, 6, 1, tzinfo=UTC))}
    untimed = {(m.code, m.name) for m in analyze(result.snapshot, result.diagnostics)}
    assert ("IST0161", "old") in timed and ("IST0161", "old") not in untimed
    assert ("IST0161", "keys") in untimed  # key names need no clock
    # before the shop certificate's window opens, it is not valid yet
    early = analyze(result.snapshot, result.diagnostics, now=datetime(2024, 6, 1, tzinfo=UTC))
    assert [m.message for m in early if m.name == "shop" and "valid only from 2025-01-01" in m.message]


def test_string_data_is_written_over_data(tmp_path):
    f = tmp_path / "s.yaml"
    f.write_text("apiVersion: v1\nkind: Secret\nmetadata: {name: s, namespace: default}\n"
                 "data: {tls.crt: '', tls.key: a2V5}\nstringData: {tls.crt: not-a-cert, ca.crt: ''}\n")
    s = load_sources([str(f)]).snapshot.get("Secret", "default", "s")
    assert s.contents.keys == ("ca.crt", "tls.crt", "tls.key")
    assert s.contents.empty == frozenset({"ca.crt"})
    assert s.contents.certs["tls.crt"].error == "no PEM block"


def test_data_that_is_not_base64_is_refused_as_the_api_server_does(tmp_path):
    f = tmp_path / "s.yaml"
    f.write_text("apiVersion: v1\nkind: Secret\nmetadata: {name: s, namespace: default}\ndata: {tls.crt: '@@@'}\n")
    result = load_sources([str(f)])
    assert result.snapshot.get("Secret", "default", "s") is None
    [err] = result.errors
    assert err.source.path == "data" and "tls.crt: is not base64" in err.message and err.source.line == 4
