"""Resources: a tree by namespace → kind → object with badges (✗ errors, ⚠ warnings, ⚡ live
faults, • changed in the cluster), and the selected object's YAML with its related objects one
key away (`r`)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from itertools import groupby

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.widgets import OptionList, Static, Tree
from textual.widgets.option_list import Option
from textual.widgets.tree import NodeID, TreeNode

from meshtui.model import gatewayapi as gapi
from meshtui.tui.related import KIND_SHORT, kind_label, related
from meshtui.tui.screens.base import MeshScreen, make_matcher
from meshtui.tui.tracing import TraceQuery
from meshtui.tui.widgets.trace_render import rich_text
from meshtui.tui.widgets.yaml_view import YamlView
from meshtui.tui.workspace import Workspace, fault_targets
from meshtui.tui.yamltext import short_path

Key = tuple[str, str, str]
LAZY_TREE = 400  # above this many objects, groups are filled when they are expanded
LEAF_PAGE = 200  # objects added to a group at a time
RELATED_SHOWN = 100  # related objects listed under the YAML

PLURAL = {"VirtualService": "VirtualServices", "DestinationRule": "DestinationRules", "Gateway": "Gateways",
          "ServiceEntry": "ServiceEntries", "Sidecar": "Sidecars", "WorkloadEntry": "WorkloadEntries",
          "Service": "Services", "Deployment": "Deployments", "StatefulSet": "StatefulSets", "Pod": "Pods",
          "PeerAuthentication": "PeerAuthentications", "AuthorizationPolicy": "AuthorizationPolicies",
          "GatewayClass": "GatewayClasses", gapi.KUBERNETES_GATEWAY: "Gateway API Gateways", "HTTPRoute": "HTTPRoutes",
          "GRPCRoute": "GRPCRoutes", "TCPRoute": "TCPRoutes", "TLSRoute": "TLSRoutes", "ReferenceGrant": "ReferenceGrants"}


@dataclass
class _LastFilter:
    """The last `/` filter's matches, to narrow from when the next key extends it."""

    workspace: Workspace
    namespace: str | None
    kind: str | None
    text: str
    matches: list[int]  # positions in workspace.objects(namespace, kind)


def _literal(text: str) -> bool:
    """A filter a regular expression reads as plain text (letters, digits, - _ / : and spaces; no
    leading `!`): whatever matches it also matches any part of it."""
    return not text.startswith("!") and all(c.isalnum() or c in "-_/: " for c in text)


def badges(findings: list, faults: int, changed: bool) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    errs = sum(1 for m in findings if m.level == "Error")
    warns = len(findings) - errs
    if errs:
        out.append((f" ✗{errs}", "bold $error"))
    if warns:
        out.append((f" ⚠{warns}", "$warning"))
    if faults:
        out.append((f" ⚡{faults}", "bold $warning"))
    if changed:
        out.append((" •", "bold $accent"))
    return out


def finding_marks(findings: list) -> dict[int, str]:
    marks: dict[int, str] = {}
    for m in findings:
        if m.line:
            marks[m.line] = "✗" if m.level == "Error" else "⚠"
    return marks


