"""Every file or folder the README's examples pass with -f exists in the repository, and the
what-if example does what its comment says (issue 12: the README named a `whatif/` file that
did not exist)."""

from __future__ import annotations

import re

from model_kit import REPO, run_cli

README = REPO / "README.md"


def _example_paths() -> list[str]:
    text = README.read_text()
    blocks = re.findall(r"```(?:sh|bash|console)?\n(.*?)```", text, re.S)
    paths = []
    for block in blocks:
        for m in re.finditer(r"(?:^|\s)(?:-f|--filename)\s+(\S+)", block):
            p = m.group(1)
            if p != "-" and not p.startswith(("$", "<")) and p.upper() != p:  # not stdin or a placeholder
                paths.append(p)
    return paths


def test_readme_example_paths_exist():
    paths = _example_paths()
    assert "fixtures/whatif/reviews-v3.yaml" in paths
    missing = [p for p in paths if not (REPO / p).exists()]
    assert not missing, f"README examples name files that are not in the repository: {missing}"


def test_whatif_example_sends_everything_to_v3(in_repo):
    code, out, err = run_cli("trace", "-f", "fixtures/bookinfo", "-f", "fixtures/whatif/reviews-v3.yaml",
                             "-o", "json", "http://reviews:9080/")
    assert code == 0, err
    assert '"subset": "v3"' in out and '"subset": "v1"' not in out
