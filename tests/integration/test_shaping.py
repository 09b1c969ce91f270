"""Links with character on a real kernel: rates measured with TCP between nodes, links taken
down, brought up and flapped (the peer's carrier counters in status), shaping changed at
runtime and journaled, netem refused (or used) as the kernel's own answer decides."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import threading
import time
from pathlib import Path

import pytest

from netlab.kernel import features
from netlab.kernel.reach import socket_in
from netlab.plan import ops as o
from netlab.pytest_plugin import LabFactory, LabHandle, unique_name
from netlab.values import tc

from ..conftest import netlab_namespaces
from .hostcheck import netlab

ROOT = Path(__file__).resolve().parents[2]
SHAPED = ROOT / "topologies" / "shaped.yaml"
PAIR = ROOT / "topologies" / "veth-pair.yaml"
NETEM = """\
name: {name}
nodes:
  a: {{interfaces: {{eth0: {{addresses: [10.0.0.1/24]}}}}}}
  b: {{interfaces: {{eth0: {{addresses: [10.0.0.2/24]}}}}}}
links:
  - endpoints: [a:eth0, b:eth0]
    delay: 50ms
"""
TOLERANCE = 0.25  # generous: this measures the link, not netlab's speed


def throughput(lab: LabHandle, sender: str, receiver: str, address: str, size: int) -> float:
    """Bits per second of one TCP transfer of `size` bytes from `sender` to `address` (on
    `receiver`), from the first byte sent to the last received."""
    server = socket_in(lab.namespace(receiver), socket.AF_INET, socket.SOCK_STREAM)
    server.settimeout(30)
    server.bind((address, 0))
    server.listen(1)
    received: list[float] = []

    def sink() -> None:
        conn, _ = server.accept()
        with conn:
            conn.settimeout(30)
            total = 0
            while chunk := conn.recv(1 << 16):
                total += len(chunk)
            received.extend((total, time.monotonic()))

    thread = threading.Thread(target=sink)
    thread.start()
    try:
        with socket_in(lab.namespace(sender), socket.AF_INET, socket.SOCK_STREAM) as client:
            client.settimeout(30)
            client.connect((address, server.getsockname()[1]))
            started = time.monotonic()
            client.sendall(b"\0" * size)
    finally:
        thread.join(60)
        server.close()
    total, ended = received
    assert total == size
    return total * 8 / (ended - started)


def assert_near(measured: float, rate: str) -> None:
    expected = tc.parse_rate(rate) * 8
    low, high = expected * (1 - TOLERANCE), expected * (1 + TOLERANCE)
    assert low <= measured <= high, f"{measured / 1e6:.2f} Mbit/s, expected {rate} ±25%"


def iface(doc: dict, node: str, name: str) -> dict:
    [entry] = [i for n in doc["nodes"] if n["name"] == node for i in n["interfaces"]
               if i["name"] == name]
    return entry


def tc_show(ns: str, dev: str) -> dict:
    out = subprocess.run(["tc", "-n", ns, "-j", "qdisc", "show", "dev", dev],
                         capture_output=True, text=True, check=True).stdout
    return next(q for q in json.loads(out) if q.get("root"))


# --- rates --------------------------------------------------------------------------------
def test_a_10mbit_link_carries_10mbit_each_way(netlab_lab: LabFactory) -> None:
    lab = netlab_lab(SHAPED)
    assert_near(throughput(lab, "client", "r1", "10.1.0.254", 3_000_000), "10mbit")
    assert_near(throughput(lab, "r1", "client", "10.1.0.1", 3_000_000), "10mbit")


def test_an_endpoint_shapes_only_what_leaves_it(netlab_lab: LabFactory) -> None:
    lab = netlab_lab(SHAPED)
    assert_near(throughput(lab, "r1", "server", "10.2.0.1", 250_000), "1mbit")  # up
    assert_near(throughput(lab, "server", "r1", "10.2.0.254", 2_400_000), "8mbit")  # down
    doc = lab.status()
    assert doc["drift"] == []
    assert iface(doc, "r1", "eth1")["shaping"]["text"] == "tbf rate 1mbit burst 3028b limit 9278b"
    assert iface(doc, "server", "eth0")["shaping"]["as_planned"] is True
    # what tc itself reads from the kernel
    ours = iface(doc, "server", "eth0")["shaping"]["now"]
    theirs = tc_show(lab.namespace("server"), "eth0")
    assert theirs["kind"] == "tbf"
    assert theirs["options"]["rate"] == ours["rate"] == 1_000_000


def test_shaping_set_and_cleared_while_the_lab_runs(netlab_lab: LabFactory) -> None:
    lab = netlab_lab(PAIR)
    link = lab.link("a:eth0")
    assert link.clear() is False  # nothing shapes it yet
    qdisc = link.set(rate="2mbit")
    assert_near(throughput(lab, "a", "b", "10.0.0.2", 500_000), "2mbit")
    assert tc_show(lab.namespace("a"), "eth0")["options"]["rate"] == 250_000
    doc = lab.status()
    shaping = iface(doc, "a", "eth0")["shaping"]
    assert shaping["now"] == qdisc.to_json() and shaping["planned"] is None
    assert not shaping["as_planned"]
    assert doc["drift"] == ["a: eth0 is shaped 'tbf rate 2mbit burst 3028b limit 15528b'; "
                            "the topology says not at all"]
    link.set({"rate": "4mbit", "burst": "8kb"})  # replaces the shaping there
    assert tc_show(lab.namespace("a"), "eth0")["options"]["rate"] == 500_000
    assert link.clear() is True
    doc = lab.status()
    assert iface(doc, "a", "eth0")["shaping"]["now"] is None and doc["drift"] == []
    kinds = [e.op.kind for e in lab.lab.state.entries() if isinstance(
        e.op, (o.SetQdisc, o.DeleteQdisc))]
    assert kinds == ["set-qdisc", "set-qdisc", "delete-qdisc"]


# --- faults -------------------------------------------------------------------------------
def test_link_down_cuts_it_and_up_restores_it(netlab_lab: LabFactory) -> None:
    lab = netlab_lab(PAIR)
    assert lab.ping("a", "b")
    lab.link("a:eth0").down()
    assert not lab.ping("a", "b", timeout=0.5, count=2)
    assert not lab.ping("b", "a", timeout=0.5, count=2)
    doc = lab.status()
    assert iface(doc, "a", "eth0")["admin"] == "down"
    assert iface(doc, "b", "eth0")["oper"] != "up"  # the peer lost its carrier
    # an admin down flushes the interface's IPv6 addresses (and routes through it) ...
    assert sorted(doc["drift"]) == ["a: eth0 is administratively down; the topology has it up",
                                    "a: eth0 lacks address fd00:a::1/64"]
    lab.link("a:eth0").up()
    assert lab.ping("a", "b") and lab.ping("a", "fd00:a::2")
    assert lab.status()["drift"] == []  # ... which up puts back


def test_flap_counts_show_in_status(netlab_lab: LabFactory) -> None:
    lab = netlab_lab(PAIR)
    ends = (("a", "eth0"), ("b", "eth0"))
    before = {e: iface(lab.status(), *e) for e in ends}
    seen: list[tuple[int, str]] = []
    report = lab.link("a:eth0").flap(down=0.1, up=0.1, count=5,
                                     progress=lambda n, what: seen.append((n, what)))
    assert report.flaps == 5 and seen[-1] == (5, "up") and len(seen) == 10
    doc = lab.status()
    for end in ends:
        now, then = iface(doc, *end), before[end]
        assert now["carrier_down_count"] - then["carrier_down_count"] == 5, end
        assert now["carrier_up_count"] - then["carrier_up_count"] == 5, end
        assert now["carrier_changes"] - then["carrier_changes"] == 10, end
    assert iface(doc, "a", "eth0")["admin"] == "up" and doc["drift"] == []
    assert lab.ping("a", "b")


def test_changes_are_journaled_and_down_undoes_the_lab_exactly(netlab_lab: LabFactory) -> None:
    lab = netlab_lab(PAIR)
    built = len(lab.lab.state.entries())
    lab.link("b:eth0").set(rate="1mbit")
    lab.link("b:eth0").down()
    lab.link("b:eth0").up()
    added = lab.lab.state.entries()[built:]
    # up puts back the IPv6 address that the admin down flushed
    assert [e.op.kind for e in added] == ["set-qdisc", "set-link-down", "set-link-up",
                                          "add-address"]
    assert all(e.done for e in added)
    assert [e.index for e in added] == list(range(built, built + 4))
    lab.down()
    assert netlab_namespaces(f"netlab-{lab.name}-") == set()
    assert not lab.lab.state.dir.exists()


# --- the command line ---------------------------------------------------------------------


def test_netlab_link_command(netlab_lab: LabFactory) -> None:
    lab = netlab_lab(PAIR)
    name = lab.name
    assert "is down (b:eth0 has lost its carrier)" in netlab("link", "-l", name, "a:eth0",
                                                             "down").stdout
    netlab("link", "-l", name, "a:eth0", "up")
    out = netlab("link", "-l", name, "a:eth0", "set", "rate=1mbit").stdout
    assert "tbf rate 1mbit" in out
    bad = netlab("link", "-l", name, "a:eth0", "set", "rate=fast", check=2)
    assert "rate 'fast' is not understood" in bad.stderr
    for words in (["a:eth9", "down"], ["z:eth0", "up"], ["a:eth0", "set", "speed=1"],
                  ["a:eth0", "flap", "--down", "soon"]):
        netlab("link", "-l", name, *words, check=2)
    flap = netlab("link", "-l", name, "a:eth0", "flap", "--down", "50ms", "--up", "50ms",
                  "--count", "2").stdout
    assert "flapped 2 times" in flap
    view = json.loads(netlab("link", "-l", name, "b:eth0", "show", "--json").stdout)
    assert view["schema"] == "netlab.link/1"
    assert view["admin"] == "up" and view["peer"] == "a:eth0"
    assert "shaping removed" in netlab("link", "-l", name, "a:eth0", "clear").stdout
    netlem = netlab("link", "-l", name, "a:eth0", "set", "delay=10ms", check=None)
    if features.qdiscs().has("netem"):
        assert netlem.returncode == 0
    else:
        assert netlem.returncode == 5
        assert "CONFIG_NET_SCH_NETEM" in netlem.stderr and "delay" in netlem.stderr


# --- netem: the kernel's answer decides -----------------------------------------------------
def test_netem_topology_is_refused_before_anything_is_made(tmp_path: Path) -> None:
    if features.qdiscs().has("netem"):
        pytest.skip("this kernel has netem (CONFIG_NET_SCH_NETEM): nothing to refuse")
    name = unique_name("netem")
    path = tmp_path / "netem.yaml"
    path.write_text(NETEM.format(name=name))
    result = netlab("up", str(path), check=5)
    assert f"{path}:7: links[0].delay: a:eth0 -- b:eth0: delay needs netem" in result.stderr
    assert "CONFIG_NET_SCH_NETEM" in result.stderr
    assert netlab_namespaces(f"netlab-{name}-") == set()
    assert f"lab {name}" not in netlab("ls").stdout


@pytest.mark.stock_kernel
def test_netem_delays_a_link(netlab_lab: LabFactory, tmp_path: Path) -> None:
    path = tmp_path / "netem.yaml"
    path.write_text(NETEM.format(name="netem"))
    lab = netlab_lab(path)
    from netlab.kernel.reach import ping

    rtt = ping(lab.namespace("a"), "10.0.0.2", timeout=2, count=3)
    assert rtt is not None and rtt >= 0.1  # 50 ms each way
    assert lab.status()["drift"] == []


def test_the_probe_asks_the_kernel_in_a_scratch_namespace() -> None:
    home = os.stat("/proc/thread-self/ns/net").st_ino
    answer = features._ask()  # afresh, not the answer cached for the process
    assert answer.has("tbf")  # this project's kernels all have tbf
    # It asked in a namespace of its own, gone with its thread: ours is untouched.
    assert os.stat("/proc/thread-self/ns/net").st_ino == home
    assert features.qdiscs() is features.qdiscs()
    assert answer.has("netem") == features.qdiscs().has("netem")
