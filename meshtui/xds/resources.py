"""Envoy JSON (proto3-JSON dicts, Any fields carrying "@type") to packed xDS protos.

Translation hands us plain dicts; the server needs `google.protobuf.Any` values. Parsing is the
main Python cost of a push, so every resource is parsed and packed once and memoised by content:
a re-translated resource that compares equal to the previous one reuses its packed bytes.
"""

from __future__ import annotations

import hashlib
import importlib
import ipaddress
import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any as AnyT

from envoy.config.cluster.v3 import cluster_pb2
from envoy.config.endpoint.v3 import endpoint_pb2
from envoy.config.listener.v3 import listener_pb2
from envoy.config.route.v3 import route_components_pb2, route_pb2

# The extensions translation uses most; anything else is imported on demand (_ensure_types).
from envoy.extensions.filters.http.fault.v3 import fault_pb2 as _fault
from envoy.extensions.filters.http.router.v3 import router_pb2 as _router
from envoy.extensions.filters.network.http_connection_manager.v3 import (
    http_connection_manager_pb2 as _hcm,
)
from envoy.extensions.filters.network.tcp_proxy.v3 import tcp_proxy_pb2 as _tcp
from envoy.extensions.upstreams.http.v3 import http_protocol_options_pb2 as _hpo
from envoy.service.discovery.v3 import discovery_pb2
from envoy.service.runtime.v3 import rtds_pb2
from google.protobuf import any_pb2, duration_pb2, json_format, struct_pb2, symbol_database

# Importing a message module registers its types in protobuf's pool: that is what lets
# json_format parse the typed_config Anys that hold them.
PRELOADED_EXTENSIONS = (_fault, _router, _hcm, _tcp, _hpo)

TYPE_PREFIX = "type.googleapis.com/"
CLUSTER = TYPE_PREFIX + "envoy.config.cluster.v3.Cluster"
ENDPOINT = TYPE_PREFIX + "envoy.config.endpoint.v3.ClusterLoadAssignment"
LISTENER = TYPE_PREFIX + "envoy.config.listener.v3.Listener"
ROUTE = TYPE_PREFIX + "envoy.config.route.v3.RouteConfiguration"
RUNTIME = TYPE_PREFIX + "envoy.service.runtime.v3.Runtime"
RESOURCE_WRAPPER = TYPE_PREFIX + "envoy.service.discovery.v3.Resource"

# Order in which a change is pushed: make before break (xds_protocol "eventual consistency").
PUSH_ORDER = (CLUSTER, ENDPOINT, LISTENER, RUNTIME, ROUTE)

SHORT = {CLUSTER: "CDS", ENDPOINT: "EDS", LISTENER: "LDS", ROUTE: "RDS", RUNTIME: "RTDS"}
BY_SHORT = {v: k for k, v in SHORT.items()}

MESSAGE_FOR = {
    CLUSTER: cluster_pb2.Cluster,
    ENDPOINT: endpoint_pb2.ClusterLoadAssignment,
    LISTENER: listener_pb2.Listener,
    ROUTE: route_pb2.RouteConfiguration,
    RUNTIME: rtds_pb2.Runtime,
}

# The RTDS layer that carries live fault percentages (see bootstrap.py).
FAULT_LAYER = "meshtui_faults"


class ResourceError(ValueError):
    """A resource that cannot be turned into its proto: names the type, resource and reason."""


@dataclass(frozen=True, slots=True)
class TypeResources:
    """All resources of one type for one proxy: name -> packed Any, with a content-hash version
    (stable across restarts, so a reconnecting Envoy that already has it gets no churn)."""

    type_url: str
    resources: dict[str, any_pb2.Any]
    version: str
    source: list | None = field(default=None, compare=False, repr=False)  # the dicts it came from

    @staticmethod
    def build(type_url: str, resources: dict[str, any_pb2.Any], source: list | None = None) -> TypeResources:
        return TypeResources(type_url, resources, content_version(resources), source)


def content_version(resources: dict[str, any_pb2.Any]) -> str:
    h = hashlib.sha256()
    for name in sorted(resources):
        a = resources[name]
        h.update(name.encode())
        h.update(b"\0")
        h.update(a.type_url.encode())
        h.update(b"\0")
        h.update(hashlib.sha256(a.value).digest())
    return h.hexdigest()[:16]


