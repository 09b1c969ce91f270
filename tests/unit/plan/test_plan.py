"""The planner: a golden plan per example topology, teardown as the exact reverse, order
rules that the kernel depends on."""

from __future__ import annotations

import json
import os
from pathlib import Path
from types import SimpleNamespace

import pytest

from netlab.errors import InputError
from netlab.plan import ops as o
from netlab.plan.kind_ops import CREATE_OPS
from netlab.plan.planner import plan
from netlab.spec import load_text, load_topology, userdb
from netlab.spec.model import Topology

ROOT = Path(__file__).resolve().parents[3]
TOPOLOGIES = sorted((ROOT / "topologies").glob("*.yaml"))
GOLDEN = Path(__file__).resolve().parents[1] / "golden" / "plans"


# The users and groups the example topologies name, as one fixed host has them: a plan
# holds their ids, and a real host's depend on the order its packages were installed in.
USERS = {"frr": (104, 113), "nobody": (65534, 65534)}
GROUPS = {"frr": 113, "frrvty": 112, "nogroup": 65534}


def _user(name: str) -> SimpleNamespace:
    uid, gid = USERS[name]  # KeyError: no such user, as pwd says it
    return SimpleNamespace(pw_uid=uid, pw_gid=gid)


def _user_by_id(uid: int) -> SimpleNamespace:
    for u, g in USERS.values():
        if u == uid:
            return SimpleNamespace(pw_uid=u, pw_gid=g)
    raise KeyError(uid)


