"""`frr:` runs FRR's daemons in each node: three routers in a line learn each other's
networks by OSPF, vtysh in a node talks to that node's daemons, and `down` leaves nothing."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

from netlab.api import Lab

from .hostcheck import Host, namespace_inodes, netlab, processes_in

TOPOLOGY = Path(__file__).parents[2] / "topologies" / "ospf.yaml"
WAIT = 60.0  # OSPF's hellos come every 10 s


def _poll(check: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + WAIT
    while not check():
        assert time.monotonic() < deadline, f"{what} not within {WAIT:.0f} s"
        time.sleep(1)


def test_three_routers_learn_their_routes_by_ospf(fresh_lab: str) -> None:
    before = Host.of(fresh_lab)
    lab = Lab.from_file(TOPOLOGY, name=fresh_lab)
    lab.up()
    try:
        inodes = namespace_inodes(fresh_lab)

        def full() -> bool:
            said = netlab("exec", "-l", fresh_lab, "r1", "--", "vtysh", "-c",
                          "show ip ospf neighbor", check=None)
            return said.returncode == 0 and "Full" in said.stdout

        _poll(full, "r1's OSPF neighbor Full")
        _poll(lambda: "10.0.34.0/24" in lab.exec("r1", "ip route").stdout,
              "r1's route to r3's far network")
        route = lab.exec("r1", "ip route show 10.0.34.0/24").stdout
        assert "via 10.0.12.2" in route and "proto ospf" in route, route
        # The reply needs the way back: r3 learns r1's network on its own SPF run, which
        # may come a moment after r1's.
        _poll(lambda: "10.0.12.0/24" in lab.exec("r3", "ip route").stdout,
              "r3's route back to r1's network")
        netlab("ping", "-l", fresh_lab, "-c", "1", "r1", "10.0.34.3")
        # Each node's own FRR: r2's vtysh shows r2's daemons and two neighbors.
        said = lab.exec("r2", "vtysh -c 'show ip ospf neighbor'").stdout
        assert said.count("Full") == 2, said
        assert "hostname r3" in lab.exec("r3", "vtysh -c 'show running-config'").stdout
        running = processes_in(inodes)  # FRR's daemons, found from the kernel
        assert sum("ospfd" in p for p in running) == 3, running
    finally:
        lab.down()
    assert Host.of(fresh_lab) == before
    assert processes_in(inodes) == []
    with open("/proc/self/mountinfo") as f:
        assert [line for line in f if f"netlab-{fresh_lab}-" in line] == []


def test_two_ases_exchange_their_networks_by_ebgp(fresh_lab: str) -> None:
    """topologies/bgp.yaml: each AS announces its network, the other learns it over eBGP
    (AS path = the peer's AS), and the lab's own checks pass through `netlab test`."""
    before = Host.of(fresh_lab)
    lab = Lab.from_file(TOPOLOGY.with_name("bgp.yaml"), name=fresh_lab)
    lab.up()
    try:
        inodes = namespace_inodes(fresh_lab)
        running = processes_in(inodes)
        assert sum("bgpd" in p for p in running) == 2, running
        tested = netlab("test", "-l", fresh_lab, check=None)
        assert tested.returncode == 0, tested.stdout + tested.stderr
        route = lab.exec("r1", "ip route show 10.2.0.0/24").stdout
        assert "via 10.12.0.2" in route and "proto bgp" in route, route
        table = lab.exec("r2", "vtysh -c 'show bgp ipv4 unicast 10.1.0.0/24'").stdout
        assert "65001" in table and "10.12.0.1" in table, table
    finally:
        lab.down()
    assert Host.of(fresh_lab) == before
    assert processes_in(inodes) == []
