"""Gateway checks: selectors that match no workload (IST0101), servers that clash with another
Gateway's (IST0145), and ports the gateway's Service does not expose (IST0162)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator

from meshtui.analyze import hosts
from meshtui.analyze.context import Context
from meshtui.analyze.message import Message
from meshtui.analyze.registry import analyzer
from meshtui.model.istio import Gateway
from meshtui.model.snapshot import labels_match


def selector_text(sel: dict[str, str]) -> str:
    """As Kubernetes prints a label selector: `app=x,istio=ingressgateway` (keys sorted)."""
    return ",".join(f"{k}={v}" for k, v in sorted(sel.items()))


def _service_ports(ctx: Context, workloads) -> set[int]:
    """TCP ports of the Services that select these workloads: service ports and target ports
    (the server port may be either, by the legacy and the current convention)."""
    ports: set[int] = set()
    by_ns: dict[str, list] = {}
    for w in workloads:
        by_ns.setdefault(w.namespace, []).append(w)
    for svc in ctx.snap.services:
        pool = by_ns.get(svc.namespace)
        if not pool or not svc.spec.selector:
            continue
        if any(labels_match(svc.spec.selector, w.labels) for w in pool):
            for p in svc.spec.ports:
                if p.protocol.upper() != "TCP":
                    continue
                ports.add(p.port)
                if isinstance(p.target_port, int):
                    ports.add(p.target_port)
                elif isinstance(p.target_port, str) and p.target_port.isdigit():
                    ports.add(int(p.target_port))
    return ports


@analyzer("gateway.IngressGatewayPort", ("IST0101", "IST0162"),
          "Checks that a Gateway's selector matches workloads and that their Service exposes each server port")
def ingress_gateway_port(ctx: Context) -> Iterator[Message]:
    seen: dict[str, tuple[list, set[int]]] = {}
    for gw in ctx.snap.gateways:
        sel = gw.spec.selector
        if not sel:
            continue  # an empty selector selects every workload
        key = selector_text(sel)
        if key not in seen:
            workloads = ctx.selected_workloads(sel)
            seen[key] = (workloads, _service_ports(ctx, workloads) if workloads else set())
        workloads, ports = seen[key]
        if not workloads:
            yield ctx.message("IST0101", gw,
                              f"Referenced selector not found: \"{key}\". No pod or Deployment in any namespace "
                              "has these labels, so no gateway proxy serves this Gateway. Fix the selector or deploy the "
                              "gateway (e.g. the istio-ingressgateway of your Istio install).", path="spec.selector")
            continue
        for srv in gw.spec.servers:
            if srv.port is None or srv.port.number in ports:
                continue
            exposed = ", ".join(map(str, sorted(ports))) or "no ports (no Service selects the gateway workloads)"
            yield ctx.message("IST0162", gw,
                              f"The gateway is listening on a target port (port {srv.port.number}) that is not defined in the "
                              f"Service associated with its workload instances (Pod selector {key}). If you "
                              f"need to access the gateway port through the gateway Service, it will not be available: the "
                              f"Service exposes {exposed}. Add the port to the Service or use one it exposes.",
                              srv.port)


def _split(h: str) -> tuple[str, str]:
    ns, slash, dns = h.rpartition("/")
    return (ns if slash else "*"), dns


def _hosts_clash(a: str, b: str, ns_a: str, ns_b: str) -> bool:
    na, da = _split(a)
    nb, db = _split(b)
    na = ns_a if na == "." else na
    nb = ns_b if nb == "." else nb
    return (na == "*" or nb == "*" or na == nb) and hosts.matches(da, db)


@analyzer("gateway.ConflictingGateways", ("IST0145",),
          "Checks that Gateways selecting the same workloads do not define the same port and host twice")
def conflicting_gateways(ctx: Context) -> Iterator[Message]:
    groups: dict[tuple[str, int, str], list[tuple[Gateway, int]]] = defaultdict(list)
    for gw in ctx.snap.gateways:
        for i, srv in enumerate(gw.spec.servers):
            if srv.port is not None:
                groups[(selector_text(gw.spec.selector), srv.port.number, srv.bind)].append((gw, i))
    for (sel, port, _), entries in groups.items():
        for gw, i in entries:
            srv = gw.spec.servers[i]
            others = sorted({o.ref for o, k in entries if o is not gw
                             and any(_hosts_clash(a, b, gw.namespace, o.namespace)
                                     for a in srv.hosts for b in o.spec.servers[k].hosts)})
            if not others:
                continue
            yield ctx.message("IST0145", gw,
                              f"Conflict with gateways {','.join(others)} (workload selector {sel or '(all workloads)'}, port "
                              f"{port}, hosts {','.join(srv.hosts)}). The gateway proxy merges them and, where hosts overlap, one "
                              "server's settings silently win, so which TLS settings and routes apply is undefined; merge "
                              "the servers into one Gateway or make their hosts distinct.", srv)
