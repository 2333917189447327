"""One level of VirtualService delegation (istio-semantics §1.7): a root rule with `delegate`
is replaced by the delegate's rules, their matches merged with the root's."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from meshtui.model.istio import HTTPMatchRequest, HTTPRoute, StringMatch, VirtualService
from meshtui.model.snapshot import MeshSnapshot, exported_to
from meshtui.translate.match import REQUEST_FIELDS, delegate_contained, delegate_merged
from meshtui.translate.routes import RuleSource, vs_rules

_INHERITED = ("rewrite", "direct_response", "timeout", "retries", "fault", "mirror", "mirrors",
              "mirror_percentage", "mirror_percent", "cors_policy", "headers")


def _sm_contained(root: StringMatch | None, child: StringMatch | None) -> bool:
    if root is None:
        return True
    if child is None:
        return False
    if root.regex is not None or child.regex is not None:
        return root.regex is not None and root.regex == child.regex
    if root.exact is not None:
        return child.exact == root.exact
    if root.prefix is not None:
        val = child.exact if child.exact is not None else child.prefix
        return val is not None and val.startswith(root.prefix)
    return True


def _contained(root: HTTPMatchRequest, child: HTTPMatchRequest) -> bool:
    # single-valued request fields must stay inside the root's; maps merge (below)
    for f in REQUEST_FIELDS:
        if not f.keyed and not _sm_contained(f.get(root), f.get(child)):
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
    root rule; a delegate rule whose match is not inside the root's is dropped."""
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
                for dm in drule.match:
                    root_m = next((rm for rm in rule.match if _contained(rm, dm)), None)
                    if root_m is not None:
                        merged_matches.append(_merge_match(root_m, dm))
                if not merged_matches:
                    continue  # conflicts with every root match: dropped
            updates = {f: getattr(rule, f) for f in _INHERITED if getattr(drule, f) in (None, ())}
            name = f"{rule.name}-{drule.name}" if rule.name and drule.name else (drule.name or rule.name)
            merged = replace(drule, match=tuple(merged_matches), name=name, **updates)
            out.append(RuleSource(merged, dvs, f"spec.http[{k}]", i))
    return tuple(out)


__all__ = ["HTTPRoute", "expand"]
