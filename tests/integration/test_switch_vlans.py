"""VLANs on switches on a real kernel: topologies/vlans.yaml in the stock-kernel VM (this
machine's kernel lacks bridge VLAN filtering) — one VLAN across a trunk, another VLAN kept
out, a router on a stick between them, each port's VLANs read back; and refused before
anything is made (exit 5, naming the kernel option) where the kernel lacks it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from netlab.kernel import features
from netlab.pytest_plugin import LabFactory, unique_name

from ..conftest import netlab_namespaces
from .hostcheck import netlab
from .test_shaping import iface

EXAMPLE = Path(__file__).resolve().parents[2] / "topologies" / "vlans.yaml"


def test_vlans_refused_before_anything_is_made(tmp_path: Path) -> None:
    if features.qdiscs().bridge_vlans:
        pytest.skip("this kernel has bridge VLAN filtering: nothing to refuse")
    name = unique_name("vlans")
    result = netlab("up", str(EXAMPLE), "--name", name, check=5)
    assert (f"{EXAMPLE}:42: links[0].vlans: VLANs on a switch's port need bridge VLAN "
            "filtering, which this kernel lacks (CONFIG_BRIDGE_VLAN_FILTERING)") in result.stderr
    assert netlab_namespaces(f"netlab-{name}-") == set()


@pytest.mark.stock_kernel
def test_vlans_across_a_trunk_and_a_router_on_a_stick(netlab_lab: LabFactory) -> None:
    lab = netlab_lab(EXAMPLE)
    report = lab.run_checks()  # h1-h2 across the trunk, h1-h3 routed, mallory kept out
    assert report.ok, report.summary()
    assert lab.ping("h3", "10.0.10.2")  # VLAN 20 on sw2 to VLAN 10 on sw2, through sw1's r1
    doc = lab.status()
    assert doc["drift"] == []
    assert iface(doc, "sw1", "h1-eth0")["vlans"]["now"] == {
        "pvid": 10, "untagged": [10], "tagged": []}
    assert iface(doc, "sw2", "trunk")["vlans"] == {
        "now": {"pvid": 1, "untagged": [1], "tagged": [10, 20]},
        "planned": {"pvid": 1, "untagged": [1], "tagged": [10, 20]}, "as_planned": True}
    # A VLAN taken off the trunk by hand: VLAN 10 no longer crosses, and status says so.
    done = lab.exec("sw2", ["bridge", "vlan", "del", "dev", "trunk", "vid", "10"])
    assert done.returncode == 0, done.stderr
    assert not lab.ping("h1", "10.0.10.2", timeout=0.5, count=2)
    assert lab.status()["drift"] == [
        "sw2: port trunk is untagged in VLAN 1; tagged in VLAN 20; PVID 1; the topology "
        "says untagged in VLAN 1; tagged in VLAN 10, 20; PVID 1"]


NATIVE = """\
name: native
nodes:
  h1: {interfaces: {eth0: {addresses: [10.0.99.1/24]}}}
  h2: {interfaces: {eth0: {addresses: [10.0.99.2/24]}}}
  h3: {interfaces: {eth0: {addresses: [10.0.10.3/24]}}}
  h4: {interfaces: {eth0: {addresses: [10.0.10.4/24]}}}
  r1:
    kind: router
    interfaces:
      eth0: {addresses: [10.0.99.254/24]}
      eth0.10: {vlan: {parent: eth0, id: 10}, addresses: [10.0.10.254/24]}
  sw1: {kind: switch}
  sw2: {kind: switch}
links:
  - endpoints: [h1:eth0, sw1]
    vlan: 99
  - endpoints: [h3:eth0, sw1]
    vlan: 10
  - endpoints: [h2:eth0, sw2]
    vlan: 99
  - endpoints: [h4:eth0, sw2]
    vlan: 10
  - endpoints: [sw1:trunk, sw2:trunk]
    vlans: [10]
    native: 99
  - endpoints: [r1:eth0, sw1]
    vlans: [10]
    native: 99