class SharedList(list):
    """A resource list rendered once and then handed, unchanged, to every push and every proxy
    that holds it (one sharing class's outbound listeners, one proxy's own base, a member's
    inbound part). What is worked out from its content is kept on the list itself: its packed
    form per type (Packer.pack_all) and the non-loopback addresses it holds (control plane, demo
    mode). So that memo lives exactly as long as the list, which the translator's base for one
    snapshot version owns and drops with that version; no cache outlives what it describes.

    Contract: never mutated once built (the translator builds it and lets go of the dicts)."""

    __slots__ = ("non_loopback", "packed")

    def __init__(self, items: Iterable[dict] = ()) -> None:
        super().__init__(items)
        self.packed: dict[str, TypeResources] = {}
        self.non_loopback: list[str] | None = None  # None: not looked at yet


class Joined(list):
    """A resource list made of a part many proxies share and a proxy's own part (its inbound
    listener and clusters): the packer packs the shared part once for all of them."""

    def __init__(self, shared: list[dict], own: list[dict]) -> None:
        super().__init__(shared)
        self.extend(own)
        self.shared = shared
        self.own = own


def joined_version(*versions: str) -> str:
    """The version of a Joined list's content: stable across restarts, as content_version."""
    return hashlib.sha256("+".join(versions).encode()).hexdigest()[:16]


@dataclass(slots=True)
class _MemoEntry:
    source: dict
    packed: any_pb2.Any | bytes


@dataclass
class Packer:
    """Parses and packs resource dicts, reusing the packed bytes of an identical (or equal) dict
    seen before under the same (type, name). Shared by every proxy so identical clusters pack
    once. A RouteConfiguration is packed per virtual host, so changing one route of a 1,000-vhost
    config re-parses one vhost, not the whole config.

    Contract: a dict handed to the packer is not mutated afterwards (it is kept for comparison)."""

    max_variants: int = 4
    # (type, name) or ("vhost", route config, vhost name) -> the last few dicts seen under that
    # key with their packed form (a vhost's already carries its field tag and length)
    _memo: dict[tuple, list[_MemoEntry]] = field(default_factory=dict)
    parsed: int = 0
    reused: int = 0
    # runtime layer content (its values, in key order) -> the packed layer: the proxies of one
    # sharing class get the same fault values, so a fault push packs and hashes the layer once
    _layers: dict[tuple, TypeResources] = field(default_factory=dict)

    def pack_runtime(self, values: dict, layer: str = FAULT_LAYER) -> TypeResources:
        """The RTDS fault layer of these values, packed and versioned (see runtime_layer)."""
        key = (layer, *((k, repr(values[k])) for k in sorted(values)))
        hit = self._layers.get(key)
        if hit is None:
            if len(self._layers) > 256:
                self._layers.clear()
            hit = self._layers[key] = TypeResources.build(RUNTIME, {layer: runtime_layer(values, layer)})
        return hit

    def _lookup(self, key: tuple, resource: dict):
        variants = self._memo.get(key)
        if not variants:
            return None
        for entry in variants:
            if entry.source is resource:
                return entry.packed
        for entry in variants:
            if entry.source == resource:
                return entry.packed
        return None

    def _remember(self, key: tuple, resource: dict, packed) -> None:
        variants = self._memo.get(key)
        entry = _MemoEntry(resource, packed)
        if variants is None:
            self._memo[key] = [entry]
        else:
            variants.insert(0, entry)
            del variants[self.max_variants:]

    def pack(self, type_url: str, name: str, resource: dict) -> any_pb2.Any:
        key = (type_url, name)
        hit = self._lookup(key, resource)
        if hit is not None:
            self.reused += 1
            return hit
        if type_url == ROUTE and isinstance(resource.get("virtual_hosts"), list):
            packed = self._pack_route(name, resource)
        else:
            packed = parse_and_pack(type_url, name, resource)
            self.parsed += 1
        self._remember(key, resource, packed)
        return packed

    def _part(self, key: tuple, part: dict, msg_cls, what: str, tag: bytes = b"") -> bytes:
        """`part` serialized as `msg_cls`, prefixed by `tag` and its length when a tag is given
        (a repeated message field as it appears inside its parent)."""
        hit = self._lookup(key, part)
        if hit is not None:
            self.reused += 1
            return hit
        _ensure_types(part)
        msg = msg_cls()
        try:
            json_format.ParseDict(part, msg)
        except json_format.ParseError as exc:
            raise ResourceError(f"{what}: {exc}") from None
        data = msg.SerializeToString(deterministic=True)
        if tag:
            data = tag + _varint(len(data)) + data
        self.parsed += 1
        self._remember(key, part, data)
        return data

    def _pack_route(self, name: str, resource: dict) -> any_pb2.Any:
        # RouteConfiguration.virtual_hosts is field 2: each vhost is encoded as tag 0x12, length,
        # bytes. Protobuf parsers accept fields in any order, so the unchanged vhosts' bytes are
        # reused as they are and appended after the other fields. An unchanged vhost is the very
        # dict seen before under its name (the memo's first check), so this costs a look-up.
        rest = {k: v for k, v in resource.items() if k != "virtual_hosts"}
        chunks = [self._part(("rds-rest", name), rest, route_pb2.RouteConfiguration, f"RDS resource {name!r}")]
        for i, vh in enumerate(resource["virtual_hosts"]):
            vname = vh.get("name", f"#{i}") if isinstance(vh, dict) else f"#{i}"
            chunks.append(self._part(("vhost", name, vname), vh, route_components_pb2.VirtualHost,
                                     f"RDS resource {name!r} virtual host {vname!r}", tag=b"\x12"))
        return any_pb2.Any(type_url=ROUTE, value=b"".join(chunks))

    def pack_all(self, type_url: str, resources: list[dict], prev: TypeResources | None = None) -> TypeResources:
        """All resources of a type; `prev` (the last result for this proxy) is returned as is
        when it was packed from this very list, or when every packed resource is the very same
        object, sparing the version hash. A SharedList is packed once, whichever proxy hands it
        over first, and keeps the result (see SharedList)."""
        if prev is not None and prev.source is resources:
            self.reused += len(prev.resources)
            return prev
        if isinstance(resources, SharedList):
            hit = resources.packed.get(type_url)
            if hit is not None:
                self.reused += len(hit.resources)
                return hit
            got = resources.packed[type_url] = self._pack_list(type_url, resources, prev)
            return got
        return self._pack_list(type_url, resources, prev)

    def _pack_list(self, type_url: str, resources: list[dict], prev: TypeResources | None) -> TypeResources:
        if isinstance(resources, Joined):
            shared = self.pack_all(type_url, resources.shared)
            own = self.pack_all(type_url, resources.own)
            for name in own.resources:
                if name in shared.resources:
                    raise ResourceError(f"{SHORT.get(type_url, type_url)} resource {name!r}: duplicate name")
            if not own.resources:
                return TypeResources(type_url, shared.resources, shared.version, resources)
            return TypeResources(type_url, {**shared.resources, **own.resources},
                                 joined_version(shared.version, own.version), resources)
        out: dict[str, any_pb2.Any] = {}
        for res in resources:
            name = resource_name(type_url, res)
            if name in out:
                raise ResourceError(f"{SHORT.get(type_url, type_url)} resource {name!r}: duplicate name")
            out[name] = self.pack(type_url, name, res)
        if prev is not None and len(prev.resources) == len(out) and all(
                prev.resources.get(n) is a for n, a in out.items()):
            return TypeResources(type_url, prev.resources, prev.version, resources)
        return TypeResources.build(type_url, out, resources)


