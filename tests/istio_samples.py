"""Istio's own sample YAML, when the workspace has it: `../shared/samples/istio` beside the
checkout, or wherever MESHTUI_ISTIO_SAMPLES points. It is not part of the repository: the tests
that read it skip with SKIP_REASON when it is absent, and the project's own fixtures/scenarios
cover the same ground on a fresh clone."""

from __future__ import annotations

import os
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SAMPLES = Path(os.environ.get("MESHTUI_ISTIO_SAMPLES") or REPO.parent / "shared" / "samples" / "istio")
PRESENT = SAMPLES.is_dir()
SKIP_REASON = (f"Istio's sample YAML is not at {SAMPLES} (set MESHTUI_ISTIO_SAMPLES to run these); "
               "the fixtures/scenarios cases cover the same ground")
