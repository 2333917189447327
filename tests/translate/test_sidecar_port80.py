"""Port 80 of a sidecar: VirtualService hosts that match no service get a virtual host there, and
the proxy's own notes (from TCP routes on the same port) survive building them."""

from __future__ import annotations

from tracer_kit import client, mesh, svc

from meshtui.translate import translate

VS_HOSTS = """
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: ext, namespace: default}
spec:
  hosts: [ext.example.com]
  http:
  - route:
    - destination: {host: web}
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: db, namespace: default}
spec:
  hosts: [db]
  tcp:
  - match: [{port: 81}]
    route:
    - destination: {host: db}
"""


def test_a_vs_only_host_on_port_80_keeps_the_proxy_notes_of_tcp_routes():
    # building ext.example.com's vhost rebound the proxy's note list to that vhost's (a tuple): the
    # TCP VS on the same port then failed with "'tuple' object has no attribute 'extend'"
    snap = mesh(svc("web", port=80) + svc("db", port=80, port_name="tcp", ip="10.0.0.9") + client() + VS_HOSTS)
    cfg = translate(snap, "default/client")
    vhosts = [vh.name for vh in cfg.route_configs["80"].virtual_hosts]
    assert "ext.example.com:80" in vhosts
    assert {ls.name for ls in cfg.listeners} >= {"0.0.0.0_80", "10.0.0.9_80"}
    assert any("VirtualService default/db tcp[0].match[0] dropped" in n for n in cfg.notes), cfg.notes
