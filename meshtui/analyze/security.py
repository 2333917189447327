"""Security checks: AuthorizationPolicies that select no workload (IST0127) or name a namespace
that does not exist (IST0101), and meshtui's own: a DestinationRule that sends plaintext to
STRICT workloads (MT0201), principals or namespaces that cannot match without mTLS (MT0202 on a
DISABLE port, MT0204 behind a plaintext DestinationRule), an ALLOW rule a broader DENY rule makes
dead (MT0203), and a DENY on identity that plaintext clients slip past (MT0205); and istioctl's
validation warning (IST0133) for a DENY rule of HTTP attributes only, which closes every TCP port
of the workloads it selects, and its IST0166 for a policy that selects a Kubernetes Gateway's pods
by label instead of naming the Gateway with targetRef; and a PeerAuthentication or
RequestAuthentication whose selector matches no workload (MT0206)."""

from __future__ import annotations

from collections.abc import Iterator
from fnmatch import fnmatchcase

from meshtui.analyze.context import Context
from meshtui.analyze.message import Message
from meshtui.analyze.registry import analyzer
from meshtui.model.istio import DestinationRule
from meshtui.model.k8s import Pod
from meshtui.model.security import (
    AuthorizationPolicy,
    AuthorizationRule,
    Operation,
    PeerAuthentication,
    RequestAuthentication,
    RuleSource,
)
from meshtui.model.snapshot import labels_match
from meshtui.translate.inbound import compose_peer_authn, has_sidecar, policies_for


def _dry_run(ap: AuthorizationPolicy) -> bool:
    return ap.metadata.annotations.get("istio.io/dry-run", "").lower() in ("true", "1", "t")


def _selector_text(sel: dict[str, str]) -> str:
    return ",".join(f"{k}={v}" for k, v in sorted(sel.items()))


def in_mesh(ctx: Context, pod: Pod) -> bool:
    """Does a proxy enforce policy for this pod? A sidecar (the istio-proxy container, or the
    tlsMode label injection adds), or, as Istio's analyzers read a pod (util.PodInMesh and
    PodInAmbientMode), its sidecar.istio.io/inject label or annotation, else its namespace's
    istio-injection label; or ambient redirection. A pod outside the mesh enforces nothing."""
    if has_sidecar(pod):
        return True
    if pod.metadata.annotations.get("ambient.istio.io/redirection") == "enabled":
        return True
    for marks in (pod.metadata.labels, pod.metadata.annotations):
        if "sidecar.istio.io/inject" in marks:
            return marks["sidecar.istio.io/inject"] == "true"
    ns = ctx.snap.get("Namespace", "", pod.namespace)
    return ns is not None and ns.metadata.labels.get("istio-injection") == "enabled"


@analyzer("security.AuthorizationPolicies", ("IST0127", "IST0101"),
          "Checks that AuthorizationPolicies select workloads in the mesh and name namespaces that exist",
          inputs=("AuthorizationPolicy", "Pod"), istio="auth.AuthorizationPoliciesAnalyzer")
def authorization_policies(ctx: Context) -> Iterator[Message]:
    root = ctx.snap.mesh.root_namespace
    namespaces = ({n.name for n in ctx.snap.namespaces} | {p.namespace for p in ctx.snap.pods}
                  | {s.namespace for s in ctx.snap.services})
    pods = [p for p in ctx.snap.pods if in_mesh(ctx, p)]  # a pod without a proxy enforces no policy
    for ap in ctx.snap.authorization_policies:
        sel = dict(ap.spec.selector.match_labels) if ap.spec and ap.spec.selector else {}
        if ap.namespace == root:
            if sel and not any(labels_match(sel, p.metadata.labels) for p in pods):
                yield ctx.report("IST0127", ap, path="spec.selector", labels=_selector_text(sel),
                                 detail="No pod in the mesh (with a proxy) has them, so this policy applies to nothing; "
                                        "fix the selector.")
        elif not sel:
            if not any(p.namespace == ap.namespace for p in pods):
                yield ctx.report("IST0127", ap, path="metadata.namespace", labels="",
                                 detail=f"Namespace {ap.namespace} has no pods with a proxy, so this policy applies to nothing.")
        elif not any(p.namespace == ap.namespace and labels_match(sel, p.metadata.labels) for p in pods):
            yield ctx.report("IST0127", ap, path="spec.selector", labels=_selector_text(sel),
                             detail=f"No pod with a proxy in namespace {ap.namespace} has them (a pod outside the mesh "
                                    "enforces nothing); fix the selector, or inject the workload.")
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


