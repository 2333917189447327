"""The README's ClusterRoles are valid YAML and grant exactly what cluster mode uses."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from meshtui.cluster.kinds import ISTIO_KINDS, KUBE_KINDS, OPTIONAL_KINDS

DOC = Path(__file__).resolve().parents[2] / "README.md"


def _roles() -> dict[str, dict]:
    blocks = re.findall(r"```yaml\n(.*?)```", DOC.read_text(), re.S)
    roles = [yaml.safe_load(b) for b in blocks]
    return {r["metadata"]["name"]: r for r in roles if r.get("kind") == "ClusterRole"}


def _grants(role: dict) -> set[tuple[str, str, str]]:
    return {(g, r, v) for rule in role["rules"] for g in rule["apiGroups"] for r in rule["resources"] for v in rule["verbs"]}


def test_read_role_covers_every_kind_read_and_nothing_else():
    grants = _grants(_roles()["meshtui-read"])
    needed = {(k.group, k.plural, v) for k in (*ISTIO_KINDS, *OPTIONAL_KINDS, *KUBE_KINDS) for v in ("get", "list", "watch")}
    assert grants == needed
    assert not any(r == "secrets" for _, r, _ in grants)


def test_write_role_allows_the_writes_meshtui_makes():
    grants = _grants(_roles()["meshtui-write"])
    assert ("networking.istio.io", "virtualservices", "patch") in grants
    assert {("networking.istio.io", "sidecars", v) for v in ("create", "patch", "delete")} <= grants
    assert not any(v in ("*", "update") or r == "*" for _, r, v in grants)
