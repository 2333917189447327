"""MT0101: rules no request can reach, found by replaying requests through the tracer.

For each rule, witnesses are built from the rule's own match (witness.py) and simulated from a
proxy that sees the VirtualService: a sidecar probe for mesh rules, the gateway's workload for
gateway rules. A witness that lands on the rule proves it reachable. One that lands on an earlier
rule is varied to break that rule's conditions while keeping its own, and replayed. A rule is
reported only when every witness, for every match and every proxy it applies to, ended on an
earlier rule: any other outcome (another VirtualService owns the host, no route, a witness that
could not be built) leaves the rule unreported, so the check never guesses."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import partial

from meshtui.analyze import hosts
from meshtui.analyze.context import Context, export_set
from meshtui.analyze.message import Message
from meshtui.analyze.registry import analyzer
from meshtui.analyze.rules import match_implies, static_dead
from meshtui.analyze.tracing import Tracer, default_tracer
from meshtui.analyze.walk import rule_label
from meshtui.analyze.witness import Judge, variants, witnesses
from meshtui.model.istio import Gateway, HTTPMatchRequest, VirtualService
from meshtui.model.protocol import is_http
from meshtui.model.snapshot import exported_to
from meshtui.simulate import Request
from meshtui.translate.config import ProxyConfig
from meshtui.translate.match import ProxySide, http_verdict, source_covers

BUDGET = 64  # replays through the tracer per (match, proxy)
EXAMINE_LIMIT = 3000  # candidate requests judged per (match, proxy), most of them locally
_HTTP_SERVERS = {"HTTP", "HTTP2", "GRPC", "GRPC-WEB"}


@dataclass
class Search:
    verdict: str = "unknown"  # reached | shadowed | unknown
    captors: set[tuple[str, str, int]] = field(default_factory=set)  # (vs ns, vs name, rule)
    example: str = ""
    tries: int = 0


def _gateways_of(m: HTTPMatchRequest | None, vs: VirtualService) -> list[str]:
    names = (m.gateways if m is not None and m.gateways else vs.spec.gateways) or ("mesh",)
    return sorted({hosts.gateway_ref(g, vs.namespace) for g in names})


def _config_time_implied(captor: HTTPMatchRequest | None, m: HTTPMatchRequest | None, only_ns: str | None) -> bool:
    """Would every proxy that keeps `m` also keep `captor`? (Else another proxy escapes it.)"""
    return source_covers(captor, m, only_ns)


def _describe(req: Request) -> str:
    hdrs = "".join(f" -H '{k}: {v}'" for k, v in sorted(req.headers.items()))
    q = f"?{req.query}" if req.query else ""
    return f"{req.method} {req.scheme}://{req.host}:{req.port}{req.path}{q}{hdrs}"


class Prober:
    def __init__(self, ctx: Context, tracer: Tracer) -> None:
        self.ctx = ctx
        self.tracer = tracer
        self.judge = Judge()  # every match translated once per analysis

    def search(self, vs: VirtualService, i: int, m: HTTPMatchRequest | None, config: ProxyConfig,
               targets: list[tuple[str, int]],
               ports: list[int], gateway: bool, only_ns: str | None) -> Search:
        res = Search()
        for host, port in targets:
            queue = witnesses(m, host, port, judge=self.judge)
            if not queue:
                return res  # no witness could be built (an unusual regex): do not guess
            seen: set[tuple[str, str, str, tuple[tuple[str, str], ...], int | None]] = set()
            known: list[tuple[HTTPMatchRequest | None, tuple[str, str, int]]] = []  # captors met so far
            examined = 0
            landed_here = abandoned = False
            while queue:
                req = queue.pop(0)
                key = (req.method, req.path, req.query, tuple(sorted(req.headers.items())), req.port)
                if key in seen:
                    continue
                seen.add(key)
                examined += 1
                if examined > EXAMINE_LIMIT:
                    return Search()  # too many candidates to settle it: not proven
                # a candidate an already-met earlier match accepts lands there or earlier: no replay needed
                hit = next(((e, who) for e, who in known
                            if (e is None or e.port is None or e.port == req.port) and self.judge.satisfies(e, req)), None)
                if hit is not None:
                    captor = hit[0]
                else:
                    if res.tries >= BUDGET:
                        return Search()  # ran out of replays with candidates left: not proven
                    res.tries += 1
                    try:
                        trace = self.tracer.run(config, req)
                    except Exception:  # noqa: BLE001 - a request the tracer refuses proves nothing
                        return Search()
                    ref = trace.route_ref
                    if ref is None or ref.kind != "VirtualService" or trace.rule_index is None:
                        abandoned = True  # 404, passthrough, default route: this host is not routed by the VS here
                        break
                    same = (ref.namespace, ref.name) == (vs.namespace, vs.name)
                    if same and trace.rule_index == i:
                        return Search("reached", set(), "", res.tries)
                    if same and trace.rule_index > i:
                        return Search()  # the tracer disagrees with the witness: do not guess
                    if not same and not gateway:
                        abandoned = True  # another VirtualService owns this host for sidecars (IST0109's business)
                        break
                    owner = vs if same else _virtual_service(self.ctx, ref.namespace, ref.name)
                    captor = None
                    if owner is not None and trace.rule_index < len(owner.spec.http):
                        rule = owner.spec.http[trace.rule_index]
                        if rule.match and trace.match_index is not None and trace.match_index < len(rule.match):
                            captor = rule.match[trace.match_index]
                    if not _config_time_implied(captor, m, only_ns):
                        return Search("reached", set(), "", res.tries)  # a proxy without the captor reaches it
                    who = (ref.namespace, ref.name, trace.rule_index)
                    known.append((captor, who))
                    res.captors.add(who)
                    if not res.example:
                        label = rule_label(owner.spec.http[trace.rule_index].name if owner else "", trace.rule_index)
                        where = f"rule {label}" if same else f"VirtualService {ref.namespace}/{ref.name} rule {label}"
                        res.example = f"{_describe(req)} → {where}"
                landed_here = True
                for v in variants(m, req, captor, ports, self.judge):
                    if (v.method, v.path, v.query, tuple(sorted(v.headers.items())), v.port) not in seen:
                        queue.append(v)
            if landed_here and not queue and not abandoned:
                res.verdict = "shadowed"
                return res
        return Search()

    def sidecar_targets(self, vs: VirtualService, m: HTTPMatchRequest | None, ns: str) -> tuple[list[tuple[str, int]], list[int]]:
        out: list[tuple[str, int]] = []
        ports: list[int] = []
        for h in vs.spec.hosts:
            fq = self.ctx.fqdn(h, vs.namespace)
            svcs = self.ctx.services(fq, [ns])
            if fq.startswith("*"):
                if not svcs:
                    continue
                fq = svcs[0].hostname
            http_ports = [p.port for s in svcs[:1] for p in s.ports if is_http(p.protocol) or p.protocol == "UNSUPPORTED"]
            if not svcs:
                http_ports = [80]  # hosts outside the registry only get a virtual host on port 80
            if m is not None and m.port is not None:
                http_ports = [m.port] if (m.port in http_ports or not svcs) else []
            for p in http_ports:
                out.append((fq, p))
            ports.extend(http_ports)
        return out[:2], sorted(set(ports))

    def gateway_targets(self, vs: VirtualService, m: HTTPMatchRequest | None,
                        gw: Gateway) -> tuple[list[tuple[str, int]], list[int]]:
        out: list[tuple[str, int]] = []
        vs_hosts = [self.ctx.fqdn(h, vs.namespace) for h in vs.spec.hosts]
        for srv in gw.spec.servers:
            if srv.port is None or srv.port.protocol.upper() not in _HTTP_SERVERS:
                continue
            if m is not None and m.port is not None and m.port != srv.port.number:
                continue
            for sh in srv.hosts:
                ns, _, dns = sh.rpartition("/")
                if ns not in ("", "*", ".", vs.namespace) or (ns == "." and gw.namespace != vs.namespace):
                    continue
                for vh in vs_hosts:
                    if not hosts.matches(dns, vh):
                        continue
                    concrete = vh if not vh.startswith("*") else (dns if not dns.startswith("*") else None)
                    if concrete is None:
                        narrow = vh if len(vh) >= len(dns) else dns
                        concrete = "meshtui-probe.example.com" if narrow == "*" else "meshtui-probe" + narrow[1:]
                    out.append((concrete, srv.port.number))
        ports = sorted({p for _, p in out})
        return out[:2], ports


def _virtual_service(ctx: Context, namespace: str, name: str) -> VirtualService | None:
    got = ctx.snap.get("VirtualService", namespace, name)
    return got if isinstance(got, VirtualService) else None


def _config(build: Callable[[], ProxyConfig]) -> ProxyConfig | None:
    """A probe's proxy config, or None if the translator cannot build it (then nothing is claimed)."""
    try:
        return build()
    except Exception:  # noqa: BLE001 - a config the translator refuses is reported by other checks
        return None


