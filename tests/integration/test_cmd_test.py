"""`netlab test` and `netlab ping` as a script (CI, a grader) and a person use them:
exit codes, tables, JSON, JUnit, bringing a lab up and down for the run."""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path

import pytest

from netlab.api import Lab
from netlab.checks.run import pingall
from netlab.kernel.reach import socket_in
from netlab.pytest_plugin import LabFactory, unique_name

from ..conftest import netlab_namespaces
from .hostcheck import netlab

LAB = """\
name: cmdtest
nodes:
  alice:
    interfaces: {{eth0: {{addresses: [10.77.0.1/24, "fd00:77::1/64"]}}}}
  srv:
    interfaces: {{eth0: {{addresses: [10.77.0.2/24, "fd00:77::2/64"]}}}}
links:
  - [alice:eth0, srv:eth0]
checks:
{checks}
"""
PASSING = """\
  - {from: alice, to: srv}
  - {from: alice, to: "fd00:77::2"}
  - {from: alice, to: 10.66.0.1, expect: unreachable, timeout: 0.5}
  - {node: srv, run: "ip route", expect_output: "10.77.0.0/24"}
"""
FAILING = PASSING + """\
  - {name: nobody home, from: alice, to: 10.77.0.9, timeout: 1}
"""




@pytest.fixture
def lab_name() -> Iterator[str]:
    name = unique_name("cmdtest")
    try:
        yield name
    finally:
        subprocess.run([sys.executable, "-m", "netlab", "down", "-l", name],
                       capture_output=True, timeout=120)


def topology(tmp_path: Path, checks: str) -> Path:
    path = tmp_path / "lab.yaml"
    path.write_text(LAB.format(checks=checks))
    return path


def namespaces_of(lab: str) -> set[str]:
    return netlab_namespaces(f"netlab-{lab}-")


# --- netlab test FILE: up, check, down ---------------------------------------------------


def test_passing_checks_exit_0_and_the_lab_goes_away(tmp_path: Path, lab_name: str) -> None:
    result = netlab("test", str(topology(tmp_path, PASSING)), "-l", lab_name)
    assert "all 4 checks passed" in result.stdout
    assert "alice reaches srv (10.77.0.2)" in result.stdout and "FAIL" not in result.stdout
    assert f"lab {lab_name} is up for the checks" in result.stderr
    assert f"lab {lab_name} is down again" in result.stderr
    assert namespaces_of(lab_name) == set()


def test_a_failing_check_exits_1_with_its_reason(tmp_path: Path, lab_name: str) -> None:
    junit = tmp_path / "results.xml"
    result = netlab("test", str(topology(tmp_path, FAILING)), "-l", lab_name,
                    "--junit", str(junit), check=1)
    assert "1 of 5 checks failed" in result.stdout
    assert "nobody home" in result.stdout and "no reply from 10.77.0.9" in result.stdout
    assert namespaces_of(lab_name) == set()
    suite = ET.parse(junit).getroot().find("testsuite")
    assert suite is not None and suite.get("tests") == "5" and suite.get("failures") == "1"
    failed = [c for c in suite.iter("testcase") if c.find("failure") is not None]
    assert [c.get("name") for c in failed] == ["nobody home"]
    failure = failed[0].find("failure")
    assert failure is not None and "no reply from 10.77.0.9" in (failure.get("message") or "")


def test_json_for_graders(tmp_path: Path, lab_name: str) -> None:
    result = netlab("test", str(topology(tmp_path, FAILING)), "-l", lab_name, "--json",
                    check=1)
    doc = json.loads(result.stdout)  # stdout holds the document and nothing else
    assert doc["schema"] == "netlab.checks/1" and doc["lab"] == lab_name
    assert (doc["ok"], doc["total"], doc["passed"], doc["failed"]) == (False, 5, 4, 1)
    assert [c["passed"] for c in doc["checks"]] == [True, True, True, True, False]
    assert doc["checks"][0]["line"] == 10 and doc["checks"][0]["address"] == "10.77.0.2"
    assert doc["checks"][3]["output"].startswith("10.77.0.0/24")


