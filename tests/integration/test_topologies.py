"""Every example topology, for real: up, traffic across every link kind it has, its own
checks, status against the plan, down, and the host exactly as before."""

from __future__ import annotations

import ipaddress
import socket
import threading
from pathlib import Path

import pytest

from netlab.api import Lab
from netlab.pytest_plugin import LabFactory, LabHandle

from ..conftest import TOPOLOGIES, host_links, netlab_namespaces
from .expect import reachable_pairs, segments


def _tcp_exchange(lab: LabHandle, server: str, address: str, client: str) -> bytes:
    """A TCP connection from client to server:address, echoing a message back."""
    family = socket.AF_INET6 if ipaddress.ip_address(address).version == 6 else socket.AF_INET
    listener = lab.socket(server, family, socket.SOCK_STREAM)
    listener.bind((address, 0))
    listener.listen(1)
    listener.settimeout(5)
    port = listener.getsockname()[1]

    def serve() -> None:
        conn, _ = listener.accept()
        with conn:
            conn.sendall(conn.recv(100).upper())

    thread = threading.Thread(target=serve)
    thread.start()
    try:
        with lab.socket(client, family, socket.SOCK_STREAM) as sock:
            sock.settimeout(5)
            sock.connect((address, port))
            sock.sendall(b"hello over tcp")
            return sock.recv(100)
    finally:
        thread.join(5)
        listener.close()


def _udp_exchange(lab: LabHandle, server: str, address: str, client: str) -> bytes:
    family = socket.AF_INET6 if ipaddress.ip_address(address).version == 6 else socket.AF_INET
    with lab.socket(server, family, socket.SOCK_DGRAM) as srv, \
            lab.socket(client, family, socket.SOCK_DGRAM) as cli:
        srv.bind((address, 0))
        srv.settimeout(5)
        cli.settimeout(5)
        for _ in range(3):  # the first datagram may wait for ARP/ND resolution
            cli.sendto(b"hello over udp", srv.getsockname()[:2])
            try:
                data, _ = srv.recvfrom(100)
                return data
            except TimeoutError:
                continue
    return b""


# Examples that need what this machine's kernel lacks run in the stock-kernel VM, each in a
# test of its own that knows what must and must not be reached there: vrf.yaml (VRFs; two
# customers with the same addresses, which expect.py's pairs cannot tell apart) and
# vlans.yaml (bridge VLAN filtering; a host kept out by its VLAN).
STOCK_ONLY = {"vrf": "test_vrf.py", "vlans": "test_switch_vlans.py"}
END_TO_END = [p for p in TOPOLOGIES if p.stem not in STOCK_ONLY]


def test_each_example_left_to_the_vm_has_its_test() -> None:
    for stem, test in STOCK_ONLY.items():
        assert (Path(__file__).parent / test).read_text().count(f"{stem}.yaml"), stem


@pytest.mark.parametrize("path", END_TO_END, ids=[p.stem for p in END_TO_END])
def test_topology_end_to_end(path: Path, netlab_lab: LabFactory) -> None:
    links_before = host_links()
    lab = netlab_lab(path)
    mine = f"netlab-{lab.name}-"  # the name is fresh: before up, nothing had it
    plan = lab.lab.plan
    try:
        pairs = reachable_pairs(lab.lab.topology, plan)
        # Cables give pairs to test; a lab wired only through programs (TAPs joined by a
        # userspace switch) has none the plan can vouch for: test_programs.py covers those.
        # A lab whose addresses come at run time (DHCP) has its own checks for that.
        checks = lab.lab.topology.checks
        assert pairs or checks or not plan.links, "cables but no reachable pair to test"
        if checks:
            report = lab.run_checks()
            assert report.ok, report.summary()
        failed = [p for p in pairs if not lab.ping(p.source, p.target, count=3)]
        assert not failed, f"no answer: {failed}"
        families = {ipaddress.ip_address(p.target).version for p in pairs}
        # Both transports on one pair per family, one of them through a router if any.
        routed = [p for p in pairs if p.why.startswith("via")]
        for family in families:
            pick = [p for p in routed + pairs if ipaddress.ip_address(p.target).version == family]
            pair = pick[0]
            server = next(
                n for n, ifs in plan.interfaces.items() for i in ifs
                for a in i.spec.addresses if str(ipaddress.ip_interface(a).ip) == pair.target
            )
            assert _tcp_exchange(lab, server, pair.target, pair.source) == b"HELLO OVER TCP"
            assert _udp_exchange(lab, server, pair.target, pair.source) == b"hello over udp"

        # status --json agrees with the plan: every planned interface present, with its
        # addresses, and no drift.
        doc = lab.status()
        assert doc["drift"] == []
        for node in doc["nodes"]:
            assert node["present"]
            live = {i["name"]: i for i in node["interfaces"]}
            for ifc in plan.interfaces[node["name"]]:
                assert live[ifc.name]["present"], f"{node['name']}:{ifc.name}"
                want = {str(ipaddress.ip_interface(a)) for a in ifc.spec.addresses}
                assert want <= set(live[ifc.name]["addresses"])
                assert live[ifc.name]["kind"] == ifc.kind
        assert {(lk["a"], lk["b"]) for lk in doc["links"]} == {
            (f"{rl.a[0]}:{rl.a[1]}", f"{rl.b[0]}:{rl.b[1]}") for rl in plan.links
        }
        # every planned namespace exists; the lab added nothing to the host namespace
        assert netlab_namespaces(mine) == set(plan.namespaces.values())
        assert host_links() == links_before
    finally:
        lab.down()
    assert netlab_namespaces(mine) == set()
    assert host_links() == links_before


def test_segments_cover_switch_ports() -> None:
    lab = Lab.from_file(Path(__file__).parents[2] / "topologies" / "bridge.yaml")
    seg = segments(lab.plan)
    assert seg[("h1", "eth0")] == seg[("h3", "eth0")]
