"""meshtui's Gateway API findings (MT0301-MT0305) against the status istiod's gateway controller
writes (the oracle's `gatewayStatus`), on the Gateway API fixtures, the oracle's own Gateway API
mesh and Istio's Gateway API samples. Every negative condition istiod writes is a finding, and
every finding is a condition istiod writes:

- a route parent's Accepted False is MT0301, its ResolvedRefs False is MT0302 (parent and reason);
- a Gateway's Accepted False is MT0305;
- a listener's Conflicted True (else each of Accepted and ResolvedRefs False) is MT0304;
- MT0303 names a parentRef istiod ignores: istiod writes no status for that parent.

The findings are read from analyze's messages as a user sees them (the parent and reason in the
text), so the check covers the analyzer, not only the converter (test_gatewayapi.py compares the
conditions themselves)."""

from __future__ import annotations

import re
import sys
from collections import Counter
from pathlib import Path

import istio_oracle
import pytest
from istio_mesh import distinct
from oracle_cases import load

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/: the samples' location
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "analyze"))  # the sample tasks
from istio_samples import SAMPLES
from sample_cases import CASES as SAMPLE_CASES

REPO = Path(__file__).resolve().parents[2]
GWAPI = REPO / "fixtures" / "gatewayapi"
# a Gateway the API server refuses never reaches istiod (test_gatewayapi.py compares its admission)
REFUSED = {"listener-conflict"}


def _cases() -> dict[str, tuple[str, ...]]:
    out = {"gatewayapi-mesh": (str(GWAPI / "mesh"),),
           "oracle-gatewayapi": (str(Path(__file__).resolve().parent / "gatewayapi"),),
           # listeners istiod cannot program (a certificateRef to a missing Secret, a protocol it does not serve),
           # and a Gateway none of whose listeners is valid
           "analyze/mt0304-gateway-listeners": (str(REPO / "fixtures" / "analyze" / "mt0304-gateway-listeners.yaml"),)}
    for f in sorted((GWAPI / "status").glob("*.yaml")):
        if f.stem not in REFUSED:
            out[f"gatewayapi-status-{f.stem}"] = (str(GWAPI / "mesh"), str(f))
    for name, (files, _) in SAMPLE_CASES.items():
        paths = [SAMPLES / f for f in files]
        if "gateway-api" in name and all(p.exists() for p in paths):
            out[f"samples/{name}"] = tuple(str(p) for p in paths)
    return out


CASES = _cases()
Key = tuple[str, str, str, str]  # (code, resource, parent or listener, reason)


def _parent_text(route_ns: str, ref: dict) -> str:
    """A parentRef as meshtui's messages name it (analyze/gatewayapi.py _parent)."""
    out = f"{ref.get('kind') or 'Gateway'} {ref.get('namespace') or route_ns}/{ref['name']}"
    if ref.get("sectionName"):
        out += f" sectionName {ref['sectionName']}"
    if ref.get("port"):
        out += f" port {ref['port']}"
    return out


def istiod_findings(status: list[dict]) -> tuple[Counter[Key], set[tuple[str, str]]]:
    """The findings istiod's written status calls for, and every (route, parent) it wrote status on."""
    want: Counter[Key] = Counter()
    parents: set[tuple[str, str]] = set()
    for s in status:
        st = s["status"] or {}
        if s["kind"] == "GatewayClass":
            continue
        if s["kind"] == "Gateway":
            res = f"KubernetesGateway {s['namespace']}/{s['name']}"
            for c in st.get("conditions", []):
                if c["type"] == "Accepted" and c["status"] == "False":
                    want["MT0305", res, "", c.get("reason", "")] += 1
            for ls in st.get("listeners", []):
                conds = ls.get("conditions", [])
                conflicted = [c for c in conds if c["type"] == "Conflicted" and c["status"] == "True"]
                failing = [c for c in conds if c["type"] in ("Accepted", "ResolvedRefs") and c["status"] == "False"]
                for c in conflicted or failing:
                    want["MT0304", res, f"listener {ls['name']} {c['type']}", c.get("reason", "")] += 1
            continue
        res = f"{s['kind']} {s['namespace']}/{s['name']}"
        for p in st.get("parents", []):
            parent = _parent_text(s["namespace"], p["parentRef"])
            parents.add((res, parent))
            for c in p.get("conditions", []):
                if c["status"] == "False" and c["type"] in ("Accepted", "ResolvedRefs"):
                    want["MT0301" if c["type"] == "Accepted" else "MT0302", res, parent, c.get("reason", "")] += 1
    return want, parents


_ROUTE = re.compile(r".+? parentRef (?P<parent>.+?): (?:Accepted|ResolvedRefs) False, reason (?P<reason>\w*):")
_LISTENER = re.compile(r"Gateway \S+ listener (?P<listener>\S+): (?P<type>\w+) (?:True|False), reason (?P<reason>\w*):")
_GATEWAY = re.compile(r"Gateway \S+: Accepted False, reason (?P<reason>\w*):")
_IGNORED = re.compile(r".+? parentRefs\[\d+\] (?P<parent>.+?): ")


def meshtui_findings(messages) -> tuple[Counter[Key], list[tuple[str, str]]]:
    got: Counter[Key] = Counter()
    ignored: list[tuple[str, str]] = []
    for m in messages:
        if m.code in ("MT0301", "MT0302"):
            g = _ROUTE.match(m.message)
            assert g, m.message
            got[m.code, m.resource, g["parent"], g["reason"]] += 1
        elif m.code == "MT0304":
            g = _LISTENER.match(m.message)
            assert g, m.message
            got[m.code, m.resource, f"listener {g['listener']} {g['type']}", g["reason"]] += 1
        elif m.code == "MT0305":
            g = _GATEWAY.match(m.message)
            assert g, m.message
            got[m.code, m.resource, "", g["reason"]] += 1
        elif m.code == "MT0303":
            g = _IGNORED.match(m.message)
            assert g, m.message
            ignored.append((m.resource, g["parent"]))
    return got, ignored


@pytest.mark.parametrize("name", sorted(CASES))
def test_gateway_api_findings_are_istiods_status(name, record_tally):
    from meshtui.analyze import analyze

    paths = CASES[name]
    snap = load(paths)
    proxy, cfg = distinct(snap)[0]
    run = istio_oracle.run(paths, [(proxy, cfg.proxy.type)], [])
    want, written = istiod_findings(run.gateway_status)
    got, ignored = meshtui_findings(analyze(snap))
    agree = sum((got & want).values())
    record_tally({"kind": "analyze", "compared": {"analyze Gateway API status findings": sum((got | want).values()) or 1},
                  "agreed": {"analyze Gateway API status findings": agree if (got | want) else 1}})
    assert got == want, f"meshtui also: {sorted((got - want).elements())}\nistiod also: {sorted((want - got).elements())}"
    assert not [i for i in ignored if i in written], f"istiod wrote status on parents meshtui says it ignores: {ignored}"


def test_the_cases_cover_every_finding():
    """The cases hold each status finding at least once (measured on the fixtures alone, no oracle run)."""
    from meshtui.analyze import analyze

    codes = {m.code for paths in CASES.values() for m in analyze(load(paths)) if m.code.startswith("MT03")}
    assert {"MT0301", "MT0302", "MT0303", "MT0304", "MT0305"} <= codes, codes
