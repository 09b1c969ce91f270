"""A lab across hosts (docs/multi-host.md), on hosts simulated as namespaces (simhosts.py):
each host builds its part, cables between hosts are VXLAN over the underlay, and
--all-hosts drives them all through a --via template."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from netlab.pytest_plugin import unique_name

from .simhosts import SimHost, env, real_host_mounts, sim_hosts, via
from .sshd import NETLAB, ssh_client, sshd_on

TOPOLOGY = """\
name: {name}
hosts:
  a: {{address: 10.77.0.1}}
  b: {{address: 10.77.0.2}}
nodes:
  h1:
    interfaces: {{eth0: {{addresses: [10.1.0.1/24]}}}}
    routes: [{{to: default, via: 10.1.0.254}}]
  r1:
    kind: router
    interfaces:
      eth0: {{addresses: [10.1.0.254/24]}}
      eth1: {{addresses: [10.2.0.254/24]}}
  h3:
    interfaces: {{eth0: {{addresses: [10.2.0.3/24]}}}}
  sw1: {{kind: switch, host: b}}
  h2:
    host: b
    interfaces: {{eth0: {{addresses: [10.2.0.2/24]}}}}
    routes: [{{to: default, via: 10.2.0.254}}]
links:
  - [h1:eth0, r1:eth0]
  - [r1:eth1, sw1]
  - [h3:eth0, sw1]
  - [h2:eth0, sw1]
"""

# A UDP datagram of `size` bytes (IP header included) with DF, from a node to an address:
# what the receiver got, in bytes (0: nothing came).
_SEND = """
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.IPPROTO_IP, 10, 2)  # IP_MTU_DISCOVER = IP_PMTUDISC_DO: never fragment
s.sendto(b"x" * (int(sys.argv[2]) - 28), (sys.argv[1], 9000))
"""
_RECV = """
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("0.0.0.0", 9000)); s.settimeout(5); print("listening", flush=True)
try:
    print(len(s.recvfrom(65535)[0]) + 28)
except TimeoutError:
    print(0)