@pytest.fixture(autouse=True)
def fixed_user_database(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(userdb, "pwd", SimpleNamespace(getpwnam=_user, getpwuid=_user_by_id))
    monkeypatch.setattr(userdb, "grp", SimpleNamespace(
        getgrnam=lambda name: SimpleNamespace(gr_gid=GROUPS[name])))


def _plan_text(path: Path) -> str:
    p = plan(load_topology(path).topology)
    return "\n".join(json.dumps(op.to_json(), sort_keys=True) for op in p.ops) + "\n"


@pytest.mark.parametrize("path", TOPOLOGIES, ids=[p.stem for p in TOPOLOGIES])
def test_plan_matches_golden(path: Path) -> None:
    golden = GOLDEN / f"{path.stem}.jsonl"
    text = _plan_text(path)
    if os.environ.get("NETLAB_REGEN_GOLDEN"):
        golden.write_text(text)
    assert text == golden.read_text(), f"plan of {path.name} changed (NETLAB_REGEN_GOLDEN=1)"


@pytest.mark.parametrize("path", TOPOLOGIES, ids=[p.stem for p in TOPOLOGIES])
def test_teardown_is_exact_reverse(path: Path) -> None:
    p = plan(load_topology(path).topology)
    undos = [op.undo() for op in reversed(p.ops) if op.undo() is not None]
    assert [u for u, _ in p.teardown()] == undos
    # Services are stopped, nodes' mount namespaces unpinned and namespaces removed one by
    # one; all else goes with them.
    carried = [u for u, c in p.teardown() if c]
    before = (o.StopService, o.DeleteNodeHost)
    assert all(isinstance(u, (o.DeleteNamespace, *before)) for u in carried)
    removed = [u.ns for u in carried if isinstance(u, o.DeleteNamespace)]
    assert removed == list(reversed(list(p.namespaces.values())))
    unpinned = [u.ns for u in carried if isinstance(u, o.DeleteNodeHost)]
    assert unpinned == removed
    first_removal = next(i for i, u in enumerate(carried) if isinstance(u, o.DeleteNamespace))
    assert all(isinstance(u, before) for u in carried[:first_removal])


@pytest.mark.parametrize("path", TOPOLOGIES, ids=[p.stem for p in TOPOLOGIES])
def test_order_rules(path: Path) -> None:
    p = plan(load_topology(path).topology)
    seen: set[tuple[str, str]] = set()
    attached: set[tuple[str, str]] = set()
    made_ns: set[str] = set()
    for op in p.ops:
        if isinstance(op, o.CreateNamespace):
            made_ns.add(op.ns)
            continue
        assert op.ns in made_ns, f"{op.describe()} before its namespace"
        if isinstance(op, o.CreateVeth):
            assert op.peer_ns in made_ns
            seen |= {(op.ns, op.ifname), (op.peer_ns, op.peer_ifname)}
        elif isinstance(op, CREATE_OPS):  # every other kind's device (plan/kind_ops.py)
            seen.add((op.ns, op.ifname))
        elif isinstance(op, (o.SetLink, o.AddAddress, o.SetLinkUp, o.SetVlanFiltering,
                             o.SetPortVlans)) and op.ifname != "lo":
            assert (op.ns, op.ifname) in seen, f"{op.describe()} before the device exists"
            if isinstance(op, o.SetLink) and op.master:
                assert (op.ns, op.master) in seen
                attached.add((op.ns, op.ifname))
            if isinstance(op, o.SetPortVlans):  # a port's VLANs once it is in its bridge
                assert (op.ns, op.ifname) in attached, f"{op.describe()} before it is a port"
    # routes come after the links they use are up, exec commands last of all
    kinds = [type(op) for op in p.ops]
    if o.AddRoute in kinds:
        ns_of_route = {op.ns for op in p.ops if isinstance(op, o.AddRoute)}
        for ns in ns_of_route:
            ups = [i for i, op in enumerate(p.ops) if isinstance(op, o.SetLinkUp) and op.ns == ns]
            routes = [i for i, op in enumerate(p.ops) if isinstance(op, o.AddRoute) and op.ns == ns]
            assert max(ups) < min(routes)


def test_switch_ports_are_named_after_their_peer() -> None:
    p = plan(load_topology(ROOT / "topologies" / "bridge.yaml").topology)
    ports = {i.name for i in p.interfaces["sw1"]}
    assert ports == {"br0", "h1-eth0", "h2-eth0", "h3-eth0"}


def test_a_port_between_two_switches_is_named_after_the_other_switch() -> None:
    text = ("name: sws\nnodes:\n  sw1: {kind: switch}\n  c: {kind: switch}\n  lo: {kind: switch}\n"
            "links:\n  - [sw1, c]\n  - [c, lo]\n")
    p = plan(load_text(text, "t.yaml").topology)
    ports = {node: sorted(i.name for i in p.interfaces[node]) for node in ("sw1", "c", "lo")}
    # not "c-c" and "sw1-sw1"; a switch named lo gives no port the loopback's name
    assert ports == {"sw1": ["br0", "c"], "c": ["br0", "p1", "sw1"], "lo": ["br0", "c"]}


def test_lab_name_override_changes_namespaces_only() -> None:
    topo = load_topology(ROOT / "topologies" / "veth-pair.yaml").topology
    a, b = plan(topo), plan(topo, "other")
    assert list(b.namespaces.values()) == ["netlab-other-a", "netlab-other-b"]
    assert len(a.ops) == len(b.ops)


SWITCH_MTU = """\
name: swmtu
nodes:
  sw: {kind: switch, interfaces: {br0: {addresses: [10.0.0.254/24], mtu: 9000}}}
  a: {interfaces: {eth0: {addresses: [10.0.0.1/24]}}}
  b: {interfaces: {eth0: {addresses: [10.0.0.2/24]}}}
  c: {interfaces: {br1: {kind: bridge, mtu: 4000}, tap0: {kind: tap}}}
links:
  - {endpoints: [a:eth0, sw], mtu: 9000}
  - [b:eth0, sw]
"""


def test_a_bridge_mtu_is_set_again_once_its_ports_have_joined() -> None:
    # A joining port lowers the bridge to the smallest MTU of its ports (b's 1500), unless
    # the bridge's MTU is set after they joined.
    p = plan(load_text(SWITCH_MTU, "t.yaml").topology)
    ns = "netlab-swmtu-sw"
    joins = [i for i, op in enumerate(p.ops)
             if isinstance(op, o.SetLink) and op.ns == ns and op.master == "br0"]
    sets = [i for i, op in enumerate(p.ops)
            if isinstance(op, o.SetLink) and op.ns == ns and op.ifname == "br0" and op.mtu]
    assert len(joins) == 2 and len(sets) == 1
    assert p.ops[sets[0]] == o.SetLink(ns, "br0", mtu=9000)
    assert max(joins) < sets[0]
    # a bridge without ports keeps the MTU it was made with: nothing to set again
    assert not [op for op in p.ops if isinstance(op, o.SetLink) and op.ifname == "br1"]


LATE_BRIDGES = """\
name: late
nodes:
  sw: {kind: switch}
  mgmt: {kind: switch, interfaces: {br0: {addresses: [10.0.1.254/24]}}}
  a: {interfaces: {eth0: {addresses: [10.0.0.1/24]}}}
  b: {interfaces: {eth0: {addresses: [10.0.0.2/24]}, eth1: {addresses: [10.0.1.2/24]}}}
  c: {}
links:
  - [a:eth0, sw]
  - [b:eth0, sw]
  - [b:eth1, mgmt]
  - [c:eth0, sw]
"""


def test_a_switch_that_only_switches_comes_up_after_every_link() -> None:
    # While its bridge is down a port drops what comes in: the hosts' first IPv6 chatter is
    # not flooded to every port under the kernel's RTNL lock in the middle of the build.
    p = plan(load_text(LATE_BRIDGES, "t.yaml").topology)
    ups = [(op.ns, op.ifname) for op in p.ops if isinstance(op, o.SetLinkUp)]
    up_at = {key: i for i, key in enumerate(ups)}
    hosts = [key for key in ups if key[1] != "lo"
             and key[0] in ("netlab-late-a", "netlab-late-b", "netlab-late-c")]
    assert ups[-1] == ("netlab-late-sw", "br0")
    assert up_at["netlab-late-sw", "br0"] > max(up_at[key] for key in hosts)
    # a switch with an address of its own brings its bridge up first, then its ports
    ns = "netlab-late-mgmt"
    ports = [up_at[key] for key in ups if key[0] == ns and key[1] not in ("lo", "br0")]
    assert ports and up_at[ns, "br0"] < min(ports)
    assert up_at[ns, "br0"] < min(up_at[key] for key in hosts)


def test_a_user_gone_since_validation_is_bad_input_not_a_crash() -> None:
    # A lab's stored topology is typed again without the user database being asked.
    topo = Topology.model_validate({
        "name": "gone", "nodes": {"a": {"services": {"s": {"run": "sleep 9",
                                                           "user": "no-such-user-xyz"}}}}})
    with pytest.raises(InputError, match="user 'no-such-user-xyz' does not exist"):
        plan(topo)
    topo = Topology.model_validate({
        "name": "gone", "nodes": {"a": {"interfaces": {"tap0": {
            "kind": "tap", "group": "no-such-group-xyz"}}}}})
    with pytest.raises(InputError, match="group 'no-such-group-xyz' does not exist"):
        plan(topo)


def test_a_switch_past_1023_ports_is_a_tree_of_bridges() -> None:
    from netlab.plan import bridgetree
    from netlab.plan.ops import CreateBridge, CreateVeth, SetLink
    from netlab.plan.planner import plan
    from netlab.spec.model import Topology

    hosts = 2100
    nodes: dict[str, object] = {"sw": {"kind": "switch", "interfaces": {"br0": {"stp": True}}}}
    nodes.update({f"h{i}": {} for i in range(hosts)})
    links = [{"endpoints": [f"h{i}:eth0", "sw"], "mtu": 9000 if i == 5 else None}
             for i in range(hosts)]
    built = plan(Topology.model_validate({"name": "big", "nodes": nodes, "links": links}))
    ns = "netlab-big-sw"
    bridges = [op for op in built.ops if isinstance(op, CreateBridge) and op.ns == ns]
    assert [b.ifname for b in bridges] == ["br0", "br1", "br2"]
    assert all(b.stp for b in bridges)  # the leaves behave as the switch's bridge does
    trunks = [op for op in built.ops if isinstance(op, CreateVeth) and op.ns == ns]
    assert [(t.ifname, t.peer_ns, t.peer_ifname, t.mtu) for t in trunks] == [
        ("br0-br1", ns, "br1-br0", 9000), ("br0-br2", ns, "br2-br0", 9000)]
    masters: dict[str, list[str]] = {}
    for op in built.ops:
        if isinstance(op, SetLink) and op.master and op.ns == ns:
            masters.setdefault(op.master, []).append(op.ifname)
    assert {b: len(p) for b, p in masters.items()} == {"br0": 1023, "br1": 1023, "br2": 58}
    assert masters["br0"][0] == "h0-eth0" and f"h{hosts - 1}-eth0" in masters["br2"]
    # Each trunk is made before its ends are attached, each bridge before its ports.
    index = {id(op): k for k, op in enumerate(built.ops)}
    first_attach = min(index[id(op)] for op in built.ops
                       if isinstance(op, SetLink) and op.master)
    assert max(index[id(op)] for op in trunks + bridges) < first_attach
    # The graph (the plan's interfaces) still has one node for the switch, and the links
    # are the topology's only.
    assert len(built.links) == hosts
    assert bridgetree.leaves_needed(1023) == 0 and bridgetree.leaves_needed(1024) == 1
    # A flood to this many ports would overflow the CPU's backlog: each cable hands frames
    # to its receiver's own queue (GRO on at the host, TSO off at the switch).
    offload = [op for op in built.ops if isinstance(op, o.SetOffload)]
    assert len(offload) == 2 * hosts
    assert {(op.ifname, op.gro, op.tso) for op in offload if op.ns == ns} == {
        (f"h{i}-eth0", None, False) for i in range(hosts)}
    assert {(op.ns, op.ifname, op.gro, op.tso) for op in offload if op.ns != ns} == {
        (f"netlab-big-h{i}", "eth0", True, None) for i in range(hosts)}


def test_a_switch_of_900_ports_floods_through_the_backlog() -> None:
    nodes: dict[str, object] = {"sw": {"kind": "switch"}}
    nodes.update({f"h{i}": {} for i in range(900)})
    links = [[f"h{i}:eth0", "sw"] for i in range(900)]
    built = plan(Topology.model_validate({"name": "big", "nodes": nodes, "links": links}))
    assert not [op for op in built.ops if isinstance(op, o.SetOffload)]


def test_a_switch_at_1023_ports_is_one_bridge() -> None:
    from netlab.plan.ops import CreateBridge
    from netlab.plan.planner import plan
    from netlab.spec.model import Topology

    nodes: dict[str, object] = {"sw": {"kind": "switch"}}
    nodes.update({f"h{i}": {} for i in range(1023)})
    links = [[f"h{i}:eth0", "sw"] for i in range(1023)]
    built = plan(Topology.model_validate({"name": "big", "nodes": nodes, "links": links}))
    assert [op.ifname for op in built.ops if isinstance(op, CreateBridge)] == ["br0"]
