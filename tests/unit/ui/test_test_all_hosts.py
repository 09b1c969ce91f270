"""`netlab test --all-hosts` without a kernel: hosts faked by a --via program that answers
as netlab would, to see their reports merged and bad input refused."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from netlab.ui.cli import main

from ..plan.test_multihost import TOPOLOGY

_FAKE_HOST = """
import json, sys
host, argv = sys.argv[1], sys.argv[3:]
if argv[0] == "up":
    print(json.dumps({"created": False}))  # up already: nothing to take down after
elif host == "a":
    print(json.dumps({"checks": [{"index": 0, "passed": True, "why": "reply in 1 ms",
                                  "seconds": 0.01, "attempts": 1, "output": None}]}))
else:
    sys.exit("error: netlab: command not found")
"""


def _checks_file(tmp_path: Path) -> Path:
    topo = tmp_path / "across.yaml"
    topo.write_text(TOPOLOGY + "checks:\n  - {from: h1, to: h2}\n  - {from: h2, to: h1}\n")
    return topo


def test_checks_across_hosts_merge_into_one_report(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Each host's report in one document; a host that gives none fails its checks with
    its own error, and the run exits 1."""
    fake = tmp_path / "fake_host.py"
    fake.write_text(_FAKE_HOST)
    via = f"{sys.executable} {fake} {{host}} {{cmd}}"
    code = main(["test", str(_checks_file(tmp_path)), "--all-hosts", "--via", via, "--json"])
    doc = json.loads(capsys.readouterr().out)
    assert code == 1
    assert (doc["total"], doc["passed"], doc["failed"]) == (2, 1, 1)
    assert [(c["node"], c["host"], c["passed"]) for c in doc["checks"]] == [
        ("h1", "a", True), ("h2", "b", False)]
    assert doc["checks"][1]["why"] == "host b: error: netlab: command not found"


@pytest.mark.parametrize("args, said", [
    (["--host", "a", "--all-hosts"], "--host and --all-hosts"),
    (["--all-hosts", "--via", "{cmd}"], "has no 'hosts:'"),
])
def test_checks_across_hosts_refuse_bad_input(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], args: list[str], said: str) -> None:
    topo = _checks_file(tmp_path)
    if "--host" not in args:  # a lab on one machine
        topo.write_text("name: one\nnodes: {h1: {}}\nchecks: [{from: h1, to: 10.0.0.9}]\n")
    assert main(["test", str(topo), *args]) == 2
    assert said in capsys.readouterr().err