class DetailPane(Vertical):
    """Title, findings, YAML and related objects of one object."""

    def compose(self) -> ComposeResult:
        yield Static(id="detail-title", classes="pane-title")
        yield Static(id="detail-findings", classes="findings-strip")
        yield YamlView(id="detail-yaml")
        yield Static(" Related  (r to focus, ⏎ to open)", id="related-title", classes="section")
        yield OptionList(id="related", compact=True)

    def show(self, screen: MeshScreen, key: Key | None, line: int | None = None) -> None:
        title = self.query_one("#detail-title", Static)
        strip = self.query_one("#detail-findings", Static)
        view = self.query_one(YamlView)
        rel = self.query_one("#related", OptionList)
        ws = screen.mapp.workspace
        rel.clear_options()
        if key is None or ws is None or key not in ws.snapshot.by_key:
            title.update(Content.styled(" Select an object on the left", "$text-muted"))
            strip.display = False
            view.show(None)
            return
        kind, ns, name = key
        obj = ws.snapshot.by_key[key]
        yt = ws.yaml(key)
        findings = ws.findings_by_key().get(key, [])
        where = short_path(obj.src.at() or obj.src.file) or "generated"
        shown = f"{ns}/{name}" if ns else name  # a cluster-scoped object has no namespace
        title.update(Content.assemble((f" {kind_label(kind)} ", "bold"), (shown, "bold $accent"), (f"  {where}", "$text-muted")))
        if findings:
            lines = []
            for m in findings[:3]:
                lines.append(Content.assemble((" ✗ " if m.level == "Error" else " ⚠ ", "$error" if m.level == "Error" else "$warning"),
                                              (f"{m.code} ", "bold"), (m.message, "")))
            if len(findings) > 3:
                lines.append(Content.styled(f"   … {len(findings) - 3} more (view 6, Findings)", "$text-muted"))
            strip.update(Content("\n").join(lines))
            strip.display = True
        else:
            strip.display = False
        view.show(yt, line, finding_marks(findings))
        items = related(ws.snapshot, key)
        if items:
            # a Service of 2,000 pods relates to all of them: the first RELATED_SHOWN, and how many more
            rel.add_options([Option(Content.assemble((f"{KIND_SHORT.get(r.key[0], r.key[0])} ", "bold"),
                                                     (f"{r.key[1]}/{r.key[2]}", "$accent"), (f"  {r.why}", "$text-muted")),
                                    id="|".join(r.key)) for r in items[:RELATED_SHOWN]])
            if len(items) > RELATED_SHOWN:
                more = Counter(KIND_SHORT.get(r.key[0], r.key[0]) for r in items[RELATED_SHOWN:])
                rel.add_option(Option(Content.styled(
                    f"… {len(items) - RELATED_SHOWN} more ({', '.join(f'{n} {k}' for k, n in more.items())}); "
                    f"the tree's filter finds them", "$text-muted"), disabled=True))
        else:
            rel.add_option(Option(Content.styled("nothing related found", "$text-muted"), disabled=True))