def _identity_only(rule: AuthorizationRule) -> str | None:
    """The identity field a rule needs when every `from` entry names one (principals, namespaces,
    serviceAccounts): a plaintext request can match none of them. None otherwise."""
    fields = []
    for f in rule.from_:
        s = f.source
        if s is None:
            return None
        names = [n for n, v in (("principals", s.principals), ("namespaces", s.namespaces),
                                ("serviceAccounts", s.service_accounts)) if v]
        if not names:
            return None
        fields.append(names[0])
    return fields[0] if fields else None


def _covers(broad: tuple[str, ...], narrow: tuple[str, ...]) -> bool:
    return "*" in broad or (bool(narrow) and set(narrow) <= set(broad))


def _source_covers(d: RuleSource | None, a: RuleSource | None) -> bool:
    if d is None:
        return True
    if any(getattr(d, f) for f in _NEGATED_SOURCE) or d.request_principals:
        return False  # negations and JWT fields: not judged
    return all(not getattr(d, f) or (a is not None and _covers(getattr(d, f), getattr(a, f))) for f in _SOURCE_FIELDS)


def _operation_covers(d: Operation | None, a: Operation | None) -> bool:
    if d is None:
        return True
    if d.not_hosts or d.not_ports or d.not_methods or d.not_paths:
        return False
    return all(not getattr(d, f) or (a is not None and _covers(getattr(d, f), getattr(a, f)))
               for f in ("hosts", "ports", "methods", "paths"))


def deny_covers(d: AuthorizationRule, a: AuthorizationRule) -> bool:
    """Does DENY rule `d` match every request ALLOW rule `a` admits? (conservative: only when
    each field `d` sets is set in `a` to a subset of its values; `d`'s negations are not judged)."""
    if d.from_ and not all(any(_source_covers(df.source, af.source) for df in d.from_) for af in (a.from_ or ())):
        return False
    if d.from_ and not a.from_:
        return all(df.source is None for df in d.from_)
    if d.to and not all(any(_operation_covers(dt.operation, at.operation) for dt in d.to) for at in (a.to or ())):
        return False
    if d.to and not a.to:
        return all(dt.operation is None for dt in d.to)
    return all(not c.not_values and any(w.key == c.key and _covers(c.values, w.values) for w in a.when) for c in d.when)


_SOURCE_FIELDS = ("principals", "namespaces", "ip_blocks", "remote_ip_blocks", "service_accounts", "trust_domains")
_NEGATED_SOURCE = ("not_principals", "not_namespaces", "not_ip_blocks", "not_remote_ip_blocks", "not_service_accounts",
                   "not_trust_domains", "not_request_principals")


def _plaintext_drs(ctx: Context) -> dict[tuple[str, str], tuple[DestinationRule, set[int]]]:
    """Sidecar pods a DestinationRule sends plaintext to (tls.mode DISABLE), with the ports."""
    out: dict[tuple[str, str], tuple[DestinationRule, set[int]]] = {}
    for dr in ctx.snap.destination_rules:
        tp = dr.spec.traffic_policy
        if tp is None or tp.tls is None or tp.tls.mode != "DISABLE":
            continue
        host = dr.spec.host if "." in dr.spec.host else f"{dr.spec.host}.{dr.namespace}.svc.{ctx.snap.mesh.domain_suffix}"
        for key, ports in _endpoint_pods(ctx, host).items():
            out.setdefault(key, (dr, ports))
    return out


def _identity_rules(ap: AuthorizationPolicy) -> list[tuple[int, str]]:
    out = []
    for i, rule in enumerate(ap.spec.rules or ()):
        for f in rule.from_:
            s = f.source
            if s is not None and (s.principals or s.namespaces or s.service_accounts):
                out.append((i, "principals" if s.principals else "namespaces" if s.namespaces else "serviceAccounts"))
    return out


@analyzer("security.IdentityWithoutMtls", ("MT0202", "MT0203", "MT0204", "MT0205"),
          "Checks that identity rules can match (mTLS on, no plaintext client), that DENY on identity cannot be "
          "bypassed in plaintext, and that no broader DENY rule makes an ALLOW rule dead",
          inputs=("AuthorizationPolicy", "PeerAuthentication", "DestinationRule", "Pod"))