"""


@pytest.fixture
def hosts(tmp_path: Path) -> Iterator[dict[str, SimHost]]:
    before = real_host_mounts()
    with sim_hosts(["a", "b"], tmp_path) as made:
        yield made
    assert real_host_mounts() == before == []


def _netlab(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "netlab", *args], capture_output=True,
                          text=True, timeout=300, env=env())


def _write(tmp_path: Path, name: str, more: str = "") -> Path:
    path = tmp_path / f"{name}.yaml"
    path.write_text(TOPOLOGY.format(name=name) + more)
    return path


def _in_node(host: SimHost, lab: str, node: str, code: str, *args: str
             ) -> subprocess.Popen[str]:
    return subprocess.Popen(
        ["nsenter", "-t", str(host.pid), "-n", "-m", "--", "ip", "netns", "exec",
         f"netlab-{lab}-{node}", sys.executable, "-c", code, *args],
        stdout=subprocess.PIPE, text=True)


def _datagram(hosts: dict[str, SimHost], lab: str, size: int) -> int:
    """Send one DF datagram of `size` bytes from h3 (host a) to h2 (host b), through the
    switch on b: the size h2 received (0: none)."""
    receiver = _in_node(hosts["b"], lab, "h2", _RECV)
    assert receiver.stdout is not None and receiver.stdout.readline().strip() == "listening"
    sender = _in_node(hosts["a"], lab, "h3", _SEND, "10.2.0.2", str(size))
    sender.wait(timeout=30)
    out, _ = receiver.communicate(timeout=30)
    return int(out.strip())


def _assert_empty(hosts: dict[str, SimHost]) -> None:
    for host in hosts.values():
        assert host.netns() == []
        assert host.run(["ls", "/run/netlab"], check=True).stdout.split() in ([], ["locks"])
        assert host.links() == ["lo", "u0"]  # nothing of the labs in the host's namespace


def test_lab_across_two_hosts(hosts: dict[str, SimHost], tmp_path: Path) -> None:
    lab = unique_name("mh")
    file = _write(tmp_path, lab)
    template = via(tmp_path)
    try:
        up = _netlab("up", str(file), "--all-hosts", "--via", template)
        assert up.returncode == 0, up.stderr
        assert "host a: up" in up.stderr and "host b: up" in up.stderr
        # Each host has its own part, and nothing in its own namespace but its underlay.
        assert hosts["a"].netns() == sorted(f"netlab-{lab}-{n}" for n in ("h1", "r1", "h3"))
        assert hosts["b"].netns() == sorted(f"netlab-{lab}-{n}" for n in ("sw1", "h2"))
        assert hosts["a"].links() == ["lo", "u0"]
        # Through the router (host a) and the switch (host b): h1 -> h2.
        ping = hosts["a"].netlab("ping", "-l", lab, "-c", "2", "-W", "2", "h1", "10.2.0.2")
        assert ping.returncode == 0, ping.stdout + ping.stderr
        # h3 (a) and h2 (b) on one LAN through the switch; 1400 bytes cross unfragmented,
        # 1451 do not leave h3 (its vxlan's MTU is 1450).
        assert _datagram(hosts, lab, 1400) == 1400
        assert _datagram(hosts, lab, 1451) == 0
        # One status document, each node marked with its host.
        status = _netlab("status", str(file), "--all-hosts", "--via", template, "--json")
        assert status.returncode == 0, status.stderr
        doc = json.loads(status.stdout)
        assert {n["name"]: n["host"] for n in doc["nodes"]} == {
            "h1": "a", "r1": "a", "h3": "a", "sw1": "b", "h2": "b"}
        assert doc["drift"] == [] and doc["up"] is True
        vx = next(i for n in doc["nodes"] if n["name"] == "h3" for i in n["interfaces"])
        assert (vx["kind"], vx["mtu"]) == ("vxlan", 1450)
        # Host b alone goes down from its own record; a's part stays.
        down_b = hosts["b"].netlab("down", "-l", lab)
        assert down_b.returncode == 0, down_b.stderr
        assert hosts["b"].netns() == [] and len(hosts["a"].netns()) == 3
        down = _netlab("down", str(file), "--all-hosts", "--via", template)
        assert down.returncode == 0, down.stderr
        _assert_empty(hosts)
    finally:
        _netlab("down", str(file), "--all-hosts", "--via", template)


def test_a_host_that_fails_rolls_every_host_back(hosts: dict[str, SimHost],
                                                  tmp_path: Path) -> None:
    lab = unique_name("mhf")
    file = _write(tmp_path, lab)
    # Host b's kernel refuses its 6th op (fault injection); a builds its part fully.
    for name, fail in (("a", ""), ("b", "NETLAB_FAIL_AT=6")):
        script = tmp_path / f"run-{name}"
        script.write_text(f"#!/bin/sh\nexec nsenter --net={tmp_path}/{name}/net "
                          f"--mount={tmp_path}/{name}/mnt -- env {fail} \"$@\"\n")
        script.chmod(0o700)
    up = _netlab("up", str(file), "--all-hosts", "--via", f"{tmp_path}/run-{{host}} {{cmd}}")
    assert up.returncode == 1
    assert "host b:" in up.stderr and "fault injection" in up.stderr, up.stderr
    assert "host a: down" in up.stderr
    _assert_empty(hosts)


def test_two_labs_on_the_same_hosts(hosts: dict[str, SimHost], tmp_path: Path) -> None:
    labs = [unique_name("mh1"), unique_name("mh2")]
    files = [_write(tmp_path, lab) for lab in labs]
    template = via(tmp_path)
    try:
        for file in files:
            up = _netlab("up", str(file), "--all-hosts", "--via", template)
            assert up.returncode == 0, up.stderr
        vnis = []
        for file in files:
            plan = _netlab("plan", str(file), "--json")
            vnis.append({c["vni"] for c in json.loads(plan.stdout)["cross_links"]})
        assert len(vnis[0]) == 2 and not vnis[0] & vnis[1]
        for lab in labs:  # the same addresses in both labs: each lab's traffic stays its own
            assert _datagram(hosts, lab, 1400) == 1400
        for file in files:
            assert _netlab("down", str(file), "--all-hosts", "--via", template).returncode == 0
        _assert_empty(hosts)
    finally:
        for file in files:
            _netlab("down", str(file), "--all-hosts", "--via", template)


CHECKS = """\
checks:
  - {from: h1, to: h2}                        # a (through r1) to b (through sw1): passes
  - {from: h2, to: h3}                        # b to a, on the switch's LAN: passes
  - {from: h2, to: h1, expect: unreachable}   # it is reachable: fails
