"""Security checks: AuthorizationPolicies that select no workload (IST0127) or name a namespace
that does not exist (IST0101), and meshtui's own: a DestinationRule that sends plaintext to
STRICT workloads (MT0201), principals or namespaces that cannot match without mTLS (MT0202), and
an ALLOW policy a DENY-everything policy makes dead (MT0203)."""

from __future__ import annotations

from collections.abc import Iterator
from fnmatch import fnmatchcase

from meshtui.analyze.context import Context
from meshtui.analyze.message import Message
from meshtui.analyze.registry import analyzer
from meshtui.model.k8s import Pod
from meshtui.model.security import AuthorizationPolicy
from meshtui.model.snapshot import labels_match
from meshtui.translate.inbound import compose_peer_authn, has_sidecar, policies_for


def _selector_text(sel: dict[str, str]) -> str:
    return ",".join(f"{k}={v}" for k, v in sorted(sel.items()))


@analyzer("security.AuthorizationPolicies", ("IST0127", "IST0101"),
          "Checks that AuthorizationPolicies select workloads and name namespaces that exist",
          inputs=("AuthorizationPolicy", "Pod"), istio="auth.AuthorizationPoliciesAnalyzer")
def authorization_policies(ctx: Context) -> Iterator[Message]:
    root = ctx.snap.mesh.root_namespace
    pods = ctx.snap.pods
    namespaces = {n.name for n in ctx.snap.namespaces} | {p.namespace for p in pods} | {s.namespace for s in ctx.snap.services}
    for ap in ctx.snap.authorization_policies:
        sel = dict(ap.spec.selector.match_labels) if ap.spec and ap.spec.selector else {}
        if ap.namespace == root:
            if sel and not any(labels_match(sel, p.metadata.labels) for p in pods):
                yield ctx.report("IST0127", ap, path="spec.selector", labels=_selector_text(sel),
                                 detail="No pod in the mesh has them, so this policy applies to nothing; fix the selector.")
        elif not sel:
            if not any(p.namespace == ap.namespace for p in pods):
                yield ctx.report("IST0127", ap, path="metadata.namespace", labels="",
                                 detail=f"Namespace {ap.namespace} has no pods, so this policy applies to nothing.")
        elif not any(p.namespace == ap.namespace and labels_match(sel, p.metadata.labels) for p in pods):
            yield ctx.report("IST0127", ap, path="spec.selector", labels=_selector_text(sel),
                             detail=f"No pod in namespace {ap.namespace} has them; fix the selector.")
        for i, rule in enumerate(ap.spec.rules or ()):
            for j, f in enumerate(rule.from_):
                src = f.source
                if src is None:
                    continue
                for field, values in (("namespaces", src.namespaces), ("notNamespaces", src.not_namespaces)):
                    for k, ns in enumerate(values):
                        if not any(fnmatchcase(n, ns) for n in namespaces):
                            yield ctx.report("IST0101", ap, path=f"spec.rules[{i}].from[{j}].source.{field}[{k}]",
                                             reftype="namespace", ref=ns,
                                             detail="No object of the sources lives in it; check the name.")


def _endpoint_pods(ctx: Context, host: str) -> dict[tuple[str, str], set[int]]:
    """The pods behind a host with the ports they serve it on (its endpoints' target ports)."""
    out: dict[tuple[str, str], set[int]] = {}
    for rs in ctx.snap.services_by_host.get(host, ()):
        for e in rs.endpoints:
            if e.pod and "/" in e.pod:
                ns, _, name = e.pod.partition("/")
                out.setdefault((ns, name), set()).add(e.port)
    return out


def _app_ports(pod: Pod) -> set[int]:
    return {p.container_port for c in (pod.spec.containers if pod.spec else ()) if c.name != "istio-proxy" for p in c.ports}


@analyzer("security.MtlsModes", ("MT0201",),
          "Checks that no DestinationRule sends plaintext to workloads whose PeerAuthentication is STRICT",
          inputs=("DestinationRule", "Pod"))
def mtls_modes(ctx: Context) -> Iterator[Message]:
    for dr in ctx.snap.destination_rules:
        tp = dr.spec.traffic_policy
        tls = tp.tls if tp is not None else None
        if tls is None or tls.mode != "DISABLE":
            continue
        host = dr.spec.host if "." in dr.spec.host else f"{dr.spec.host}.{dr.namespace}.svc.{ctx.snap.mesh.domain_suffix}"
        for (ns, name), ports in sorted(_endpoint_pods(ctx, host).items()):
            pod = ctx.snap.get("Pod", ns, name)
            if not isinstance(pod, Pod) or not has_sidecar(pod):
                continue
            authn = compose_peer_authn(ctx.snap, pod.namespace, pod.metadata.labels)
            strict = [port for port in sorted(ports) if authn.for_port(port).mode == "STRICT"]
            if strict:
                yield ctx.report("MT0201", dr, path="spec.trafficPolicy.tls.mode", pod=f"{pod.namespace}/{pod.name}",
                                 ports=", ".join(map(str, strict)),
                                 detail="Remove the tls block (auto-mTLS) or set ISTIO_MUTUAL.")
                break


def _identity_rules(ap: AuthorizationPolicy) -> list[tuple[int, str]]:
    out = []
    for i, rule in enumerate(ap.spec.rules or ()):
        for f in rule.from_:
            s = f.source
            if s is not None and (s.principals or s.namespaces or s.service_accounts):
                out.append((i, "principals" if s.principals else "namespaces" if s.namespaces else "serviceAccounts"))
    return out


@analyzer("security.IdentityWithoutMtls", ("MT0202", "MT0203"),
          "Checks that identity rules can match (mTLS on) and that no DENY-everything policy makes an ALLOW policy dead",
          inputs=("AuthorizationPolicy", "Pod"))
def identity(ctx: Context) -> Iterator[Message]:
    for pod in ctx.snap.pods:
        if not has_sidecar(pod):
            continue
        policies = policies_for(ctx.snap, pod.namespace, pod.metadata.labels)
        authn = compose_peer_authn(ctx.snap, pod.namespace, pod.metadata.labels)
        for ap in policies:
            if ap.spec.action != "ALLOW":
                continue
            ports = _app_ports(pod) or {0}
            for i, field in _identity_rules(ap):
                disabled = [port for port in sorted(ports) if authn.for_port(port).mode == "DISABLE"]
                if disabled:
                    yield ctx.report("MT0202", ap, path=f"spec.rules[{i}]", rule=i, field=field,
                                     pod=f"{pod.namespace}/{pod.name}", port=disabled[0],
                                     detail="Turn mTLS on for that port, or match on ipBlocks instead.")
        deny_all = [ap for ap in policies if ap.spec.action == "DENY" and any(
            not r.from_ and not r.to and not r.when for r in (ap.spec.rules or ()))]
        if deny_all:
            for ap in policies:
                if ap.spec.action == "ALLOW":
                    d = deny_all[0]
                    yield ctx.report("MT0203", ap, path="spec.action", deny=f"{d.namespace}/{d.name}",
                                     pod=f"{pod.namespace}/{pod.name}",
                                     detail="Narrow the DENY rule, or remove this ALLOW policy.")
