"""One level of VirtualService delegation (istio-semantics §1.7): a root rule with `delegate`
is replaced by the delegate's rules, their matches merged with the root's."""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING, Any

from meshtui.model.istio import Destination, HTTPMatchRequest, HTTPRoute, StringMatch, VirtualService
from meshtui.model.snapshot import MeshSnapshot, exported_to
from meshtui.translate.config import Route
from meshtui.translate.match import REQUEST_FIELDS, delegate_contained, delegate_merged
from meshtui.translate.routes import RouteContext, RuleSource, RuleTemplate, build_vs_routes, vs_rules

if TYPE_CHECKING:
    from meshtui.translate.sidecar import KeptVHost

_INHERITED = ("rewrite", "direct_response", "timeout", "retries", "fault", "mirror", "mirrors",
              "mirror_percentage", "mirror_percent", "cors_policy", "headers")


def _sm_contained(root: StringMatch | None, child: StringMatch | None) -> bool:
    """Not in conflict, as istiod's stringMatchConflict decides: either side unset is fine (the
    child then inherits the root's); a regex on either side admits nothing else on the other; an
    exact root needs the same exact; a prefix root needs a child prefix or exact inside it."""
    if root is None or child is None:
        return True
    r_re, r_ex, r_pre = root.regex or "", root.exact or "", root.prefix or ""
    c_re, c_ex, c_pre = child.regex or "", child.exact or "", child.prefix or ""
    if r_re and (c_re or c_pre or c_ex):
        return False
    if c_re and (r_re or r_pre or r_ex):
        return False
    if r_ex:
        return not c_pre and c_ex == r_ex
    if r_pre:
        if c_pre:
            return c_pre.startswith(r_pre)
        if c_ex:
            return c_ex.startswith(r_pre)
    return False


def _contained(root: HTTPMatchRequest, child: HTTPMatchRequest) -> bool:
    # istiod's hasConflict: single-valued request fields, then each of the child's header,
    # withoutHeaders and query keys against the root's value under the same key
    for f in REQUEST_FIELDS:
        if f.keyed:
            root_map = dict(f.entries(root))
            if not all(_sm_contained(root_map.get(k), v) for k, v in f.entries(child)):
                return False
        elif not _sm_contained(f.get(root), f.get(child)):
            return False
    if root.ignore_uri_case != child.ignore_uri_case:
        return False
    return delegate_contained(root, child)


def _merge_match(root: HTTPMatchRequest, child: HTTPMatchRequest) -> HTTPMatchRequest:
    """The child's request fields over the root's: a single value when the child has none, maps key by key."""
    # Any: replace() checks each keyword against its own field's type, which the table pairs
    merged: dict[str, Any] = {}
    for f in REQUEST_FIELDS:
        rv, cv = getattr(root, f.attr), getattr(child, f.attr)
        merged[f.attr] = {**rv, **cv} if f.keyed else (cv if cv is not None else rv)
    return replace(delegate_merged(root, child), **merged,
                   name=f"{root.name}-{child.name}" if root.name and child.name else (child.name or root.name))


def expand(vs: VirtualService, snapshot: MeshSnapshot) -> tuple[RuleSource, ...]:
    """The rules of `vs` with delegates expanded. A missing or unexported delegate drops only that
    root rule; a delegate rule with a match inside none of the root's matches is dropped."""
    if not any(r.delegate is not None for r in vs.spec.http):
        return vs_rules(vs)
    out: list[RuleSource] = []
    for i, rule in enumerate(vs.spec.http):
        if rule.delegate is None:
            out.append(RuleSource(rule, vs, f"spec.http[{i}]", i))
            continue
        dns = rule.delegate.namespace or vs.namespace
        dvs = snapshot.get("VirtualService", dns, rule.delegate.name)
        if not isinstance(dvs, VirtualService) or dvs.spec.hosts:
            continue
        exp = dvs.spec.export_to or snapshot.mesh.default_virtual_service_export_to
        if not exported_to(frozenset(exp), dvs.namespace, vs.namespace):
            continue
        for k, drule in enumerate(dvs.spec.http):
            if drule.delegate is not None:
                continue
            merged_matches: list[HTTPMatchRequest] = []
            if not rule.match:
                merged_matches = list(drule.match)
            elif not drule.match:
                merged_matches = list(rule.match)
            else:
                # istiod's mergeHTTPMatchRequests: each child match merges with every root match it
                # does not conflict with; one child match that fits no root match drops the rule
                fits_all = True
                for dm in drule.match:
                    found = [_merge_match(rm, dm) for rm in rule.match if _contained(rm, dm)]
                    if not found:
                        fits_all = False
                        break
                    merged_matches.extend(found)
                if not fits_all:
                    continue
            updates = {f: getattr(rule, f) for f in _INHERITED if getattr(drule, f) in (None, ())}
            name = f"{rule.name}-{drule.name}" if rule.name and drule.name else (drule.name or rule.name)
            merged = replace(drule, match=tuple(merged_matches), name=name, **updates)
            out.append(RuleSource(merged, dvs, f"spec.http[{k}]", i))
    return tuple(out)