"""


def test_checks_run_from_the_host_of_their_node(hosts: dict[str, SimHost],
                                                 tmp_path: Path) -> None:
    lab = unique_name("mht")
    file = _write(tmp_path, lab, CHECKS)
    junit = tmp_path / "checks.xml"
    template = via(tmp_path)
    try:
        # Not up: brought up on both hosts for the checks, and taken down after them.
        run = _netlab("test", str(file), "--all-hosts", "--via", template, "--json",
                      "--junit", str(junit))
        assert run.returncode == 1, run.stderr
        doc = json.loads(run.stdout)
        assert (doc["lab"], doc["total"], doc["passed"], doc["failed"], doc["ok"]) == (
            lab, 3, 2, 1, False)
        assert [(c["index"], c["node"], c["host"], c["passed"]) for c in doc["checks"]] == [
            (0, "h1", "a", True), (1, "h2", "b", True), (2, "h2", "b", False)]
        assert "answered" in doc["checks"][2]["why"] or "reply" in doc["checks"][2]["why"]
        assert "host a: 1 of 1 checks passed" in run.stderr
        assert "host b: 1 of 2 checks passed" in run.stderr
        assert 'tests="3" failures="1"' in junit.read_text()
        _assert_empty(hosts)
        # Up already: tested as it is and left up; only the passing checks, exit 0.
        up = _netlab("up", str(file), "--all-hosts", "--via", template)
        assert up.returncode == 0, up.stderr
        passing = _write(tmp_path, lab, CHECKS.rsplit("\n  - ", 1)[0] + "\n")
        ok = _netlab("test", str(passing), "--all-hosts", "--via", template)
        assert ok.returncode == 0, ok.stdout + ok.stderr
        assert "all 2 checks passed" in ok.stdout
        assert len(hosts["a"].netns()) == 3 and len(hosts["b"].netns()) == 2
        # --pingall: every pair, each pinged from its first node's host; h3 has no route
        # back to h1's subnet, so that pair alone fails.
        every = _netlab("test", str(passing), "--all-hosts", "--via", template, "--pingall",
                        "--json", "--timeout", "3")
        assert every.returncode == 1, every.stderr
        assert [(c["node"], c["target"], c["host"], c["passed"])
                for c in json.loads(every.stdout)["checks"]] == [
            ("h1", "r1", "a", True), ("h1", "h3", "a", False), ("h1", "h2", "a", True),
            ("r1", "h3", "a", True), ("r1", "h2", "a", True), ("h3", "h2", "a", True)]
        # One host's share alone, on that host, from its record.
        mine = hosts["b"].netlab("test", "-l", lab, "--json")
        assert mine.returncode == 0, mine.stderr
        assert [c["node"] for c in json.loads(mine.stdout)["checks"]] == ["h2"]
    finally:
        _netlab("down", str(file), "--all-hosts", "--via", template)
    _assert_empty(hosts)


def test_a_lab_across_hosts_over_ssh(hosts: dict[str, SimHost], tmp_path: Path) -> None:
    """The SSH path itself: a real sshd on each host, the lab driven from host a's network
    (where the underlay is), --via naming the netlab program (no PATH over ssh finds it)."""
    lab = unique_name("mhs")
    file = _write(tmp_path, lab)

    def from_a(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(["nsenter", "-t", str(hosts["a"].pid), "-n", "--", *args],
                              capture_output=True, text=True, timeout=100, env=env(),
                              stdin=subprocess.DEVNULL)

    with sshd_on(hosts, tmp_path) as key:
        ssh = [*ssh_client(key)]
        template = " ".join([*ssh, "root@{address}", NETLAB])
        try:
            up = from_a(sys.executable, "-m", "netlab", "up", str(file), "--all-hosts",
                        "--via", template)
            assert up.returncode == 0, up.stderr
            assert "host a: up" in up.stderr and "host b: up" in up.stderr
            assert hosts["b"].netns() == sorted(f"netlab-{lab}-{n}" for n in ("sw1", "h2"))
            # h2 (host b) to h1 (host a), asked of host b over ssh.
            ping = from_a(*ssh, "root@10.77.0.2", NETLAB, "ping", "-l", lab, "-c", "2",
                          "-W", "2", "h2", "10.1.0.1")
            assert ping.returncode == 0, ping.stdout + ping.stderr
            assert "2 received" in ping.stdout or " 0% packet loss" in ping.stdout, ping.stdout
            down = from_a(sys.executable, "-m", "netlab", "down", str(file), "--all-hosts",
                          "--via", template)
            assert down.returncode == 0, down.stderr
            assert "host a: down" in down.stderr and "host b: down" in down.stderr
            _assert_empty(hosts)
        finally:
            from_a(sys.executable, "-m", "netlab", "down", str(file), "--all-hosts",
                   "--via", template)
