"""What validation promises, held against the real kernel: a switch's bridge keeps the MTU
it was given, tbf buckets at the edge of what the kernel holds read back as planned, a
sysctl the kernel keeps for the host is refused in words that say so, and a vxlan id
clash (past validation) is told as one, not as a race."""

from __future__ import annotations

import json
import secrets
import socket
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from netlab.kernel import dumps, nsfs
from netlab.kernel.base import OpFailed
from netlab.kernel.netlink import NetlinkKernel
from netlab.plan.ops import CreateNamespace, CreateVxlan
from netlab.pytest_plugin import LabFactory, unique_name
from netlab.values import tc

from .hostcheck import Host, force_down, netlab

IP_MTU_DISCOVER, IP_PMTUDISC_DO = 10, 2  # <linux/in.h>: set DF, never fragment

SWITCH_MTU = """\
name: hbswmtu
nodes:
  sw: {kind: switch, interfaces: {br0: {addresses: [10.0.0.254/24], mtu: 9000}}}
  a: {interfaces: {eth0: {addresses: [10.0.0.1/24]}}}
  b: {interfaces: {eth0: {addresses: [10.0.0.2/24]}}}
links:
  - {endpoints: [a:eth0, sw], mtu: 9000}
  - [b:eth0, sw]
"""

BUCKETS = """\
name: hbbucket
nodes:
  a: {interfaces: {eth0: {addresses: [10.0.0.1/24]}, eth1: {addresses: [10.0.1.1/24]}}}
  b: {interfaces: {eth0: {addresses: [10.0.0.2/24]}}}
  c: {interfaces: {eth0: {addresses: [10.0.1.2/24]}}}
links:
  - {endpoints: [a:eth0, b:eth0], rate: 1mbit, burst: 32mb}
  - {endpoints: [a:eth1, c:eth0], rate: 48bit}
"""

HOST_SYSCTL = """\
name: {name}
nodes:
  a:
    sysctls: {{net.core.rmem_max: 999999}}
"""


def mtu_of(ns: str, ifname: str) -> int:
    out = subprocess.run(["ip", "-n", ns, "-j", "link", "show", ifname],
                         capture_output=True, text=True, check=True).stdout
    return int(json.loads(out)[0]["mtu"])


def tbf_of(ns: str, dev: str) -> dict[str, int]:
    out = subprocess.run(["tc", "-n", ns, "-j", "qdisc", "show", "dev", dev],
                         capture_output=True, text=True, check=True).stdout
    root = next(q for q in json.loads(out) if q.get("root"))
    assert root["kind"] == "tbf"
    return {k: int(v) for k, v in root["options"].items() if k in ("rate", "burst")}


def test_a_switch_bridge_keeps_its_mtu_past_a_smaller_port(
    netlab_lab: LabFactory, tmp_path: Path
) -> None:
    # A port joining a bridge lowers it to the smallest MTU of its ports (b's 1500) unless
    # its MTU is set after they joined: the plan sets it again, so 9000 sticks.
    path = tmp_path / "swmtu.yaml"
    path.write_text(SWITCH_MTU)
    lab = netlab_lab(path)
    sw = lab.namespace("sw")
    assert mtu_of(sw, "br0") == 9000
    assert (mtu_of(sw, "a-eth0"), mtu_of(sw, "b-eth0")) == (9000, 1500)
    # a jumbo datagram that may not be fragmented, from the bridge's own address to a: at
    # 1500 the switch itself would refuse to send it (EMSGSIZE)
    payload = secrets.token_bytes(8000)
    with lab.socket("a", kind=socket.SOCK_DGRAM) as rx, \
            lab.socket("sw", kind=socket.SOCK_DGRAM) as tx:
        rx.bind(("10.0.0.1", 0))
        rx.settimeout(2)
        tx.bind(("10.0.0.254", 0))
        tx.setsockopt(socket.IPPROTO_IP, IP_MTU_DISCOVER, IP_PMTUDISC_DO)
        tx.sendto(payload, rx.getsockname())
        assert rx.recv(9000) == payload
    assert lab.ping("b", "10.0.0.254")
    assert lab.status()["drift"] == []
    # Changed behind netlab's back: status says so.
    subprocess.run(["ip", "-n", sw, "link", "set", "br0", "mtu", "1500"], check=True)
    assert lab.status()["drift"] == ["sw: br0 has mtu 1500; the topology says 9000"]


