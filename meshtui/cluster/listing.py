"""Discovery and listing: which Istio API versions are served, and every object of the kinds
meshtui reads, as plain dicts shaped like `kubectl get -o json` items."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from meshtui.cluster.errors import Action, ClusterError, ClusterForbidden, ClusterNotFound, ClusterTimeout
from meshtui.cluster.http import KubeHttp, parse_json
from meshtui.cluster.kinds import (
    GROUP_TITLES,
    ISTIO_GROUP,
    ISTIO_KINDS,
    ISTIO_VERSIONS,
    KUBE_KINDS,
    NAMESPACE,
    OPTIONAL_GROUPS,
    OPTIONAL_KINDS,
    ResourceKind,
)
from meshtui.model.schema import type_name

PAGE_SIZE = 500  # as kubectl: big enough to be few round trips, small enough to stream
MAX_PAGES = 10_000  # 5 million objects: past that, a server that never ends its list
MAX_RESTARTS = 3  # a list whose continue token expired (410) starts over, a few times at most

Progress = Callable[[str], None]


@dataclass
class Discovery:
    """What the server serves: the resolved kinds, warnings such as missing Istio CRDs, and notes
    (an optional API that is not installed: nothing to read, nothing wrong)."""

    kinds: list[ResourceKind]
    istio_versions: list[str]  # every networking.istio.io version served, preferred first
    warnings: list[str] = field(default_factory=list)
    istio_missing: bool = False
    notes: list[str] = field(default_factory=list)


def _group_versions(http: KubeHttp, group: str, action: Action) -> list[str] | None:
    """Every version the server serves of a group, in its preference order; None when the group
    is not served at all."""
    try:
        data = http.get_json(f"/apis/{group}", action)
    except ClusterNotFound:
        return None
    return [str(v.get("version")) for v in data.get("versions", []) if isinstance(v, dict) and v.get("version")]


def _resources(http: KubeHttp, group: str, versions: list[str], action: Action) -> dict[str, set[str]]:
    """version -> the resources (plurals) served there, for each of `versions`."""
    out: dict[str, set[str]] = {}
    for v in versions:
        try:
            lst = http.get_json(f"/apis/{group}/{v}", action)
        except ClusterNotFound:  # the group was just removed, or is still being set up
            continue
        out[v] = {str(r.get("name", "")) for r in lst.get("resources", []) if isinstance(r, dict)}
    return out


def _served(http: KubeHttp, group: str, action: Action) -> dict[str, set[str]] | None:
    """version -> the resources served there, every served version of the group in the server's
    preference order; None when the group is not served at all."""
    versions = _group_versions(http, group, action)
    return None if versions is None else _resources(http, group, versions, action)


def _optional_group(http: KubeHttp, group: str, kinds: list[ResourceKind],
                    warnings: list[str], notes: list[str]) -> list[ResourceKind]:
    """The kinds of one optional CRD group at the versions meshtui reads them, as served."""
    title = GROUP_TITLES.get(group, group)
    action = Action("discover", "", group)
    versions = _group_versions(http, group, action)
    names = ", ".join(k.kind for k in kinds)
    if versions is None:
        notes.append(f"{http.endpoint.describe()} serves no {group} API group (the {title} CRDs are not "
                     f"installed): no {names} objects to read")
        return []
    # the versions meshtui reads first; the others only to say where a kind missing there is served
    wanted = [v for v in versions if any(v in k.versions for k in kinds)]
    served = _resources(http, group, wanted, action)
    if any(not any(k.plural in served.get(v, set()) for v in k.versions) for k in kinds):
        served |= _resources(http, group, [v for v in versions if v not in served], action)
    out: list[ResourceKind] = []
    missing: list[str] = []
    for k in kinds:
        version = next((v for v in k.versions if k.plural in served.get(v, set())), None)
        if version is not None:
            out.append(k.at_version(version))
            continue
        elsewhere = [v for v, plurals in served.items() if k.plural in plurals]
        if elsewhere:
            warnings.append(
                f"{http.endpoint.describe()} serves {k.kind} ({k.resource}) only at {', '.join(elsewhere)}; istiod "
                f"watches it at {' or '.join(k.versions)} and processes none at another version, so meshtui reads "
                f"none either (upgrade the {title} CRDs)")
        else:
            missing.append(k.resource)
    if missing:
        notes.append(f"{http.endpoint.describe()} serves no {', '.join(missing)} (their CRDs are not installed)")
    return out


def discover(http: KubeHttp) -> Discovery:
    """Pick, for each Istio kind, the most preferred of v1/v1beta1/v1alpha3 that serves it; the
    security and Gateway API kinds at the versions istiod reads, when their CRDs are served."""
    warnings: list[str] = []
    notes: list[str] = []
    optional: list[ResourceKind] = []
    for group in OPTIONAL_GROUPS:
        optional += _optional_group(http, group, [k for k in OPTIONAL_KINDS if k.group == group], warnings, notes)
    served = _served(http, ISTIO_GROUP, Action("discover", "", ISTIO_GROUP))
    if served is None:
        warnings.insert(0,
            f"the Istio CRDs are not installed on {http.endpoint.describe()}: it serves no "
            f"{ISTIO_GROUP} API group, so there are no VirtualServices, DestinationRules, Gateways, "
            "ServiceEntries, Sidecars or WorkloadEntries to read; meshtui shows only Kubernetes "
            "Services and their default routes (install Istio, or check `kubectl get crd | grep istio`)."
        )
        return Discovery([NAMESPACE, *optional, *KUBE_KINDS[1:]], [], warnings, istio_missing=True, notes=notes)
    ordered = [v for v in ISTIO_VERSIONS if v in served]
    kinds: list[ResourceKind] = []
    istio_warnings: list[str] = []
    for k in ISTIO_KINDS:
        version = next((v for v in ordered if k.plural in served.get(v, set())), None)
        if version is None:
            istio_warnings.append(
                f"{http.endpoint.describe()} serves no {k.kind} ({k.resource}) in "
                f"{'/'.join(ISTIO_VERSIONS)}: is its Istio CRD installed?"
            )
            continue
        kinds.append(k.at_version(version))
    if not kinds:
        other = ", ".join(served) or "none"
        istio_warnings.insert(0, f"the Istio CRDs on {http.endpoint.describe()} serve none of the versions meshtui "
                                 f"reads ({', '.join(ISTIO_VERSIONS)}; served: {other})")
    return Discovery([NAMESPACE, *kinds, *optional, *KUBE_KINDS[1:]], ordered, [*istio_warnings, *warnings],
                     istio_missing=not kinds, notes=notes)


@dataclass
class KindList:
    """One list call's result: items and the resourceVersion to watch from."""

    kind: ResourceKind
    namespace: str | None
    items: list[dict]
    resource_version: str