class ResourcesScreen(MeshScreen):
    VIEW = "resources"
    DESCRIPTION = "every object by namespace and kind, its YAML, and what it is related to"

    BINDINGS = [
        Binding("r", "related", "Related", id="resources.related"),
        Binding("t", "trace", "Trace", id="resources.trace"),
        Binding("e", "whatif", "What-if", id="resources.whatif"),
        Binding("y", "focus_yaml", "YAML", show=False, id="resources.yaml"),
        Binding("a", "all_kinds", "All kinds", show=False, id="resources.all"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.kind: str | None = None
        self.selected: Key | None = None
        self._tree_nodes: dict[Key, TreeNode] = {}
        self._pending: dict[NodeID, list[Key]] = {}  # group -> its objects not in the tree yet
        self._more: dict[NodeID, TreeNode] = {}  # group -> its "… more" line
        self._groups: dict[tuple[str, str | None], TreeNode] = {}
        self._ns_nodes: dict[str, TreeNode] = {}
        self._ns_pending: dict[NodeID, list[tuple[str, list[Key]]]] = {}  # namespace -> kind groups not added yet
        self._shown: set[Key] = set()  # what the tree lists (added or pending)
        self._last_filter: _LastFilter | None = None
        self._badge_data: tuple = ({}, {}, set())

    def compose_body(self) -> ComposeResult:
        with Horizontal(id="res-main"):
            yield Tree("mesh", id="res-tree")
            yield DetailPane(id="res-detail")

    def on_mount(self) -> None:
        tree = self.query_one(Tree)
        tree.show_root = False
        tree.guide_depth = 2
        super().on_mount()
        if self.mapp.workspace is None:
            tree.root.add_leaf(rich_text(self.app, [(f"loading {self.mapp.source.label}…", "$warning")]))
        tree.focus()

    def status_extra(self) -> list[tuple[str, str]]:
        return [(f"showing {PLURAL.get(self.kind, self.kind)}", "$accent")] if self.kind else []

    # ------------------------------------------------------------------ data

    def on_data(self) -> None:
        self.rebuild()

    def rebuild(self) -> None:
        """Rebuild the tree. Large meshes are lazy at every level: a namespace's kind groups are
        added when it is expanded, a group's objects when it is expanded, and then a page at a
        time (LEAF_PAGE), the next page when the cursor reaches the "… more" line (5,000 leaves
        cost half a second to add, and nobody reads them all)."""
        ws = self.mapp.workspace
        tree: Tree = self.query_one(Tree)
        tree.clear()
        self._tree_nodes = {}
        self._pending = {}
        self._more = {}
        self._groups = {}
        self._ns_nodes = {}
        self._ns_pending = {}
        self._shown = set()
        if ws is None:
            return
        keep = self.selected
        self._badge_data = (ws.findings_by_key(), fault_targets(self._faults(), ws.snapshot), ws.changed)
        keys = self._filtered(ws)
        self._shown = set(keys)
        title = PLURAL.get(self.kind, "Objects") if self.kind else "Objects"
        tree.border_title = f"{title} ({len(keys)})"
        lazy = len(keys) > LAZY_TREE
        # keys come sorted by namespace, kind and name: each group is one run of them
        by = (lambda k: (k[1], None)) if self.kind else (lambda k: (k[1], k[0]))
        groups: dict[tuple[str, str | None], list[Key]] = {g: list(run) for g, run in groupby(keys, key=by)}
        ns_counts: Counter[str] = Counter()
        for (gns, _), members in groups.items():
            ns_counts[gns] += len(members)
        first_ns = keys[0][1] if keys else None
        open_group = (keep[1], None if self.kind else keep[0]) if keep in self._shown else (
            (first_ns, None if self.kind else keys[0][0]) if keys else None)
        open_ns = open_group[0] if open_group else None
        for (ns, kind), members in groups.items():
            ns_node = self._ns_nodes.get(ns)
            if ns_node is None:
                ns_node = self._ns_nodes[ns] = tree.root.add(
                    # cluster-scoped kinds (Namespace, Node, GatewayClass) are keyed with no namespace
                    rich_text(self.app, [(ns, "bold") if ns else ("cluster-scoped", "italic"), (f" {ns_counts[ns]}", "$text-muted")]),
                    data=("ns", ns),
                    expand=not lazy or ns == open_ns)
            if kind is None:  # one kind shown: the namespace is the group
                self._groups[(ns, None)] = ns_node
                if lazy and (ns, None) != open_group:
                    self._pending[ns_node.id] = members
                else:
                    self._add_leaves(ns_node, members)
                continue
            if lazy and ns != open_ns:
                self._ns_pending.setdefault(ns_node.id, []).append((kind, members))
                continue
            group = self._add_group(ns_node, ns, kind, members,
                                    expand=(not lazy and (kind != "Pod" or len(members) <= 6)) or (ns, kind) == open_group)
            if lazy and (ns, kind) != open_group:
                self._pending[group.id] = members
            else:
                self._add_leaves(group, members)
        if not keys:
            tree.root.add_leaf(rich_text(self.app, [("nothing matches" if (self.filter_text or self.kind or self.mapp.ns_filter)
                                                     else "no objects in these sources", "$text-muted")]))
        target = keep if keep in self._shown else (keys[0] if keys else None)
        self.call_after_refresh(self._select, target)

    def _filtered(self, ws: Workspace) -> list[Key]:
        """The objects the tree lists: the namespace and kind shown, then the `/` filter. Typing
        a literal filter one key at a time narrows the last result instead of every object.
        Matches are kept as positions (ints are not tracked by the cycle collector: 50,000 new
        tuples per key made it run full collections over the app)."""
        ns, kind = self.mapp.ns_filter, self.kind
        text = self.filter_text.strip()
        keys = ws.objects(ns, kind)
        if not text:
            self._last_filter = None
            return keys
        texts = ws.search_texts(ns, kind)
        low = text.lower()

        def contains(t: str) -> bool:
            return low in t

        # plain text: a substring test, much cheaper than a regular expression
        match: Callable[[str], bool] = contains if _literal(text) else make_matcher(text)
        last = self._last_filter
        if (last is not None and last.workspace is ws and (last.namespace, last.kind) == (ns, kind)
                and _literal(last.text) and _literal(text) and last.text.lower() in low):
            hits = [i for i in last.matches if match(texts[i])]  # a match of `text` contains `last.text`
        else:
            hits = [i for i, t in enumerate(texts) if match(t)]
        self._last_filter = _LastFilter(ws, ns, kind, text, hits)
        return [keys[i] for i in hits]

    def _add_leaves(self, parent, members: list[Key]) -> None:
        """A page of a group's objects; the rest wait behind a "… N more" line."""
        findings, faults, changed = self._badge_data
        for key in members[:LEAF_PAGE]:
            label = rich_text(self.app, [key[2], *badges(findings.get(key, []), faults.get(key, 0), key in changed)])
            self._tree_nodes[key] = parent.add_leaf(label, data=key)
        rest = members[LEAF_PAGE:]
        if rest:
            self._pending[parent.id] = rest
            self._more[parent.id] = parent.add_leaf(
                rich_text(self.app, [(f"… {len(rest)} more (the cursor here shows {min(len(rest), LEAF_PAGE)})", "$text-muted")]),
                data=("more", parent.id))

    def _add_group(self, ns_node: TreeNode, ns: str, kind: str, members: list[Key], expand: bool = False) -> TreeNode:
        """A kind's group under its namespace, "Kinds N" (its objects are added apart)."""
        group = ns_node.add(rich_text(self.app, [(PLURAL.get(kind, kind), ""), (f" {len(members)}", "$text-muted")]),
                            data=("kind", kind), expand=expand)
        self._groups[(ns, kind)] = group
        return group

    def _add_groups(self, ns_node) -> None:
        """The kind groups of a namespace added lazily (their objects stay pending)."""
        ns = ns_node.data[1]
        for kind, members in self._ns_pending.pop(ns_node.id, ()):
            self._pending[self._add_group(ns_node, ns, kind, members).id] = members

    def _populate(self, node) -> None:
        """The next page of a group's objects (the first, when it is expanded)."""
        more = self._more.pop(node.id, None)
        if more is not None:
            more.remove()
        members = self._pending.pop(node.id, None)
        if members:
            self._add_leaves(node, members)

    def on_tree_node_expanded(self, event: Tree.NodeExpanded) -> None:
        node = event.node
        if node.id in self._ns_pending:
            self._add_groups(node)
        if node.id in self._pending and node.id not in self._more:
            self._populate(node)

    def _reveal(self, key: Key) -> None:
        """Make sure the leaf of `key` exists and its parents are open."""
        ns_node = self._ns_nodes.get(key[1])
        if ns_node is None:
            return
        if ns_node.id in self._ns_pending:
            self._add_groups(ns_node)
        group = self._groups.get((key[1], None if self.kind else key[0]))
        if group is None:
            return
        while key not in self._tree_nodes and group.id in self._pending:
            self._populate(group)
        node: TreeNode | None = group
        while node is not None:
            node.expand()
            node = node.parent

    def _faults(self) -> list[dict]:
        demo = self.mapp.demo
        if demo is None:
            return []
        try:
            return demo.faults()
        except Exception:  # noqa: BLE001 - badges are optional
            return []

    def _select(self, key: Key | None) -> None:
        tree: Tree = self.query_one(Tree)
        if key is not None and key not in self._tree_nodes:
            self._reveal(key)
            if key in self._tree_nodes:
                self.call_after_refresh(self._select, key)  # the new leaf gets its line after a refresh
                return
        node = self._tree_nodes.get(key) if key else None
        if node is not None:
            tree.move_cursor(node)
        self.show_object(key)

    def show_object(self, key: Key | None, line: int | None = None) -> None:
        self.selected = key
        self.query_one(DetailPane).show(self, key, line)

    # ------------------------------------------------------------------ events

    def on_tree_node_highlighted(self, event: Tree.NodeHighlighted) -> None:
        data = event.node.data
        if isinstance(data, tuple) and len(data) == 2 and data[0] == "more":
            group = event.node.parent
            if group is not None:  # the cursor reached "… more": the next page, after this event
                self.call_later(self._populate, group)
            return
        if isinstance(data, tuple) and len(data) == 3 and data != self.selected:
            self.show_object(data)  # a 3-tuple: kind, namespace, name

    def on_tree_node_selected(self, event: Tree.NodeSelected) -> None:
        data = event.node.data
        if isinstance(data, tuple) and len(data) == 3:
            self.query_one(YamlView).focus()

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        if event.option_list.id != "related" or not event.option.id:
            return
        key = tuple(event.option.id.split("|"))
        self.go_to(key)  # type: ignore[arg-type]  # related ids are kind|namespace|name

    def go_to(self, key: Key) -> None:
        """Select an object, widening the view (kind, namespace, filter) if it is hidden."""
        if key in self._shown:
            self._select(key)
        else:
            self.kind = None
            self.filter_text = ""
            if self.mapp.ns_filter and self.mapp.ns_filter != key[1]:
                self.mapp.ns_filter = None
                self.mapp.refresh_status()
            self.selected = key
            self.rebuild()
            self.refresh_status()
        self.query_one(Tree).focus()

    def show_kind(self, kind: str | None, arg: str = "") -> None:
        self.kind = kind
        self.filter_text = arg.lstrip("/") if arg else ""
        self.selected = None
        self.rebuild()
        self.refresh_status()
        self.query_one(Tree).focus()

    def apply_filter(self, text: str) -> None:
        super().apply_filter(text)
        self.rebuild()

    def handle_back(self) -> bool:
        focused = self.focused
        if focused is not None and focused.id in ("detail-yaml", "related"):
            self.query_one(Tree).focus()
            return True
        if super().handle_back():
            return True
        if self.kind is not None:
            self.show_kind(None)
            return True
        return False

    # ------------------------------------------------------------------ actions

    def action_related(self) -> None:
        rel = self.query_one("#related", OptionList)
        rel.focus()
        if rel.option_count and rel.highlighted is None:
            rel.highlighted = 0

    def action_focus_yaml(self) -> None:
        self.query_one(YamlView).focus()

    def action_all_kinds(self) -> None:
        self.show_kind(None)

    def action_whatif(self) -> None:
        if self.selected is None:
            self.notify("select an object first", severity="warning")
            return
        self.mapp.open_whatif(self.selected)

    def action_trace(self) -> None:
        """From a workload: trace from it. From a host-bearing object: trace to it."""
        key = self.selected
        ws = self.mapp.workspace
        if key is None or ws is None:
            return
        kind, ns, name = key
        snap = ws.snapshot
        if kind in ("Pod", "Deployment", "StatefulSet"):
            from meshtui.translate.gateway import is_gateway_workload

            wl = snap.find_workload(f"{ns}/{name}")
            self.mapp.trace_from(f"{ns}/{name}", gateway=bool(wl and is_gateway_workload(snap, wl)))
            return
        if kind == "Gateway":
            from meshtui.model.istio import Gateway
            from meshtui.model.snapshot import labels_match

            gw = snap.by_key[key]
            for w in snap.workloads:
                if isinstance(gw, Gateway) and gw.spec.selector and labels_match(gw.spec.selector, w.labels):
                    self.mapp.trace_from(w.ref, gateway=True)
                    return
            self.notify("no workload runs this gateway (its selector matches no pod)", severity="warning")
            return
        q = gateway_api_query(snap, key, (self.mapp.trace_query or TraceQuery()).source)
        if q is not None:
            self.mapp.trace_with(q)
            return
        url = url_for(snap, key)
        if url:
            self.mapp.trace_to(url)
        else:
            self.notify(f"nothing to trace for a {kind}", severity="warning")


def url_for(snap, key: Key) -> str | None:
    """A sensible first URL to trace towards an object."""
    kind, ns, name = key
    obj = snap.by_key.get(key)
    if obj is None:
        return None
    if kind == "Service":
        port = obj.spec.ports[0].port if obj.spec.ports else 80
        host = name if ns == "default" else f"{name}.{ns}"
        return f"http://{host}:{port}/"
    if kind == "ServiceEntry":
        host = obj.spec.hosts[0] if obj.spec.hosts else ""
        port = obj.spec.ports[0].number if obj.spec.ports else 80
        scheme = "https" if port == 443 else "http"
        return f"{scheme}://{host.lstrip('*.')}:{port}/" if host else None
    if kind == "VirtualService":
        hosts = [h for h in obj.spec.hosts if h != "*"]
        host = (hosts[0] if hosts else "example.com").lstrip("*.")
        port = None
        for rs in snap.registry:
            if rs.hostname.split(".")[0] == host.split(".")[0] and rs.namespace == ns and rs.ports:
                port = rs.ports[0].port
                break
        return f"http://{_qualified(host, ns)}{':' + str(port) if port else ''}/"
    if kind == "DestinationRule":
        host = obj.spec.host
        for rs in snap.registry:
            if rs.hostname.startswith(host.split(".")[0] + ".") and rs.namespace == ns and rs.ports:
                return f"http://{_qualified(host, ns)}:{rs.ports[0].port}/"
        return f"http://{_qualified(host, ns)}/"
    return None


def _qualified(host: str, ns: str) -> str:
    """A short host as the object's namespace reads it, written so a client in any namespace
    (the trace's source may be elsewhere) reaches the same service."""
    return host if "." in host or ns == "default" else f"{host}.{ns}"


def _concrete(host: str) -> str:
    return "www." + host[2:] if host.startswith("*.") else host


def gateway_api_query(snap, key: Key, current_source: str = "") -> TraceQuery | None:
    """A first request through a Gateway API object: from its Gateway's proxy (the Deployment
    istiod runs for it) to the route's first hostname and path; for a mesh route (a Service
    parent), from the current source (else a workload in the route's namespace) to the Service.
    None for other kinds, or when no proxy runs the Gateway."""
    from meshtui.model.gatewayapi_convert import deployment_name

    def through(gw: gapi.KubernetesGateway, lst: gapi.Listener | None, host: str, path: str, method: str,
                headers: tuple[str, ...]) -> TraceQuery | None:
        proxy = f"{gw.namespace}/{deployment_name(gw)}"
        if snap.find_workload(proxy) is None:
            return None
        scheme = "https" if lst is not None and lst.protocol in ("HTTPS", "TLS") else "http"
        port = lst.port if lst is not None else 80
        shown = "" if (scheme, port) in (("http", 80), ("https", 443)) else f":{port}"
        return TraceQuery(source=proxy, gateway=True, method=method, headers=headers, url=f"{scheme}://{host}{shown}{path}")

    obj = snap.by_key.get(key)
    if isinstance(obj, gapi.KubernetesGateway):
        first = obj.spec.listeners[0] if obj.spec.listeners else None
        return through(obj, first, _concrete(first.hostname if first is not None and first.hostname else "example.com"),
                       "/", "GET", ())
    if not isinstance(obj, (gapi.HTTPRoute, gapi.GRPCRoute, gapi.TLSRoute, gapi.TCPRoute)):
        return None
    method, path = "GET", "/"
    headers: tuple[str, ...] = ()
    if isinstance(obj, gapi.HTTPRoute) and obj.spec.rules and obj.spec.rules[0].matches:
        m = obj.spec.rules[0].matches[0]
        if m.path is not None and m.path.type != "RegularExpression":
            path = m.path.value
        method = m.method or "GET"
    elif isinstance(obj, gapi.GRPCRoute):
        method, headers = "POST", ("content-type: application/grpc",)
        gm = obj.spec.rules[0].matches[0].method if obj.spec.rules and obj.spec.rules[0].matches else None
        if gm is not None and gm.type == "Exact" and gm.service:
            path = f"/{gm.service}/{gm.method or 'Call'}"
    hostnames: tuple[str, ...] = obj.spec.hostnames if isinstance(obj, (gapi.HTTPRoute, gapi.GRPCRoute, gapi.TLSRoute)) else ()
    for ref in obj.spec.parent_refs:
        ns = ref.namespace or obj.namespace
        if (ref.kind or "Gateway") == "Service":
            svc = snap.by_key.get(("Service", ns, ref.name))
            port = ref.port or (svc.spec.ports[0].port if svc is not None and svc.spec.ports else 80)
            source = current_source or next((w.ref for w in snap.workloads if w.namespace == obj.namespace), "")
            return TraceQuery(source=source, method=method, headers=headers, url=f"http://{ref.name}.{ns}:{port}{path}")
        gw = snap.by_key.get((gapi.KUBERNETES_GATEWAY, ns, ref.name))
        if isinstance(gw, gapi.KubernetesGateway):
            lst = next((x for x in gw.spec.listeners if ref.section_name in (None, x.name) and ref.port in (None, x.port)), None)
            host = hostnames[0] if hostnames else (lst.hostname if lst is not None and lst.hostname else "example.com")
            return through(gw, lst, _concrete(host), path, method, headers)
    return None
