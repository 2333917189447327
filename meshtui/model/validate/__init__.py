"""Admission checks beyond types, as Istio's validation webhook makes them
(istio/istio pkg/config/validation: validation.go, virtualservice.go, agent/validation.go),
one module per kind (`k8s` for the Kubernetes kinds); `common` holds the primitives they share.

Each check yields (field path, reason) pairs: errors, which make the loader leave the object out
(so one broken object never hides the rest of the mesh). A `Warn` pair is what the webhook
accepts with a warning; the loader reports it and keeps the object. Where meshtui used to be
stricter or looser than Istio, Istio wins: a debugger must load what the cluster accepted and
refuse what it would have refused."""

from __future__ import annotations

from collections.abc import Callable, Iterator

from meshtui.model.hosts import matches as host_matches  # Istio host.Name.Matches
from meshtui.model.hosts import subset_of as host_subset_of  # Istio host.Name.SubsetOf
from meshtui.model.istio import Resource
from meshtui.model.validate.common import (
    Problem,
    Warn,
    fqdn_error,
    is_dns_label,
    is_ip,
    wildcard_domain_error,
)
from meshtui.model.validate.destinationrule import destination_rule
from meshtui.model.validate.gateway import gateway
from meshtui.model.validate.k8s import endpoint_slice, endpoints, pod, service, workload
from meshtui.model.validate.security import peer_authentication
from meshtui.model.validate.serviceentry import service_entry, workload_entry
from meshtui.model.validate.sidecar import sidecar
from meshtui.model.validate.virtualservice import virtual_service

__all__ = ["CHECKS", "Problem", "Warn", "check", "fqdn_error", "host_matches", "host_subset_of", "is_dns_label",
           "is_ip", "wildcard_domain_error"]

CHECKS: dict[str, Callable[..., Iterator[Problem]]] = {
    "VirtualService": virtual_service,
    "DestinationRule": destination_rule,
    "Gateway": gateway,
    "ServiceEntry": service_entry,
    "Sidecar": sidecar,
    "WorkloadEntry": workload_entry,
    "PeerAuthentication": peer_authentication,
    # Kubernetes kinds: what the API server refuses in the fields that become Envoy config
    "Service": service,
    "Pod": pod,
    "EndpointSlice": endpoint_slice,
    "Endpoints": endpoints,
    "Deployment": workload,
    "StatefulSet": workload,
}


def check(obj: Resource) -> list[Problem]:
    """Every problem of one object: plain pairs are errors, `Warn` pairs are warnings."""
    fn = CHECKS.get(obj.kind)
    return list(fn(obj)) if fn else []