class RuleTemplates:
    """Each VirtualService's HTTP rules after delegation and their RuleTemplates: what does not
    depend on the proxy or the listener port, made once per snapshot (its VirtualServices, the
    objects delegates are looked up in, MeshConfig) and read by every proxy and port after."""

    def __init__(self, snapshot: MeshSnapshot) -> None:
        self._suffix = snapshot.mesh.domain_suffix
        self._mesh = snapshot.mesh  # kept in the snapshot's index: no reference back to the snapshot
        self._done: dict[tuple[str, str, str], tuple[VirtualService, tuple[RuleSource, ...], tuple[RuleTemplate, ...], bool]] = {}
        # a sidecar's virtual host parts, shared by the proxies that see the same (translate/sidecar.py)
        self.vhosts: dict[tuple[object, ...], KeptVHost] = {}

    @staticmethod
    def of(snapshot: MeshSnapshot) -> RuleTemplates:
        return snapshot.index.memo("rule_templates", (snapshot.virtual_services, snapshot.by_key, snapshot.mesh),
                                   lambda: RuleTemplates(snapshot))

    def _get(self, vs: VirtualService, snapshot: MeshSnapshot
             ) -> tuple[VirtualService, tuple[RuleSource, ...], tuple[RuleTemplate, ...], bool]:
        hit = self._done.get(vs.key)
        if hit is None or hit[0] is not vs:  # keyed by kind/namespace/name, checked to be this very object
            rules = expand(vs, snapshot)
            templates = tuple(RuleTemplate.of(vs, r, self._suffix, self._mesh) for r in rules)
            by_source = any(mt.m is not None and (bool(mt.m.source_labels) or bool(mt.m.source_namespace))
                            for t in templates for mt in t.matches)
            hit = self._done[vs.key] = (vs, rules, templates, by_source)
        return hit

    def get(self, vs: VirtualService, snapshot: MeshSnapshot) -> tuple[tuple[RuleSource, ...], tuple[RuleTemplate, ...]]:
        """`snapshot`: this one's (or one with the same VirtualServices, objects and MeshConfig)."""
        hit = self._get(vs, snapshot)
        return hit[1], hit[2]

    def by_source(self, vs: VirtualService, snapshot: MeshSnapshot) -> bool:
        """Does a match of `vs` name sourceLabels or sourceNamespace (its routes then depend on the proxy's)?"""
        return self._get(vs, snapshot)[3]

    def routes(self, vs: VirtualService, snapshot: MeshSnapshot, ctx: RouteContext) -> list[Route]:
        """build_vs_routes of `vs` on the listener `ctx` builds (new Route objects each call)."""
        rules, templates = self.get(vs, snapshot)
        return build_vs_routes(vs, rules, ctx, templates)


def vs_destinations(vs: VirtualService, snapshot: MeshSnapshot) -> list[tuple[Destination, str]]:
    """The destinations of `vs` as istiod's virtualServiceDestinations reads them, after merging
    its delegates: HTTP route destinations, TCP and TLS route destinations, then HTTP mirrors
    (`mirror`, then `mirrors`), each with the namespace its short host resolves in (a delegate's
    rule: the delegate's own, istiod resolving short names before merging). What a SidecarScope
    imports through a VirtualService (outbound clusters, the inbound cluster's DestinationRule)."""
    http = ([(src.rule, src.owner.namespace) for src in RuleTemplates.of(snapshot).get(vs, snapshot)[0]]
            if any(rule.delegate is not None for rule in vs.spec.http) else [(rule, vs.namespace) for rule in vs.spec.http])
    out = [(d.destination, ns) for rule, ns in http for d in rule.route if d.destination is not None]
    out += [(d.destination, vs.namespace) for rule in vs.spec.tcp for d in rule.route if d.destination is not None]
    out += [(d.destination, vs.namespace) for rule in vs.spec.tls for d in rule.route if d.destination is not None]
    out += [(rule.mirror, ns) for rule, ns in http if rule.mirror is not None]
    out += [(m.destination, ns) for rule, ns in http for m in rule.mirrors if m.destination is not None]
    return out


__all__ = ["HTTPRoute", "RuleTemplates", "expand", "vs_destinations"]
