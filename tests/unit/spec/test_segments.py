"""Where addresses can meet (spec/segments.py) and the duplicate-address check built on it:
the same address is refused on one L2 segment and twice in one routing table of a node,
allowed elsewhere; a check's target must not be ambiguous from where the check runs."""

from __future__ import annotations

from pathlib import Path

import pytest

from netlab.errors import TopologyError
from netlab.plan.hosts import hosts_text
from netlab.spec import load_text, load_topology
from netlab.spec.model import Topology
from netlab.spec.segments import Places

ROOT = Path(__file__).resolve().parents[3]


def topology(text: str) -> Topology:
    return load_text(text, "t.yaml").topology


def problems(text: str) -> list[str]:
    try:
        load_text(text, "t.yaml")
    except TopologyError as err:
        return [p.message for p in err.problems]
    return []


def test_the_vrf_example_has_the_same_addresses_in_two_vrfs() -> None:
    topo = load_topology(ROOT / "topologies" / "vrf.yaml").topology
    places = Places(topo)
    # pe's eth1 (vrf red) and eth2 (vrf blue) both have 10.0.0.1, on segments of their own
    assert places.segment("pe", "eth1") == places.segment("red-a", "eth0")
    assert places.segment("pe", "eth1") != places.segment("pe", "eth2")
    # each customer is a routing domain of its own
    assert places.domain("red-a") == places.domain("pe", "red") == places.domain("red-b")
    assert places.domain("red-a") != places.domain("blue-a") == places.domain("pe", "blue")
    assert places.domain("pe") not in (places.domain("red-a"), places.domain("blue-a"))


TWO_PAIRS = """\
name: pairs
nodes:
  a1: {interfaces: {eth0: {addresses: [10.0.0.1/24]}}}
  a2: {interfaces: {eth0: {addresses: [10.0.0.2/24]}}}
  b1: {interfaces: {eth0: {addresses: [10.0.0.1/24]}}}
  b2: {interfaces: {eth0: {addresses: [10.0.0.2/24]}}}
links:
  - [a1:eth0, a2:eth0]
  - [b1:eth0, b2:eth0]
"""


def test_two_disconnected_parts_may_use_the_same_addresses() -> None:
    assert problems(TWO_PAIRS) == []
    assert problems(TWO_PAIRS + "checks: [{from: a1, to: a2}, {from: b2, to: b1}]\n") == []
    # which one a name reaches depends on where it is used: the hosts file says so
    text = hosts_text(topology(TWO_PAIRS), "pairs")
    assert "10.0.0.1\ta1\n" in text and "10.0.0.1\tb1\n" in text
    assert "# 10.0.0.1 is an address of a1, b1: which one it reaches depends" in text


def test_a_check_across_parts_that_cannot_meet_is_not_ambiguous() -> None:
    # a1 cannot reach b2 at all (the check will fail), but no other 10.0.0.2 is near a1
    # except a2's: a1 -> b2 means 10.0.0.2, which a2 has on a1's own segment.
    assert problems(TWO_PAIRS + "checks: [{from: a1, to: b2, expect: unreachable}]\n") == []


def test_the_same_address_on_one_switch_is_refused() -> None:
    text = """\
name: sw
nodes:
  sw: {kind: switch}
  h1: {interfaces: {eth0: {addresses: [10.0.0.5/24]}}}
  h2: {interfaces: {eth0: {addresses: [10.0.0.5/24]}}}
links: [[h1:eth0, sw], [h2:eth0, sw]]
"""
    assert problems(text) == ["address 10.0.0.5 is already given to h1:eth0 (line 4), on the "
                              "same segment (both would answer for it)"]


BRIDGED = """\
name: br
nodes:
  r1:
    interfaces:
      br0: {kind: bridge, ports: [eth1, eth2], addresses: [10.0.0.1/24]}
  h1: {interfaces: {eth0: {addresses: [10.0.0.9/24]}}}
  h2: {interfaces: {eth0: {addresses: [10.0.0.%s/24]}}}
links: [[h1:eth0, r1:eth1], [h2:eth0, r1:eth2]]
"""


def test_a_bridge_joins_its_ports_into_one_segment() -> None:
    assert problems(BRIDGED % "8") == []
    assert problems(BRIDGED % "9") == ["address 10.0.0.9 is already given to h1:eth0 "
                                       "(line 6), on the same segment (both would answer "
                                       "for it)"]


VLANS = """\
name: vl
nodes:
  a:
    interfaces:
      eth0.10: {vlan: {parent: eth0, id: 10}, addresses: [10.0.0.1/24]}
  b:
    interfaces:
      eth0.%s: {vlan: {parent: eth0, id: %s}, addresses: [10.0.0.1/24]}
links: [[a:eth0, b:eth0]]
"""