def _gateway_rivals(ctx: Context, vs: VirtualService, gw_ref: str) -> bool:
    """Does another VirtualService bind this gateway for an overlapping host? (The gateway then
    merges its routes with this one's, and only the tracer can tell the order.)"""
    mine = [ctx.fqdn(h, vs.namespace) for h in vs.spec.hosts]
    for other in ctx.vs_by_gateway.get(gw_ref, ()):
        if other is vs:
            continue
        if any(hosts.matches(ctx.fqdn(h, other.namespace), x) for h in other.spec.hosts for x in mine):
            return True
    return False


def _applies(e: HTTPMatchRequest | None, port: int, ns: str, labels: dict[str, str], gateway: str = "mesh",
             vs_ns: str = "") -> bool:
    """Could an earlier match `e` be in the probe's config for this port (config-time filters)?"""
    return bool(http_verdict(e, ProxySide(port, frozenset({gateway}), labels, ns), vs_ns or ns))


def _escapes_locally(judge: Judge, vs: VirtualService, i: int, m: HTTPMatchRequest | None, targets: list[tuple[str, int]],
                     ns: str,
                     gateway: str = "mesh") -> bool:
    """A shortcut before translating a proxy: is there a witness that no earlier rule of this
    VirtualService can take, judged by the tracer's own matcher? Then the rule is reachable (a
    sidecar applies one VirtualService per host, in order), and nothing needs replaying. It only
    ever clears a rule; reports always come from replayed traces."""
    labels = dict(m.source_labels) if m is not None else {}
    earlier = [e for k in range(i) for e in (vs.spec.http[k].match or (None,))]
    for host, port in targets[:1]:
        for w in witnesses(m, host, port, judge=judge):
            if not any(_applies(e, port, ns, labels, gateway, vs.namespace) and judge.satisfies(e, w) for e in earlier):
                return True
    return False


