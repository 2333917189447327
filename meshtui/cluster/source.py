"""Cluster mode: read a live mesh with the official kubernetes client and keep it current.

    src = open_cluster(kubeconfig, context, namespaces, timeout)
    docs = src.list()                      # list[RawDoc], file=f"cluster:{context}"
    result = src.load(overlays=file_docs)  # LoadResult, files layered over the cluster
    w = src.watch(callback)                # callback(ClusterUpdate) on every change
    ...; w.stop(); src.close()

Errors are ClusterError (exit 69) naming the server and context, or KubeconfigError (exit 2).
"""

from __future__ import annotations

import builtins
import sys
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

from meshtui.cluster.errors import (  # noqa: F401 - re-exported for the commands
    ClusterError,
    ClusterForbidden,
    ClusterTimeout,
    ClusterUnauthorized,
    ClusterUnreachable,
    KubeconfigError,
)
from meshtui.cluster.http import KubeHttp, new_api_client
from meshtui.cluster.kinds import FORBIDDEN_KINDS, ResourceKind
from meshtui.cluster.layer import LayerResult, layer
from meshtui.cluster.listing import Discovery, KindList, discover, list_all
from meshtui.cluster.meshconfig import MeshSettings, read_cluster_mesh
from meshtui.cluster.store import Key, ObjectStore, key_of, resource_version
from meshtui.cluster.watch import Change, ClusterWatch, WatchOptions, WatchStatus
from meshtui.errors import UsageError
from meshtui.model.meshconfig import MeshConfig
from meshtui.model.parse import LoadResult, RawDoc, build_snapshot, rebuild_snapshot
from meshtui.model.source import INFO, WARNING, Diagnostic, Source

__all__ = [
    "Change",
    "ClusterError",
    "ClusterSource",
    "ClusterUpdate",
    "KubeconfigError",
    "LayerResult",
    "WatchOptions",
    "WatchStatus",
    "kube_contexts",
    "layer",
    "load_cluster_snapshot",
    "open_cluster",
    "open_from_args",
    "read_overlay_docs",
    "stderr_progress",
]

CLUSTER_DIAG_CODE = "MT0601"  # cluster-mode warnings and notes (missing CRDs, unreadable namespace)


def _parse_namespaces(namespaces: str | Sequence[str] | None) -> list[str] | None:
    """None means every namespace (-A, the default); `-n a,b` and repeated -n both work."""
    if namespaces is None:
        return None
    items = [namespaces] if isinstance(namespaces, str) else list(namespaces)
    out: list[str] = []
    for item in items:
        for ns in str(item).split(","):
            ns = ns.strip()
            if ns and ns not in out:
                out.append(ns)
    return out or None


@dataclass
class ClusterUpdate:
    """What the watch hands the callback: every doc now held, and what changed since last time."""

    docs: list[RawDoc]
    changes: list[Change]
    relisted: bool
    source: ClusterSource
    overlays: list[RawDoc] = field(default_factory=list)
    default_namespace: str = "default"

    def load(self) -> LoadResult:
        """The snapshot for these docs (with the overlays layered on top), via the shared loader."""
        return self.source.build(self.docs, self.overlays, self.default_namespace)


@dataclass(frozen=True)
class _Built:
    """A build and the resourceVersion of each object it read."""

    result: LoadResult
    versions: dict[Key, str]
    default_namespace: str
    mesh: MeshConfig


