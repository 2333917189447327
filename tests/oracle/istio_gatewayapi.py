"""Gateway API status, meshtui against istiod: the conditions meshtui says istiod writes on each
route parent and Gateway (meshtui.model.gatewayapi_convert) against the status istiod's gateway
controller computes in the oracle (`gatewayStatus`). Compared per route parentRef (type, status,
reason of each condition) and per Gateway (its conditions, and each listener's conditions and
attached route count). GatewayClass status is istiod's alone (counted as not modelled)."""

from __future__ import annotations

from istio_diff import Diff, Tally

from meshtui.model.snapshot import MeshSnapshot

PROXY = "(gateway api status)"


def _parent_key(route_ns: str, kind: str | None, ns: str | None, name: str, section: str | None, port: int | None) -> str:
    out = f"{kind or 'Gateway'}/{ns or route_ns}/{name}"
    if section:
        out += f"#{section}"
    if port:
        out += f":{port}"
    return out


def _conds(conds) -> list[tuple[str, bool, str]]:
    return sorted((c.type, bool(c.status), c.reason) for c in conds)


def _istio_conds(conds: list[dict]) -> list[tuple[str, bool, str]]:
    return sorted((c["type"], c["status"] == "True", c.get("reason", "")) for c in conds)


def meshtui_status(snap: MeshSnapshot) -> tuple[dict[str, list], dict[str, dict]]:
    """(route parent key -> conditions, Gateway key -> {conditions, listeners})."""
    routes: dict[str, list] = {}
    for rs in snap.gateway_api.route_status:
        r, p = rs.route, rs.parent_ref
        key = f"{r.kind} {r.metadata.namespace}/{r.metadata.name} -> " + _parent_key(
            r.metadata.namespace, p.kind, p.namespace, p.name, p.section_name, p.port)
        routes[key] = _conds(rs.conditions)
    gateways: dict[str, dict] = {}
    for gs in snap.gateway_api.gateway_status:
        gw = gs.gateway
        gateways[f"Gateway {gw.metadata.namespace}/{gw.metadata.name}"] = {
            "conditions": _conds(gs.conditions),
            "listeners": {ls.listener.name: (_conds(ls.conditions), ls.attached_routes) for ls in gs.listeners}}
    return routes, gateways


def istio_status(status: list[dict]) -> tuple[dict[str, list], dict[str, dict], int]:
    routes: dict[str, list] = {}
    gateways: dict[str, dict] = {}
    classes = 0
    for s in status:
        st = s["status"] or {}
        if s["kind"] == "GatewayClass":
            classes += 1
        elif s["kind"] == "Gateway":
            gateways[f"Gateway {s['namespace']}/{s['name']}"] = {
                "conditions": _istio_conds(st.get("conditions", [])),
                "listeners": {ls["name"]: (_istio_conds(ls.get("conditions", [])), ls.get("attachedRoutes", 0))
                              for ls in st.get("listeners", [])}}
        else:
            for p in st.get("parents", []):
                ref = p["parentRef"]
                key = f"{s['kind']} {s['namespace']}/{s['name']} -> " + _parent_key(
                    s["namespace"], ref.get("kind"), ref.get("namespace"), ref["name"], ref.get("sectionName"), ref.get("port"))
                routes[key] = _istio_conds(p.get("conditions", []))
    return routes, gateways, classes


def compare_status(snap: MeshSnapshot, status: list[dict]) -> Tally:
    t = Tally()
    ours_r, ours_g = meshtui_status(snap)
    theirs_r, theirs_g, classes = istio_status(status)
    if classes:
        t.not_modelled["GatewayClass status"] += classes

    def one(key: str, pairs: list[tuple[str, object, object]]) -> None:
        t.compared["gateway_status"] += 1
        bad = [Diff("gateway_status", PROXY, key, f, a, b) for f, a, b in pairs if a != b]
        t.diffs.extend(bad)
        if not bad:
            t.agreed["gateway_status"] += 1

    for key in sorted(set(ours_r) | set(theirs_r)):
        one(key, [("conditions", ours_r.get(key), theirs_r.get(key))])
    for key in sorted(set(ours_g) | set(theirs_g)):
        a, b = ours_g.get(key), theirs_g.get(key)
        if a is None or b is None:
            one(key, [("present", a is not None, b is not None)])
            continue
        pairs: list[tuple[str, object, object]] = [("conditions", a["conditions"], b["conditions"])]
        for name in sorted(set(a["listeners"]) | set(b["listeners"])):
            la, lb = a["listeners"].get(name), b["listeners"].get(name)
            pairs.append((f"listener {name} conditions", la and la[0], lb and lb[0]))
            pairs.append((f"listener {name} attachedRoutes", la and la[1], lb and lb[1]))
        one(key, pairs)
    return t
