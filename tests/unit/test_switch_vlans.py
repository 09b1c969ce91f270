"""VLANs on switches without a kernel: planned (filtering, access ports, trunks, a big
switch's inner trunks), encoded as pyroute2 reads it, and refused before anything is made
on a kernel without bridge VLAN filtering (the packets: tests/integration/test_switch_vlans.py,
in the stock-kernel VM). The bad files: tests/bad/145..147 and 183."""

from __future__ import annotations

import json
import socket

import pytest

from netlab.errors import EXIT_UNSUPPORTED, TopologyError
from netlab.kernel import features, rtnl
from netlab.lab.preflight import refuse_unsupported
from netlab.plan import ops as o
from netlab.plan.planner import plan
from netlab.spec import load_text
from netlab.spec.model import Topology

LAB = """\
name: vl
nodes:
  h1: {interfaces: {eth0: {addresses: [10.0.10.1/24]}}}
  h2: {interfaces: {eth0: {addresses: [10.0.20.1/24]}}}
  h3: {interfaces: {eth0: {addresses: [10.0.1.1/24]}}}
  sw1: {kind: switch}
  sw2: {kind: switch}
links:
  - endpoints: [h1:eth0, sw1]
    vlan: 10
  - endpoints: [h2:eth0, sw2]
    vlan: 20
  - [h3:eth0, sw1]
  - endpoints: [sw1, sw2]
    vlans: [10, 20]
"""
NS1, NS2 = "netlab-vl-sw1", "netlab-vl-sw2"


def test_ports_and_trunks_are_planned_after_their_bridge_is_filtering() -> None:
    ops = plan(load_text(LAB, "vl.yaml").topology).ops
    vlan_ops = [op for op in ops if isinstance(op, (o.SetVlanFiltering, o.SetPortVlans))]
    assert vlan_ops == [
        o.SetVlanFiltering(NS1, "br0"),
        o.SetPortVlans(NS1, "h1-eth0", pvid=10),
        o.SetPortVlans(NS1, "sw2", tagged=(10, 20)),
        o.SetVlanFiltering(NS2, "br0"),
        o.SetPortVlans(NS2, "h2-eth0", pvid=20),
        o.SetPortVlans(NS2, "sw1", tagged=(10, 20)),
    ]
    attached = max(k for k, op in enumerate(ops) if isinstance(op, o.SetLink) and op.master
                   and op.ns == NS1)
    assert ops.index(vlan_ops[0]) > attached  # the ports are in the bridge by then
    for op in vlan_ops:  # journaled and read back the same
        assert o.op_from_json(json.loads(json.dumps(op.to_json()))) == op
        assert op.undo() is None  # they go with the switch's namespace
    assert vlan_ops[1].describe() == f"make h1-eth0 in {NS1} an access port of vlan 10"
    assert vlan_ops[2].describe() == f"make sw2 in {NS1} a trunk of vlans 10,20"


def test_a_switch_without_vlans_is_planned_as_before() -> None:
    ops = plan(load_text(LAB.replace("vlan: 10", "mtu: 1500").replace("vlan: 20", "mtu: 1500")
                         .replace("vlans: [10, 20]", "mtu: 1500"), "vl.yaml").topology).ops
    assert not [op for op in ops if isinstance(op, (o.SetVlanFiltering, o.SetPortVlans))]


def test_a_big_switch_carries_every_vlan_between_its_bridges() -> None:
    hosts = 1030
    nodes: dict[str, object] = {"sw": {"kind": "switch"}}
    nodes.update({f"h{i}": {} for i in range(hosts)})
    links = [{"endpoints": [f"h{i}:eth0", "sw"], "vlan": 10 + i % 2} for i in range(hosts)]
    links[0] = {"endpoints": ["h0:eth0", "sw"], "vlans": [30]}
    built = plan(Topology.model_validate({"name": "big", "nodes": nodes, "links": links}))
    ns = "netlab-big-sw"
    assert [op.ifname for op in built.ops if isinstance(op, o.SetVlanFiltering)] == [
        "br0", "br1"]
    ports = {op.ifname: op for op in built.ops if isinstance(op, o.SetPortVlans)}
    assert ports["br0-br1"] == o.SetPortVlans(ns, "br0-br1", tagged=(10, 11, 30))
    assert ports["br1-br0"] == o.SetPortVlans(ns, "br1-br0", tagged=(10, 11, 30))
    assert ports["h1029-eth0"] == o.SetPortVlans(ns, "h1029-eth0", pvid=11)