def test_keep_leaves_the_lab_up(tmp_path: Path, lab_name: str) -> None:
    path = topology(tmp_path, PASSING)
    result = netlab("test", str(path), "-l", lab_name, "--keep")
    assert "--keep" in result.stderr
    assert namespaces_of(lab_name) == {f"netlab-{lab_name}-alice", f"netlab-{lab_name}-srv"}
    # Now up: the same command tests it as it is and leaves it up.
    again = netlab("test", str(path), "-l", lab_name)
    assert "is up for the checks" not in again.stderr and "down again" not in again.stderr
    assert len(namespaces_of(lab_name)) == 2


def test_pingall_pings_every_pair_instead_of_the_checks(
        tmp_path: Path, lab_name: str, netlab_lab: LabFactory) -> None:
    """As Mininet's pingall: a third node behind a router that the others have no route
    to fails its pings (exit 1); pingall(lab), and a test's lab.pingall(), say the same."""
    path = tmp_path / "three.yaml"
    path.write_text(f"""\
name: {lab_name}
nodes:
  a: {{interfaces: {{eth0: {{addresses: [10.78.0.1/24]}}}}}}
  b: {{interfaces: {{eth0: {{addresses: [10.78.0.2/24]}}}}}}
  c: {{interfaces: {{eth0: {{addresses: [10.79.0.1/24]}}}}}}
  sw: {{kind: switch}}
links:
  - [a:eth0, sw]
  - [b:eth0, sw]
  - [c:eth0, sw]
checks:
  - {{from: a, to: b}}
""")
    result = netlab("test", str(path), "--pingall", "--timeout", "3", "--json", check=1)
    doc = json.loads(result.stdout)
    assert [(c["name"], c["passed"]) for c in doc["checks"]] == [
        ("a reaches b (10.78.0.2)", True), ("a reaches c (10.79.0.1)", False),
        ("b reaches c (10.79.0.1)", False)]
    assert namespaces_of(lab_name) == set()
    own = netlab("test", str(path)).stdout  # without --pingall: the file's one check
    assert "the check passed" in own and "reaches c" not in own
    handle = netlab_lab(path, name=unique_name("pingall"))
    report = handle.pingall(timeout=3)
    assert [r.passed for r in report] == [True, False, False] and not report
    # c gets an address in a's and b's subnet; they reach its own on the link.
    for node, argv in (("c", "ip addr add 10.78.0.3/24 dev eth0"),
                       ("a", "ip route add 10.79.0.0/24 dev eth0"),
                       ("b", "ip route add 10.79.0.0/24 dev eth0")):
        assert handle.exec(node, argv.split()).returncode == 0
    assert pingall(handle.lab, timeout=2), "every pair answers once the routes are there"
    again = netlab("test", "-l", handle.lab.name, "--pingall")
    assert "all 3 checks passed" in again.stdout


def test_pingall_without_addresses_is_refused_before_anything_is_made(
        tmp_path: Path, lab_name: str) -> None:
    path = tmp_path / "bare.yaml"
    path.write_text(f"name: {lab_name}\nnodes: {{a: {{}}, b: {{}}}}\nlinks: [[a:eth0, b:eth0]]\n")
    refused = netlab("test", str(path), "--pingall", check=2)
    assert refused.stderr.splitlines() == [
        f"error: {path} has no two nodes with an address to ping between",
        "hint: give them addresses, such as interfaces: {eth0: {addresses: [10.0.0.1/24]}}"]
    assert namespaces_of(lab_name) == set()


# --- netlab test -l LAB: a lab that is up -------------------------------------------------


def test_a_lab_that_is_up_tcp_check(tmp_path: Path, lab_name: str) -> None:
    path = topology(tmp_path, PASSING + "  - {from: alice, to: srv, tcp: 7000, timeout: 1}\n")
    lab = Lab.from_file(path, name=lab_name)
    lab.up()
    try:
        failing = netlab("test", "-l", lab_name, check=1)
        assert "refused the connection" in failing.stdout
        with socket_in(lab.namespace("srv"), socket.AF_INET, socket.SOCK_STREAM) as server:
            server.bind(("10.77.0.2", 7000))
            server.listen()
            passing = netlab("test", "-l", lab_name)
        assert "alice connects to srv (10.77.0.2) port 7000" in passing.stdout
        assert "all 5 checks passed" in passing.stdout
        assert len(namespaces_of(lab_name)) == 2  # left up
    finally:
        lab.down()


