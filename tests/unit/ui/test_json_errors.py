"""With --json, an error is also a JSON document on stdout (netlab.error/1), with the
same exit status; the person still reads it on stderr."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from netlab.ui.cli import main


def test_a_topology_error_as_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: x\nnodes:\n  h1: {}\nlinks:\n  - [h1:eth0, h9:eth0]\n")
    assert main(["plan", str(bad), "--json"]) == 2
    captured = capsys.readouterr()
    doc = json.loads(captured.out)
    assert doc["schema"] == "netlab.error/1" and doc["exit_code"] == 2
    assert doc["kind"] == "TopologyError"
    assert doc["problems"] == [{"file": str(bad), "line": 5, "path": "links[0]",
                                "message": "node 'h9' is not defined (nodes: h1)"}]
    assert doc["error"] == f"{bad}:5: links[0]: node 'h9' is not defined (nodes: h1)"
    assert "node 'h9' is not defined" in captured.err


def test_a_usage_error_as_json(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["plan", "--topo", "ring,2", "--json"]) == 2
    doc = json.loads(capsys.readouterr().out)
    assert doc["error"] == "--topo ring,2: n must be at least 3"
    assert doc["kind"] == "InputError" and doc["problems"] == []


def test_without_json_stdout_stays_empty(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["plan", "--topo", "ring,2"]) == 2
    assert capsys.readouterr().out == ""


def test_a_lab_not_as_needed_is_exit_3_and_drift_under_check_is_4(
        capsys: pytest.CaptureFixture[str]) -> None:
    from netlab.errors import LabStateConflict
    from netlab.ui.cli import error_document
    from netlab.ui.common import status_exit

    doc = error_document(LabStateConflict("lab 'x' is not up"))
    assert (doc["exit_code"], doc["kind"]) == (3, "LabStateConflict")

    status = {"lab": "x", "state": "up", "drift": []}
    assert status_exit(status, check=True) == 0
    drifted = {**status, "drift": ["a: interface eth1 is missing"]}
    assert status_exit(drifted, check=False) == 0  # without --check: as ever
    assert capsys.readouterr().err == ""
    assert status_exit(drifted, check=True) == 4
    assert capsys.readouterr().err == (
        "error: lab x is up but not as its topology says: 1 difference\n")
