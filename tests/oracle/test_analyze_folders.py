"""meshtui analyze against istioctl analyze (oracle/analyze.go: Istio's local analysis, every
analyzer, no cluster) on the same folders: every fixture folder, every fixture under
fixtures/analyze, Istio's samples when ../shared has them, and the input files of each row of
Istio's analyzer test grid. Compared: IST-coded findings as (code, resource) with their count.

Codes meshtui does not implement (istioctl's injection, annotation, deployment checks...) are
counted as "not modelled". Every other difference must match one of the documented differences
below (docs/oracle-differences.md, section "analyze"), each of which names a folder where it
must still occur, so the list cannot drift."""

from __future__ import annotations

import re
import sys
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml
from istio_analyze import ALL, grid_rows, istio_module, meshtui_analyze, oracle_analyze

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/: the samples' location
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "analyze"))  # the sample tasks
from istio_samples import SAMPLES
from sample_cases import CASES as SAMPLE_CASES

REPO = Path(__file__).resolve().parents[2]
MODULE = istio_module()


def _folders() -> dict[str, list[Path]]:
    out: dict[str, list[Path]] = {}
    for p in sorted((REPO / "fixtures").iterdir()):
        if p.is_dir() and p.name != "analyze":
            out[f"fixtures/{p.name}"] = [p]
    for p in sorted((REPO / "fixtures" / "analyze").glob("*.yaml")):
        out[f"analyze/{p.stem}"] = [p]
    if SAMPLES.is_dir():
        # every sample task meshtui's own analyze tests apply (tests/analyze/sample_cases.py), with the
        # Pods its Deployments run (running_pods): a task is applied to a cluster where they run
        for name, (files, _) in SAMPLE_CASES.items():
            paths = [SAMPLES / f for f in files]
            if all(f.exists() for f in paths):
                out[f"samples/{name}"] = paths
    if MODULE is not None:
        base = MODULE / "pkg/config/analysis/analyzers"
        # every row's input files, not only the networking rows the grid test compares: istioctl runs all
        # its analyzers on them, and meshtui's IST findings are compared with all of theirs
        for r in grid_rows(MODULE, ALL):
            if not r.mesh_config:
                out.setdefault(f"istio-testdata/{'+'.join(Path(f).stem for f in r.inputs)}", [base / f for f in r.inputs])
    return out


FOLDERS = _folders()


def running_pods(paths: list[Path], out: Path) -> Path | None:
    """The Pods the folder's Deployments and StatefulSets run, one each, injected (an istio-proxy
    container, as a sample's namespace injects it), written to `out`; None if the folder holds
    Pods already or no workload. Both tools then read the same running cluster, instead of one
    judging subsets by pod templates and the other by the absence of Pods."""
    docs = []
    for p in paths:
        for f in sorted(p.rglob("*.yaml")) if p.is_dir() else [p]:
            docs += [d for d in yaml.safe_load_all(f.read_text()) if isinstance(d, dict)]
    if any(d.get("kind") == "Pod" for d in docs):
        return None
    pods = []
    for n, d in enumerate(d for d in docs if d.get("kind") in ("Deployment", "StatefulSet")):
        meta, tmpl = d.get("metadata") or {}, (d.get("spec") or {}).get("template") or {}
        tmeta, tspec = tmpl.get("metadata") or {}, dict(tmpl.get("spec") or {})
        tspec["containers"] = [*(tspec.get("containers") or []), {"name": "istio-proxy", "image": "proxyv2"}]
        pods.append({"apiVersion": "v1", "kind": "Pod",
                     "metadata": {"name": f"{meta.get('name', 'w')}-0", "namespace": meta.get("namespace", "default"),
                                  "labels": tmeta.get("labels") or {}, "annotations": tmeta.get("annotations") or {}},
                     "spec": tspec, "status": {"phase": "Running", "podIP": f"10.77.{n // 250}.{n % 250 + 1}"}})
    if not pods:
        return None
    out.write_text(yaml.safe_dump_all(pods))
    return out


@dataclass(frozen=True)
class Finding:
    side: str  # "istioctl" (only istioctl reports it) | "meshtui" (only meshtui does)
    code: str
    resource: str
    message: str


@dataclass(frozen=True)
class Seen:
    """What meshtui's run tells the classifier: resources it left out (IST0106), and the codes of
    its analyzers that were skipped for lack of an input (e.g. no Pods in the folder)."""

    rejected: set[str]
    skipped_codes: set[str]
    workloads_without_pods: bool  # Deployments or StatefulSets, and no Pods
    unread_kinds: set[str]  # kinds meshtui skipped (MT0002: it does not read them)
    # DestinationRules with a subset no pod of its service matches, whose labels a pod elsewhere carries
    subsets_elsewhere: set[str]


