"""A mistyped command names the commands (and the nearest one), not the TUI's usage; a mistyped
sub-command prints that command's usage (issue 12)."""

from __future__ import annotations

from model_kit import run_cli


def test_mistyped_command_suggests_the_nearest():
    code, out, err = run_cli("trase", "http://reviews/")
    assert code == 2 and out == ""
    assert "unknown command 'trase' (did you mean trace?)" in err  # before: "unrecognized arguments" and the TUI usage
    assert "usage: meshtui [-h]" not in err


def test_mistyped_subcommand_prints_its_own_usage():
    code, _, err = run_cli("fault", "ad")
    assert code == 2
    assert "invalid choice: 'ad'" in err and "usage: meshtui fault" in err
