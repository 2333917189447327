"""Pure parts: packing and versions, the loopback guard, bootstraps, durations, the journal."""

from __future__ import annotations

import json

import pytest
from standin import StandinTranslator, cla, eds_cluster, listener

from meshtui.edits import journal as jr
from meshtui.edits.limits import validate_edit
from meshtui.edits.model import FaultEdit, FaultTarget, ScopeEdit
from meshtui.edits.ttl import format_duration, next_expiry, parse_duration, split_expired
from meshtui.errors import UsageError
from meshtui.xds import resources as rs
from meshtui.xds.bootstrap import ads_bootstrap, parse_address
from meshtui.xds.cache import SnapshotCache, build_snapshot


def _fault(**kw) -> FaultEdit:
    base = dict(id="f-1", target=FaultTarget(host="reviews.default.svc.cluster.local", subset="v2"), percent=50,
                abort_status=503, ttl_seconds=60, created_at=1000.0, reason="why", owner="me")
    base.update(kw)
    return FaultEdit(**base)


def test_versions_are_content_hashes_and_packing_is_memoised():
    p = rs.Packer()
    a = p.pack_all(rs.CLUSTER, [eds_cluster("a"), eds_cluster("b")])
    b = p.pack_all(rs.CLUSTER, [eds_cluster("b"), eds_cluster("a")])
    assert a.version == b.version  # order does not matter
    assert p.parsed == 2 and p.reused == 2
    c = rs.Packer().pack_all(rs.CLUSTER, [eds_cluster("a", "2s"), eds_cluster("b")])
    assert c.version != a.version
    # a fresh packer (a restarted meshtui) gets the same versions: reconnects are no-ops
    assert rs.Packer().pack_all(rs.CLUSTER, [eds_cluster("a"), eds_cluster("b")]).version == a.version


def test_a_shared_list_is_packed_once_and_keeps_it():
    """A SharedList carries its packed form: whichever proxy hands it over first pays for it,
    every later pack_all of the same list (any proxy, no prev) gets that very TypeResources. A
    plain list equal to it is packed by content (per-resource memo), not by identity."""
    p = rs.Packer()
    shared = rs.SharedList([eds_cluster("a"), eds_cluster("b")])
    first = p.pack_all(rs.CLUSTER, shared)
    parsed, reused = p.parsed, p.reused
    assert p.pack_all(rs.CLUSTER, shared) is first and shared.packed[rs.CLUSTER] is first
    assert p.parsed == parsed and p.reused == reused + 2
    # another packer (a second control plane) reads the same content off the list: same version
    assert rs.Packer().pack_all(rs.CLUSTER, shared).version == first.version
    plain = p.pack_all(rs.CLUSTER, list(shared))
    assert plain is not first and plain.version == first.version and p.parsed == parsed
    # a list made later with other content is packed for itself
    other = rs.SharedList([eds_cluster("a", "2s")])
    assert p.pack_all(rs.CLUSTER, other).version != first.version


def test_the_loopback_check_of_a_shared_list_is_kept_on_it():
    from meshtui.xds.control_plane import ControlPlane

    cp = ControlPlane(StandinTranslator(listen_port=1234, backends={}), loopback_only=True, restore=False)
    ok = rs.SharedList([listener(9080, "127.1.2.3")])
    assert cp._non_loopback(rs.LISTENER, ok) == [] and ok.non_loopback == []
    bad = rs.SharedList([listener(9080, "0.0.0.0")])
    found = cp._non_loopback(rs.LISTENER, rs.Joined(ok, bad))
    assert len(found) == 1 and "0.0.0.0" in found[0] and bad.non_loopback == found
    assert cp._non_loopback(rs.LISTENER, [listener(1, "10.0.0.1")]) != []  # a plain list: looked at every time


