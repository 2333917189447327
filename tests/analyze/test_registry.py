"""The analyzer registry: discovery, declared inputs, skipping, and message templates."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from analyze_helpers import FIXTURES, ROOT

from meshtui.analyze import CODES, all_analyzers, analyze
from meshtui.analyze.registry import ALWAYS_LOADED, plan
from meshtui.model.k8s import K8S_KINDS
from meshtui.sources.loader import load_sources

PACKAGE = ROOT / "meshtui" / "analyze"
# every kind meshtui reads (an analyzer's inputs must be among them)
KINDS = ALWAYS_LOADED | set(K8S_KINDS)


def test_every_declared_analyzer_is_discovered():
    declared = sum(len(re.findall(r"^@analyzer\(", p.read_text(), re.M)) for p in PACKAGE.glob("*.py"))
    assert len(all_analyzers()) == declared


def test_inputs_are_kinds_meshtui_reads():
    for a in all_analyzers():
        for alternative in a.inputs:
            assert set(alternative.split("|")) <= KINDS, (a.name, alternative)


def test_codes_are_declared_by_their_analyzer():
    for a in all_analyzers():
        assert set(a.codes) <= set(CODES) | {"MT0603", "MT0604"}, a.name  # cluster codes the loader passes through


def _sidecar_only(tmp_path: Path) -> Path:
    f = tmp_path / "sidecar.yaml"
    f.write_text("apiVersion: networking.istio.io/v1\nkind: Sidecar\nmetadata: {name: cart, namespace: shop}\n"
                 "spec:\n  workloadSelector: {labels: {app: cart}}\n  egress: [{hosts: ['./*']}]\n")
    return f


def test_an_analyzer_is_skipped_when_an_input_was_not_loaded(tmp_path):
    """A Sidecar alone says nothing about which pods run: its selector is not judged (istioctl
    skips its sidecar analyzer the same way when Pods are not in the sources)."""
    snap = load_sources([str(_sidecar_only(tmp_path))]).snapshot
    _, skipped = plan(snap)
    assert ("sidecar.Selectors", ["Pod|Deployment|StatefulSet"]) in [(a.name, m) for a, m in skipped]
    assert [m.code for m in analyze(snap)] == []


def test_a_caller_that_loaded_pods_gets_the_check(tmp_path):
    """A cluster read lists Pods even when there are none: then no pod matching is a finding."""
    snap = load_sources([str(_sidecar_only(tmp_path))]).snapshot
    messages = analyze(snap, loaded=ALWAYS_LOADED | {"Pod"})
    assert [(m.code, m.resource) for m in messages] == [("IST0101", "Sidecar shop/cart")]


def test_templates_render_with_their_fields():
    for c in CODES.values():
        text = c.render(**{f: f"<{f}>" for f in c.fields})
        assert "{" not in text.replace("{value: 100}", ""), c.code
    with pytest.raises(KeyError):
        CODES["IST0101"].render(reftype="host", ref="x", extra="y")


@pytest.mark.parametrize("path", sorted(FIXTURES.glob("*.yaml")), ids=lambda p: p.stem)
def test_every_message_starts_with_its_template(path):
    """One message shape per code: the template, filled in, then meshtui's explanation."""
    for m in analyze(load_sources([str(path)]).snapshot):
        template = CODES[m.code].template
        if template == "{text}" or m.code in ("IST0106", "IST0133"):
            continue  # loader diagnostics pass through
        pattern = "".join(".+?" if part.startswith("{") else re.escape(part)
                          for part in re.split(r"(\{[a-z_]+\})", template))
        assert re.match(pattern, m.message), (m.code, m.message)