def normalize(item: dict, kind: ResourceKind) -> dict:
    """Make a list item look like `kubectl get -o json` output for one object: list items of
    built-in kinds carry no kind/apiVersion, and kubectl hides managedFields. A `metadata` that
    is not a map stays as it is: the parser reports it on that object and leaves it out."""
    item["apiVersion"] = kind.api_version
    item["kind"] = kind.kind
    meta = item.get("metadata")
    if isinstance(meta, dict):
        meta.pop("managedFields", None)
    return item


def _page_items(data: dict, http: KubeHttp, action: Action) -> list[dict]:
    """A list page's items; an answer whose `items` is not a list of objects is an error, never
    an empty list (that would read as "there are none" and turn into false findings)."""
    items = data.get("items")
    if items is None:
        return []
    bad = None if isinstance(items, list) else f"'items' is {type_name(items)}, not a list"
    if bad is None:
        i = next((i for i, it in enumerate(items) if not isinstance(it, dict)), None)
        if i is not None:
            bad = f"item {i} is {type_name(items[i])}, not an object"
    if bad is not None:
        raise ClusterError(f"{http.endpoint.describe()} answered the request to {action.describe()} with a list "
                           f"meshtui cannot read: {bad}. Refusing to treat it as empty.")
    return items


def list_kind(http: KubeHttp, kind: ResourceKind, namespace: str | None,
              on_page: Callable[[int], None] | None = None) -> KindList:
    """Every object of one kind (in one namespace, or all), following `continue` pages."""
    path = kind.collection_path(namespace)
    action = Action("list", kind.plural, kind.group, namespace if kind.namespaced else None)
    # --request-timeout bounds the whole list, every page and restart included (CONTRACT.md)
    deadline = time.monotonic() + http.timeout
    pages = 0
    for _ in range(MAX_RESTARTS):
        items: list[dict] = []
        rv = ""
        cont = ""
        seen: set[str] = set()
        expired = False
        for _page in range(MAX_PAGES):
            query: list[tuple[str, object]] = [("limit", PAGE_SIZE)]
            if cont:
                query.append(("continue", cont))
            try:
                resp = http.request("GET", path, action, query=query, deadline=deadline)
            except ClusterTimeout:
                raise http.late(action, f" ({pages} page{'s' if pages != 1 else ''} of {PAGE_SIZE} read)") from None
            except ClusterError as exc:
                if exc.status == 410 and cont:  # continue token expired: start the list over
                    expired = True
                    break
                raise
            pages += 1
            data = parse_json(resp.body, http.endpoint, action)
            page = _page_items(data, http, action)
            items.extend(normalize(it, kind) for it in page)
            if on_page:
                on_page(len(page))
            raw_meta = data.get("metadata")
            meta = raw_meta if isinstance(raw_meta, dict) else {}
            if not rv:
                rv = str(meta.get("resourceVersion") or "")
            cont = meta.get("continue") or ""
            if not cont:
                break
            if not isinstance(cont, str) or cont in seen:  # the server sends us round in a circle
                raise ClusterError(f"{http.endpoint.describe()} repeated a continue token when asked to "
                                   f"{action.describe()} (after {pages} pages): its list never ends")
            seen.add(cont)
        else:
            raise ClusterError(f"{http.endpoint.describe()} was still paging after {MAX_PAGES} pages when asked to "
                               f"{action.describe()}: its list never ends")
        if not expired:
            return KindList(kind, namespace, items, rv)
    raise ClusterError(f"{http.endpoint.describe()}: the list of {kind.resource} kept expiring; try again")


