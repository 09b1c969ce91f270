"""`netlab test --topo ...`: Mininet's topologies built for real, every pair of hosts pinged
(a ring and a grid of switches only through the spanning tree)."""

from __future__ import annotations

import json

import pytest

from .hostcheck import netlab


@pytest.mark.parametrize("spec", ["single,3", "linear,3", "tree,depth=2,fanout=2", "ring,4",
                                  "grid,2,2"])
def test_every_pair_of_hosts_reaches_the_other(spec: str, fresh_lab: str) -> None:
    result = netlab("test", "--topo", spec, "--name", fresh_lab, "--json")
    doc = json.loads(result.stdout)
    assert doc["lab"] == fresh_lab
    assert doc["ok"] is True, [c["why"] for c in doc["checks"] if not c["passed"]]
    hosts = {c["node"] for c in doc["checks"]} | {c["target"] for c in doc["checks"]}
    assert doc["total"] == len(hosts) * (len(hosts) - 1) // 2
    assert "is down again" in result.stderr


def test_up_status_and_down_by_topo(fresh_lab: str) -> None:
    netlab("up", "--topo", "linear,2", "--name", fresh_lab)
    status = json.loads(netlab("status", "-l", fresh_lab, "--json").stdout)
    assert status["file"] == "--topo linear,2"
    assert [n["name"] for n in status["nodes"]] == ["h1", "h2", "s1", "s2"]
    assert not status["drift"]
    netlab("down", "-l", fresh_lab)