def _varint(n: int) -> bytes:
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def resource_name(type_url: str, res: dict) -> str:
    key = "cluster_name" if type_url == ENDPOINT else "name"
    name = res.get(key)
    if not isinstance(name, str) or not name:
        raise ResourceError(f"{SHORT.get(type_url, type_url)} resource without a '{key}'")
    return name


def parse_and_pack(type_url: str, name: str, resource: dict) -> any_pb2.Any:
    msg_cls = MESSAGE_FOR.get(type_url)
    if msg_cls is None:
        raise ResourceError(f"unknown resource type {type_url}")
    _ensure_types(resource)
    msg = msg_cls()
    try:
        json_format.ParseDict(resource, msg)
    except json_format.ParseError as exc:
        raise ResourceError(f"{SHORT[type_url]} resource {name!r}: {exc}") from None
    return any_pb2.Any(type_url=type_url, value=msg.SerializeToString(deterministic=True))


def runtime_value(value, key: str = "") -> dict | int:
    """A fault percentage as the FractionalPercent struct Envoy's runtime understands: from a
    percentage (0..100, in millionths so fractions of a percent survive) or an already-built
    {"numerator", "denominator"} dict (what meshtui.translate renders). The pre-armed routes'
    `.abort_status` and `.delay_ms` keys are plain integers."""
    if key.endswith((".abort_status", ".delay_ms")):
        return int(value)
    if isinstance(value, dict):
        num = int(value.get("numerator", 0))
        den = str(value.get("denominator", "HUNDRED"))
        if den not in ("HUNDRED", "TEN_THOUSAND", "MILLION"):
            raise ResourceError(f"runtime value {value!r}: unknown denominator")
        return {"numerator": max(num, 0), "denominator": den}
    pct = min(max(float(value), 0.0), 100.0)
    return {"numerator": round(pct * 10_000), "denominator": "MILLION"}


