"""Interface kinds without a kernel: dummy, macvlan, vlan and bond planned, journaled, encoded as
pyroute2 reads them, drawn; dummy, vlan and bond refused before anything is made when the kernel
lacks them (their packets: tests/integration/test_kinds.py; all but macvlan in the
stock-kernel VM)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from netlab.errors import EXIT_UNSUPPORTED, TopologyError
from netlab.kernel import features, rtnl
from netlab.lab import graph
from netlab.lab.preflight import refuse_unsupported
from netlab.plan import ops as o
from netlab.plan.planner import plan
from netlab.spec import load_text

ROOT = Path(__file__).resolve().parents[2]

DUMMY = """\
name: dm
nodes:
  h1:
    interfaces: {eth0: {addresses: [10.0.0.1/24]}}
    routes: [{to: 192.0.2.1/32, via: 10.0.0.2}]
  r1:
    interfaces:
      eth0: {addresses: [10.0.0.2/24]}
      lo0: {kind: dummy, mtu: 9000, addresses: [192.0.2.1/32]}
links:
  - [h1:eth0, r1:eth0]
"""
WITHOUT_DUMMY = features.Support(frozenset({"tbf", "netem"}), links=frozenset())


def test_a_dummy_is_made_then_addressed_and_brought_up() -> None:
    p = plan(load_text(DUMMY, "dm.yaml").topology)
    made = p.ops.index(o.CreateDummy("netlab-dm-r1", "lo0", 9000, "netlab:dm"))
    addressed = [i for i, op in enumerate(p.ops)
                 if isinstance(op, o.AddAddress) and op.ifname == "lo0"]
    up = [i for i, op in enumerate(p.ops) if isinstance(op, o.SetLinkUp) and op.ifname == "lo0"]
    assert made < addressed[0] and made < up[0]
    op = p.ops[made]
    assert o.op_from_json(json.loads(json.dumps(op.to_json()))) == op
    assert op.undo() == o.DeleteLink("netlab-dm-r1", "lo0", in_namespace=True)
    assert op.describe() == "create dummy lo0 in netlab-dm-r1"


def test_a_dummy_cannot_be_an_end_of_a_link() -> None:
    from netlab.errors import InputError

    with pytest.raises(InputError) as info:
        load_text(DUMMY.replace("[h1:eth0, r1:eth0]", "[h1:eth0, r1:lo0]"), "dm.yaml")
    assert "r1:lo0 is a dummy device; only a veth" in str(info.value)


def test_the_request_decodes_as_pyroute2_reads_it() -> None:
    from pyroute2.netlink.rtnl.ifinfmsg import ifinfmsg

    msg = ifinfmsg(bytes(rtnl.new_kind(7, "lo0", "dummy", 5, 9000)))
    msg.decode()
    assert msg["header"]["sequence_number"] == 7 and msg["index"] == 5
    assert msg.get_attr("IFLA_IFNAME") == "lo0" and msg.get_attr("IFLA_MTU") == 9000
    assert msg.get_attr("IFLA_LINKINFO").get_attr("IFLA_INFO_KIND") == "dummy"


def test_refused_before_anything_when_the_kernel_lacks_it() -> None:
    loaded = load_text(DUMMY, "dm.yaml")
    with features.assumed(WITHOUT_DUMMY), pytest.raises(TopologyError) as info:
        refuse_unsupported(loaded.topology, loaded)
    error = info.value
    assert error.exit_code == EXIT_UNSUPPORTED
    assert str(error) == ("dm.yaml:9: nodes.r1.interfaces.lo0.kind: r1:lo0 is a dummy "
                          "device, which this kernel lacks (CONFIG_DUMMY)")
    assert error.hint == "enable CONFIG_DUMMY in the kernel (or load its module: modprobe dummy)"
    with features.assumed(features.Support(frozenset({"tbf"}))):  # a kernel that has it
        refuse_unsupported(loaded.topology, loaded)


MACVLAN = """\
name: mv
nodes:
  h1:
    interfaces:
      mv0: {macvlan: {parent: eth0, mode: vepa}, addresses: [10.0.0.11/24]}
  h2:
    interfaces: {eth0: {addresses: [10.0.0.2/24]}}
links:
  - [h1:eth0, h2:eth0]
