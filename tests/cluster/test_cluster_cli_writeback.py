"""`meshtui fault` and `meshtui scope` in cluster mode, through the CLI entry point: refused
without --allow-write or with --readonly, applied with --yes, listed, reverted, cleared."""

from __future__ import annotations

import pytest

from meshtui.cli import main

NS = "bookinfo"


def _run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def _rule_faults(api) -> list:
    return [r.get("fault") for r in api.get("VirtualService", NS, "reviews")["spec"]["http"]]


def test_fault_add_needs_allow_write_and_never_with_readonly(mesh_api, kubeconfig, capsys):
    base = ["fault", "add", "--kubeconfig", str(kubeconfig), "--context", "test-ctx",
            "--virtual-service", f"{NS}/reviews", "--rule", "1", "--abort", "503", "--percent", "50", "--yes"]
    code, _, err = _run(capsys, *base)
    assert code == 2 and "--allow-write" in err
    code, _, err = _run(capsys, *base, "--allow-write", "--readonly")
    assert code == 2 and "--readonly" in err
    assert not any(_rule_faults(mesh_api))


def test_fault_add_list_rm_and_clear_on_the_cluster(mesh_api, kubeconfig, capsys):
    flags = ["--kubeconfig", str(kubeconfig), "--context", "test-ctx", "--allow-write", "--yes"]
    code, out, err = _run(capsys, "fault", "add", *flags, "--virtual-service", f"{NS}/reviews", "--rule", "1",
                          "--abort", "503", "--percent", "50", "--ttl", "5m", "--reason", "game day")
    assert code == 0, err
    fault_id = out.strip()
    assert "httpStatus: 503" in err  # the dry-run diff was shown before applying
    assert _rule_faults(mesh_api)[1]["abort"]["httpStatus"] == 503
    code, out, _ = _run(capsys, "fault", "list", "--kubeconfig", str(kubeconfig), "--context", "test-ctx")
    assert code == 0 and fault_id in out and "game day" in out
    code, _, err = _run(capsys, "fault", "rm", fault_id, *flags)
    assert code == 0, err
    assert not any(_rule_faults(mesh_api))
    _run(capsys, "fault", "add", *flags, "--virtual-service", f"{NS}/reviews", "--rule", "0",
         "--delay", "200ms", "--percent", "10")
    code, _, err = _run(capsys, "fault", "clear", *flags)
    assert code == 0 and "reverted 1" in err
    assert not any(_rule_faults(mesh_api))


def test_scope_set_on_the_cluster(mesh_api, kubeconfig, capsys):
    flags = ["--kubeconfig", str(kubeconfig), "--context", "test-ctx", "--allow-write", "--yes"]
    code, out, err = _run(capsys, "scope", "set", "-n", NS, "--egress-host", "./*", "--outbound-policy",
                          "REGISTRY_ONLY", *flags)
    assert code == 0, err
    sc = mesh_api.get("Sidecar", NS, "default")
    assert sc["spec"]["outboundTrafficPolicy"]["mode"] == "REGISTRY_ONLY"
    assert sc["spec"]["egress"][0]["hosts"] == ["./*"]
    code, _, err = _run(capsys, "scope", "rm", out.strip(), *flags)
    assert code == 0, err
    assert (mesh_api.get("Sidecar", NS, "default")["spec"].get("outboundTrafficPolicy") or {}).get("mode") != "REGISTRY_ONLY"


@pytest.mark.parametrize("cmd", [["fault", "list"], ["scope", "list"]])
def test_unreachable_cluster_is_exit_69(tmp_path, cmd, capsys):
    from fakeapi import write_kubeconfig

    kc = write_kubeconfig(tmp_path / "kc", "https://127.0.0.1:9", context="dead")
    code, _, err = _run(capsys, *cmd, "--kubeconfig", str(kc), "--context", "dead", "--request-timeout", "2")
    assert code == 69 and "127.0.0.1:9" in err
