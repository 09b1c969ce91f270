"""Property: any valid small topology goes up and down leaving the host as it was, and
while it is up the kernel agrees with the plan (no drift, every address and route there,
traffic where the plan says it should flow).

The topologies come from a generator that only makes valid ones: 2 to 6 nodes of every
kind, point-to-point cables and switches, IPv4 and IPv6 addresses on some interfaces,
default routes through a router, TUN/TAP devices and a bridge over TAPs, MTUs, sysctls.
"""

from __future__ import annotations

import ipaddress
import random
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from netlab.api import Lab
from netlab.errors import InputError
from netlab.kernel.reach import ping
from netlab.lab.preflight import refuse_unsupported
from netlab.pytest_plugin import unique_name
from netlab.spec import load_text

from ..unit.test_mutations import mutated
from .expect import reachable_pairs
from .hostcheck import Host, force_down, own_netns

NAMES = ["a", "b", "h1", "r1", "sw", "n-2", "x9", "left", "right", "core"]


def build(seed: int, count: int, kinds: list[str]) -> dict[str, Any]:
    """A valid topology document from a seed (the generator's choices are all in `rng`)."""
    rng = random.Random(seed)
    names = rng.sample(NAMES, count)
    nodes: dict[str, dict[str, Any]] = {
        name: ({"kind": kind} if kind != "host" else {}) for name, kind in zip(names, kinds,
                                                                               strict=True)
    }
    kind_of = dict(zip(names, kinds, strict=True))
    links: list[Any] = []
    segments: list[list[tuple[str, str]]] = []  # the (node, ifname) ends on each segment
    next_if = {name: 0 for name in names}

    def new_if(node: str) -> str:
        next_if[node] += 1
        return f"eth{next_if[node] - 1}"

    # Cables: each pair of nodes at most once, never switch to switch.
    for switch in (n for n in names if kind_of[n] == "switch"):
        ends = []
        for other in names:
            if kind_of[other] != "switch" and rng.random() < 0.6:
                ifname = new_if(other)
                links.append([f"{other}:{ifname}", switch])
                ends.append((other, ifname))
        segments.append(ends)
    for i, a in enumerate(names):
        for b in names[i + 1:]:
            if "switch" in (kind_of[a], kind_of[b]) or rng.random() > 0.45:
                continue
            ia, ib = new_if(a), new_if(b)
            link: Any = [f"{a}:{ia}", f"{b}:{ib}"]
            if rng.random() < 0.3:
                link = {"endpoints": link, "mtu": rng.choice([1280, 1400, 9000])}
            links.append(link)
            segments.append([(a, ia), (b, ib)])

    # Addresses: one IPv4 /24 (and maybe an IPv6 /64) per segment; some ends go without.
    address_of: dict[tuple[str, str], list[str]] = {}
    for k, ends in enumerate(segments):
        v6 = rng.random() < 0.5
        for host, (node, ifname) in enumerate(ends, start=1):
            if rng.random() < 0.15:
                continue
            cidrs = [f"10.{seed % 200}.{k}.{host}/24"]
            if v6:
                cidrs.append(f"fd00:{seed % 200:x}:{k}::{host}/64")
            address_of[(node, ifname)] = cidrs
    for (node, ifname), cidrs in address_of.items():
        nodes[node].setdefault("interfaces", {})[ifname] = {"addresses": cidrs}

    # A default route through a router on a shared segment, for hosts that have one.
    for ends in segments:
        routers = [e for e in ends if kind_of[e[0]] == "router" and e in address_of]
        for end in ends:
            node = end[0]
            if (kind_of[node] != "host" or end not in address_of or not routers
                    or "routes" in nodes[node] or rng.random() < 0.3):
                continue
            gateway = ipaddress.ip_interface(address_of[routers[0]][0]).ip
            nodes[node]["routes"] = [{"to": "default", "via": str(gateway)}]

    # Devices of a node's own: a TUN with an address, a TAP in a bridge, sysctls.
    for n, name in enumerate(names):
        if kind_of[name] == "switch":
            continue
        ifaces = nodes[name].setdefault("interfaces", {})
        if rng.random() < 0.3:
            ifaces["tun0"] = {"kind": "tun", "owner": rng.choice([0, 1000, 65534]),
                              "addresses": [f"10.250.{seed % 200}.{n * 4 + 1}/30"]}
        if rng.random() < 0.3:
            ifaces["tap0"] = {"kind": "tap", "owner": 1000, "group": 1000}
            ifaces["br9"] = {"kind": "bridge", "ports": ["tap0"]}
        if not ifaces:
            del nodes[name]["interfaces"]
        if rng.random() < 0.2:
            nodes[name]["sysctls"] = {"net.ipv4.conf.all.rp_filter": rng.choice([0, 2])}
    return {"name": "prop", "nodes": nodes, "links": links}