def runtime_layer(values: dict, layer: str = FAULT_LAYER) -> any_pb2.Any:
    """The RTDS Runtime resource for fault percentages. Values are sent as FractionalPercent
    structs, so they do not depend on the denominator the route's HTTPFault default uses."""

    layer_struct = struct_pb2.Struct()
    for key in sorted(values):
        v = runtime_value(values[key], key)
        if isinstance(v, dict):
            layer_struct.fields[key].struct_value.update(v)
        else:
            layer_struct.fields[key].number_value = v
    rt = rtds_pb2.Runtime(name=layer, layer=layer_struct)
    return any_pb2.Any(type_url=RUNTIME, value=rt.SerializeToString(deterministic=True))


def wrap_with_ttl(name: str, version: str, packed: any_pb2.Any | None, ttl_seconds: float) -> any_pb2.Any:
    """A SotW resource wrapped in `envoy.service.discovery.v3.Resource` with a TTL. Without a
    body it is a heartbeat: Envoy only refreshes the TTL (xds_protocol.rst, "SotW TTL")."""

    res = discovery_pb2.Resource(name=name, version=version)
    res.ttl.CopyFrom(duration_from_seconds(ttl_seconds))
    if packed is not None:
        res.resource.CopyFrom(packed)
    return any_pb2.Any(type_url=RESOURCE_WRAPPER, value=res.SerializeToString(deterministic=True))


def duration_from_seconds(seconds: float) -> duration_pb2.Duration:
    d = duration_pb2.Duration()
    whole = int(seconds)
    d.seconds = whole
    d.nanos = round((seconds - whole) * 1e9)
    return d


def unpack(packed: any_pb2.Any):
    """The message inside a packed Any (for tests and the static bootstrap)."""
    type_url = packed.type_url
    if type_url == RESOURCE_WRAPPER:
        res = discovery_pb2.Resource()
        res.ParseFromString(packed.value)
        return res
    msg = MESSAGE_FOR[type_url]()
    msg.ParseFromString(packed.value)
    return msg


# ---- resolving "@type" names to imported proto modules ------------------------------------

_tried_packages: set[str] = set()


def _ensure_types(obj: AnyT) -> None:
    """Import the proto modules behind every "@type" in obj, so ParseDict can resolve them."""
    pool = symbol_database.Default().pool
    stack = [obj]
    while stack:
        cur = stack.pop()
        if isinstance(cur, dict):
            t = cur.get("@type")
            if isinstance(t, str):
                full = t.rsplit("/", 1)[-1]
                try:
                    pool.FindMessageTypeByName(full)
                except KeyError:
                    _import_package_of(full)
            stack.extend(cur.values())
        elif isinstance(cur, list):
            stack.extend(cur)


def _import_package_of(full_name: str) -> None:
    # envoy.extensions.filters.http.fault.v3.HTTPFault -> import every *_pb2 in that package.
    parts = full_name.split(".")
    for cut in range(len(parts) - 1, 0, -1):
        pkg = ".".join(parts[:cut])
        if pkg in _tried_packages:
            continue
        try:
            mod = importlib.import_module(pkg)
        except ImportError:
            continue
        _tried_packages.add(pkg)
        for path in getattr(mod, "__path__", []):
            for fname in sorted(os.listdir(path)):
                if fname.endswith("_pb2.py"):
                    try:
                        importlib.import_module(f"{pkg}.{fname[:-3]}")
                    except ImportError:
                        pass
        return


# ---- loopback guard -----------------------------------------------------------------------


def non_loopback_addresses(type_url: str, resources: list[dict]) -> list[str]:
    """Every socket address in these resources that is not loopback (0.0.0.0 counts as not
    loopback: it binds every interface). Demo and test mode refuse to push when this is not empty."""

    found: list[str] = []
    stack: list[AnyT] = list(resources)
    while stack:
        cur = stack.pop()
        if isinstance(cur, dict):
            sa = cur.get("socket_address") or cur.get("socketAddress")
            if isinstance(sa, dict):
                addr = sa.get("address", "")
                if not _is_loopback(addr):
                    found.append(f"{SHORT.get(type_url, type_url)} {addr}:{sa.get('port_value', sa.get('portValue', ''))}")
            stack.extend(cur.values())
        elif isinstance(cur, list):
            stack.extend(cur)
    return found


def _is_loopback(addr: str) -> bool:
    try:
        ip = ipaddress.ip_address(addr)
    except ValueError:
        return addr in ("localhost",)
    return ip.is_loopback
