"""ServiceEntry checks: TCP ports without addresses (IST0134) and one host:port given different
protocols by several entries (IST0177)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator

from meshtui.analyze.context import Context, export_set
from meshtui.analyze.message import Message
from meshtui.analyze.registry import analyzer
from meshtui.model.istio import ServiceEntry


@analyzer("serviceentry.ProtocolAddresses", ("IST0134",),
          "Checks that ServiceEntries with TCP (or unset-protocol) ports have addresses",
          inputs=("ServiceEntry",), istio="serviceentry.Analyzer")
def protocol_addresses(ctx: Context) -> Iterator[Message]:
    if ctx.snap.mesh.dns_auto_allocate:
        return  # every entry without addresses gets one from the proxies' DNS (MeshConfig defaultConfig.proxyMetadata)
    for se in ctx.snap.service_entries:
        if se.spec.addresses or se.allocated_addresses:  # written, or allocated by istiod (status.addresses)
            continue
        for _i, p in enumerate(se.spec.ports):
            if p.protocol.upper() not in ("", "TCP"):
                continue
            yield ctx.report("IST0134", se, p,
                             detail=f"Port {p.number} is {p.protocol or 'unset (TCP or sniffed)'} and the entry has no "
                                    f"addresses, so sidecars match its traffic by port {p.number} alone and it collides "
                                    "with every other TCP service on that port. Add addresses, give the port an HTTP/TLS "
                                    "protocol, or enable DNS auto-allocation.")


def _scopes(se: ServiceEntry, default: tuple[str, ...]) -> set[str]:
    export = export_set(se.spec.export_to, default)
    if "*" in export:
        return {"*"}
    return {se.namespace if e == "." else e for e in export if e != "~"}


@analyzer("serviceentry.ConflictingProtocol", ("IST0177",),
          "Checks that ServiceEntries for the same host and port agree on the protocol",
          inputs=("ServiceEntry",), istio="serviceentry.ConflictingServiceEntryProtocolAnalyzer")
def conflicting_protocol(ctx: Context) -> Iterator[Message]:
    index: dict[tuple[str, int], list[tuple[ServiceEntry, set[str], str]]] = defaultdict(list)
    default = ctx.snap.mesh.default_service_export_to
    for se in ctx.snap.service_entries:
        scopes = _scopes(se, default)
        for h in se.spec.hosts:
            for p in se.spec.ports:
                index[(h, p.number)].append((se, scopes, (p.protocol or "").upper()))
    reported: set[tuple[str, str, str]] = set()
    for (host, port), entries in sorted(index.items()):
        for se, scopes, _ in entries:
            if se.key in reported:
                continue
            clash = [(o, proto) for o, s, proto in entries
                     if "*" in s or "*" in scopes or s & scopes]
            protos = sorted({proto or "(unset)" for _, proto in clash})
            if len(protos) < 2:
                continue
            reported.add(se.key)
            names = ", ".join(sorted({o.ref for o, _ in clash}))
            yield ctx.report("IST0177", se, path="spec.ports", names=names, host=host, port=port,
                             protocols=", ".join(protos),
                             detail="Istio keeps one of them, so the others' traffic is handled with the wrong protocol; "
                                    "make them agree.")
