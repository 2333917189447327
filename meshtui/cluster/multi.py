"""Several kubeconfig contexts read as one multi-primary mesh (`--context a --context b`): each
cluster is listed as one cluster is, then meshtui.model.multicluster merges them."""

from __future__ import annotations

from collections.abc import Callable

from meshtui.model.multicluster import ClusterPart, cluster_network, merge
from meshtui.model.parse import LoadResult, RawDoc


def load_clusters(args, contexts: list[str], overlays: list[RawDoc], default_ns: str,
                  progress: Callable[[str], None] | None = None) -> LoadResult:
    """List every context (the -f files layer over the first), then merge. Any cluster that cannot
    be read stops the load with its error (exit 69): a mesh with a cluster missing would trace
    wrong endpoint sets without saying so."""
    from meshtui.cluster.source import StderrProgress, mesh_settings_from_args, open_cluster, stderr_progress

    namespaces = None if getattr(args, "all_namespaces", False) else getattr(args, "namespace", None)
    timeout = float(getattr(args, "request_timeout", 10.0) or 10.0)
    parts: list[ClusterPart] = []
    diagnostics = []
    files: list[str] = []
    left_out = loaded = 0
    own: StderrProgress | None = None  # the progress line this load opens, and closes
    say: Callable[[str], None]
    if progress is not None:
        say = progress
    else:
        say = own = stderr_progress()
    try:
        for i, ctx in enumerate(contexts):
            with open_cluster(getattr(args, "kubeconfig", None), ctx, namespaces, timeout, progress=say) as src:
                src.mesh_settings = mesh_settings_from_args(args)
                result = src.load(overlays if i == 0 else [], default_ns)
            parts.append(ClusterPart(ctx, result.snapshot, cluster_network(result.snapshot), src.file))
            diagnostics.extend(result.diagnostics)
            files.append(src.file)
            left_out += result.left_out
            loaded += result.loaded
    finally:
        if own is not None:
            own.done()
    snapshot, merge_diags = merge(parts)
    out = LoadResult(snapshot, diagnostics + merge_diags, left_out=left_out, loaded=loaded)
    out.files = [*files, *sorted({d.file for d in overlays})]
    return out
