"""Reading a MeshConfig: `--mesh-config FILE` (a MeshConfig document, or the `istio` ConfigMap with
its `mesh` key), or the ConfigMap as the API server returns it in cluster mode."""

from __future__ import annotations

from typing import Any

from meshtui.errors import InputError
from meshtui.model.meshconfig import MeshConfig, MeshOrigin, mesh_from_data
from meshtui.model.source import Diagnostic
from meshtui.model.yamlpos import YamlSyntaxError, parse_yaml, position
from meshtui.sources.loader import read_text

MESH_KEY = "mesh"


def configmap_name(revision: str | None) -> str:
    """istiod reads `istio`, or `istio-<revision>` for a revisioned control plane."""
    return f"istio-{revision}" if revision and revision != "default" else "istio"


def _parse_mesh_text(text: str, file: str, line_offset: int) -> Any:
    """The MeshConfig in `text`, which starts after line `line_offset` of `file` (positions are the file's)."""
    try:
        docs = parse_yaml(text, line_offset + 1)
    except YamlSyntaxError as exc:  # its line is counted in `text`
        line = exc.line + line_offset if exc.line is not None else None
        raise InputError(file, line, f"the MeshConfig is not valid YAML: {exc.reason}") from None
    if len(docs) > 1:
        raise InputError(file, docs[1].line, "the MeshConfig holds more than one YAML document")
    return docs[0].data if docs else {}


def mesh_from_configmap(obj: dict, file: str, diagnostics: list[Diagnostic], domain_suffix: str = "cluster.local") -> MeshConfig:
    """The MeshConfig in a ConfigMap's `data.mesh` (positions kept when `obj` came from a file)."""
    meta = obj.get("metadata") or {}
    ns, name = str(meta.get("namespace") or ""), str(meta.get("name") or "")
    data = obj.get("data") or {}
    text = data.get(MESH_KEY) if isinstance(data, dict) else None
    if not isinstance(text, str):
        line, _ = position(data, MESH_KEY) if isinstance(data, dict) else (None, None)
        raise InputError(file, line or getattr(obj, "line", None),
                         f"ConfigMap {ns}/{name} has no data.{MESH_KEY} (the MeshConfig istiod reads)")
    key_line, _ = position(data, MESH_KEY)
    # istio's ConfigMap holds the MeshConfig as a block scalar (`mesh: |`): it starts on the line after its key
    inner = _parse_mesh_text(text, file, key_line or 0)
    return mesh_from_data(inner, file, MeshOrigin("ConfigMap", ns, name, file), diagnostics, domain_suffix)


def read_mesh_config(path: str, diagnostics: list[Diagnostic], domain_suffix: str = "cluster.local") -> MeshConfig:
    """`--mesh-config FILE`: a MeshConfig YAML, or a ConfigMap holding one under `data.mesh`."""
    data = _parse_mesh_text(read_text(path), path, 0)
    if isinstance(data, dict) and data.get("kind") == "ConfigMap":
        return mesh_from_configmap(data, path, diagnostics, domain_suffix)
    if isinstance(data, dict) and data.get("kind") and data.get("apiVersion"):
        raise InputError(path, getattr(data, "line", None) or 1,
                         f"--mesh-config wants a MeshConfig or the istio ConfigMap, not a {data.get('kind')}")
    return mesh_from_data(data, path, MeshOrigin("MeshConfig", file=path), diagnostics, domain_suffix)