def test_buckets_at_the_edges_of_what_tbf_holds_read_back_as_planned(
    netlab_lab: LabFactory, tmp_path: Path
) -> None:
    path = tmp_path / "buckets.yaml"
    path.write_text(BUCKETS)
    lab = netlab_lab(path)
    # 32mb at 1mbit is 268 s of traffic, just under the 274.88 s the kernel reports
    big = tbf_of(lab.namespace("a"), "eth0")
    assert big["rate"] == 125_000
    assert abs(big["burst"] - 32 * 2**20) <= 8
    # 48bit (6 bytes/s): the default bucket is what the kernel holds, still a full frame
    slow = tbf_of(lab.namespace("a"), "eth1")
    assert slow["rate"] == 6
    assert 1514 <= slow["burst"] <= tc.max_burst(6)
    assert abs(slow["burst"] - tc.default_burst(6)) <= 8
    assert lab.status()["drift"] == []


def test_a_bucket_past_the_kernels_limit_is_refused_before_anything_is_made(
    tmp_path: Path,
) -> None:
    name = unique_name("hbburst")
    path = tmp_path / "burst.yaml"
    path.write_text(BUCKETS.replace("hbbucket", name).replace("burst: 32mb", "burst: 100mb"))
    before = Host.of(name)
    result = netlab("up", str(path), check=2)
    assert (f"{path}:7: links[0].burst: burst 100mb is 838.861 s of traffic at rate 1mbit, "
            "and the kernel's bucket holds at most 274.878 s") in result.stderr
    assert Host.of(name) == before


def test_a_host_only_sysctl_is_refused_in_words_that_say_so(tmp_path: Path) -> None:
    name = unique_name("hbsysctl")
    path = tmp_path / "sysctl.yaml"
    path.write_text(HOST_SYSCTL.format(name=name))
    host_value = Path("/proc/sys/net/core/rmem_max").read_text()
    before = Host.of(name)
    try:
        result = netlab("up", str(path), check=1)
    finally:
        force_down(name)
    assert "net.core.rmem_max is not per-namespace: it is the host's" in result.stderr
    assert "permission denied" not in result.stderr
    assert "sysctl -w net.core.rmem_max" in result.stderr  # the hint
    assert Path("/proc/sys/net/core/rmem_max").read_text() == host_value
    assert Host.of(name) == before  # rolled back


@pytest.fixture
def scratch_ns() -> Iterator[str]:
    name = f"netlab-hb{secrets.token_hex(3)}-a"
    try:
        yield name
    finally:
        if nsfs.exists(name):
            nsfs.remove(name)


def test_a_vxlan_id_taken_in_the_node_is_told_as_such(scratch_ns: str) -> None:
    # Validation refuses this; a lab changed by hand can still meet it at `up`.
    kernel = NetlinkKernel()
    ops = [CreateNamespace(scratch_ns, alias="netlab:hb"),
           CreateVxlan(scratch_ns, "vx1", 7, "192.0.2.2", alias="netlab:hb"),
           CreateVxlan(scratch_ns, "vx2", 7, "192.0.2.3", alias="netlab:hb")]
    try:
        with pytest.raises(OpFailed) as info:
            kernel.execute(ops, lambda first, last: None, lambda k: None)
    finally:
        kernel.close()
    failed = info.value
    assert failed.index == 2
    assert failed.reason == "another vxlan in this node already has id 7 on port 4789"
    assert "run the command again" not in (failed.hint or "")
    names = {str(link["ifname"]) for link in dumps.read_namespace(scratch_ns)}
    assert "vx1" in names and "vx2" not in names
