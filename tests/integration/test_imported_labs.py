"""Labs of containerlab and Kathará, imported (examples/containerlab, examples/kathara),
behave as they did under their own tool: `netlab test` of each passes (its nodes reach
each other through addresses their own commands made)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from .hostcheck import netlab

ROOT = Path(__file__).resolve().parents[2]
LABS = [ROOT / "examples" / "containerlab" / "bridge" / "bridge.yaml",
        ROOT / "examples" / "containerlab" / "routed" / "routed.yaml",
        ROOT / "examples" / "kathara" / "two-lans" / "two-lans.yaml"]


@pytest.mark.parametrize("lab", LABS, ids=[p.stem for p in LABS])
def test_the_imported_lab_passes_its_checks(lab: Path, fresh_lab: str) -> None:
    doc = json.loads(netlab("test", str(lab), "--name", fresh_lab, "--json").stdout)
    assert doc["ok"] is True, [c["why"] for c in doc["checks"] if not c["passed"]]
    assert doc["total"] >= 3
