"""An example test file for a network lab, using netlab's pytest plugin.

The plugin comes with netlab (no conftest.py needed). Its fixtures build a lab from a
topology file, give it a unique name (so parallel runs never collide), and tear it down
afterwards, even when a test fails. Run it as root:  python3 -m pytest examples/
"""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from netlab.pytest_plugin import LabFactory, LabHandle

TOPOLOGY = Path(__file__).parent / "lab.yaml"


@pytest.fixture(scope="module")
def lab(netlab_lab_module: LabFactory) -> LabHandle:
    """One lab for the whole module: built on first use, torn down after the last test."""
    return netlab_lab_module(TOPOLOGY)


def test_the_checks_of_the_topology_pass(lab: LabHandle) -> None:
    report = lab.run_checks()  # the `checks:` section, as `netlab test` runs it
    assert report, report.summary()
    assert report["server answers"].passed


def test_one_named_check(lab: LabHandle) -> None:
    assert lab.check("router forwards")


def test_ping_from_inside_a_node(lab: LabHandle) -> None:
    assert lab.ping("client", "server")  # a node name means its first address
    assert lab.ping("server", "10.60.1.10")
    assert not lab.ping("client", "192.0.2.1", timeout=0.2, count=1)


def test_commands_in_nodes(lab: LabHandle) -> None:
    route = lab.exec("client", ["ip", "route", "get", "10.60.2.80"])
    assert route.returncode == 0
    assert "via 10.60.1.1" in route.stdout
    assert lab.exec("r1", "sysctl -n net.ipv4.ip_forward").stdout.strip() == "1"


def test_a_tcp_service(lab: LabHandle) -> None:
    # A socket opened inside a node's namespace serves from the test process itself.
    with lab.socket("server") as listener:
        listener.bind(("10.60.2.80", 8080))
        listener.listen()
        # A whole exchange: connect from the client, answer from the server.
        with lab.socket("client") as client:
            client.settimeout(5)
            client.connect(("10.60.2.80", 8080))
            conn, peer = listener.accept()
            with conn:
                assert peer[0] == "10.60.1.10"  # the client's own address, routed by r1
                client.sendall(b"ping")
                conn.sendall(conn.recv(4).upper())
                assert client.recv(4) == b"PING"
        # A check written as in a topology file; the result is true when it passed.
        connected = lab.check({"from": "client", "to": "server", "tcp": 8080})
        assert connected, connected.why
    closed = lab.check({"from": "client", "to": "server", "tcp": 8080, "timeout": 0.5})
    assert not closed
    assert "refused" in closed.why


def test_expecting_unreachable(lab: LabHandle) -> None:
    assert lab.check({"from": "server", "to": "192.0.2.1", "expect": "unreachable",
                      "timeout": 0.5})


def test_status_has_no_drift(lab: LabHandle) -> None:
    status = lab.status()  # the document of `netlab status --json`
    assert status["drift"] == []
    assert {node["name"] for node in status["nodes"]} == {"client", "r1", "server"}


def test_a_lab_of_its_own_with_other_variables(netlab_lab: LabFactory) -> None:
    # Function scope: this lab exists for this test only. Overrides are `--set` values.
    own = netlab_lab(TOPOLOGY, {"lan": "10.61.1"})
    assert own.name != "example"  # a unique name, so it never collides
    assert own.address("client") == "10.61.1.10"
    assert own.ping("client", "server")


def test_sockets_of_any_kind(lab: LabHandle) -> None:
    # lab.socket takes the family and type of socket.socket: here UDP, whose connect()
    # asks the node's routing table which source address it would use.
    with lab.socket("client", socket.AF_INET, socket.SOCK_DGRAM) as udp:
        udp.connect(("10.60.2.80", 9))
        assert udp.getsockname()[0] == "10.60.1.10"
