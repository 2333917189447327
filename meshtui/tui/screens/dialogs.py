"""Dialogs: a fuzzy picker (source workload, gateway, context), a confirmation, the add-fault form
and the Sidecar-scope editor with its preview of the hosts each workload gains and loses."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.screen import ModalScreen
from textual.suggester import SuggestFromList
from textual.widgets import Button, Input, Label, OptionList, Select, Static
from textual.widgets.option_list import Option

from meshtui.tui.screens.base import make_matcher


def _prepare(screen) -> None:
    prepare = getattr(screen.app, "prepare_screen", None)
    if prepare is not None:
        prepare(screen)


class PickerScreen(ModalScreen[str | None]):
    """Type to narrow the list, ⏎ picks, esc cancels."""

    BINDINGS = [Binding("escape", "cancel", "Cancel", id="picker.cancel"),
                Binding("down", "down", "Down", show=False, id="picker.down"),
                Binding("up", "up", "Up", show=False, id="picker.up")]

    def __init__(self, title: str, items: list[str], current: str = "") -> None:
        super().__init__(classes="dialog")
        self.title_text = title
        self.items = items
        self.current = current

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog-box"):
            yield Static(Content.styled(f" Pick a {self.title_text}", "bold"), classes="dialog-title")
            yield Input(placeholder="type to filter", id="picker-filter", compact=True)
            yield OptionList(id="picker-list")

    def on_mount(self) -> None:
        _prepare(self)
        self._fill("")
        self.query_one(Input).focus()

    def _fill(self, text: str) -> None:
        match = make_matcher(text)
        ol = self.query_one(OptionList)
        ol.clear_options()
        shown = [i for i in self.items if match(i)][:500]
        ol.add_options([Option(Content.styled(i, "bold" if i == self.current else ""), id=i) for i in shown])
        if shown:
            ol.highlighted = shown.index(self.current) if self.current in shown else 0

    def on_input_changed(self, event: Input.Changed) -> None:
        self._fill(event.value)

    def on_input_submitted(self, _event: Input.Submitted) -> None:
        ol = self.query_one(OptionList)
        if ol.highlighted is not None:
            self.dismiss(ol.get_option_at_index(ol.highlighted).id)

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(event.option.id)

    def action_down(self) -> None:
        self.query_one(OptionList).action_cursor_down()

    def action_up(self) -> None:
        self.query_one(OptionList).action_cursor_up()

    def action_cancel(self) -> None:
        self.dismiss(None)


class ConfirmScreen(ModalScreen[bool]):
    BINDINGS = [Binding("escape,n", "answer(False)", "No", id="confirm.no"),
                Binding("y", "answer(True)", "Yes", id="confirm.yes")]

    def __init__(self, question: str, detail: str = "") -> None:
        super().__init__(classes="dialog")
        self.question = question
        self.detail = detail

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog-box dialog-small"):
            yield Static(Content.styled(f" {self.question}", "bold"), classes="dialog-title")
            if self.detail:
                yield Static(Content.styled(self.detail, "$text-muted"), classes="dialog-text")
            with Horizontal(classes="dialog-buttons"):
                yield Button("Yes (y)", variant="error", id="yes", compact=True)
                yield Button("No (n)", id="no", compact=True)

    def on_mount(self) -> None:
        _prepare(self)
        self.query_one("#no", Button).focus()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id == "yes")

    def action_answer(self, yes: bool) -> None:
        self.dismiss(yes)


# ---------------------------------------------------------------------- faults


@dataclass
class FaultPreset:
    virtual_service: str | None = None  # ns/name
    rule: int | None = None
    host: str | None = None
    subset: str | None = None


def vs_rule_options(snap) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    for vs in snap.virtual_services:
        ref = f"{vs.namespace}/{vs.name}"
        out.append((f"{ref} (every rule)", f"{ref}#*"))
        for i, r in enumerate(vs.spec.http):
            out.append((f"{ref} rule {i}{' (' + r.name + ')' if r.name else ''}", f"{ref}#{i}"))
    return out


def host_options(snap) -> list[tuple[str, str]]:
    hosts = sorted({rs.hostname for rs in snap.registry if not rs.hostname.startswith("*")})
    return [(h, h) for h in hosts]


def subsets_for(snap, host: str) -> list[str]:
    from meshtui.model.hosts import resolve_short

    out: list[str] = []
    for dr in snap.destination_rules:
        if resolve_short(dr.spec.host, dr.namespace, snap.mesh.domain_suffix) == host:
            out.extend(s.name for s in dr.spec.subsets)
    return sorted(set(out))


def parse_fault_form(target: str, vs_rule: str | None, host: str | None, subset: str, kind: str, value: str,
                     percent: str, ttl: str, reason: str) -> dict | str:
    """The add_fault() keyword arguments, or a sentence saying which field is wrong."""
    from meshtui.edits.ttl import parse_duration

    out: dict = {"reason": reason.strip()}
    if target == "vs":
        if not vs_rule:
            return "pick a VirtualService rule"
        ref, _, idx = vs_rule.partition("#")
        out["virtual_service"] = ref
        out["rule"] = None if idx in ("*", "") else int(idx)
    else:
        if not host:
            return "pick a host"
        out["host"] = host
        out["subset"] = subset.strip() or None
    if kind == "abort":
        try:
            status = int(value)
        except ValueError:
            return f"abort status {value!r} is not a number (e.g. 503)"
        if not 200 <= status <= 599:
            return f"abort status {status} is not an HTTP status between 200 and 599"
        out["abort"] = status
    else:
        try:
            out["delay"] = parse_duration(value)
        except ValueError as exc:
            return f"delay: {exc}"
        if out["delay"] <= 0:
            return "delay must be longer than 0s"
    try:
        p = float(percent)
    except ValueError:
        return f"percent {percent!r} is not a number"
    if not 0 < p <= 100:
        return "percent must be more than 0 and at most 100"
    out["percent"] = p
    try:
        out["ttl"] = parse_duration(ttl or "10m")
    except ValueError as exc:
        return f"ttl: {exc}"
    if out["ttl"] <= 0:
        return "ttl must be longer than 0s"
    return out


class AddFaultScreen(ModalScreen[dict | None]):
    """The add-fault form. Dismisses with add_fault() keyword arguments."""

    BINDINGS = [Binding("escape", "cancel", "Cancel", id="fault.cancel"),
                Binding("ctrl+s", "submit", "Add", id="fault.submit")]

    def __init__(self, snapshot, preset: FaultPreset | None = None) -> None:
        super().__init__(classes="dialog")
        self.snap = snapshot
        self.preset = preset or FaultPreset()

    def compose(self) -> ComposeResult:
        p = self.preset
        rules = vs_rule_options(self.snap)
        hosts = host_options(self.snap)
        target = "host" if p.host or not rules else "vs"
        rule_value = f"{p.virtual_service}#{'*' if p.rule is None else p.rule}" if p.virtual_service else (rules[0][1] if rules else Select.BLANK)
        if rules and rule_value not in [v for _, v in rules]:
            rule_value = rules[0][1]
        host_value = p.host if p.host in [h for h, _ in hosts] else (hosts[0][1] if hosts else Select.BLANK)
        with Vertical(classes="dialog-box"):
            yield Static(Content.styled(" Add a fault (pushed to every affected proxy)", "bold"), classes="dialog-title")
            with Horizontal(classes="form-row"):
                yield Label("target", classes="form-label")
                yield Select([("a VirtualService rule", "vs"), ("a host / subset", "host")], value=target,
                             allow_blank=False, compact=True, id="f-target")
            with Horizontal(classes="form-row", id="row-vs"):
                yield Label("rule", classes="form-label")
                yield Select(rules, value=rule_value, allow_blank=not rules, compact=True, id="f-rule")
            with Horizontal(classes="form-row", id="row-host"):
                yield Label("host", classes="form-label")
                yield Select(hosts, value=host_value, allow_blank=not hosts, compact=True, id="f-host")
            with Horizontal(classes="form-row", id="row-subset"):
                yield Label("subset", classes="form-label")
                yield Input(p.subset or "", placeholder="(every subset)", compact=True, id="f-subset")
            with Horizontal(classes="form-row"):
                yield Label("kind", classes="form-label")
                yield Select([("abort", "abort"), ("delay", "delay")], value="abort", allow_blank=False,
                             compact=True, id="f-kind")
                yield Label("value", classes="form-label-short")
                yield Input("503", compact=True, id="f-value")
            with Horizontal(classes="form-row"):
                yield Label("percent", classes="form-label")
                yield Input("100", compact=True, id="f-percent")
                yield Label("ttl", classes="form-label-short")
                yield Input("10m", compact=True, id="f-ttl")
            with Horizontal(classes="form-row"):
                yield Label("reason", classes="form-label")
                yield Input(placeholder="why (goes to the journal)", compact=True, id="f-reason")
            yield Static(id="f-error", classes="dialog-error")
            with Horizontal(classes="dialog-buttons"):
                yield Button("Add fault (ctrl+s)", variant="warning", id="add", compact=True)
                yield Button("Cancel (esc)", id="cancel", compact=True)

    def on_mount(self) -> None:
        _prepare(self)
        self._toggle()
        self._subset_suggestions()
        self.query_one("#f-target", Select).focus()

    def _toggle(self) -> None:
        vs = self.query_one("#f-target", Select).value == "vs"
        self.query_one("#row-vs").display = vs
        self.query_one("#row-host").display = not vs
        self.query_one("#row-subset").display = not vs

    def _subset_suggestions(self) -> None:
        host = self.query_one("#f-host", Select).value
        subs = subsets_for(self.snap, host) if isinstance(host, str) else []
        self.query_one("#f-subset", Input).suggester = SuggestFromList(subs) if subs else None
        self.query_one("#f-subset", Input).placeholder = f"(every subset){': ' + ', '.join(subs) if subs else ''}"

    def on_select_changed(self, event: Select.Changed) -> None:
        if event.select.id == "f-target":
            self._toggle()
        elif event.select.id == "f-host":
            self._subset_suggestions()
        elif event.select.id == "f-kind":
            value = self.query_one("#f-value", Input)
            value.value = "503" if event.value == "abort" else "2s"

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "add":
            self.action_submit()
        else:
            self.dismiss(None)

    def on_input_submitted(self, _event: Input.Submitted) -> None:
        self.action_submit()

    def action_submit(self) -> None:
        def val(sel: str):
            v = self.query_one(sel, Select).value
            return v if isinstance(v, str) else None

        res = parse_fault_form(val("#f-target") or "vs", val("#f-rule"), val("#f-host"),
                               self.query_one("#f-subset", Input).value, val("#f-kind") or "abort",
                               self.query_one("#f-value", Input).value.strip(),
                               self.query_one("#f-percent", Input).value.strip(),
                               self.query_one("#f-ttl", Input).value.strip(),
                               self.query_one("#f-reason", Input).value)
        if isinstance(res, str):
            self.query_one("#f-error", Static).update(Content.styled(f" {res}", "bold $error"))
            return
        self.dismiss(res)

    def action_cancel(self) -> None:
        self.dismiss(None)


# ---------------------------------------------------------------------- Sidecar scope


@dataclass
class ScopePreview:
    workloads: list[str] = field(default_factory=list)
    gained: dict[str, list[str]] = field(default_factory=dict)
    lost: dict[str, list[str]] = field(default_factory=dict)
    policy: dict[str, tuple[str, str]] = field(default_factory=dict)  # workload -> (before, after)
    error: str = ""


def _hosts(cfg) -> set[str]:
    return {c.host for c in cfg.clusters.values() if c.host and c.direction == "outbound"}


def scope_preview(snapshot, namespace: str, labels: dict[str, str], egress: list[str], policy: str | None,
                  now: float, limit: int = 4) -> ScopePreview:
    """For each workload the edit would apply to: the hosts its proxy gains and loses."""
    from meshtui.edits.model import ScopeEdit
    from meshtui.edits.overlay import apply_edits
    from meshtui.heap import keeping
    from meshtui.model.snapshot import labels_match
    from meshtui.translate import TranslateOptions, translate

    out = ScopePreview()
    edit = ScopeEdit(id="preview", namespace=namespace, egress_hosts=tuple(egress),
                     outbound_traffic_policy=policy, workload_labels=dict(labels), created_at=now)
    try:
        after_snap = apply_edits(snapshot, [edit], now)
    except Exception as exc:  # noqa: BLE001 - the preview reports any failure of the edit instead of closing
        out.error = f"the edit cannot be applied: {exc}"
        return out
    from meshtui.translate.gateway import is_gateway_workload

    wls = [w for w in snapshot.workloads if w.namespace == namespace and (not labels or labels_match(labels, w.labels))
           and not is_gateway_workload(snapshot, w)]
    seen_labels: set = set()
    for w in wls:
        sig = tuple(sorted(w.labels.items()))
        if sig in seen_labels:
            continue
        seen_labels.add(sig)
        if len(out.workloads) >= limit:
            break
        try:
            with keeping():
                b = translate(snapshot, w, TranslateOptions(proxy_type="sidecar"))
                a = translate(after_snap, w, TranslateOptions(proxy_type="sidecar"))
        except Exception as exc:  # noqa: BLE001 - one workload that cannot translate must not hide the others
            out.error = f"{w.ref}: cannot translate ({exc})"
            continue
        hb, ha = _hosts(b), _hosts(a)
        out.workloads.append(w.ref)
        out.gained[w.ref] = sorted(ha - hb)
        out.lost[w.ref] = sorted(hb - ha)
        out.policy[w.ref] = (b.outbound_policy, a.outbound_policy)
    return out


def parse_scope_form(namespace: str | None, labels: str, egress: str, policy: str | None, ttl: str,
                     reason: str) -> dict | str:
    from meshtui.edits.ttl import parse_duration

    if not namespace:
        return "pick a namespace"
    lab: dict[str, str] = {}
    for part in (p.strip() for p in labels.split(",") if p.strip()):
        k, sep, v = part.partition("=")
        if not sep or not k.strip():
            return f"workload label {part!r} is not key=value"
        lab[k.strip()] = v.strip()
    hosts = [h.strip() for h in egress.replace(" ", ",").split(",") if h.strip()]
    for h in hosts:
        if "/" not in h:
            return f"egress host {h!r} must be namespace/host (./ for this namespace, */ for any)"
    out: dict = {"namespace": namespace, "workload_labels": lab, "egress_hosts": hosts,
                 "outbound_policy": policy if policy in ("ALLOW_ANY", "REGISTRY_ONLY") else None,
                 "reason": reason.strip()}
    if not hosts and out["outbound_policy"] is None:
        return "give egress hosts, an outbound policy, or both"
    if ttl.strip():
        try:
            out["ttl"] = parse_duration(ttl.strip())
        except ValueError as exc:
            return f"ttl: {exc}"
    return out


class ScopeScreen(ModalScreen[dict | None]):
    """The Sidecar-scope editor: what the proxies of a namespace may see, with a live preview."""

    BINDINGS = [Binding("escape", "cancel", "Cancel", id="scope.cancel"),
                Binding("ctrl+s", "submit", "Apply", id="scope.submit")]

    def __init__(self, snapshot, namespace: str | None = None) -> None:
        super().__init__(classes="dialog")
        self.snap = snapshot
        self.namespace = namespace

    def compose(self) -> ComposeResult:
        nss = sorted({w.namespace for w in self.snap.workloads})
        ns = self.namespace if self.namespace in nss else (nss[0] if nss else Select.BLANK)
        with Vertical(classes="dialog-box"):
            yield Static(Content.styled(" Sidecar scope: the hosts these proxies can reach", "bold"), classes="dialog-title")
            with Horizontal(classes="form-row"):
                yield Label("namespace", classes="form-label")
                yield Select([(n, n) for n in nss], value=ns, allow_blank=not nss, compact=True, id="s-ns")
            with Horizontal(classes="form-row"):
                yield Label("workloads", classes="form-label")
                yield Input(placeholder="labels, e.g. app=productpage (empty: the whole namespace)", compact=True, id="s-labels")
            with Horizontal(classes="form-row"):
                yield Label("egress", classes="form-label")
                yield Input("./*, istio-system/*", placeholder="ns/host, comma-separated (./* = this namespace)",
                            compact=True, id="s-egress")
            with Horizontal(classes="form-row"):
                yield Label("outbound", classes="form-label")
                yield Select([("unchanged", "-"), ("ALLOW_ANY", "ALLOW_ANY"), ("REGISTRY_ONLY", "REGISTRY_ONLY")],
                             value="-", allow_blank=False, compact=True, id="s-policy")
                yield Label("ttl", classes="form-label-short")
                yield Input(placeholder="none", compact=True, id="s-ttl")
            with Horizontal(classes="form-row"):
                yield Label("reason", classes="form-label")
                yield Input(placeholder="why (goes to the journal)", compact=True, id="s-reason")
            yield Static(id="s-preview", classes="dialog-text")
            yield Static(id="s-error", classes="dialog-error")
            with Horizontal(classes="dialog-buttons"):
                yield Button("Apply scope (ctrl+s)", variant="warning", id="apply", compact=True)
                yield Button("Cancel (esc)", id="cancel", compact=True)

    def on_mount(self) -> None:
        _prepare(self)
        self.query_one("#s-egress", Input).focus()
        self._preview()

    def _form(self) -> dict | str:
        ns = self.query_one("#s-ns", Select).value
        pol = self.query_one("#s-policy", Select).value
        return parse_scope_form(ns if isinstance(ns, str) else None, self.query_one("#s-labels", Input).value,
                                self.query_one("#s-egress", Input).value, pol if isinstance(pol, str) else None,
                                self.query_one("#s-ttl", Input).value, self.query_one("#s-reason", Input).value)

    def on_input_changed(self, event: Input.Changed) -> None:
        if event.input.id in ("s-labels", "s-egress"):
            self._preview()

    def on_select_changed(self, _event: Select.Changed) -> None:
        self._preview()

    def _preview(self) -> None:
        form = self._form()
        box = self.query_one("#s-preview", Static)
        if isinstance(form, str):
            box.update(Content.styled(f" preview: {form}", "$text-muted"))
            return
        box.update(Content.styled(" preview: computing…", "$text-muted"))
        self._compute(form)

    @work(thread=True, exclusive=True, group="scope-preview", exit_on_error=False, description="_compute")
    def _compute(self, form: dict) -> None:
        p = scope_preview(self.snap, form["namespace"], form["workload_labels"], form["egress_hosts"],
                          form["outbound_policy"], time.time())
        self.app.call_from_thread(self._show_preview, p)

    def _show_preview(self, p: ScopePreview) -> None:
        box = self.query_one("#s-preview", Static)
        if p.error and not p.workloads:
            box.update(Content.styled(f" {p.error}", "$error"))
            return
        if not p.workloads:
            box.update(Content.styled(" no workload in that namespace matches those labels", "$warning"))
            return
        lines: list[Content] = []
        for w in p.workloads:
            gained, lost = p.gained[w], p.lost[w]
            before, after = p.policy[w]
            head = Content.assemble((f" {w}", "bold"), (f"  outbound {before}" + (f" → {after}" if after != before else ""), "$text-muted"))
            lines.append(head)
            lines.append(Content.assemble(("   + ", "bold $success"),
                                          (", ".join(_short(h) for h in gained[:8]) or "nothing gained", "$success" if gained else "$text-muted"),
                                          (f" (+{len(gained) - 8} more)" if len(gained) > 8 else "", "$text-muted")))
            lines.append(Content.assemble(("   - ", "bold $error"),
                                          (", ".join(_short(h) for h in lost[:8]) or "nothing lost", "$error" if lost else "$text-muted"),
                                          (f" (+{len(lost) - 8} more)" if len(lost) > 8 else "", "$text-muted")))
        box.update(Content("\n").join(lines))

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "apply":
            self.action_submit()
        else:
            self.dismiss(None)

    def on_input_submitted(self, _event: Input.Submitted) -> None:
        self.action_submit()

    def action_submit(self) -> None:
        form = self._form()
        if isinstance(form, str):
            self.query_one("#s-error", Static).update(Content.styled(f" {form}", "bold $error"))
            return
        self.dismiss(form)

    def action_cancel(self) -> None:
        self.dismiss(None)


def _short(host: str) -> str:
    return host.removesuffix(".svc.cluster.local")
