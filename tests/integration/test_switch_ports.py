"""Two switches joined by a cable named at neither end: each port is named after the
other switch (sw1's port "c", c's port "sw1"), and frames cross it."""

from __future__ import annotations

from pathlib import Path

from netlab.pytest_plugin import LabFactory

TWO_SWITCHES = """\
name: two-switches
nodes:
  sw1: {kind: switch}
  c: {kind: switch}
  h1: {interfaces: {eth0: {addresses: [10.0.7.1/24]}}}
  h2: {interfaces: {eth0: {addresses: [10.0.7.2/24]}}}
links:
  - [sw1, c]
  - [h1:eth0, sw1]
  - [h2:eth0, c]
"""


def test_a_port_between_switches_is_named_after_the_other(netlab_lab: LabFactory,
                                                          tmp_path: Path) -> None:
    topo = tmp_path / "two-switches.yaml"
    topo.write_text(TWO_SWITCHES)
    lab = netlab_lab(topo)
    assert lab.ping("h1", "10.0.7.2")
    ports = {n["name"]: sorted(i["name"] for i in n["interfaces"])
             for n in lab.status()["nodes"]}
    assert ports["sw1"] == ["br0", "c", "h1-eth0"]
    assert ports["c"] == ["br0", "h2-eth0", "sw1"]
