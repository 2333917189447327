"""The `:` command line, k9s style: `:vs`, `:dr reviews`, `:ns backend`, `:trace http://reviews/`.

Pure: text in, a `Command` out (or an error sentence with a suggestion). The app runs it."""

from __future__ import annotations

import difflib
from dataclasses import dataclass

# command -> (canonical name, kind filter for resource views, help)
COMMANDS: dict[str, tuple[str, str | None, str]] = {
    "resources": ("resources", None, "every object, by namespace and kind"),
    "vs": ("resources", "VirtualService", "VirtualServices"),
    "dr": ("resources", "DestinationRule", "DestinationRules"),
    "gw": ("resources", "Gateway", "Gateways"),
    "se": ("resources", "ServiceEntry", "ServiceEntries"),
    "sc": ("resources", "Sidecar", "Sidecars"),
    "we": ("resources", "WorkloadEntry", "WorkloadEntries"),
    "svc": ("resources", "Service", "Services"),
    "pods": ("resources", "Pod", "Pods"),
    "deploy": ("resources", "Deployment", "Deployments"),
    "sts": ("resources", "StatefulSet", "StatefulSets"),
    "pa": ("resources", "PeerAuthentication", "PeerAuthentications"),
    "ap": ("resources", "AuthorizationPolicy", "AuthorizationPolicies"),
    "gc": ("resources", "GatewayClass", "GatewayClasses (Gateway API)"),
    "gtw": ("resources", "KubernetesGateway", "Gateways (Gateway API, gateway.networking.k8s.io)"),
    "httproute": ("resources", "HTTPRoute", "HTTPRoutes (Gateway API)"),
    "grpcroute": ("resources", "GRPCRoute", "GRPCRoutes (Gateway API)"),
    "tcproute": ("resources", "TCPRoute", "TCPRoutes (Gateway API)"),
    "tlsroute": ("resources", "TLSRoute", "TLSRoutes (Gateway API)"),
    "refgrant": ("resources", "ReferenceGrant", "ReferenceGrants (Gateway API)"),
    "trace": ("trace", None, "the trace workbench (:trace URL fills the URL)"),
    "whatif": ("whatif", None, "edit a copy of a resource and compare the trace"),
    "faults": ("gameday", None, "game day: live faults and Sidecar scopes (needs meshtui demo)"),
    "proxies": ("proxies", None, "connected Envoys and the config meshtui generates per proxy"),
    "findings": ("findings", None, "what meshtui analyze finds in these sources"),
    "ns": ("ns", None, "show one namespace (:ns all for every namespace)"),
    "ctx": ("ctx", None, "the kubeconfig context (cluster mode): :ctx lists, :ctx NAME switches"),
    "theme": ("theme", None, ":theme dark | light | NAME"),
    "help": ("help", None, "the keys in effect and these commands"),
    "quit": ("quit", None, "leave meshtui"),
}

ALIASES: dict[str, str] = {
    "res": "resources", "all": "resources", "virtualservice": "vs", "virtualservices": "vs",
    "destinationrule": "dr", "destinationrules": "dr", "gateway": "gw", "gateways": "gw",
    "serviceentry": "se", "serviceentries": "se", "sidecar": "sc", "sidecars": "sc",
    "workloadentry": "we", "service": "svc", "services": "svc", "pod": "pods", "po": "pods",
    "deployment": "deploy", "deployments": "deploy", "statefulset": "sts",
    "peerauthentication": "pa", "peerauthentications": "pa", "authorizationpolicy": "ap",
    "authorizationpolicies": "ap", "gatewayclass": "gc", "gatewayclasses": "gc",
    "httproutes": "httproute", "hr": "httproute", "grpcroutes": "grpcroute", "tcproutes": "tcproute",
    "tlsroutes": "tlsroute", "referencegrant": "refgrant", "referencegrants": "refgrant",
    "tr": "trace", "wi": "whatif", "what-if": "whatif", "gameday": "faults", "gd": "faults",
    "fault": "faults", "proxy": "proxies", "px": "proxies", "envoy": "proxies", "pc": "proxies",
    "analyze": "findings", "lint": "findings", "namespace": "ns", "context": "ctx",
    "q": "quit", "q!": "quit", "exit": "quit", "?": "help",
}


@dataclass(frozen=True)
class Command:
    name: str  # canonical: resources, trace, whatif, gameday, proxies, findings, ns, ctx, theme, help, quit
    arg: str = ""
    kind: str | None = None  # resources: the kind to show
    text: str = ""  # what the user typed


def all_names(user_aliases: dict[str, str] | None = None) -> list[str]:
    return sorted(set(COMMANDS) | set(ALIASES) | set(user_aliases or {}))


def parse(text: str, user_aliases: dict[str, str] | None = None, depth: int = 0) -> Command | str:
    """A Command, or a sentence saying what is wrong (with the nearest known command)."""
    text = text.strip()
    if text.startswith(":"):
        text = text[1:].strip()
    if not text:
        return "type a command, e.g. :vs, :trace, :ns NAME (:help lists them)"
    word, _, arg = text.partition(" ")
    word_l = word.lower()
    arg = arg.strip()
    user_aliases = user_aliases or {}
    if word_l in user_aliases and depth < 4:
        expanded = user_aliases[word_l] + (" " + arg if arg else "")
        return parse(expanded, user_aliases, depth + 1)
    word_l = ALIASES.get(word_l, word_l)
    spec = COMMANDS.get(word_l)
    if spec is None:
        close = difflib.get_close_matches(word_l, all_names(user_aliases), n=3, cutoff=0.6)
        hint = f" Did you mean {', '.join(':' + c for c in close)}?" if close else " :help lists the commands."
        return f"unknown command :{word}.{hint}"
    name, kind, _ = spec
    if name == "ns" and not arg:
        return "give a namespace: :ns NAME (or :ns all)"
    return Command(name, arg, kind, text)


def help_rows(user_aliases: dict[str, str] | None = None) -> list[tuple[str, str, str]]:
    """(command, aliases, what it does) for the help screen."""
    by_target: dict[str, list[str]] = {}
    for alias, target in ALIASES.items():
        by_target.setdefault(target, []).append(alias)
    rows = [(f":{c}", " ".join(":" + a for a in sorted(by_target.get(c, []))[:4]), h) for c, (_, _, h) in COMMANDS.items()]
    for alias, target in sorted((user_aliases or {}).items()):
        rows.append((f":{alias}", "", f"your alias for :{target}"))
    return rows
