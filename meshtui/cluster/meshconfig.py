"""The cluster's MeshConfig: the `istio` ConfigMap (or `istio-<revision>`) of the Istio namespace,
as istiod reads it. When it cannot be read the mesh is traced at Istio's defaults, with a warning
that says why."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from meshtui.cluster.errors import Action, ClusterError, ClusterUnreachable
from meshtui.cluster.http import KubeHttp
from meshtui.errors import InputError
from meshtui.model.meshconfig import MeshConfig
from meshtui.model.parse import RawDoc
from meshtui.model.source import WARNING, Diagnostic, Source
from meshtui.sources.meshconfig import configmap_name, mesh_from_configmap

REV_LABEL = "istio.io/rev"
MESH_DIAG_CODE = "MT0603"


@dataclass
class MeshSettings:
    """How cluster mode finds the MeshConfig: a file given with --mesh-config wins; otherwise the
    ConfigMap of `istio_namespace`, for `revision` (or the one revision the namespaces and pods
    name with istio.io/rev)."""

    fixed: MeshConfig | None = None
    istio_namespace: str = "istio-system"
    revision: str | None = None
    diagnostics: list[Diagnostic] = field(default_factory=list)


def revision_in_use(docs: Iterable[RawDoc]) -> tuple[str | None, list[str]]:
    """The revision namespaces and pods name with istio.io/rev, when they name exactly one
    (`default` is the unrevisioned control plane); else None and the names found."""
    revs: set[str] = set()
    for d in docs:
        data = d.data if isinstance(d.data, dict) else {}
        if data.get("kind") not in ("Namespace", "Pod"):
            continue
        labels = (data.get("metadata") or {}).get("labels") or {}
        rev = labels.get(REV_LABEL)
        if isinstance(rev, str) and rev:
            revs.add(rev)
    named = sorted(revs - {"default"})
    if len(named) == 1 and revs <= {named[0], "default"} and "default" not in revs:
        return named[0], named
    return None, sorted(revs)


def read_cluster_mesh(http: KubeHttp, file: str, settings: MeshSettings, docs: Iterable[RawDoc],
                      domain_suffix: str = "cluster.local") -> tuple[MeshConfig, list[Diagnostic]]:
    """The MeshConfig to trace this cluster with, and the warnings about how it was found."""
    if settings.fixed is not None:
        return settings.fixed, list(settings.diagnostics)
    diags: list[Diagnostic] = []
    revision = settings.revision
    if revision is None:
        revision, seen = revision_in_use(docs)
        if revision is None and len(seen) > 1:
            diags.append(Diagnostic(WARNING, f"namespaces and pods name several Istio revisions ({', '.join(seen)}); "
                                    "reading the MeshConfig of the default one (give --revision to choose)",
                                    Source(file=file), code=MESH_DIAG_CODE))
    ns, name = settings.istio_namespace, configmap_name(revision)
    where = f"ConfigMap {ns}/{name}"
    try:
        obj = http.get_json(f"/api/v1/namespaces/{ns}/configmaps/{name}", Action("get", "configmaps", "", ns, name))
    except ClusterUnreachable:
        raise
    except ClusterError as exc:
        diags.append(Diagnostic(WARNING, f"cannot read the MeshConfig ({where}): {exc}; tracing with Istio's MeshConfig "
                                "defaults (give --mesh-config FILE to use a saved one)", Source(file=file),
                                "ConfigMap", ns, name, code=MESH_DIAG_CODE))
        return MeshConfig(domain_suffix=domain_suffix), diags
    try:
        mesh = mesh_from_configmap(obj, file, diags, domain_suffix)
    except InputError as exc:
        diags.append(Diagnostic(WARNING, f"the MeshConfig in {where} cannot be used: {exc.reason}; tracing with "
                                "Istio's MeshConfig defaults", Source(file=file), "ConfigMap", ns, name, code=MESH_DIAG_CODE))
        return MeshConfig(domain_suffix=domain_suffix), diags
    return mesh, diags