"""


@pytest.mark.stock_kernel
def test_a_trunk_with_another_native_vlan(netlab_lab: LabFactory, tmp_path: Path) -> None:
    """`native: 99`: VLAN 99 crosses the trunk untagged (h1 to h2), VLAN 10 tagged (h3 to
    h4), and a router on a stick has VLAN 99 on its plain eth0."""
    topo = tmp_path / "native.yaml"
    topo.write_text(NATIVE)
    lab = netlab_lab(topo)
    assert lab.ping("h1", "10.0.99.2")  # VLAN 99, untagged across the trunk
    assert lab.ping("h3", "10.0.10.4")  # VLAN 10, tagged across it
    assert lab.ping("h2", "10.0.99.254")  # r1's plain eth0 is in the native VLAN
    assert lab.ping("h4", "10.0.10.254")  # and eth0.10 in VLAN 10
    doc = lab.status()
    assert doc["drift"] == []
    assert iface(doc, "sw2", "trunk")["vlans"] == {
        "now": {"pvid": 99, "untagged": [99], "tagged": [10]},
        "planned": {"pvid": 99, "untagged": [99], "tagged": [10]}, "as_planned": True}


HELLO = EXAMPLE.parent / "hello.yaml"


def test_moving_a_port_is_refused_where_there_is_no_vlan(netlab_lab: LabFactory) -> None:
    """hello's switch has no VLANs (it forwards every frame as one LAN), r1:eth1 is a
    cable between two nodes, and a VLAN id is 1 to 4094: each said in a line, exit 2,
    nothing journaled (status still has no drift)."""
    lab = netlab_lab(HELLO)
    name = lab.lab.name
    no_vlans = netlab("link", "-l", name, "h1:eth0", "vlan", "20", check=2)
    assert no_vlans.stderr.splitlines() == [
        "error: switch 'sw1' has no VLANs in the topology: it forwards every frame as one LAN",
        "hint: give its links a vlan: (or vlans:) in the topology (docs/links.md), then "
        "'netlab link ... vlan N' moves a port"]
    no_switch = netlab("link", "-l", name, "r1:eth1", "vlan", "20", check=2)
    assert "error: r1:eth1 is not on a switch: a VLAN is a switch port's" in no_switch.stderr
    too_big = netlab("link", "-l", name, "h1:eth0", "vlan", "4095", check=2)
    assert "'4095' is not a VLAN id (1 to 4094)" in too_big.stderr
    trunk = netlab("link", "-l", name, "h1:eth0", "vlans", "10,20", check=2)
    assert "error: switch 'sw1' has no VLANs in the topology" in trunk.stderr
    both = netlab("link", "-l", name, "h1:eth0", "vlans", "5", "--native", "5", check=2)
    assert ("error: VLAN 5 is the native (untagged) VLAN: it cannot also be tagged on the "
            "same port") in both.stderr
    word = netlab("link", "-l", name, "h1:eth0", "vlans", "10,x", check=2)
    assert "'x' is not a VLAN id (1 to 4094)" in word.stderr
    show = netlab("link", "-l", name, "h1:eth0", "show")
    assert "vlans: -" in show.stdout
    assert lab.status()["drift"] == []


@pytest.mark.stock_kernel
def test_a_port_moved_to_another_vlan_while_the_lab_runs(netlab_lab: LabFactory) -> None:
    """mallory (VLAN 20, with an address of VLAN 10's network) moved into VLAN 10 reaches
    h1; status names the drift; moved back (by the switch's end), she is kept out again."""
    lab = netlab_lab(EXAMPLE)
    name = lab.lab.name
    assert not lab.ping("mallory", "h1", timeout=0.5, count=2)
    moved = netlab("link", "-l", name, "mallory:eth0", "vlan", "10")
    assert moved.stdout == ("sw1:mallory-eth0 is an access port of VLAN 10 now (it was "
                            "untagged in VLAN 20; PVID 20)\n")
    assert lab.ping("mallory", "h1") and lab.ping("mallory", "h2")  # h2: across the trunk
    assert lab.status()["drift"] == [
        "sw1: port mallory-eth0 is untagged in VLAN 10; PVID 10; the topology says "
        "untagged in VLAN 20; PVID 20"]
    netlab("status", "-l", name, "--check", check=4)
    view = json.loads(netlab("link", "-l", name, "sw1:mallory-eth0", "show", "--json").stdout)
    assert view["vlans"] == {"port": "sw1:mallory-eth0",
                             "now": {"pvid": 10, "untagged": [10], "tagged": []},
                             "planned": {"pvid": 20, "untagged": [20], "tagged": []}}
    back = lab.link("sw1:mallory-eth0").vlan(20)
    assert back.after == {"pvid": 20, "untagged": [20], "tagged": []}
    assert not lab.ping("mallory", "h1", timeout=0.5, count=2)
    assert lab.status()["drift"] == []

    # A trunk, as a link's vlans: makes one. VLAN 20 off r1's: h3 (VLAN 20) is out of h1's
    # reach (r1 routes between them); on again, in reach.
    assert lab.ping("h1", "h3")
    cut = netlab("link", "-l", name, "r1:eth0", "vlans", "10")
    assert cut.stdout == ("sw1:r1-eth0 is a trunk now: untagged in VLAN 1; tagged in VLAN "
                          "10; PVID 1 (it was untagged in VLAN 1; tagged in VLAN 10, 20; "
                          "PVID 1)\n")
    assert not lab.ping("h1", "h3", timeout=0.5, count=2)
    assert lab.status()["drift"] == [
        "sw1: port r1-eth0 is untagged in VLAN 1; tagged in VLAN 10; PVID 1; the topology "
        "says untagged in VLAN 1; tagged in VLAN 10, 20; PVID 1"]
    again = lab.link("r1:eth0").trunk([20, 10])
    assert again.after == {"pvid": 1, "untagged": [1], "tagged": [10, 20]}
    assert lab.ping("h1", "h3") and lab.status()["drift"] == []
    # An access port made a trunk whose native VLAN is 10: mallory, untagged, is in it.
    netlab("link", "-l", name, "mallory:eth0", "vlans", "30", "--native", "10")
    assert lab.ping("mallory", "h1")
    assert lab.link("mallory:eth0").vlan(20).after == {"pvid": 20, "untagged": [20],
                                                       "tagged": []}
    assert lab.status()["drift"] == []