def test_the_requests_decode_as_pyroute2_reads_them() -> None:
    from pyroute2.netlink.rtnl.ifinfmsg import ifinfmsg

    msg = ifinfmsg(bytes(rtnl.vlan_filtering(3, 9)))
    msg.decode()
    data = msg.get_attr("IFLA_LINKINFO").get_attr("IFLA_INFO_DATA")
    assert msg["index"] == 9 and data.get_attr("IFLA_BR_VLAN_FILTERING") == 1

    access = rtnl.BRIDGE_VLAN_INFO_PVID | rtnl.BRIDGE_VLAN_INFO_UNTAGGED
    msg = ifinfmsg(bytes(rtnl.port_vlans(4, 7, [(10, access), (20, 0)], add=True)))
    msg.decode()
    assert msg["family"] == socket.AF_BRIDGE and msg["index"] == 7
    infos = msg.get_attr("IFLA_AF_SPEC").get_attrs("IFLA_BRIDGE_VLAN_INFO")
    assert [(i["vid"], i["flags"]) for i in infos] == [(10, access), (20, 0)]
    assert msg["header"]["type"] == rtnl.RTM_SETLINK
    removal = rtnl.port_vlans(5, 7, [(1, 0)], add=False)
    assert rtnl.NLMSG_HDR.unpack_from(removal)[1] == rtnl.RTM_DELLINK


def test_refused_before_anything_when_the_kernel_lacks_vlan_filtering() -> None:
    loaded = load_text(LAB, "vl.yaml")
    without = features.Support(frozenset({"tbf", "netem"}), bridge_vlans=False)
    with features.assumed(without), pytest.raises(TopologyError) as info:
        refuse_unsupported(loaded.topology, loaded)
    error = info.value
    assert error.exit_code == EXIT_UNSUPPORTED
    assert str(error).splitlines() == [
        f"vl.yaml:{n}: links[{i}].{key}: VLANs on a switch's port need bridge VLAN "
        "filtering, which this kernel lacks (CONFIG_BRIDGE_VLAN_FILTERING)"
        for n, i, key in ((10, 0, "vlan"), (12, 1, "vlan"), (15, 3, "vlans"))]
    assert error.hint is not None and "CONFIG_BRIDGE_VLAN_FILTERING" in error.hint
    with features.assumed(features.Support(frozenset({"tbf", "netem"}))):
        refuse_unsupported(loaded.topology, loaded)  # a kernel that has it


def _dumped_port(name: str, infos: list[tuple[int, int]]) -> bytes:
    """A port as the kernel's AF_BRIDGE dump gives it: its name and its VLAN infos."""
    spec = b"".join(rtnl.nla(rtnl.IFLA_BRIDGE_VLAN_INFO, rtnl.VLAN_INFO.pack(flags, vid))
                    for vid, flags in infos)
    body = (rtnl.ifinfo(3, family=socket.AF_BRIDGE) + rtnl.nla_str(rtnl.IFLA_IFNAME, name)
            + rtnl.nla(rtnl.IFLA_AF_SPEC, spec))
    return bytes(rtnl.message(rtnl.RTM_NEWLINK, 0, 1, body))


def test_port_vlans_read_back_and_compared_with_the_plan() -> None:
    from netlab.kernel.dumps import decode_port_vlans
    from netlab.plan import switch_vlans

    access = rtnl.BRIDGE_VLAN_INFO_PVID | rtnl.BRIDGE_VLAN_INFO_UNTAGGED
    ports = decode_port_vlans([_dumped_port("h1-eth0", [(10, access)]),
                               _dumped_port("trunk", [(1, access), (10, 0), (20, 0)])])
    assert ports == {"h1-eth0": {"pvid": 10, "untagged": [10], "tagged": []},
                     "trunk": {"pvid": 1, "untagged": [1], "tagged": [10, 20]}}
    built = plan(load_text(LAB, "vl.yaml").topology)
    planned = {i.name: switch_vlans.planned_port(i) for i in built.interfaces["sw1"]
               if i.master}
    assert planned == {"h1-eth0": ports["h1-eth0"], "h3-eth0": {
        "pvid": 1, "untagged": [1], "tagged": []}, "sw2": ports["trunk"]}
    assert switch_vlans.words(ports["trunk"]) == \
        "untagged in VLAN 1; tagged in VLAN 10, 20; PVID 1"


def test_graph_and_status_table_say_each_ports_vlans() -> None:
    from netlab.lab import graph
    from netlab.ui.render import _link_words

    built = plan(load_text(LAB, "vl.yaml").topology)
    drawn = graph.mermaid(graph.build(load_text(LAB, "vl.yaml").topology, built))
    assert "sw1:h1-eth0 in br0 vlan 10" in drawn
    assert "sw1:sw2 in br0 trunk 10,20" in drawn
    vlans = {"now": {"pvid": 1, "untagged": [1], "tagged": [10]},
             "planned": {"pvid": 1, "untagged": [1], "tagged": [10, 20]}, "as_planned": False}
    iface = {"peer": "sw2:sw1", "master": "br0", "kind": "veth", "vlans": vlans}
    assert _link_words(iface) == "to sw2:sw1, in br0, trunk 10 (drift)"


