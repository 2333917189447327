"""What every kind's checks share: the problem types and the primitives of istio
pkg/config/validation/agent (DNS names, IPs, ports, durations, exportTo, gateway names)."""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterator

from meshtui.model.schema import Duration


class Warn(tuple[str, str]):
    """A (path, reason) pair that Istio accepts with a warning."""

    def __new__(cls, path: str, reason: str) -> Warn:
        return super().__new__(cls, (path, reason))


Problem = tuple[str, str]

_DNS_LABEL = r"[a-zA-Z0-9](?:[-a-zA-Z0-9]*[a-zA-Z0-9])?"
_LABEL = re.compile(rf"{_DNS_LABEL}\Z")
_WILDCARD_LABEL = re.compile(rf"(?:\*|(?:\*|\*-)?{_DNS_LABEL})\Z")


# ---------------------------------------------------------------- primitives (istio agent/validation.go)

def is_dns_label(value: str) -> bool:
    return len(value) <= 63 and _LABEL.match(value) is not None


def _dns_labels(domain: str) -> str | None:
    parts = domain.split(".")
    if parts[-1].isdigit():
        return f"domain name {domain!r} invalid (top level domain {parts[-1]!r} cannot be all-numeric)"
    for i, label in enumerate(parts):
        if i == len(parts) - 1 and label == "":
            return None  # `istio.io.`
        if not is_dns_label(label):
            return f"domain name {domain!r} invalid (label {label!r} invalid)"
    return None


def _preconditions(domain: str) -> str | None:
    if len(domain) > 255:
        return f"domain name {domain!r} too long (max 255)"
    if not domain:
        return "empty domain name not allowed"
    return None


def wildcard_domain_error(domain: str) -> str | None:
    """ValidateWildcardDomain: DNS names whose first label may be `*`, `*foo` or `*-foo`."""
    err = _preconditions(domain)
    if err:
        return err
    first, dot, rest = domain.partition(".")
    if len(first) > 63 or not _WILDCARD_LABEL.match(first):
        return f"domain name {domain!r} invalid (label {first!r} invalid)"
    return _dns_labels(rest) if dot else None


def fqdn_error(name: str) -> str | None:
    return _preconditions(name) or _dns_labels(name)


def is_ip(value: str) -> bool:
    try:
        ipaddress.ip_address(value)
        return True
    except ValueError:
        return False


def subnet_error(value: str) -> str | None:
    try:
        if value.count("/") == 1:
            ipaddress.ip_network(value, strict=False)
        else:
            ipaddress.ip_address(value)
    except ValueError:
        return f"{value!r} is not a valid IP address or CIDR block"
    return None


def port_range(n: int | None, path: str) -> Iterator[Problem]:
    if n is not None and not 0 < n <= 65535:
        yield path, f"port number {n} must be in the range 1..65535"


def duration(d: Duration | None, path: str) -> Iterator[Problem]:
    """agent.ValidateDuration: at least 1ms, in whole milliseconds."""
    if d is None:
        return
    if d.seconds < 0.001:
        yield path, f"duration {str(d)!r} must be at least 1ms"
    elif round(d.seconds * 1e9) % 1_000_000:
        yield path, f"duration {str(d)!r}: only durations to ms precision are supported"


def export_to(values: tuple[str, ...], namespace: str, path: str, service_entry: bool = False,
               dr_selector: bool = False) -> Iterator[Problem]:
    seen: set[str] = set()
    for i, e in enumerate(values):
        key = namespace if e == "." else e
        p = f"{path}[{i}]"
        if key in seen:
            yield p, (f"duplicate entries in exportTo: . and current namespace {namespace}" if key != e
                      else f"duplicate entries in exportTo for entry {e}")
            continue
        if e == "~" and not service_entry:
            yield p, "exportTo ~ (none) is not allowed for Istio configuration objects"
            continue
        if e not in (".", "*", "~") and not is_dns_label(e):
            yield p, f"exportTo entry {e!r}: only ., *, or a valid namespace name is allowed"
            continue
        seen.add(key)
    if dr_selector and seen:
        if namespace not in seen:
            yield path, "a DestinationRule with workloadSelector cannot be exported beyond its own namespace"
        elif len(seen) > 1:
            yield path, "a DestinationRule with workloadSelector cannot have several exportTo entries"
    if "*" in seen and len(values) > 1:
        yield path, "cannot have both public (*) and non-public exportTo values"
    if "~" in seen and len(values) > 1:
        yield path, "cannot export a service entry to no one (~) and someone"