def identity(ctx: Context) -> Iterator[Message]:
    plaintext = _plaintext_drs(ctx)
    seen: set[tuple[str, str, str, int]] = set()  # one finding per policy rule, on the first pod it shows on

    def first(code: str, ap: AuthorizationPolicy, rule: int) -> bool:
        key = (code, ap.namespace, ap.name, rule)
        if key in seen:
            return False
        seen.add(key)
        return True

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
        name = f"{pod.namespace}/{pod.name}"
        denies = [ap for ap in policies if ap.spec.action == "DENY" and not _dry_run(ap)]
        for ap in policies:
            if ap.spec.action != "ALLOW":
                continue
            for i, rule in enumerate(ap.spec.rules or ()):
                hit = next(((d, j) for d in denies for j, r in enumerate(d.spec.rules or ()) if deny_covers(r, rule)), None)
                if hit is not None and first("MT0203", ap, i):
                    d, j = hit
                    yield ctx.report("MT0203", ap, path=f"spec.rules[{i}]", deny=f"{d.namespace}/{d.name}", deny_rule=j,
                                     rule=i, pod=name, detail="Narrow the DENY rule, or remove this ALLOW rule.")
        app_ports = sorted(_app_ports(pod)) or [0]
        plain = plaintext.get((pod.namespace, pod.name))
        for ap in policies:
            for i, rule in enumerate(ap.spec.rules or ()):
                needs = _identity_only(rule)
                if needs is None:
                    continue
                if ap.spec.action == "DENY":
                    permissive = [p for p in app_ports if authn.for_port(p).mode == "PERMISSIVE"]
                    if permissive and first("MT0205", ap, i):
                        yield ctx.report("MT0205", ap, path=f"spec.rules[{i}]", rule=i, field=needs, pod=name,
                                         port=permissive[0], detail="Make the workload STRICT, or deny with notPrincipals "
                                         "in an ALLOW policy instead.")
                elif ap.spec.action == "ALLOW" and plain is not None:
                    dr, ports = plain
                    open_ports = [p for p in sorted(ports) if authn.for_port(p).mode == "PERMISSIVE"]
                    if open_ports and first("MT0204", ap, i):
                        yield ctx.report("MT0204", ap, path=f"spec.rules[{i}]", rule=i, field=needs, pod=name,
                                         port=open_ports[0], dr=f"DestinationRule {dr.namespace}/{dr.name}",
                                         detail="Remove its tls block (auto-mTLS) or set ISTIO_MUTUAL.")


# the source fields Istio's TCP RBAC filter can match (validation.go: tcpRulesInFrom)
_TCP_SOURCE_FIELDS = ("principals", "not_principals", "ip_blocks", "not_ip_blocks", "namespaces", "not_namespaces",
                      "remote_ip_blocks", "not_remote_ip_blocks", "service_accounts", "not_service_accounts")


def denies_tcp_for_http_only(rule: AuthorizationRule) -> bool:
    """Istio's validation test for a DENY rule: it names `from` sources with no attribute a TCP
    filter can read (and no `to`), or `to` operations without ports. On a TCP chain istiod drops
    the attributes it cannot check there (model.go checkError: a DENY must not fail open), so
    what is left of the rule matches every connection to the TCP ports it covers."""
    sources = [f.source for f in rule.from_ if f.source is not None]
    operations = [t.operation for t in rule.to if t.operation is not None]
    tcp_from = any(getattr(s, name) for s in sources for name in _TCP_SOURCE_FIELDS)
    tcp_to = any(op.ports or op.not_ports for op in operations)
    return bool((sources and not operations and not tcp_from) or (operations and not tcp_to))


@analyzer("security.DenyHttpOnly", ("IST0133",),
          "Warns of DENY rules of HTTP attributes only, which deny every connection to the TCP ports they cover",
          inputs=("AuthorizationPolicy",), istio="schema.ValidationAnalyzer.AuthorizationPolicy")