def test_vlans_on_one_wire_meet_only_with_the_same_id() -> None:
    assert problems(VLANS % (20, 20)) == []
    assert problems(VLANS % (10, 10)) == ["address 10.0.0.1 is already given to a:eth0.10 "
                                          "(line 5), on the same segment (both would answer "
                                          "for it)"]


def test_a_macvlan_is_on_its_parents_wire() -> None:
    text = """\
name: mv
nodes:
  a:
    interfaces:
      mv0: {macvlan: {parent: eth0}, addresses: [10.0.0.7/24]}
  b: {interfaces: {eth0: {addresses: [10.0.0.7/24]}}}
links: [[a:eth0, b:eth0]]
"""
    assert problems(text) == ["address 10.0.0.7 is already given to a:mv0 (line 5), on the "
                              "same segment (both would answer for it)"]


def test_vxlans_of_one_vni_are_one_segment() -> None:
    text = """\
name: vx
nodes:
  a:
    interfaces:
      eth0: {addresses: [192.0.2.1/24]}
      vx0: {vxlan: {id: 42, remote: 192.0.2.2}, addresses: [10.0.0.1/24]}
  b:
    interfaces:
      eth0: {addresses: [192.0.2.2/24]}
      vx0: {vxlan: {id: %s, remote: 192.0.2.1}, addresses: [10.0.0.1/24]}
links: [[a:eth0, b:eth0]]
"""
    assert problems(text % 43) == []
    assert len(problems(text % 42)) == 1


@pytest.mark.parametrize(("second", "found"), [
    ("{vrf: blue, addresses: [10.0.0.1/24]}", []),
    ("{vrf: red, addresses: [10.0.0.1/24]}",
     ["subnet 10.0.0.0/24 is also on eth1 (line 8); give each interface of a node its own "
      "subnet",
      "address 10.0.0.1 is already given to r1:eth1 (line 8), in the same vrf red of r1"]),
    ("{addresses: [10.0.0.1/24]}", []),
])
def test_a_node_may_have_an_address_once_per_routing_table(second: str,
                                                           found: list[str]) -> None:
    text = f"""\
name: vrfs
nodes:
  r1:
    kind: router
    interfaces:
      red: {{vrf: {{table: 10}}}}
      blue: {{vrf: {{table: 20}}}}
      eth1: {{vrf: red, addresses: [10.0.0.1/24]}}
      eth2: {second}
  h1: {{}}
  h2: {{}}
links: [[r1:eth1, h1:eth0], [r1:eth2, h2:eth0]]
"""
    assert problems(text) == found


def test_twice_in_the_main_table_of_a_node_is_refused() -> None:
    text = """\
name: twice
nodes:
  r1:
    interfaces:
      eth1: {addresses: [10.0.0.1/24]}
      eth2: {addresses: [10.0.0.1/32]}
  h1: {}
  h2: {}
links: [[r1:eth1, h1:eth0], [r1:eth2, h2:eth0]]
"""
    assert problems(text) == ["address 10.0.0.1 is already given to r1:eth1 (line 5), in "
                              "the same routing table of r1"]


def test_a_route_in_a_vrf_reaches_its_gateway_through_that_vrf_only() -> None:
    text = """\
name: rt
nodes:
  r1:
    interfaces:
      red: {vrf: {table: 10}}
      eth1: {vrf: red, addresses: [10.0.0.1/24]}
    routes: [{to: 10.1.0.0/24, via: 10.0.0.2%s}]
  h1: {}
links: [[r1:eth1, h1:eth0]]
"""
    assert problems(text % ", vrf: red") == []
    assert problems(text % "") == ["node 'r1' has no IPv4 address in its main table, so it "
                                   "cannot reach the gateway 10.0.0.2"]


def test_ping_by_name_refuses_an_address_either_of_two_could_answer() -> None:
    from netlab.api import Lab
    from netlab.errors import InputError

    two_sites = (ROOT / "tests" / "bad" / "154-ambiguous-check-target.yaml").read_text()
    lab = Lab(topology(two_sites.partition("checks:")[0]))
    assert lab.address_from("a1", "ra") == "192.168.1.1"  # on a1's own segment: ra answers
    assert lab.address_from("isp", "192.168.1.10") == "192.168.1.10"  # as written
    with pytest.raises(InputError) as refused:
        lab.address_from("isp", "b1")
    assert refused.value.message == ("b1 means 192.168.1.10, which a1:eth0, b1:eth0 all "
                                     "have, and isp may reach either")
    with pytest.raises(InputError, match="which is a1's own address"):
        lab.address_from("a1", "b1")


def test_taps_may_be_joined_by_their_programs() -> None:
    # Without its checks, which would also name h2 as meaning h1's address.
    tap_switch = (ROOT / "topologies" / "tap-switch.yaml").read_text().split("\nchecks:")[0]
    found = problems(tap_switch.replace("10.7.0.2/24", "10.7.0.1/24"))
    assert found == ["address 10.7.0.1 is already given to h1:tap0 (line 17), on the same "
                     "segment (both would answer for it)"]