def gateway_names(names: tuple[str, ...], path: str) -> Iterator[Problem]:
    for i, g in enumerate(names):
        p = f"{path}[{i}]"
        ns, slash, name = g.partition("/")
        if not slash:
            if "." in g:
                parts = g.split(".")
                yield Warn(p, f"legacy gateway name format {g!r}; prefer <namespace>/<name>: {parts[1]}/{parts[0]}")
            err = fqdn_error(g)
            if err:
                yield p, err
            continue
        if not ns or not name:
            yield p, "namespace and gateway name cannot be empty"
        elif not is_dns_label(ns):
            yield p, f"invalid value for namespace: {ns!r}"
        elif not is_dns_label(name):
            yield p, f"invalid value for gateway name: {name!r}"


_QUALIFIED = r"(?:[A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]"  # a Kubernetes qualified name
_TAG_KEY = re.compile(rf"({_DNS_LABEL}(?:\.{_DNS_LABEL})*/)?({_QUALIFIED})\Z")
_TAG_VALUE = re.compile(rf"(?:{_QUALIFIED})?\Z")


def labels(values: dict[str, str], path: str) -> Iterator[Problem]:
    """labels.Instance.Validate (sourceLabels of a match, subset labels, an endpoint's labels):
    Kubernetes label keys (an optional DNS prefix of at most 253 characters, a name of at most
    63) and values (no length limit here, as in Istio)."""
    for k, v in values.items():
        m = _TAG_KEY.match(k)
        if m is None:
            yield f"{path}.{k}", f"invalid tag key: {k!r}"
        elif m.group(1) and len(m.group(1)) - 1 > 253:
            yield f"{path}.{k}", f"invalid tag key: {k!r} (DNS prefix is too long)"
        elif len(m.group(2)) > 63:
            yield f"{path}.{k}", f"invalid tag key: {k!r} (name is too long)"
        if not _TAG_VALUE.match(v):
            yield f"{path}.{k}", f"invalid tag value: {v!r}"


def selector(labels: dict[str, str], path: str, what: str) -> Iterator[Problem]:
    for k, v in labels.items():
        if not k:
            yield path, f"empty key is not supported in selector: {k}={v}"
        if "*" in k or "*" in v:
            yield f"{path}.{k}", f"wildcard is not supported in selector: {k}={v}"
    if not labels:
        yield Warn(path, f"{what}: workload selector without labels, will be applied to every workload in the namespace")



def ns_slash_host(h: str, path: str, gateway: bool) -> Iterator[Problem]:
    """ValidateNamespaceSlashWildcardHostname (Gateway servers and Sidecar egress hosts)."""
    ns, slash, dns = h.partition("/")
    if not slash:
        if not gateway:
            yield path, f"host {h!r} must be of the form namespace/dnsName"
            return
        ns, dns = "", h
    elif not ns or not dns:
        yield path, f"namespace and dnsName in host {h!r} cannot be empty"
        return
    elif gateway:
        if ns not in ("*", ".") and not is_dns_label(ns):
            yield path, f"invalid namespace value {ns!r} in gateway host {h!r}"
    else:
        bare = ns.removeprefix("~")
        if bare not in ("", "*", ".") and not is_dns_label(bare):
            yield path, f"invalid namespace value {ns!r} in sidecar host {h!r}"
    if dns != "*" and "." not in dns:
        yield path, f"short names (non FQDN) are not allowed: {dns!r}"
    err = wildcard_domain_error(dns)
    if err and not (gateway and is_ip(dns)):
        yield path, err
    if "*" in dns and len(dns) != 1 and not dns.startswith("*."):
        yield path, f"partial wildcard {dns!r} not allowed"