@analyzer("virtualservice.ShadowedRules", ("MT0101",),
          "Finds rules no request can reach by replaying requests built from each rule's match",
          inputs=("VirtualService",), uses_tracer=True)
def shadowed_rules(ctx: Context) -> Iterator[Message]:
    tracer = ctx.tracer if ctx.tracer is not None else default_tracer(ctx.full)
    if tracer is None:
        return
    prober = Prober(ctx, tracer)
    default_export = ctx.snap.mesh.default_virtual_service_export_to
    for vs in ctx.snap.virtual_services:
        if not vs.spec.hosts or len(vs.spec.http) < 1:
            continue
        dead = static_dead(vs.spec.http, match_implies)
        dead_rules = {d.rule for d in dead if d.match is None}
        dead_matches = {(d.rule, d.match) for d in dead if d.match is not None}
        export = export_set(vs.spec.export_to, default_export)
        only_ns = vs.namespace if set(export) <= {".", vs.namespace} else None
        for i, rule in enumerate(vs.spec.http):
            if i in dead_rules or rule.delegate is not None:
                continue
            matches = [m for j, m in enumerate(rule.match or (None,)) if (i, j) not in dead_matches]
            verdicts: list[Search] = []
            for m in matches:
                for g in _gateways_of(m, vs):
                    if g == "mesh":
                        if i == 0:
                            verdicts.append(Search("reached"))
                            continue
                        ns = (m.source_namespace if m is not None and m.source_namespace else None) or vs.namespace
                        if not exported_to(export, vs.namespace, ns):
                            continue  # the rule never applies to proxies there
                        targets, ports = prober.sidecar_targets(vs, m, ns)
                        if not targets:
                            verdicts.append(Search())
                            continue
                        if _escapes_locally(prober.judge, vs, i, m, targets, ns):
                            verdicts.append(Search("reached"))
                            continue
                        config = _config(partial(tracer.sidecar, ns, dict(m.source_labels) if m is not None else {}))
                        if config is None:
                            verdicts.append(Search())
                            continue
                        verdicts.append(prober.search(vs, i, m, config, targets, ports, False, only_ns))
                    else:
                        gw = ctx.gateways.get(g)
                        if gw is not None and not _gateway_rivals(ctx, vs, g):
                            # alone on this gateway host: only its own earlier rules come first
                            targets, _ = prober.gateway_targets(vs, m, gw)
                            if i == 0 or (targets and _escapes_locally(prober.judge, vs, i, m, targets, vs.namespace, gateway=g)):
                                verdicts.append(Search("reached"))
                                continue
                        workloads = ctx.selected_workloads(gw.spec.selector) if gw is not None and gw.spec.selector else []
                        if gw is None or not workloads:
                            verdicts.append(Search())  # no gateway proxy to replay on: cannot tell
                            continue
                        targets, ports = prober.gateway_targets(vs, m, gw)
                        if not targets:
                            verdicts.append(Search())
                            continue
                        config = _config(partial(tracer.router, workloads[0]))
                        if config is None:
                            verdicts.append(Search())
                            continue
                        verdicts.append(prober.search(vs, i, m, config, targets, ports, True, only_ns))
                    if verdicts[-1].verdict != "shadowed":
                        break
                if verdicts and verdicts[-1].verdict != "shadowed":
                    break
            if not verdicts or any(v.verdict != "shadowed" for v in verdicts):
                continue
            captors = sorted({c for v in verdicts for c in v.captors}, key=lambda c: (c[0] != vs.namespace or c[1] != vs.name, c))
            names = []
            for ns, name, r in captors:
                owner = vs if (ns, name) == (vs.namespace, vs.name) else _virtual_service(ctx, ns, name)
                label = rule_label(owner.spec.http[r].name if owner is not None else "", r)
                names.append(f"rule {label}" if owner is vs else f"rule {label} of VirtualService {ns}/{name}")
            tries = sum(v.tries for v in verdicts)
            example = next((v.example for v in verdicts if v.example), "")
            yield ctx.report("MT0101", vs, path=f"spec.http[{i}]", rule=rule_label(rule.name, i),
                             captors=f"{', '.join(names)} ({tries} requests replayed through the tracer, e.g. {example})",
                             detail="Put the more specific rule first, or narrow the earlier one.")
