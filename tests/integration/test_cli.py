"""The command line as a script uses it: exit codes, JSON, idempotence, refusals."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from netlab.pytest_plugin import unique_name

from ..conftest import host_links, netlab_namespaces

TOPO = Path(__file__).parents[2] / "topologies"


def netlab(*args: str, check: int | None = 0) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        [sys.executable, "-m", "netlab", *args], capture_output=True, text=True, timeout=120
    )
    if check is not None:
        assert result.returncode == check, (result.stdout, result.stderr)
    assert "Traceback" not in result.stderr
    return result


@pytest.fixture
def lab_name() -> Iterator[str]:
    name = unique_name("cli")
    try:
        yield name
    finally:
        subprocess.run([sys.executable, "-m", "netlab", "down", "-l", name],
                       capture_output=True, timeout=120)


def test_up_status_exec_down(lab_name: str) -> None:
    before = netlab_namespaces(), host_links()
    up = netlab("up", str(TOPO / "router.yaml"), "--name", lab_name, "--json")
    assert json.loads(up.stdout)["created"] is True

    again = netlab("up", str(TOPO / "router.yaml"), "--name", lab_name)
    assert "already up and unchanged" in again.stdout

    doc = json.loads(netlab("status", "-l", lab_name, "--json").stdout)
    assert doc["schema"] == "netlab.status/1"
    assert {n["name"] for n in doc["nodes"]} == {"left", "r1", "right"}
    assert doc["drift"] == []

    table = netlab("status", "-l", lab_name).stdout
    assert "10.1.0.1/24" in table and "r1" in table

    out = netlab("exec", "-l", lab_name, "r1", "--", "cat", "/proc/sys/net/ipv4/ip_forward")
    assert out.stdout.strip() == "1"
    # the command's exit code is passed through
    assert netlab("exec", "-l", lab_name, "left", "--", "sh", "-c", "exit 7", check=7)

    ls = json.loads(netlab("ls", "--json").stdout)
    assert lab_name in [lab["lab"] for lab in ls["labs"]]

    down = json.loads(netlab("down", "-l", lab_name, "--json").stdout)
    assert down["was_up"] is True
    assert (netlab_namespaces(), host_links()) == before
    # down again: nothing to do, still success
    assert "not up" in netlab("down", "-l", lab_name).stdout


def test_changed_topology_needs_recreate(lab_name: str) -> None:
    netlab("up", str(TOPO / "bridge.yaml"), "--name", lab_name)
    changed = netlab("up", str(TOPO / "bridge.yaml"), "--name", lab_name,
                     "--set", "net=192.168.51", check=1)
    assert "different topology" in changed.stderr and "--recreate" in changed.stderr
    netlab("up", str(TOPO / "bridge.yaml"), "--name", lab_name, "--set", "net=192.168.51",
           "--recreate")
    doc = json.loads(netlab("status", "-l", lab_name, "--json").stdout)
    h1 = next(n for n in doc["nodes"] if n["name"] == "h1")
    assert "192.168.51.1/24" in h1["interfaces"][0]["addresses"]
    netlab("down", "-l", lab_name)


def test_kernel_refusal_rolls_back(tmp_path: Path, lab_name: str) -> None:
    topo = tmp_path / "bad-gw.yaml"
    topo.write_text(
        "name: badgw\n"
        "nodes:\n"
        "  a:\n"
        "    interfaces: {eth0: {addresses: [10.9.0.1/24]}}\n"
        "    routes: [{to: default, via: 10.77.0.1}]\n"
        "  b:\n"
        "    interfaces: {eth0: {addresses: [10.9.0.2/24]}}\n"
        "links: [[a:eth0, b:eth0]]\n"
    )
    before = netlab_namespaces(), host_links()
    result = netlab("up", str(topo), "--name", lab_name, check=1)
    assert "add route default via 10.77.0.1" in result.stderr
    assert "rolled back" in result.stderr
    assert (netlab_namespaces(), host_links()) == before
    assert lab_name not in netlab("ls").stdout


def test_foreign_namespace_is_not_adopted(lab_name: str) -> None:
    foreign = f"netlab-{lab_name}-a"
    subprocess.run(["ip", "netns", "add", foreign], check=True)
    try:
        result = netlab("up", str(TOPO / "veth-pair.yaml"), "--name", lab_name, check=1)
        assert foreign in result.stderr and "not part of lab" in result.stderr
        assert foreign in netlab_namespaces()  # untouched
        assert f"netlab-{lab_name}-b" not in netlab_namespaces()
    finally:
        subprocess.run(["ip", "netns", "del", foreign], check=True)


def test_bad_input_exits_2_and_touches_nothing(tmp_path: Path) -> None:
    topo = tmp_path / "typo.yaml"
    topo.write_text("name: typo\nnodes:\n  a:\n    kind: rooter\n")
    before = netlab_namespaces(), host_links()
    result = netlab("up", str(topo), check=2)
    assert "typo.yaml:4:" in result.stderr
    assert (netlab_namespaces(), host_links()) == before
    assert netlab("validate", str(topo), check=2).stderr == result.stderr