class ClusterSource:
    def __init__(self, http: KubeHttp, namespaces: list[str] | None,
                 progress: Callable[[str], None] | None = None) -> None:
        self.http = http
        self.namespaces = namespaces
        self.context_name = http.endpoint.context
        self.server = http.endpoint.server
        self.file = f"cluster:{self.context_name}"
        self.progress = progress
        self.warnings: list[str] = []
        self.notes: list[str] = []  # an optional API (the Gateway API, ...) not installed: INFO
        self.discovery: Discovery | None = None
        self.store = ObjectStore(self.file)
        self._lists: list[KindList] = []
        self._watch: ClusterWatch | None = None
        self.mesh_settings = MeshSettings()
        self.mesh: MeshConfig | None = None  # read with every list (ConfigMaps are not watched)
        self.mesh_diagnostics: list[Diagnostic] = []
        self._built: _Built | None = None  # the last build without overlays (a watch update starts from it)
        self._built_lock = threading.Lock()

    # -- reading ------------------------------------------------------------------------------
    def discover(self) -> Discovery:
        if self.discovery is None:
            self._say(f"connecting to {self.server} (context '{self.context_name}')")
            self.discovery = discover(self.http)
            self.warnings.extend(self.discovery.warnings)
            self.notes.extend(self.discovery.notes)
        return self.discovery

    @property
    def kinds(self) -> list[ResourceKind]:
        return self.discover().kinds

    def list(self) -> list[RawDoc]:
        """Every object of the kinds meshtui reads (never Secrets), in a stable order. A watch
        that is running is stopped (it holds the previous list): call watch() again."""
        if self._watch is not None:
            self._watch.stop()
            self._watch = None
        kinds = [k for k in self.discover().kinds if k.kind not in FORBIDDEN_KINDS]
        result = list_all(self.http, kinds, self.namespaces, progress=self._say)
        for w in result.warnings:
            if w not in self.warnings:
                self.warnings.append(w)
        self._lists = result.lists
        self.store = ObjectStore(self.file)
        self.store.load([it for kl in result.lists for it in kl.items])
        docs = self.store.docs()
        self._say("reading the MeshConfig")
        self.mesh, self.mesh_diagnostics = read_cluster_mesh(self.http, self.file, self.mesh_settings, docs)
        return docs

    def build(self, docs: builtins.list[RawDoc], overlays: Sequence[RawDoc] = (), default_namespace: str = "default",
              mesh: MeshConfig | None = None) -> LoadResult:
        """LoadResult for cluster docs with file docs layered over them; cluster warnings
        (missing CRDs, ...) join the loader's diagnostics.

        Without overlays, the docs are compared with the ones the last build read, by
        resourceVersion: when only routing objects changed (a watched VirtualService), only
        those are parsed again and the snapshot is remade around them (model.parse.rebuild_snapshot).
        Comparing versions, not the watch's change lists, stays right when updates are coalesced
        (serve builds only the latest) or built while the watch goes on."""
        mesh = mesh or self.mesh or MeshConfig()
        result: LoadResult | None = None
        versions: dict[Key, str] = {}
        if not overlays:
            versions = {key_of(d.data): resource_version(d.data) for d in docs if isinstance(d.data, dict)}
            with self._built_lock:
                last = self._built
            if last is not None and last.default_namespace == default_namespace and last.mesh == mesh:
                changed = {k for k, rv in versions.items() if not rv or last.versions.get(k) != rv}
                changed.update(k for k in last.versions if k not in versions)
                result = rebuild_snapshot(last.result, docs, changed, default_namespace) if changed else None
        lr = layer(docs, overlays, default_namespace) if overlays else None
        if result is None:
            result = build_snapshot(lr.docs if lr else docs, default_namespace, mesh)
        if not overlays:
            with self._built_lock:
                self._built = _Built(result, versions, default_namespace, mesh)
        extra = [Diagnostic(WARNING, w, Source(file=self.file), code=CLUSTER_DIAG_CODE) for w in self.warnings]
        extra += [Diagnostic(INFO, n, Source(file=self.file), code=CLUSTER_DIAG_CODE) for n in self.notes]
        extra += self.mesh_diagnostics
        result.diagnostics[:0] = extra
        if lr is not None:
            result.diagnostics.extend(_layer_notes(lr, self.file))
        return result

    def load(self, overlays: Sequence[RawDoc] = (), default_namespace: str = "default",
             mesh: MeshConfig | None = None) -> LoadResult:
        """list() then build(): the snapshot of the cluster, files layered over it."""
        return self.build(self.list(), overlays, default_namespace, mesh)

    # -- watching -----------------------------------------------------------------------------
    def watch(self, callback: Callable[[ClusterUpdate], None], *,
              on_state: Callable[[WatchStatus], None] | None = None,
              overlays: Iterable[RawDoc] = (), default_namespace: str = "default",
              options: WatchOptions | None = None) -> ClusterWatch:
        """Start watching from the last list (listing first if there was none)."""
        if not self._lists:
            self.list()
        if self._watch is not None and not self._watch.stopped:
            self._watch.stop()
        overlay_list = list(overlays)

        def on_change(changes: list[Change], relisted: bool) -> None:
            callback(ClusterUpdate(self.store.docs(), changes, relisted, self, overlay_list, default_namespace))

        self._watch = ClusterWatch(self.http, self.store, self._lists, on_change, on_state, options)
        self._watch.start()
        return self._watch

    def close(self) -> None:
        if self._watch is not None:
            self._watch.stop()
            self._watch = None
        self.http.close()

    def __enter__(self) -> ClusterSource:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _say(self, msg: str) -> None:
        if self.progress:
            self.progress(msg)


def open_cluster(kubeconfig: str | None = None, context: str | None = None,
                 namespaces: str | Sequence[str] | None = None, timeout: float = 10.0,
                 progress: Callable[[str], None] | None = None) -> ClusterSource:
    """Resolve kubeconfig and context (as kubectl does) and prepare a source; nothing is sent yet."""
    api, ctx = new_api_client(kubeconfig, context)
    return ClusterSource(KubeHttp(api, ctx, timeout), _parse_namespaces(namespaces), progress)


