"""`frr:` runs FRR's daemons in each node: three routers in a line learn each other's
networks by OSPF, vtysh in a node talks to that node's daemons, and `down` leaves nothing."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path

from netlab.api import Lab

from .hostcheck import Host, netlab

TOPOLOGY = Path(__file__).parents[2] / "topologies" / "ospf.yaml"
WAIT = 60.0  # OSPF's hellos come every 10 s


def _poll(check: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + WAIT
    while not check():
        assert time.monotonic() < deadline, f"{what} not within {WAIT:.0f} s"
        time.sleep(1)


def _processes_in(lab: Lab) -> set[int]:
    """The processes in the lab's network namespaces, found from the kernel (each
    namespace's inode), not from pid files. A namespace's link reads net:[inode], never
    its name: compare inodes."""
    inodes = {os.stat(f"/run/netns/{lab.namespace(n)}").st_ino for n in lab.topology.nodes}
    found = set()
    for pid in (p for p in os.listdir("/proc") if p.isdigit()):
        try:
            if os.stat(f"/proc/{pid}/ns/net").st_ino in inodes:
                found.add(int(pid))
        except OSError:
            continue
    return found


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def test_three_routers_learn_their_routes_by_ospf(fresh_lab: str) -> None:
    before = Host.of(fresh_lab)
    lab = Lab.from_file(TOPOLOGY, name=fresh_lab)
    lab.up()
    try:
        def full() -> bool:
            said = netlab("exec", "-l", fresh_lab, "r1", "--", "vtysh", "-c",
                          "show ip ospf neighbor", check=None)
            return said.returncode == 0 and "Full" in said.stdout

        _poll(full, "r1's OSPF neighbor Full")
        _poll(lambda: "10.0.34.0/24" in lab.exec("r1", "ip route").stdout,
              "r1's route to r3's far network")
        route = lab.exec("r1", "ip route show 10.0.34.0/24").stdout
        assert "via 10.0.12.2" in route and "proto ospf" in route, route
        netlab("ping", "-l", fresh_lab, "-c", "1", "r1", "10.0.34.3")
        # Each node's own FRR: r2's vtysh shows r2's daemons and two neighbors.
        said = lab.exec("r2", "vtysh -c 'show ip ospf neighbor'").stdout
        assert said.count("Full") == 2, said
        assert "hostname r3" in lab.exec("r3", "vtysh -c 'show running-config'").stdout
        daemons = _processes_in(lab)
        assert len(daemons) >= 9, daemons  # zebra, staticd and ospfd in each router
    finally:
        lab.down()
    assert Host.of(fresh_lab) == before
    assert [p for p in daemons if _alive(p)] == []
    with open("/proc/self/mountinfo") as f:
        assert [line for line in f if f"netlab-{fresh_lab}-" in line] == []