def test_route_configs_pack_per_virtual_host():
    from envoy.config.route.v3 import route_pb2
    from google.protobuf import json_format

    def rc(n_routes_in_b: int) -> dict:
        return {"name": "9080", "validate_clusters": False, "virtual_hosts": [
            {"name": "a", "domains": ["a"], "routes": [{"match": {"prefix": "/"}, "route": {"cluster": "ca"}}]},
            {"name": "b", "domains": ["b"], "routes": [{"match": {"prefix": f"/{i}"}, "route": {"cluster": "cb"}}
                                                     for i in range(n_routes_in_b)]},
        ]}

    p = rs.Packer()
    one = p.pack(rs.ROUTE, "9080", rc(1))
    parsed_before = p.parsed
    two = p.pack(rs.ROUTE, "9080", rc(2))
    assert p.parsed == parsed_before + 1  # only vhost b was parsed again
    msg = rs.unpack(two)
    expect = route_pb2.RouteConfiguration()
    json_format.ParseDict(rc(2), expect)
    assert msg == expect
    assert rs.unpack(one) != msg
    with pytest.raises(rs.ResourceError, match="virtual host 'b'"):
        p.pack(rs.ROUTE, "9080", {"name": "9080", "virtual_hosts": [{"name": "b", "bogus": 1}]})


def test_pack_errors_name_the_resource():
    with pytest.raises(rs.ResourceError, match="CDS resource 'x'"):
        rs.Packer().pack(rs.CLUSTER, "x", {"name": "x", "no_such_field": 1})
    with pytest.raises(rs.ResourceError, match="duplicate"):
        rs.Packer().pack_all(rs.CLUSTER, [eds_cluster("a"), eds_cluster("a")])


def test_runtime_layer_is_fractional_percent_in_millionths():
    packed = rs.runtime_layer({"k": 12.5})
    msg = rs.unpack(packed)
    v = msg.layer.fields["k"].struct_value
    assert v.fields["numerator"].number_value == 125000
    assert v.fields["denominator"].string_value == "MILLION"
    # translate renders FractionalPercent dicts; those pass through
    same = rs.unpack(rs.runtime_layer({"k": {"numerator": 125000, "denominator": "MILLION"}}))
    assert same == msg
    wrapped = rs.unpack(rs.wrap_with_ttl("meshtui_faults", "v1", packed, 2.5))
    assert wrapped.ttl.seconds == 2 and wrapped.ttl.nanos == 500_000_000 and wrapped.HasField("resource")


def test_loopback_guard():
    ok = [listener(9080, "127.1.2.3"), cla("c", "127.0.0.5", 80)]
    assert rs.non_loopback_addresses(rs.LISTENER, ok) == []
    bad = [listener(9080, "0.0.0.0"), cla("c", "10.1.2.3", 80)]
    found = rs.non_loopback_addresses(rs.LISTENER, bad)
    assert any("0.0.0.0" in f for f in found) and any("10.1.2.3" in f for f in found)


def test_cache_prefers_last_good_after_a_rejection():
    tr = StandinTranslator(listen_port=1234, backends={"svc_v1": ("127.0.0.1", 1), "svc_v2": ("127.0.0.1", 2)})
    p = rs.Packer()
    cache = SnapshotCache()
    good = build_snapshot(p, **vars(tr.resources("x", [], 0)))
    cache.set("x", good)
    cache.memory("x").last_acked[rs.ROUTE] = good.types[rs.ROUTE]
    tr.bad_regex = True
    bad = build_snapshot(p, **vars(tr.resources("x", [], 0)))
    cache.set("x", bad)
    assert cache.desired("x", rs.ROUTE).version == bad.types[rs.ROUTE].version
    cache.memory("x").rejected.setdefault(rs.ROUTE, {})[bad.types[rs.ROUTE].version] = "nope"
    assert cache.desired("x", rs.ROUTE).version == good.types[rs.ROUTE].version


def test_parse_address():
    assert parse_address("127.0.0.1:15010") == ("127.0.0.1", 15010)
    assert parse_address("[::1]:1") == ("::1", 1)
    assert parse_address("localhost:0", allow_zero=True) == ("localhost", 0)
    for bad in ("127.0.0.1", ":80", "x:y", "h:70000", "h:0"):
        with pytest.raises(UsageError):
            parse_address(bad)


def test_bootstraps_shape():
    boot = ads_bootstrap("127.0.0.1:15010", "default/productpage-v1")
    assert boot["node"]["id"] == "default/productpage-v1"
    assert boot["node"]["cluster"] == "productpage-v1.default"
    assert boot["layered_runtime"]["layers"][0]["rtds_layer"]["name"] == rs.FAULT_LAYER
    with pytest.raises(UsageError):
        ads_bootstrap("127.0.0.1:15010", "no-namespace")