KINDS = st.sampled_from(["host", "host", "router", "switch"])


@st.composite
def topologies(draw: st.DrawFn) -> str:
    count = draw(st.integers(min_value=2, max_value=6))
    kinds = draw(st.lists(KINDS, min_size=count, max_size=count))
    seed = draw(st.integers(min_value=0, max_value=10_000))
    return yaml.safe_dump(build(seed, count, kinds), sort_keys=False)


@settings(max_examples=200, deadline=None)
@given(topologies())
def test_the_generator_makes_only_valid_topologies(text: str) -> None:
    load_text(text, "generated.yaml")  # raises TopologyError with every problem


@settings(max_examples=15, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(topologies())
def test_any_valid_topology_goes_up_and_down_without_a_trace(text: str) -> None:
    topology = load_text(text, "generated.yaml").topology
    lab = Lab(topology, unique_name("prop"))
    before, netns = Host.of(lab.name), own_netns()
    try:
        lab.up()
        status = lab.status()
        assert status["drift"] == [], text
        for node in status["nodes"]:
            assert node["present"], node["name"]
            live = {i["name"]: i for i in node["interfaces"]}
            for ifc in lab.plan.interfaces[node["name"]]:
                assert live[ifc.name]["present"], f"{node['name']}:{ifc.name}\n{text}"
                assert set(ifc.spec.addresses) <= set(live[ifc.name]["addresses"])
            for route in topology.nodes[node["name"]].routes:
                assert any(r["to"] == "default" and r["via"] == route.via
                           for r in node["routes"]), f"{node['name']}: {route}\n{text}"
        pairs = reachable_pairs(topology, lab.plan)
        for pair in random.Random(text).sample(pairs, min(3, len(pairs))):
            assert ping(lab.namespace(pair.source), pair.target, 1.0, 3) is not None, (
                f"{pair}\n{text}")
        lab.down()
        assert Host.of(lab.name) == before
        assert own_netns() == netns
    finally:
        force_down(lab.name)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_a_generated_lab_survives_a_refusal_anywhere(
    seed: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The fault-injection property on generated labs: refused at a random op, the host
    is as it was."""
    rng = random.Random(seed)
    count = rng.randint(3, 6)
    doc = build(seed, count, [rng.choice(["host", "router", "switch"]) for _ in range(count)])
    topology = load_text(yaml.safe_dump(doc), "generated.yaml").topology
    lab = Lab(topology, unique_name("propf"))
    before = Host.of(lab.name)
    n = rng.randint(1, len(lab.plan.ops))
    monkeypatch.setenv("NETLAB_FAIL_AT", str(n))
    try:
        with pytest.raises(Exception, match="fault injection"):
            lab.up()
        assert Host.of(lab.name) == before
    finally:
        force_down(lab.name)


@settings(max_examples=150, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                 HealthCheck.filter_too_much])
@given(mutated())
def test_up_never_fails_on_what_validate_accepted(text: str) -> None:
    """Issue 10.6: the mutated files of tests/unit/test_mutations.py that validate accepts
    go up and down on real namespaces (those it refuses are that test's subject). About
    one in 40 mutated files is accepted: 150 examples bring a few labs up."""
    try:
        topology = load_text(text, "mutated.yaml").topology
        # A kind or qdisc this kernel lacks (a VRF here) is refused by `up` before anything
        # is made, as validate refuses: tests/unit/test_link_kinds.py has those refusals.
        refuse_unsupported(topology)
    except InputError:
        return
    # Programs are outside validate's reach: a service or a command whose text, arguments
    # (`--tap h2:tap0` after h2's tap0 was mutated away) or expected output changed is a lab
    # that fails at `up` by design. The property is about what netlab itself builds.
    assume(not any(node.services or node.prepare or node.exec
                   for node in topology.nodes.values()))
    lab = Lab(topology, unique_name("propm"))
    before = Host.of(lab.name)
    try:
        lab.up()
        lab.down()
        assert Host.of(lab.name) == before
    finally:
        force_down(lab.name)