@dataclass(frozen=True)
class Known:
    id: str
    witness: str  # a folder where it occurs
    why: str
    matches: Callable[[Finding, Seen], bool]


KNOWN: tuple[Known, ...] = (
    Known("credential-secrets", "fixtures/bookinfo",
          "a folder without Secrets says nothing about them (and meshtui never reads Secrets from a cluster), so "
          "meshtui skips the credentialName check; the oracle reads the folder as a cluster without Secrets",
          lambda f, seen: f.side == "istioctl" and f.code == "IST0101" and "credentialName" in f.message
          and "IST0161" in seen.skipped_codes),
    Known("subset-on-workload-templates", "analyze/ist0101-subset",
          "a folder with Deployments and no Pods: meshtui judges each subset against the Deployments' pod templates "
          "(the pods they run), istioctl reads the folder as a cluster where no pod runs and reports every subset",
          lambda f, seen: f.side == "istioctl" and f.code == "IST0173" and seen.workloads_without_pods),
    Known("wildcard-destination-rule-host", "analyze/ist0174-unknown-dr-host",
          "a DestinationRule host *.svc.cluster.local covers services; istioctl looks it up as a literal host",
          lambda f, _: f.side == "istioctl" and f.code == "IST0174" and "host *" in f.message),
    Known("destination-port-pinned-by-match", "analyze/clean-mesh",
          "a mesh rule whose matches all name a port of the service needs no destination port (meshtui); "
          "istioctl asks for one",
          lambda f, _: f.side == "istioctl" and f.code == "IST0112"),
    Known("stand-in-gateway-ports", "analyze/ist0162-gateway-port",
          "with files alone both assume Istio's ingress gateway; meshtui's stand-in also forwards 8080 and 8443, "
          "the target ports of current installs",
          lambda f, _: f.side == "istioctl" and f.code == "IST0162" and ("port 8080" in f.message or "port 8443" in f.message)),
    Known("stricter-schema", "fixtures/broken",
          "meshtui's loader rejects what the API server would (durations, types, YAML, Service port protocols, "
          "required fields) and reports unknown fields (IST0133)",
          lambda f, _: f.side == "meshtui" and f.code in ("IST0106", "IST0133")),
    Known("left-out-object", "fixtures/broken",
          "an object meshtui left out (IST0106) is not analyzed further; istioctl analyzes it anyway",
          lambda f, seen: f.side == "istioctl" and f.resource in seen.rejected),
    Known("schema-warning-as-ist0134", "istio-testdata/serviceentry-address-required-uppercase",
          "istioctl's validation also warns (IST0133) of a ServiceEntry without addresses; meshtui says it once, "
          "as IST0134",
          lambda f, _: f.side == "istioctl" and f.code == "IST0133" and "addresses are required" in f.message),
    Known("implied-matches", "istio-testdata/virtualservice_dupmatches+virtualservice_overlappingmatches",
          "meshtui proves rules and matches unreachable by implication (prefixes, exact under prefix), istioctl "
          "by duplicates and a few overlaps",
          lambda f, _: f.side == "meshtui" and f.code in ("IST0130", "IST0131")),
    Known("input-not-loaded", "analyze/ist0140-ingress-subset",
          "a folder without Pods says nothing about which pods run, so meshtui skips the checks that need them "
          "(as istioctl skips its analyzers whose inputs are not in the sources); the oracle reads the folder as a "
          "cluster with no pods, so istioctl reports every selector as matching nothing",
          lambda f, seen: f.side == "istioctl" and f.code in seen.skipped_codes),
    Known("subset-labels-elsewhere", "samples/bookinfo-reviews-v3",
          "istioctl matches a subset's labels against every pod of the cluster (a Kubernetes Service's selector is not "
          "part of it), so details' subset v2 counts as selecting pods because reviews-v2 carries version=v2; meshtui "
          "matches them against the pods of the DestinationRule's service",
          lambda f, seen: f.side == "meshtui" and f.code == "IST0173" and f.resource in seen.subsets_elsewhere),
    Known("kind-not-read", "samples/bookinfo-parts",
          "istioctl's validation warns (IST0133) of every EnvoyFilter; meshtui does not read EnvoyFilters (MT0002)",
          lambda f, seen: f.side == "istioctl" and f.resource.split(" ")[0] in seen.unread_kinds),
)