def deny_http_only(ctx: Context) -> Iterator[Message]:
    for ap in ctx.snap.authorization_policies:
        if ap.spec.action != "DENY":
            continue
        rules = [i for i, rule in enumerate(ap.spec.rules or ()) if denies_tcp_for_http_only(rule)]
        if rules:  # istioctl says it once per policy (its messages are de-duplicated)
            yield ctx.report("IST0133", ap, path=f"spec.rules[{rules[0]}]", warning=(
                "configured AuthorizationPolicy will deny all traffic to TCP ports under its scope due to the use of "
                "only HTTP attributes in a DENY rule; it is recommended to explicitly specify the port"),
                detail=f"Rule{'s' if len(rules) > 1 else ''} {', '.join(map(str, rules))}: add `to.operation.ports` "
                       "naming the HTTP ports, so TCP ports keep working.")


@analyzer("security.AuthenticationSelectors", ("MT0206",),
          "Checks that PeerAuthentication and RequestAuthentication selectors match workloads in the mesh",
          inputs=("Pod",))
def authentication_selectors(ctx: Context) -> Iterator[Message]:
    """A workload-scoped policy applies to the pods whose labels it selects, in its own namespace,
    or in every namespace when it lives in the root namespace (istiod's getConfigsForWorkload looks
    in the workload's namespace and the root's); one that matches none changes nothing, and the
    workloads it was written for keep the namespace's or the mesh's policy."""
    pods = [p for p in ctx.snap.pods if in_mesh(ctx, p)]
    root = ctx.snap.mesh.root_namespace
    policies: list[PeerAuthentication | RequestAuthentication] = [
        *ctx.snap.peer_authentications,
        *ctx.request_authentications]
    for policy in policies:
        sel = policy.spec.selector
        if sel is None or not sel.match_labels:
            continue  # namespace- or mesh-wide
        if any(policy.namespace in (p.namespace, root) and labels_match(dict(sel.match_labels), p.metadata.labels)
               for p in pods):
            continue
        where = "the mesh" if policy.namespace == root else f"namespace {policy.namespace}"
        if isinstance(policy, PeerAuthentication):
            mtls = policy.spec.mtls.mode if policy.spec.mtls is not None else "UNSET"
            what = f"mTLS {mtls}" if mtls not in ("", "UNSET") else "its port-level modes" if policy.spec.port_modes() else ""
            effect = (f"{what} reaches no workload; the workloads it was meant for keep the namespace's or the mesh's mode"
                      if what else "it sets no mode either")
        else:
            effect = "no JWT is validated for them, so rules on requestPrincipals never match"
        yield ctx.report("MT0206", policy, path="spec.selector", where=where, kind=policy.kind,
                         labels=_selector_text(dict(sel.match_labels)), effect=effect,
                         detail="Fix the selector, or inject the workloads it is meant for.")


GATEWAY_NAME_LABEL = "gateway.networking.k8s.io/gateway-name"  # on the pods istiod deploys for a Kubernetes Gateway


@analyzer("security.GatewaySelector", ("IST0166",),
          "Warns of AuthorizationPolicies and RequestAuthentications that select a Kubernetes Gateway's pods by label",
          inputs=("Pod",), istio="k8sgateway.SelectorAnalyzer")
def gateway_selector(ctx: Context) -> Iterator[Message]:
    gateway_pods: dict[str, list[dict[str, str]]] = {}
    for pod in ctx.snap.pods:
        if GATEWAY_NAME_LABEL in pod.metadata.labels:
            gateway_pods.setdefault(pod.namespace, []).append(dict(pod.metadata.labels))
    if not gateway_pods:
        return
    policies: list[AuthorizationPolicy | RequestAuthentication] = [
        *ctx.snap.authorization_policies,
        *ctx.request_authentications]
    for policy in policies:
        # as Istio's analyzer: a targetRef makes the selector moot; with no selector nothing is claimed
        if policy.spec.target_ref is not None or policy.spec.selector is None:
            continue
        sel = dict(policy.spec.selector.match_labels)
        names = sorted({labels[GATEWAY_NAME_LABEL] for labels in gateway_pods.get(policy.namespace, ())
                        if labels_match(sel, labels)})
        for name in names:
            yield ctx.report("IST0166", policy, path="spec.selector", gateway=name, detail=(
                "istiod applies a label selector to a Gateway API gateway only while ENABLE_SELECTOR_BASED_K8S_GATEWAY_POLICY "
                f"is on (its default; a waypoint never does): name the Gateway in targetRef (kind Gateway, name {name})."))