@pytest.mark.parametrize("text,seconds", [("10m", 600), ("5s", 5), ("200ms", 0.2), ("1h30m", 5400), ("1.5s", 1.5),
                                          ("42", 42)])
def test_parse_duration(text, seconds):
    assert parse_duration(text) == pytest.approx(seconds)


@pytest.mark.parametrize("text", ["", "10x", "m5", "5s10", "-1s"])
def test_parse_duration_rejects(text):
    with pytest.raises(ValueError):
        parse_duration(text)


def test_format_duration():
    assert format_duration(0.2) == "0.2s"
    assert format_duration(600) == "10m"
    assert format_duration(5430) == "1h30m"


def test_ttl_split_and_next():
    a = _fault(id="a", ttl_seconds=10)
    b = _fault(id="b", ttl_seconds=100)
    s = ScopeEdit(id="s", namespace="default")  # no TTL
    active, expired = split_expired([a, b, s], now=1050)
    assert [e.id for e in active] == ["b", "s"] and [e.id for e in expired] == ["a"]
    assert next_expiry([a, b, s]) == 1010


def test_validate_edit():
    assert validate_edit(_fault()) == []
    assert any("between 0 and 100" in e for e in validate_edit(_fault(percent=101)))
    assert any("200 and 599" in e for e in validate_edit(_fault(abort_status=700)))
    assert any("either an abort" in e for e in validate_edit(_fault(delay_seconds=1.0)))
    assert any("--rule needs" in e for e in validate_edit(_fault(target=FaultTarget(host="h", rule=1))))
    assert any("NAMESPACE/HOST" in e for e in validate_edit(ScopeEdit(id="s", namespace="d", egress_hosts=("x",))))


def test_journal_round_trip_replay_and_export():
    f1 = _fault(id="f-1", ttl_seconds=100)
    f2 = _fault(id="f-2", ttl_seconds=10)
    f3 = _fault(id="f-3", ttl_seconds=1000)
    sc = ScopeEdit(id="s-1", namespace="default", egress_hosts=("./*",), outbound_traffic_policy="REGISTRY_ONLY",
                   workload_labels={"app": "productpage"}, created_at=1000)
    entries = [
        jr.JournalEntry(1000, jr.EDIT_ADD, "f-1", jr.edit_to_dict(f1)),
        jr.JournalEntry(1000, jr.EDIT_ADD, "f-2", jr.edit_to_dict(f2)),
        jr.JournalEntry(1000, jr.EDIT_ADD, "f-3", jr.edit_to_dict(f3)),
        jr.JournalEntry(1000, jr.EDIT_ADD, "s-1", jr.edit_to_dict(sc)),
        jr.JournalEntry(1001, jr.PUSH, proxy="default/p", type="RDS", version="abc", edit_ids=("f-1",)),
        jr.JournalEntry(1002, jr.NACK, proxy="default/p", type="RDS", version="abc", detail="bad|regex"),
        jr.JournalEntry(1003, jr.EDIT_REMOVE, "f-3"),
    ]
    lines = [jr.encode_line(e) for e in entries] + ["{not json", ""]
    decoded, bad = jr.decode_lines(lines)
    assert decoded == entries and bad and bad[0][0] == 8
    rp = jr.replay(decoded, now=1050)
    assert sorted(e.id for e in rp.active) == ["f-1", "s-1"]
    assert [e.id for e in rp.expired] == ["f-2"]
    assert jr.edit_from_dict(jr.edit_to_dict(sc)) == sc
    assert jr.edit_from_dict(jr.edit_to_dict(f1)) == f1
    md = jr.timeline_markdown(decoded)
    assert md.startswith("# Game-day timeline") and "REJECTED RDS" in md and "bad\\|regex" in md
    js = jr.timeline_json(decoded)
    assert js["kind"] == "GameDayTimeline" and len(js["entries"]) == len(entries)
    json.dumps(js)
    with pytest.raises(ValueError, match="missing field"):
        jr.edit_from_dict({"type": "fault", "id": "x"})
    clear = jr.JournalEntry(1004, jr.CLEAR, edit_ids=("f-1",))
    assert [e.id for e in jr.replay([*decoded, clear], now=1050).active] == ["s-1"]