def get_namespace(http: KubeHttp, name: str) -> dict | None:
    """One Namespace (for -n), or None when it does not exist."""
    action = Action("get", "namespaces", "", None, name)
    try:
        resp = http.request("GET", NAMESPACE.object_path(None, name), action)
    except ClusterNotFound:
        return None
    return normalize(parse_json(resp.body, http.endpoint, action), NAMESPACE)


@dataclass
class ListResult:
    lists: list[KindList]
    warnings: list[str]


def list_all(http: KubeHttp, kinds: list[ResourceKind], namespaces: list[str] | None,
             progress: Progress | None = None, workers: int = 6) -> ListResult:
    """List every kind, in parallel (the time is mostly waiting on the server)."""
    warnings: list[str] = []
    tasks: list[tuple[ResourceKind, str | None]] = []
    for k in kinds:
        if k is NAMESPACE or k.kind == "Namespace":
            if namespaces is None:
                tasks.append((k, None))
            continue
        if namespaces is None or not k.namespaced:  # a cluster-scoped kind (GatewayClass): one list
            tasks.append((k, None))
        else:
            tasks.extend((k, ns) for ns in namespaces)

    lock = threading.Lock()
    counts = {"objects": 0, "done": 0}

    def on_page(n: int) -> None:
        with lock:
            counts["objects"] += n

    def run(task: tuple[ResourceKind, str | None]) -> KindList:
        kind, ns = task
        result = list_kind(http, kind, ns, on_page)
        with lock:
            counts["done"] += 1
            done, objs = counts["done"], counts["objects"]
        if progress:
            where = f" in {ns}" if ns else ""
            progress(f"listed {kind.resource}{where} ({done}/{len(tasks)} lists, {objs} objects)")
        return result

    with ThreadPoolExecutor(max_workers=max(1, min(workers, len(tasks)))) as pool:
        futures = [pool.submit(run, t) for t in tasks]
        lists: list[KindList] = []
        first_error: BaseException | None = None
        for t, f in zip(tasks, futures, strict=True):
            try:
                lists.append(f.result())
            except ClusterForbidden as exc:
                kind = t[0]
                if kind.group not in OPTIONAL_GROUPS:
                    first_error = first_error or exc
                    continue
                # The security and Gateway API kinds came after the Istio ones: a role written for
                # those (the README's before) should not make the whole read fail; say what is missing.
                where = f" in {t[1]}" if t[1] else ""
                note = (f"not allowed to list {kind.resource}{where}: read without them, so what they would "
                        f"change is not shown (grant get/list/watch on {kind.resource})")
                if note not in warnings:
                    warnings.append(note)
            except ClusterNotFound:
                # An old or trimmed server that does not serve this kind (say discovery.k8s.io/v1
                # before Kubernetes 1.21): go on without it, and say so.
                kind = t[0]
                note = f"{http.endpoint.describe()} does not serve {kind.resource} ({kind.api_version}); read without them"
                if note not in warnings:
                    warnings.append(note)
            except ClusterError as exc:
                first_error = first_error or exc
        if first_error is not None:
            raise first_error

    if namespaces is not None:
        ns_items: list[dict] = []
        for ns in namespaces:
            try:
                obj = get_namespace(http, ns)
            except ClusterForbidden:
                # A namespaced user often may not read Namespace objects; they only add labels.
                warnings.append(f"not allowed to get namespace '{ns}'; reading its objects without its labels")
                continue
            if obj is None:
                warnings.append(f"namespace '{ns}' does not exist on {http.endpoint.describe()}")
            else:
                ns_items.append(obj)
        lists.insert(0, KindList(NAMESPACE, None, ns_items, ""))
    return ListResult(lists, warnings)