"""


def test_a_macvlan_is_made_on_its_parent_once_that_exists() -> None:
    topology = load_text(MACVLAN, "mv.yaml").topology
    p = plan(topology)
    op = o.CreateMacvlan("netlab-mv-h1", "mv0", "eth0", "vepa", None, "netlab:mv")
    made = p.ops.index(op)
    parent = next(i for i, x in enumerate(p.ops)
                  if isinstance(x, o.CreateVeth) and x.ifname == "eth0")
    assert parent < made
    assert o.op_from_json(json.loads(json.dumps(op.to_json()))) == op
    assert op.describe() == "create macvlan mv0 on eth0 (mode vepa) in netlab-mv-h1"
    drawn = graph.mermaid(graph.build(topology, p))
    assert "mv0 macvlan 10.0.0.11/24 on eth0 (vepa)" in drawn


def test_the_macvlan_request_decodes_as_pyroute2_reads_it() -> None:
    from pyroute2.netlink.rtnl.ifinfmsg import ifinfmsg

    msg = ifinfmsg(bytes(rtnl.new_macvlan(9, 6, "mv0", 2, "vepa", None)))
    msg.decode()
    assert msg["index"] == 6 and msg.get_attr("IFLA_LINK") == 2
    info = msg.get_attr("IFLA_LINKINFO")
    assert info.get_attr("IFLA_INFO_KIND") == "macvlan"
    assert info.get_attr("IFLA_INFO_DATA").get_attr("IFLA_MACVLAN_MODE") == "vepa"


VLAN = """\
name: vl
nodes:
  r1:
    interfaces:
      eth0.10: {vlan: {parent: eth0, id: 10}, addresses: [10.0.10.1/24]}
      mv0: {macvlan: {parent: eth0}}
  h1: {}
links:
  - [r1:eth0, h1:eth0]
"""


def test_vlans_and_macvlans_are_made_once_their_parents_are() -> None:
    topology = load_text(VLAN, "vl.yaml").topology
    p = plan(topology)
    op = o.CreateVlan("netlab-vl-r1", "eth0.10", "eth0", 10, None, "netlab:vl")
    kinds = [x.kind for x in p.ops if isinstance(x, (o.CreateVeth, o.CreateVlan,
                                                     o.CreateMacvlan))]
    assert kinds == ["create-veth", "create-vlan", "create-macvlan"]
    assert op in p.ops
    assert o.op_from_json(json.loads(json.dumps(op.to_json()))) == op
    assert "eth0.10 vlan 10.0.10.1/24 vlan 10 on eth0" in graph.mermaid(graph.build(topology, p))


def test_the_vlan_request_decodes_as_pyroute2_reads_it() -> None:
    from pyroute2.netlink.rtnl.ifinfmsg import ifinfmsg

    msg = ifinfmsg(bytes(rtnl.new_vlan(9, 6, "eth0.10", 2, 10, 1496)))
    msg.decode()
    assert msg.get_attr("IFLA_LINK") == 2 and msg.get_attr("IFLA_MTU") == 1496
    info = msg.get_attr("IFLA_LINKINFO")
    assert info.get_attr("IFLA_INFO_KIND") == "vlan"
    assert info.get_attr("IFLA_INFO_DATA").get_attr("IFLA_VLAN_ID") == 10


def test_a_vlan_refused_before_anything_when_the_kernel_lacks_8021q() -> None:
    loaded = load_text(VLAN, "vl.yaml")
    without = features.Support(frozenset({"tbf", "netem"}), links=frozenset({"dummy"}))
    with features.assumed(without), pytest.raises(TopologyError) as info:
        refuse_unsupported(loaded.topology, loaded)
    assert str(info.value) == ("vl.yaml:5: nodes.r1.interfaces.eth0.10: r1:eth0.10 is a vlan "
                               "device, which this kernel lacks (CONFIG_VLAN_8021Q)")
    assert info.value.hint == ("enable CONFIG_VLAN_8021Q in the kernel "
                               "(or load its module: modprobe 8021q)")


BOND = """\
name: bd
nodes:
  h1:
    interfaces:
      bond0: {bond: {ports: [eth1, eth2]}, addresses: [10.0.0.1/24]}
  h2:
    interfaces:
      bond0: {bond: {ports: [eth1, eth2], mode: balance-rr}, addresses: [10.0.0.2/24]}
links:
  - [h1:eth1, h2:eth1]
  - [h1:eth2, h2:eth2]