def test_a_lab_that_is_up_but_with_another_topology_is_tested_with_a_warning(
    tmp_path: Path, lab_name: str
) -> None:
    path = topology(tmp_path, PASSING)
    lab = Lab.from_file(path, name=lab_name)
    lab.up()
    try:
        changed = tmp_path / "changed.yaml"
        changed.write_text(path.read_text().replace("10.77.0.2/24", "10.77.0.3/24"))
        result = netlab("test", str(changed), "-l", lab_name, "--timeout", "1", check=1)
        assert "is up with another topology" in result.stderr
        assert "no reply from 10.77.0.3" in result.stdout
    finally:
        lab.down()


def test_usage_errors_exit_2_and_a_lab_not_up_exits_3(tmp_path: Path, lab_name: str) -> None:
    no_checks = tmp_path / "none.yaml"
    no_checks.write_text(LAB.format(checks="").replace("checks:\n", ""))
    assert "has no checks" in netlab("test", str(no_checks), "-l", lab_name, check=2).stderr
    bad = topology(tmp_path, "  - {from: alice, to: nobody}\n")
    result = netlab("test", str(bad), check=2)
    assert "lab.yaml:10: checks[0].to: node 'nobody' is not defined" in result.stderr
    assert "not up" in netlab("test", "-l", lab_name, check=3).stderr
    assert namespaces_of(lab_name) == set()


# --- netlab ping ----------------------------------------------------------------------------


def test_ping(tmp_path: Path, lab_name: str) -> None:
    lab = Lab.from_file(topology(tmp_path, PASSING), name=lab_name)
    lab.up()
    try:
        ok = netlab("ping", "-l", lab_name, "alice", "srv", "-c", "3", "-i", "0.1")
        assert ok.stdout.startswith(f"PING srv (10.77.0.2) from alice in lab {lab_name}")
        assert ok.stdout.count("reply from 10.77.0.2: seq=") == 3
        assert "3 packets transmitted, 3 received, 0% packet loss" in ok.stdout
        assert "rtt min/avg/max" in ok.stdout

        six = netlab("ping", "-l", lab_name, "-6", "srv", "alice", "-c", "1")
        assert "reply from fd00:77::1: seq=1" in six.stdout

        silent = netlab("ping", "-l", lab_name, "alice", "10.77.0.9", "-c", "2", "-i", "0.1",
                        "-W", "0.3", check=1)
        assert "no reply from 10.77.0.9: seq=2" in silent.stdout
        assert "2 packets transmitted, 0 received, 100% packet loss" in silent.stdout

        unrouted = netlab("ping", "-l", lab_name, "alice", "10.66.0.1", check=1)
        assert "alice has no route to 10.66.0.1" in unrouted.stdout

        assert "has no node 'bob'" in netlab("ping", "-l", lab_name, "bob", "srv",
                                             check=2).stderr
        assert "no node 'bob'" in netlab("ping", "-l", lab_name, "alice", "bob",
                                         check=2).stderr

        # An interface the node does not have is named as such, with those it has.
        assert netlab("ping", "-l", lab_name, "alice", "srv:eth9", check=2).stderr == (
            "error: node 'srv' has no interface 'eth9' (its interfaces: eth0)\n")
        # A link-local address needs an interface, which netlab ping does not take: said
        # so, not the kernel's "Invalid argument".
        hint = ("hint: give a global address, or a node (or node:interface) by name; 'netlab "
                "exec NODE -- ping fe80::1%IFACE' pings it (ping must be installed)")
        assert netlab("ping", "-l", lab_name, "alice", "fe80::1",
                      check=2).stderr.splitlines() == [
            "error: fe80::1 is an IPv6 link-local address, which needs an interface to leave "
            "by (fe80::1%eth0); netlab does not support that", hint]
        assert netlab("ping", "-l", lab_name, "alice", "fe80::1%eth0",
                      check=2).stderr.splitlines() == [
            "error: fe80::1%eth0: netlab does not support an interface (%zone) for a "
            "link-local address", hint]
    finally:
        lab.down()


def _echo_requests(sock: socket.socket, v6: bool, wanted: int) -> list[int]:
    """Sequence numbers of the ICMP echo requests a raw socket in the target saw arrive."""
    sock.settimeout(3)
    seqs: list[int] = []
    while len(seqs) < wanted:
        data = sock.recv(2048)
        icmp = data if v6 else data[(data[0] & 0x0F) * 4 :]  # IPv4: after the IP header
        if icmp[0] == (128 if v6 else 8):
            seqs.append(int.from_bytes(icmp[6:8], "big"))
    return seqs