NATIVE = LAB.replace("vlans: [10, 20]", "vlans: [1, 10]\n    native: 20")


def test_a_trunk_with_another_native_vlan() -> None:
    """`native: 20`: VLAN 20 untagged on both trunk ends (their PVID), VLAN 1 off the port
    unless listed tagged (here it is); planned, described, encoded and drawn so."""
    from netlab.kernel.netlink import NetlinkKernel
    from netlab.lab import graph
    from netlab.plan import switch_vlans
    from netlab.ui.render import _vlan_words

    loaded = load_text(NATIVE, "vl.yaml")
    built = plan(loaded.topology)
    trunks = [op for op in built.ops if isinstance(op, o.SetPortVlans) and op.tagged]
    assert trunks == [o.SetPortVlans(NS1, "sw2", pvid=20, tagged=(1, 10)),
                      o.SetPortVlans(NS2, "sw1", pvid=20, tagged=(1, 10))]
    assert trunks[0].describe() == f"make sw2 in {NS1} a trunk of vlans 1,10 (native vlan 20)"
    assert o.op_from_json(json.loads(json.dumps(trunks[0].to_json()))) == trunks[0]
    port = next(i for i in built.interfaces["sw1"] if i.name == "sw2")
    planned = switch_vlans.planned_port(port)
    assert planned == {"pvid": 20, "untagged": [20], "tagged": [1, 10]}
    assert _vlan_words(planned) == "trunk 1,10 native 20"
    assert "sw1:sw2 in br0 trunk 1,10 native 20" in graph.mermaid(graph.build(loaded.topology,
                                                                              built))
    # The kernel's messages, in order: VLAN 20 untagged as the PVID, VLAN 1 (the default
    # one, untagged) removed, then the tagged VLANs - VLAN 1 among them, now tagged.
    kernel = NetlinkKernel()
    kernel._links[NS1] = {"sw2": 7}
    msgs = kernel._encode_port_vlans(0, trunks[0])
    access = rtnl.BRIDGE_VLAN_INFO_PVID | rtnl.BRIDGE_VLAN_INFO_UNTAGGED
    assert [bytes(m.data[12:]) for m in msgs] == [bytes(m[12:]) for m in (  # past the seq
        rtnl.port_vlans(0, 7, [(20, access)], add=True),
        rtnl.port_vlans(0, 7, [(1, 0)], add=False),
        rtnl.port_vlans(0, 7, [(1, 0), (10, 0)], add=True))]
    assert [rtnl.NLMSG_HDR.unpack_from(m.data)[1] for m in msgs] == [
        rtnl.RTM_SETLINK, rtnl.RTM_DELLINK, rtnl.RTM_SETLINK]


def test_a_port_moved_to_another_vlan_loses_the_old_one_after_it_has_the_new() -> None:
    """`netlab link ... vlan 20` on a port of VLAN 10: VLAN 20 in as PVID (untagged), then
    VLAN 1 and 10 off, in that order (the port is never without a PVID); the journal keeps
    what was dropped."""
    from netlab.kernel.netlink import NetlinkKernel
    from netlab.plan.ops import op_from_json

    move = o.SetPortVlans("netlab-x-sw", "h1-eth0", pvid=20, drop=(10, 20))
    assert move.describe() == ("make h1-eth0 in netlab-x-sw an access port of vlan 20, "
                               "off vlan 10,20")
    assert op_from_json(json.loads(json.dumps(move.to_json()))) == move
    kernel = NetlinkKernel()
    kernel._links["netlab-x-sw"] = {"h1-eth0": 7}  # as learned from the kernel
    from pyroute2.netlink.rtnl.ifinfmsg import ifinfmsg

    sent = []
    for m in kernel._encode_port_vlans(0, move):
        msg = ifinfmsg(bytes(m.data))
        msg.decode()
        infos = msg.get_attr("IFLA_AF_SPEC").get_attrs("IFLA_BRIDGE_VLAN_INFO")
        sent.append((msg["header"]["type"], [(i["vid"], i["flags"]) for i in infos]))
    access = rtnl.BRIDGE_VLAN_INFO_PVID | rtnl.BRIDGE_VLAN_INFO_UNTAGGED
    assert sent == [(rtnl.RTM_SETLINK, [(20, access)]), (rtnl.RTM_DELLINK, [(1, 0)]),
                    (rtnl.RTM_DELLINK, [(10, 0)])]