def _keyed(pairs) -> tuple[Counter, dict]:
    count: Counter = Counter()
    text: dict = {}
    for key, message in pairs:
        count[key] += 1
        text.setdefault(key, message)
    return count, text


def _subsets_elsewhere(snap) -> set[str]:
    """DestinationRules (as `DestinationRule ns/name`) with a subset that no pod of the rule's
    service matches while some pod of the cluster carries the subset's labels."""
    from meshtui.model.snapshot import labels_match

    out = set()
    for dr in snap.destination_rules:
        svcs = snap.services_by_host.get(hosts_expand(dr.spec.host, dr.namespace), ())
        own = [p for s in svcs for p in snap.pods if p.namespace == s.namespace and s.selector
               and labels_match(dict(s.selector), p.metadata.labels)]
        for sub in dr.spec.subsets:
            if sub.labels and not any(labels_match(dict(sub.labels), p.metadata.labels) for p in own) \
                    and any(labels_match(dict(sub.labels), p.metadata.labels) for p in snap.pods):
                out.add(f"DestinationRule {dr.namespace}/{dr.name}")
    return out


def hosts_expand(host: str, namespace: str) -> str:
    from meshtui.analyze import hosts

    return hosts.expand(host, namespace, "cluster.local")


@pytest.mark.parametrize("name", sorted(FOLDERS))
def test_folder_agrees_with_istioctl(name, record_tally, tmp_path):
    from meshtui.analyze import CODES

    paths = FOLDERS[name]
    if name.startswith("samples/"):
        pods = running_pods(paths, tmp_path / "running-pods.yaml")
        paths = [*paths, pods] if pods is not None else paths
    modelled = {c for c in CODES if c.startswith("IST")}
    result = oracle_analyze(paths)
    theirs, their_text = _keyed(((m["code"], f"{m['kind']} {m['namespace']}/{m['name']}" if m["namespace"] else m["origin"]),
                                 m["message"]) for m in result["messages"] if m["code"] in modelled)
    not_modelled = Counter(m["code"] for m in result["messages"] if m["code"] not in modelled)
    messages = meshtui_analyze(paths)
    ours, our_text = _keyed(((m.code, m.resource), m.message) for m in messages if m.code.startswith("IST"))
    from meshtui.analyze.registry import plan
    from meshtui.sources.loader import load_sources

    snap = load_sources([str(p) for p in paths]).snapshot
    _, skipped = plan(snap)
    seen = Seen({m.resource for m in messages if m.code == "IST0106"}, {c for a, _ in skipped for c in a.codes},
                not snap.pods and bool(snap.deployments or snap.statefulsets),
                {m.group(1) for d in snap.diagnostics if d.code == "MT0002" and (m := re.search(r"of kind \S*?(\w+) ", d.message))},
                _subsets_elsewhere(snap))
    findings = [Finding("istioctl", c, r, their_text[(c, r)]) for (c, r), n in (theirs - ours).items() for _ in range(n)]
    findings += [Finding("meshtui", c, r, our_text[(c, r)]) for (c, r), n in (ours - theirs).items() for _ in range(n)]
    known = Counter()
    unknown = []
    for f in findings:
        hit = next((k for k in KNOWN if k.matches(f, seen)), None)
        if hit is None:
            unknown.append(f)
        else:
            known[hit.id] += 1
    record_tally({"kind": "analyze", "compared": {"analyze findings": sum((theirs | ours).values())},
                  "agreed": {"analyze findings": sum((theirs & ours).values())}, "known": dict(known),
                  "unknown": len(unknown),
                  "not_modelled": {f"analyze: istioctl {code} (no meshtui check)": n for code, n in not_modelled.items()}})
    missing = [k.id for k in KNOWN if k.witness == name and k.id not in known]
    assert not missing, f"documented differences no longer occur in {name}: {missing} (update docs/oracle-differences.md)"
    assert not unknown, "\n".join(f"only {f.side}: {f.code} {f.resource}: {f.message[:160]}" for f in unknown)


def test_every_documented_difference_has_a_witness():
    """Each witness is a folder this run compares, unless its source (Istio's module, the samples) is absent."""
    absent = {k.witness for k in KNOWN if (k.witness.startswith("istio-testdata/") and MODULE is None)
              or (k.witness.startswith("samples/") and not SAMPLES.is_dir())}
    assert {k.witness for k in KNOWN} - absent <= set(FOLDERS)