@pytest.mark.parametrize("family", [4, 6])
def test_ping_numbers_each_request_on_the_wire(
    tmp_path: Path, lab_name: str, family: int
) -> None:
    lab = Lab.from_file(topology(tmp_path, PASSING), name=lab_name)
    lab.up()
    try:
        v6 = family == 6
        kind = (socket.AF_INET6, socket.IPPROTO_ICMPV6) if v6 else (socket.AF_INET,
                                                                    socket.IPPROTO_ICMP)
        with socket_in(lab.namespace("srv"), kind[0], socket.SOCK_RAW, kind[1]) as sock:
            shown = netlab("ping", "-l", lab_name, f"-{family}", "alice", "srv", "-c", "3",
                           "-i", "0.05").stdout
            assert [f"seq={n}" in shown for n in (1, 2, 3)] == [True] * 3
            assert _echo_requests(sock, v6, 3) == [1, 2, 3]
    finally:
        lab.down()


# --- run: checks --------------------------------------------------------------------------------

NODE_ENV = """\
  - {node: srv, run: "cat $NETLAB_NODE_DIR/conf/greeting.txt", expect_output: "port=8080"}
  - {node: srv, run: "cat conf/greeting.txt && pwd", expect_output: "/nodes/srv"}
  - {node: srv, run: "echo $GREETING in $NETLAB_LAB on $NETLAB_NODE", expect_output: "hi in"}
"""


def test_run_checks_have_the_environment_of_the_nodes_exec(
    tmp_path: Path, lab_name: str
) -> None:
    path = topology(tmp_path, NODE_ENV)
    text = path.read_text().replace(
        '    interfaces: {eth0: {addresses: [10.77.0.2/24, "fd00:77::2/64"]}}\n',
        '    interfaces: {eth0: {addresses: [10.77.0.2/24, "fd00:77::2/64"]}}\n'
        '    env: {GREETING: hi}\n'
        '    files: {"conf/greeting.txt": "port=8080"}\n',
    )
    assert "GREETING" in text
    path.write_text(text)
    report = json.loads(netlab("test", str(path), "-l", lab_name, "--json").stdout)
    assert report["ok"], report
    outputs = [check["output"] for check in report["checks"]]
    assert outputs[2].strip() == f"hi in {lab_name} on srv"


# --- Ctrl-C: the checks stop at once --------------------------------------------------------

SLOW = """\
  - {from: alice, to: 10.77.0.9, timeout: 20}
  - {from: alice, to: srv, tcp: 80, timeout: 20}
  - {node: alice, run: "sleep 15.0731; echo 'never' > /dev/null", timeout: 20}
"""
# The run: check's sleep, as its command line reads (a duration nobody else would use).
SLEEPER = "sleep 15.0731 "


def test_ctrl_c_stops_running_checks_at_once_and_takes_the_lab_down(
    tmp_path: Path, lab_name: str
) -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "netlab", "test", str(topology(tmp_path, SLOW)), "-l", lab_name],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        _wait_for_line(process, "is up for the checks")
        time.sleep(1.5)  # every check is under way: a ping, a handshake, the sleep
        assert SLEEPER in _processes_in(f"netlab-{lab_name}-alice")
        asked = time.monotonic()
        process.send_signal(signal.SIGINT)
        _, stderr = process.communicate(timeout=30)
        took = time.monotonic() - asked
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 130, stderr
    assert took < 5, f"{took:.1f} s after Ctrl-C"  # not the 15 to 20 s of the checks
    assert f"lab {lab_name} is down again" in stderr and "Traceback" not in stderr
    assert namespaces_of(lab_name) == set()
    assert SLEEPER not in _processes_in(None)


def _wait_for_line(process: subprocess.Popen[str], text: str) -> None:
    assert process.stderr is not None
    for line in process.stderr:
        if text in line:
            return
    raise AssertionError(f"no line with {text!r}")


def _processes_in(ns: str | None) -> str:
    """The command lines of the processes in namespace `ns` (None: all of them)."""
    listing = subprocess.run(["ip", "netns", "pids", ns] if ns else ["true"],
                             capture_output=True, text=True, check=False).stdout.split()
    if ns is None:
        listing = [p.name for p in Path("/proc").iterdir() if p.name.isdigit()]
    lines = []
    for pid in listing:
        try:
            lines.append(Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode())
        except OSError:
            continue
    return "\n".join(lines)