"""


def test_a_bond_is_made_and_its_ports_join_it_while_down() -> None:
    topology = load_text(BOND, "bd.yaml").topology
    p = plan(topology)
    ns = "netlab-bd-h1"
    op = o.CreateBond(ns, "bond0", "active-backup", None, "netlab:bd")
    made = p.ops.index(op)
    joins = [i for i, x in enumerate(p.ops)
             if isinstance(x, o.SetLink) and x.ns == ns and x.master == "bond0"]
    ups = {x.ifname: i for i, x in enumerate(p.ops) if isinstance(x, o.SetLinkUp) and x.ns == ns}
    assert len(joins) == 2 and made < min(joins)
    assert max(joins) < min(ups["eth1"], ups["eth2"], ups["bond0"])
    assert o.op_from_json(json.loads(json.dumps(op.to_json()))) == op
    assert "bond0 bond 10.0.0.1/24 active-backup over eth1, eth2" in graph.mermaid(
        graph.build(topology, p))


def test_the_bond_request_decodes_as_pyroute2_reads_it() -> None:
    from pyroute2.netlink.rtnl.ifinfmsg import ifinfmsg

    msg = ifinfmsg(bytes(rtnl.new_bond(9, 6, "bond0", "active-backup", None)))
    msg.decode()
    info = msg.get_attr("IFLA_LINKINFO")
    assert info.get_attr("IFLA_INFO_KIND") == "bond"
    data = info.get_attr("IFLA_INFO_DATA")
    assert data.get_attr("IFLA_BOND_MODE") == 1 and data.get_attr("IFLA_BOND_MIIMON") == 100


VRF = ROOT / "topologies" / "vrf.yaml"


def test_a_vrf_is_made_before_its_members_join_it_and_before_its_routes() -> None:
    loaded = load_text(VRF.read_text(), "vrf.yaml")
    p = plan(loaded.topology)
    ns = "netlab-vrf-pe"
    op = o.CreateVrf(ns, "red", 10, None, "netlab:vrf")
    made = p.ops.index(op)
    joins = [i for i, x in enumerate(p.ops)
             if isinstance(x, o.SetLink) and x.ns == ns and x.master == "red"]
    addressed = [i for i, x in enumerate(p.ops) if isinstance(x, o.AddAddress) and x.ns == ns]
    route = o.AddRoute(ns, "10.1.0.0/24", "10.9.0.2", None, None, 4, 10)
    assert len(joins) == 2 and made < min(joins) and max(joins) < min(addressed)
    assert max(addressed) < p.ops.index(route)
    assert route.describe() == f"add route 10.1.0.0/24 via 10.9.0.2 table 10 in {ns}"
    for each in (op, route, route.undo()):
        assert o.op_from_json(json.loads(json.dumps(each.to_json()))) == each
    drawn = graph.mermaid(graph.build(loaded.topology, p))
    assert "red vrf table 10" in drawn and "pe:eth1 10.0.0.1/24 vrf red" in drawn


def test_the_vrf_and_its_route_decode_as_pyroute2_reads_them() -> None:
    import ipaddress

    from pyroute2.netlink.rtnl.ifinfmsg import ifinfmsg
    from pyroute2.netlink.rtnl.rtmsg import rtmsg

    msg = ifinfmsg(bytes(rtnl.new_vrf(9, 6, "red", 10, None)))
    msg.decode()
    info = msg.get_attr("IFLA_LINKINFO")
    assert info.get_attr("IFLA_INFO_KIND") == "vrf"
    assert info.get_attr("IFLA_INFO_DATA").get_attr("IFLA_VRF_TABLE") == 10
    for table in (10, 1000):  # below 256 in the header too; above, RTA_TABLE alone
        route = rtmsg(bytes(rtnl.route(3, True, ipaddress.ip_network("10.1.0.0/24"),
                                       ipaddress.ip_address("10.9.0.2"), None, None, table)))
        route.decode()
        assert route.get_attr("RTA_TABLE") == table
        assert route["table"] == (table if table < 256 else 0)


def test_a_vrf_refused_before_anything_when_the_kernel_lacks_it() -> None:
    loaded = load_text(VRF.read_text(), "vrf.yaml")
    without = features.Support(frozenset({"tbf", "netem"}), links=frozenset({"dummy"}))
    with features.assumed(without), pytest.raises(TopologyError) as info:
        refuse_unsupported(loaded.topology, loaded)
    assert str(info.value).splitlines()[0] == (
        "vrf.yaml:11: nodes.pe.interfaces.red: pe:red is a vrf device, which this kernel "
        "lacks (CONFIG_NET_VRF)")
    assert info.value.hint == ("enable CONFIG_NET_VRF in the kernel "
                               "(or load its module: modprobe vrf)")