class StderrProgress:
    """A progress printer for a slow server: silent for `after` seconds, then it says what it is
    doing on stderr (one line rewritten in place on a TTY). done() clears that line."""

    def __init__(self, after: float = 1.0, stream=None) -> None:
        self.start = time.monotonic()
        self.after = after
        self.out = stream or sys.stderr
        self.tty = bool(getattr(self.out, "isatty", lambda: False)())
        self.shown = False

    def __call__(self, msg: str) -> None:
        if time.monotonic() - self.start < self.after:
            return
        self.shown = True
        self.out.write(("\r\x1b[2Kmeshtui: " + msg) if self.tty else f"meshtui: {msg}\n")
        self.out.flush()

    def done(self) -> None:
        if self.shown and self.tty:
            self.out.write("\r\x1b[2K")
            self.out.flush()


def stderr_progress(after: float = 1.0, stream=None) -> StderrProgress:
    return StderrProgress(after, stream)


def read_overlay_docs(paths: Sequence[str], stdin_text: str | None = None) -> list[RawDoc]:
    """The docs of -f files/folders/stdin, as the folder loader reads them (InputError on bad YAML)."""
    from meshtui.sources.loader import expand_paths, read_docs, read_text

    docs: list[RawDoc] = []
    for f in expand_paths(list(paths)):
        if f == "-":
            docs.extend(read_docs("<stdin>", stdin_text if stdin_text is not None else sys.stdin.read()))
            continue
        docs.extend(read_docs(f, read_text(f)))
    return docs


def kube_contexts(kubeconfig: str | None = None) -> tuple[list[str], str | None]:
    """(context names, current context) of a kubeconfig, for the TUI's `:ctx` picker."""
    import os

    from kubernetes import config as kconfig
    from kubernetes.config.config_exception import ConfigException

    path = kubeconfig or os.environ.get("KUBECONFIG") or os.path.expanduser("~/.kube/config")
    try:
        contexts, current = kconfig.list_kube_config_contexts(config_file=path)
    except (ConfigException, OSError, ValueError, TypeError, KeyError, AttributeError) as exc:
        raise KubeconfigError(f"{path}: cannot read kubeconfig: {exc}") from None
    names = [str(c.get("name")) for c in contexts or [] if c.get("name")]
    return names, (current or {}).get("name")


def open_from_args(args, progress: Callable[[str], None] | None = None) -> ClusterSource:
    """A source for the common flags: --kubeconfig, --context, -n (namespaces to read; -A or
    no -n reads all), --request-timeout, and where the MeshConfig comes from (--mesh-config,
    --istio-namespace, --revision)."""
    contexts = getattr(args, "contexts", None) or []
    if len(contexts) > 1:
        raise UsageError(f"this command works on one cluster, and --context was given {len(contexts)} times "
                         f"({', '.join(contexts)}); several contexts are for reading a mesh (trace, analyze, "
                         "proxy-config, the TUI)")
    namespaces = None if getattr(args, "all_namespaces", False) else getattr(args, "namespace", None)
    src = open_cluster(getattr(args, "kubeconfig", None), getattr(args, "context", None), namespaces,
                       float(getattr(args, "request_timeout", 10.0) or 10.0), progress=progress)
    src.mesh_settings = mesh_settings_from_args(args)
    return src


def mesh_settings_from_args(args) -> MeshSettings:
    from meshtui.cli.common import mesh_from_args

    diags: list[Diagnostic] = []
    fixed = mesh_from_args(args, diags)
    return MeshSettings(fixed, getattr(args, "istio_namespace", None) or "istio-system",
                        getattr(args, "revision", None), diags)


def load_cluster_snapshot(args, files: Sequence[str] = (), mesh: MeshConfig | None = None) -> LoadResult:
    """What `--cluster [-f PATH...]` loads: the cluster's objects with the files layered over
    them (a file's object replaces the cluster's of the same kind/namespace/name, or is added)."""
    default_ns = (getattr(args, "namespace", None) or "default").split(",")[0].strip() or "default"
    overlays = read_overlay_docs(files) if files else []
    if len(getattr(args, "contexts", None) or []) > 1:
        from meshtui.cluster.multi import load_clusters

        return load_clusters(args, list(args.contexts), overlays, default_ns)
    progress = stderr_progress()
    try:
        with open_from_args(args, progress) as src:
            result = src.load(overlays, default_ns, mesh)
            result.files = [src.file, *sorted({d.file for d in overlays})]
    finally:
        progress.done()
    return result


def _layer_notes(lr: LayerResult, file: str) -> list[Diagnostic]:
    out = []
    for what, keys in (("replaces the cluster's", lr.replaced), ("adds", lr.added)):
        for _group, kind, ns, name in keys:
            out.append(Diagnostic(INFO, f"-f {what} {kind} {ns + '/' if ns else ''}{name}", Source(file=file),
                                  kind, ns, name, code="MT0602"))
    return out
