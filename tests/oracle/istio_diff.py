"""Compare one proxy's config, meshtui's against istiod's, in the normal form: per category how
many resources were compared and agreed, every difference with both values, and what istiod
generates that meshtui does not model (counted, never silently dropped)."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from istio_normal import NOT_MODELLED_LISTENERS, Normal

CATEGORIES = ("listeners", "route_configs", "virtual_hosts", "routes", "clusters", "endpoints", "traces", "inbound",
              "server", "gateway_status")


@dataclass(frozen=True)
class Diff:
    category: str
    proxy: str
    key: str
    field: str
    meshtui: Any
    istio: Any

    def __str__(self) -> str:
        return f"[{self.category}] {self.proxy} {self.key} {self.field}: meshtui={self.meshtui!r} istio={self.istio!r}"


@dataclass
class Tally:
    compared: Counter = field(default_factory=Counter)
    agreed: Counter = field(default_factory=Counter)
    not_modelled: Counter = field(default_factory=Counter)
    diffs: list[Diff] = field(default_factory=list)

    def add(self, other: Tally) -> None:
        self.compared.update(other.compared)
        self.agreed.update(other.agreed)
        self.not_modelled.update(other.not_modelled)
        self.diffs.extend(other.diffs)

    def to_json(self) -> dict:
        return {"compared": dict(self.compared), "agreed": dict(self.agreed), "not_modelled": dict(self.not_modelled)}


class _Cmp:
    def __init__(self, proxy: str, tally: Tally):
        self.proxy = proxy
        self.t = tally

    def one(self, category: str, key: str, pairs: list[tuple[str, Any, Any]]) -> None:
        """One resource: agreed when every field pair is equal."""
        self.t.compared[category] += 1
        bad = [Diff(category, self.proxy, key, f, a, b) for f, a, b in pairs if a != b]
        if bad:
            self.t.diffs.extend(bad)
        else:
            self.t.agreed[category] += 1

    def missing(self, category: str, key: str, ours: bool) -> None:
        self.t.compared[category] += 1
        self.t.diffs.append(Diff(category, self.proxy, key, "present", ours, not ours))


def _not_modelled_cluster(name: str) -> str | None:
    if name.startswith("inbound|"):
        return "inbound clusters"
    if name == "InboundPassthroughCluster":
        return "inbound passthrough cluster"
    return None


def _chain_targets(ls: dict) -> tuple:
    """What a listener hands traffic to: the route configs and TCP destinations of its chains."""
    targets = set()
    for ch in [*ls["chains"], *([ls["default_chain"]] if ls["default_chain"] else [])]:
        if ch.get("rds"):
            targets.add(("rds", ch["rds"]))
        if ch.get("tcp"):
            targets.add(("tcp", tuple(ch["tcp"])))
    return tuple(sorted(targets, key=repr))


def compare(proxy: str, ours: Normal, theirs: Normal) -> Tally:
    t = Tally()
    c = _Cmp(proxy, t)
    # listeners
    for name in sorted(set(ours.listeners) | set(theirs.listeners)):
        a, b = ours.listeners.get(name), theirs.listeners.get(name)
        if a is None and name in NOT_MODELLED_LISTENERS:
            t.not_modelled[f"listener {name} ({NOT_MODELLED_LISTENERS[name]})"] += 1
            continue
        if a is None or b is None:
            c.missing("listeners", name, a is not None)
            continue
        c.one("listeners", name, [("address", a["address"], b["address"]), ("port", a["port"], b["port"]),
                                  ("targets", _chain_targets(a), _chain_targets(b))])
        if b["chains"] and any(ch["tls"] for ch in b["chains"]) and not any(ch["tls"] for ch in a["chains"]):
            t.not_modelled["listener TLS termination"] += 1
    # the inbound side: virtualInbound's filter chains (TLS, RBAC filters, target), once meshtui generates it
    if ours.inbound is not None and theirs.inbound is not None:
        for key in sorted(set(ours.inbound) | set(theirs.inbound)):
            a, b = ours.inbound.get(key), theirs.inbound.get(key)
            if a is None or b is None:
                c.missing("inbound", key, a is not None)
                continue
            c.one("inbound", key, [(k, a[k], b[k]) for k in ("tls", "authz", "target")])
    elif theirs.inbound is not None:
        t.not_modelled["inbound filter chains (virtualInbound: mTLS modes, RBAC filters)"] += len(theirs.inbound)
    # route configs, virtual hosts, routes
    for rc in sorted(set(ours.route_configs) | set(theirs.route_configs)):
        a, b = ours.route_configs.get(rc), theirs.route_configs.get(rc)
        if a is None or b is None:
            c.missing("route_configs", rc, a is not None)
            continue
        c.one("route_configs", rc, [("virtual_hosts", sorted(a), sorted(b))])
        for vh in sorted(set(a) & set(b)):
            va, vb = a[vh], b[vh]
            c.one("virtual_hosts", f"{rc}/{vh}", [("domains", va.domains, vb.domains),
                                                   ("require_tls", va.require_tls, vb.require_tls),
                                                   ("route_count", len(va.routes), len(vb.routes))])
            for i, (ra, rb) in enumerate(zip(va.routes, vb.routes, strict=False)):  # route_count tells a length difference
                key = f"{rc}/{vh}/{i}:{ra['name'] or rb['name']}"
                pairs = [("name", ra["name"], rb["name"]), ("match", ra["match"], rb["match"]),
                         ("action.kind", ra["action"]["kind"], rb["action"]["kind"]),
                         ("fault", ra["fault"], rb["fault"]), ("headers", ra["headers"], rb["headers"])]
                if ra["action"]["kind"] == rb["action"]["kind"]:
                    for k in sorted(set(ra["action"]) | set(rb["action"])):
                        if k != "kind":
                            pairs.append((f"action.{k}", ra["action"].get(k), rb["action"].get(k)))
                c.one("routes", key, pairs)
    # clusters
    for name in sorted(set(ours.clusters) | set(theirs.clusters)):
        a, b = ours.clusters.get(name), theirs.clusters.get(name)
        if a is None and (why := _not_modelled_cluster(name)):
            t.not_modelled[why] += 1
            continue
        if a is None or b is None:
            c.missing("clusters", name, a is not None)
            continue
        pairs = [(k, a[k], b[k]) for k in a if k != "tls"]
        # Istio mTLS (auto-mTLS matches, ISTIO_MUTUAL) is modelled and compared; TLS a DestinationRule
        # originates with its own certificates (SIMPLE, MUTUAL) is not
        if b["tls"] in ("simple", "mutual") and a["tls"] == "plaintext":
            t.not_modelled[f"cluster TLS origination from a DestinationRule ({b['tls']} transport socket)"] += 1
        else:
            pairs.append(("tls", a["tls"], b["tls"]))
        c.one("clusters", name, pairs)
    # endpoints
    for name in sorted(set(ours.endpoints) | set(theirs.endpoints)):
        a, b = ours.endpoints.get(name), theirs.endpoints.get(name)
        if a is None and _not_modelled_cluster(name):
            continue
        if a is None or b is None:
            c.missing("endpoints", name, a is not None)
            continue
        # istiod sends not-ready endpoints as UNHEALTHY (Envoy never picks them); meshtui leaves them out
        unhealthy = [e for e in b if e[2] == "UNHEALTHY"]
        if unhealthy and not any(e[2] == "UNHEALTHY" for e in a):
            t.not_modelled["not-ready endpoints sent as UNHEALTHY"] += len(unhealthy)
            b = [e for e in b if e[2] != "UNHEALTHY"]
        c.one("endpoints", name, [("endpoints", a, b)])
    return t
