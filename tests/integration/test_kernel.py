"""The kernel package against the real kernel: namespaces, every op type, real packets
across veths, bridges and VXLAN (IPv4 and IPv6), TUN, errors in words, inspection."""

from __future__ import annotations

import fcntl
import os
import secrets
import select
import shutil
import socket
import struct
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import pytest

from netlab.kernel import dumps, nsfs
from netlab.kernel.base import Kernel, OpFailed
from netlab.kernel.lab_kernel import LabKernel, wait_until_passing
from netlab.kernel.netlink import NetlinkKernel
from netlab.plan.ops import (
    AddAddress,
    AddRoute,
    CreateBridge,
    CreateNamespace,
    CreateTunTap,
    CreateVeth,
    CreateVxlan,
    DeleteAddress,
    DeleteLink,
    DeleteNamespace,
    DeleteRoute,
    Op,
    RunCommand,
    SetLink,
    SetLinkDown,
    SetLinkUp,
    SetSysctl,
)

MARK = "netlab:kt"
Names = Callable[[str], str]


# --- fixtures and helpers ---------------------------------------------------------------
@pytest.fixture
def ns() -> Iterator[Names]:
    """ns("a") -> a unique namespace name for this test; all removed afterwards."""
    tag = secrets.token_hex(3)
    made: list[str] = []

    def name(suffix: str) -> str:
        made.append(f"netlab-kt{tag}-{suffix}")
        return made[-1]

    yield name
    for n in made:
        if nsfs.exists(n):
            nsfs.remove(n)


@pytest.fixture
def kernel() -> Iterator[NetlinkKernel]:
    k = NetlinkKernel()
    yield k
    k.close()


class Hooks:
    def __init__(self) -> None:
        self.begun: list[tuple[int, int]] = []
        self.done: list[int] = []

    def begin(self, first: int, last: int) -> None:
        self.begun.append((first, last))

    def finish(self, index: int) -> None:
        self.done.append(index)


def run(kernel: Kernel, ops: Sequence[Op]) -> Hooks:
    hooks = Hooks()
    kernel.execute(ops, hooks.begin, hooks.finish)
    return hooks


def fails(kernel: Kernel, ops: Sequence[Op]) -> tuple[OpFailed, Hooks]:
    hooks = Hooks()
    with pytest.raises(OpFailed) as info:
        kernel.execute(ops, hooks.begin, hooks.finish)
    return info.value, hooks


def netns_inode(path: str = "/proc/thread-self/ns/net") -> int:
    return os.stat(path).st_ino


def sock_in(name: str, family: int) -> socket.socket:
    with nsfs.entered(name):
        return socket.socket(family, socket.SOCK_DGRAM)


def udp_crosses(src: str, dst: str, dst_addr: str, family: int = socket.AF_INET) -> bool:
    """A UDP datagram sent from inside namespace src reaches a socket inside dst."""
    payload = secrets.token_bytes(16)
    with sock_in(dst, family) as rx, sock_in(src, family) as tx:
        rx.bind(("::" if family == socket.AF_INET6 else "0.0.0.0", 0))
        port = rx.getsockname()[1]
        for _ in range(3):  # the first datagram may wait for neighbour resolution
            tx.sendto(payload, (dst_addr, port))
            if select.select([rx], [], [], 1.0)[0]:
                return rx.recv(100) == payload
    return False


def links(name: str) -> dict[str, dict[str, object]]:
    return {str(link["ifname"]): link for link in dumps.read_namespace(name)}


def ip(*args: str) -> str:
    return subprocess.run(["ip", *args], capture_output=True, text=True, check=True).stdout


def star(ns: Names, hosts: int) -> tuple[str, list[str], list[Op]]:
    sw = ns("sw")
    names = [ns(f"h{i}") for i in range(hosts)]
    ops: list[Op] = [CreateNamespace(n, alias=MARK) for n in (sw, *names)]
    ops += [CreateBridge(sw, "br0", alias=MARK), SetLink(sw, "br0", addrgen_none=True),
            SetLinkUp(sw, "br0")]
    for i, h in enumerate(names):
        ops += [
            CreateVeth(h, "eth0", sw, f"p{i}", alias=MARK),
            SetLink(sw, f"p{i}", master="br0", addrgen_none=True),
            SetLinkUp(sw, f"p{i}"),
            AddAddress(h, "eth0", f"10.1.0.{i + 1}/24"),
            AddAddress(h, "eth0", f"fd01::{i + 1}/64"),
            SetLinkUp(h, "lo"),
            SetLinkUp(h, "eth0"),
        ]
    return sw, names, ops


# --- namespaces -------------------------------------------------------------------------
def test_namespace_lifecycle_and_iproute2_sees_it(ns: Names) -> None:
    name = ns("a")
    nsfs.create(name)
    assert nsfs.exists(name) and name in nsfs.list_names()
    assert "lo" in ip("-n", name, "link")  # the mount is where iproute2 looks
    with pytest.raises(FileExistsError):
        nsfs.create(name)
    nsfs.remove(name)
    assert not nsfs.exists(name)
    with pytest.raises(FileNotFoundError):
        nsfs.remove(name)


@pytest.mark.parametrize("bad", ["", "a/b", "..", "netlab-..x", "../netlab-x", "a b"])
def test_bad_namespace_names_never_reach_a_syscall(bad: str) -> None:
    with pytest.raises(ValueError):
        nsfs.create(bad)
    with pytest.raises(ValueError):
        nsfs.remove(bad)


def test_remove_refuses_foreign_namespaces() -> None:
    with pytest.raises(ValueError, match="not a netlab namespace"):
        nsfs.remove("someone-elses")


def test_entered_always_restores_the_thread(ns: Names) -> None:
    name = ns("a")
    nsfs.create(name)
    home = netns_inode()
    with nsfs.entered(name):
        assert netns_inode() == os.stat(nsfs.path(name)).st_ino
    assert netns_inode() == home
    with pytest.raises(RuntimeError), nsfs.entered(name):
        raise RuntimeError("boom")
    assert netns_inode() == home
    with pytest.raises(FileNotFoundError), nsfs.entered(ns("missing")):
        pass
    assert netns_inode() == home


def test_create_many_in_parallel_reports_each(ns: Names) -> None:
    names = [ns(f"m{i}") for i in range(6)]
    nsfs.create(names[3])
    results = nsfs.create_many(names, lambda n: n.upper(), workers=2)
    assert isinstance(results[3], FileExistsError)
    assert [r for i, r in enumerate(results) if i != 3] == [
        n.upper() for i, n in enumerate(names) if i != 3
    ]
    assert all(nsfs.exists(n) for n in names)


# --- building: packets cross ------------------------------------------------------------
def test_veth_between_two_nodes_carries_ipv4_and_ipv6(ns: Names, kernel: NetlinkKernel) -> None:
    a, b = ns("a"), ns("b")
    ops: list[Op] = [
        CreateNamespace(a, alias=MARK), CreateNamespace(b, alias=MARK),
        CreateVeth(a, "eth0", b, "eth0", mtu=1400, alias=MARK),
        AddAddress(a, "eth0", "10.0.0.1/24"), AddAddress(a, "eth0", "fd00::1/64"),
        SetLinkUp(a, "lo"), SetLinkUp(a, "eth0"),
        AddAddress(b, "eth0", "10.0.0.2/24"), AddAddress(b, "eth0", "fd00::2/64"),
        SetLinkUp(b, "eth0"),
    ]
    host_before = ip("-o", "link")
    hooks = run(kernel, ops)
    assert sorted(hooks.done) == list(range(len(ops)))
    covered = [i for first, last in hooks.begun for i in range(first, last)]
    assert covered == list(range(len(ops)))  # every op journaled once, in order, before
    assert ip("-o", "link") == host_before  # nothing ever appeared in the host
    assert udp_crosses(a, b, "10.0.0.2")
    assert udp_crosses(b, a, "fd00::1", socket.AF_INET6)
    la, lb = links(a), links(b)
    assert la["eth0"]["alias"] == lb["eth0"]["alias"] == MARK
    assert la["lo"]["alias"] == MARK  # the namespace's own mark
    assert la["eth0"]["mtu"] == lb["eth0"]["mtu"] == 1400
    assert la["eth0"]["kind"] == "veth" and la["eth0"]["peer_index"] == lb["eth0"]["index"]
    # Never the same index at both ends: linkwatch would handle their carrier a second late.
    assert la["eth0"]["index"] != lb["eth0"]["index"]
    assert "fd00::1/64" in la["eth0"]["addresses"]  # type: ignore[operator]
    assert int(str(lb["eth0"]["rx_packets"])) > 0
    assert dumps.list_marked_links_in_host() == []


def test_link_local_addresses_are_usable_at_once(ns: Names, kernel: NetlinkKernel) -> None:
    """A lab's namespaces do no duplicate address detection (netlink.birth_sysctls): the
    fe80:: address of a new link is not tentative, and a datagram to it crosses straight
    after the link is up. The host's own settings are untouched; a node's sysctl may
    turn detection back on for the interfaces made after it."""
    host = [nsfs_sysctl(None, key) for key in _DAD_KEYS]
    a, b, c = ns("a"), ns("b"), ns("c")
    ops: list[Op] = [
        CreateNamespace(a, alias=MARK), CreateNamespace(b, alias=MARK),
        CreateNamespace(c, alias=MARK),
        SetSysctl(c, "net.ipv6.conf.default.accept_dad", "1"),
        CreateVeth(a, "eth0", b, "eth0", alias=MARK), CreateVeth(c, "eth0", b, "eth1", alias=MARK),
        SetLinkUp(a, "eth0"), SetLinkUp(b, "eth0"), SetLinkUp(b, "eth1"), SetLinkUp(c, "eth0"),
    ]
    run(kernel, ops)
    # The kernel adds a link-local address once it has seen the carrier (as LabKernel
    # waits for before a lab is up).
    wait_until_passing(ops)
    # Detection takes a second or more: c's address is still being checked.
    assert "tentative" in ip("-n", c, "-6", "addr", "show", "dev", "eth0")
    assert [nsfs_sysctl(a, key) for key in _DAD_KEYS] == ["0", "0"]
    assert [nsfs_sysctl(None, key) for key in _DAD_KEYS] == host
    local = next(x for x in links(b)["eth0"]["addresses"]  # type: ignore[attr-defined]
                 if x.startswith("fe80:"))
    assert "tentative" not in ip("-n", a, "-6", "addr", "show", "dev", "eth0")
    assert udp_crosses(a, b, local.split("/")[0] + "%eth0", socket.AF_INET6)


_DAD_KEYS = ("net.ipv6.conf.all.accept_dad", "net.ipv6.conf.default.accept_dad")


def nsfs_sysctl(name: str | None, key: str) -> str:
    """A sysctl's value in namespace `name` (None: the host's own)."""
    if name is None:
        return Path("/proc/sys", *key.split(".")).read_text().strip()
    return dumps.read_sysctl(name, key)


def test_star_on_a_bridge_carries_ipv4_and_ipv6(ns: Names, kernel: NetlinkKernel) -> None:
    sw, hosts, ops = star(ns, 3)
    run(kernel, ops)
    assert udp_crosses(hosts[0], hosts[2], "10.1.0.3")
    assert udp_crosses(hosts[2], hosts[1], "fd01::2", socket.AF_INET6)
    ports = links(sw)
    assert ports["p0"]["master"] == "br0" and ports["br0"]["kind"] == "bridge"
    # addrgen none: no IPv6 link-local on the ports, so no DAD/MLD chatter to flood.
    assert not any(a.startswith("fe80") for a in ports["p0"]["addresses"])  # type: ignore[attr-defined]
    assert any(a.startswith("fe80") for a in links(hosts[0])["eth0"]["addresses"])  # type: ignore[attr-defined]
    # Detach a port: h0 is cut off from the others.
    run(kernel, [SetLink(sw, "p0", master="")])
    assert links(sw)["p0"]["master"] is None
    assert not udp_crosses(hosts[1], hosts[0], "10.1.0.1")


def test_a_lab_kernel_returns_when_its_links_pass_packets(ns: Names) -> None:
    """The kernel turns a veth's carrier on at once but starts its queue up to a second
    later; LabKernel waits for that, so the very first datagram sent afterwards arrives.
    It does not wait for the switch's bridge, which has no address: the bridge forwards
    between its ports before its own queue (used only by its own stack) is started."""
    sw, hosts, ops = star(ns, 40)
    kernel = LabKernel()
    try:
        run(kernel, ops)
    finally:
        kernel.close()
    for name in [sw, *hosts]:
        names = {op.ifname for op in ops
                 if isinstance(op, SetLinkUp) and op.ns == name and op.ifname != "br0"}
        assert dumps.links_still_starting(name, names) == []
        assert all(links(name)[n]["operstate"] == "up" for n in names if n != "lo")
    payload = secrets.token_bytes(8)
    with sock_in(hosts[0], socket.AF_INET) as rx, sock_in(hosts[-1], socket.AF_INET) as tx:
        rx.bind(("0.0.0.0", 0))
        tx.sendto(payload, ("10.1.0.1", rx.getsockname()[1]))  # once: no retry to hide a drop
        assert select.select([rx], [], [], 2.0)[0] and rx.recv(100) == payload


def test_a_small_socket_cache_still_works(ns: Names) -> None:
    kernel = NetlinkKernel(socket_limit=2)
    try:
        _sw, hosts, ops = star(ns, 4)
        run(kernel, ops)
        assert udp_crosses(hosts[0], hosts[3], "10.1.0.4")
    finally:
        kernel.close()


def test_routes_gateways_and_link_settings(ns: Names, kernel: NetlinkKernel) -> None:
    a, r, b = ns("a"), ns("r"), ns("b")
    ops: list[Op] = [
        CreateNamespace(a), CreateNamespace(r), CreateNamespace(b),
        SetSysctl(r, "net.ipv4.ip_forward", "1"),
        SetSysctl(r, "net.ipv6.conf.all.forwarding", "1"),
        CreateVeth(a, "eth0", r, "eth0"), CreateVeth(b, "eth0", r, "eth1"),
        SetLink(a, "eth0", mtu=1450, mac="02:00:00:00:00:0a"),
        AddAddress(a, "eth0", "10.0.1.1/24"), AddAddress(a, "eth0", "fd00:1::1/64"),
        SetLinkUp(a, "eth0"),
        AddRoute(a, "default", via="10.0.1.254"),
        AddRoute(a, "default", via="fd00:1::fe", family=6),
        AddAddress(r, "eth0", "10.0.1.254/24"), AddAddress(r, "eth0", "fd00:1::fe/64"),
        AddAddress(r, "eth1", "10.0.2.254/24"), AddAddress(r, "eth1", "fd00:2::fe/64"),
        SetLinkUp(r, "eth0"), SetLinkUp(r, "eth1"),
        AddAddress(b, "eth0", "10.0.2.1/24"), AddAddress(b, "eth0", "fd00:2::1/64"),
        SetLinkUp(b, "eth0"),
        AddRoute(b, "10.0.1.0/24", via="10.0.2.254", metric=50),
        AddRoute(b, "fd00:1::/64", dev="eth0", via="fd00:2::fe", family=6),
    ]
    run(kernel, ops)
    assert udp_crosses(a, b, "10.0.2.1")
    assert udp_crosses(b, a, "fd00:1::1", socket.AF_INET6)
    assert dumps.read_sysctl(r, "net.ipv4.ip_forward") == "1"
    assert dumps.read_sysctl(a, "net.ipv4.ip_forward") == "0"
    eth0 = links(a)["eth0"]
    assert eth0["mtu"] == 1450 and eth0["mac"] == "02:00:00:00:00:0a"
    routes = dumps.read_routes(b)
    assert {"family": 4, "to": "10.0.1.0/24", "via": "10.0.2.254", "dev": "eth0",
            "metric": 50, "protocol": "boot"} in routes
    assert any(x["to"] == "fd00:1::/64" and x["via"] == "fd00:2::fe" for x in routes)
    # Each undo works too.
    run(kernel, [
        DeleteRoute(b, "10.0.1.0/24", via="10.0.2.254", metric=50),
        DeleteRoute(a, "default", family=6),
        DeleteAddress(a, "eth0", "10.0.1.1/24"),
        SetLinkDown(b, "eth0"),
    ])
    assert not any(x["to"] == "10.0.1.0/24" for x in dumps.read_routes(b))
    assert not any(x["to"] == "default" and x["family"] == 6 for x in dumps.read_routes(a))
    assert "10.0.1.1/24" not in links(a)["eth0"]["addresses"]  # type: ignore[operator]
    assert links(b)["eth0"]["up"] is False
    run(kernel, [DeleteLink(a, "eth0")])
    assert "eth0" not in links(a)
    # The peer went with it; the kernel removes it from r.
    assert "eth0" not in links(r)


def test_tun_device_hands_the_raw_ip_packet_to_a_program(
    ns: Names, kernel: NetlinkKernel
) -> None:
    node = ns("gw")
    run(kernel, [
        CreateNamespace(node),
        CreateTunTap(node, "tun0", "tun", uid=1000, gid=1000, mtu=1400, alias=MARK),
        CreateTunTap(node, "tap0", "tap", alias=MARK),
        AddAddress(node, "tun0", "10.8.0.1/24"), SetLinkUp(node, "tun0"),
    ])
    got = links(node)
    assert got["tun0"]["kind"] == "tun" and got["tap0"]["kind"] == "tap"
    assert (got["tun0"]["owner"], got["tun0"]["group"]) == (1000, 1000)
    assert got["tun0"]["mtu"] == 1400 and got["tun0"]["alias"] == MARK
    with nsfs.entered(node):
        fd = os.open("/dev/net/tun", os.O_RDWR)
    try:
        fcntl.ioctl(fd, 0x400454CA, struct.pack("16sH", b"tun0", 0x0001 | 0x1000))
        packet = b""
        deadline = time.monotonic() + 5
        with sock_in(node, socket.AF_INET) as tx:
            # Sent again until it arrives: right after the attach the carrier is still
            # coming up and the first datagram can be dropped.
            while not packet.endswith(b"hello tun") and time.monotonic() < deadline:
                tx.sendto(b"hello tun", ("10.8.0.2", 9999))
                while select.select([fd], [], [], 0.5)[0]:  # skip the node's own chatter
                    packet = os.read(fd, 2048)
                    if packet.endswith(b"hello tun"):
                        break
        assert packet.endswith(b"hello tun"), "no packet reached the tun reader"
    finally:
        os.close(fd)
    assert packet[0] >> 4 == 4 and packet[9] == socket.IPPROTO_UDP
    assert socket.inet_ntoa(packet[16:20]) == "10.8.0.2" and packet.endswith(b"hello tun")
    assert "tun0" in links(node)  # persistent: still there with nobody attached


def test_vxlan_over_a_veth_carries_packets(ns: Names, kernel: NetlinkKernel) -> None:
    a, b = ns("a"), ns("b")
    ops: list[Op] = [CreateNamespace(a), CreateNamespace(b), CreateVeth(a, "eth0", b, "eth0")]
    for n, me, peer in ((a, "1", "2"), (b, "2", "1")):
        ops += [
            AddAddress(n, "eth0", f"192.168.7.{me}/24"), SetLinkUp(n, "eth0"),
            CreateVxlan(n, "vx0", 42, f"192.168.7.{peer}", dev="eth0", alias=MARK),
            AddAddress(n, "vx0", f"10.42.0.{me}/24"), SetLinkUp(n, "vx0"),
        ]
    run(kernel, ops)
    assert links(a)["vx0"]["kind"] == "vxlan"
    assert udp_crosses(a, b, "10.42.0.2")


def test_run_command_inside_the_node(ns: Names) -> None:
    node = ns("a")
    kernel = LabKernel()  # exec: commands are processes: LabKernel hands them to services.py
    try:
        run(kernel, [CreateNamespace(node), RunCommand(
            node, "ip link add d0 type veth peer name d1 && ip link set d0 up")])
        assert "d0" in links(node)  # ran inside the node, not in the host
        # What the command made is known to netlink ops that follow it.
        run(kernel, [AddAddress(node, "d0", "10.77.0.1/24")])
        script = "echo first >&2; echo 'it broke' >&2; exit 3"
        failure, hooks = fails(kernel, [RunCommand(node, script)])
    finally:
        kernel.close()
    assert "exit status 3" in failure.reason and "it broke" in failure.reason
    assert hooks.begun == [(0, 1)] and hooks.done == []


def test_delete_namespace_is_cheap_and_only_ours(ns: Names, kernel: NetlinkKernel) -> None:
    sw, hosts, ops = star(ns, 3)
    run(kernel, ops)
    hooks = run(kernel, [DeleteNamespace(n) for n in (sw, *hosts)])
    assert hooks.done == [0, 1, 2, 3]
    assert not any(nsfs.exists(n) for n in (sw, *hosts))
    failure, _ = fails(kernel, [DeleteNamespace("not-ours")])
    assert "not a netlab namespace" in failure.reason


# --- refusals in words ------------------------------------------------------------------
def test_existing_interface_is_refused_before_sending(ns: Names, kernel: NetlinkKernel) -> None:
    a, b = ns("a"), ns("b")
    run(kernel, [CreateNamespace(a), CreateNamespace(b), CreateVeth(a, "eth0", b, "eth0")])
    failure, hooks = fails(kernel, [CreateBridge(b, "eth0")])
    assert failure.index == 0 and "already exists" in failure.reason
    assert hooks.begun == []  # nothing was sent


def test_kernel_refusals_are_mapped(ns: Names, kernel: NetlinkKernel) -> None:
    a, b = ns("a"), ns("b")
    run(kernel, [CreateNamespace(a), CreateNamespace(b), CreateVeth(a, "eth0", b, "eth0"),
                 AddAddress(a, "eth0", "10.0.0.1/24"), SetLinkUp(a, "eth0")])
    # EEXIST from the kernel.
    failure, _ = fails(kernel, [AddAddress(a, "eth0", "10.0.0.1/24")])
    assert "already" in failure.reason and "could not add address" in str(failure)
    # ENODEV from the kernel: the link vanished behind our back.
    ip("-n", b, "link", "del", "eth0")
    failure, _ = fails(kernel, [SetLinkUp(a, "eth0")])
    assert "no such interface" in failure.reason
    # Unknown to us: refused before sending.
    failure, hooks = fails(kernel, [SetLinkUp(a, "nope0")])
    assert "no such interface nope0" in failure.reason and hooks.begun == []


def test_unreachable_gateways_say_so(ns: Names, kernel: NetlinkKernel) -> None:
    a, b = ns("a"), ns("b")
    run(kernel, [CreateNamespace(a), CreateNamespace(b), CreateVeth(a, "eth0", b, "eth0"),
                 AddAddress(a, "eth0", "10.0.0.1/24"), SetLinkUp(a, "eth0")])
    failure, _ = fails(kernel, [AddRoute(a, "default", via="10.9.9.9")])
    assert "gateway not on a connected subnet" in failure.reason
    failure, _ = fails(kernel, [AddRoute(a, "default", via="fd00::99", family=6)])
    assert "gateway" in failure.reason and failure.hint and "IPv6" in failure.hint


def test_refusal_mid_batch_reports_the_first_and_completes_the_rest(
    ns: Names, kernel: NetlinkKernel
) -> None:
    a, b = ns("a"), ns("b")
    run(kernel, [CreateNamespace(a), CreateNamespace(b), CreateVeth(a, "eth0", b, "eth0"),
                 AddAddress(a, "eth0", "10.0.0.1/24")])
    ops: list[Op] = [
        SetLinkUp(a, "lo"),
        AddAddress(a, "eth0", "10.0.0.1/24"),  # refused by the kernel: exists
        AddAddress(a, "eth0", "10.0.0.5/24"),  # same sendmsg: the kernel carries it out
        SetLinkUp(b, "eth0"),  # next run, another namespace: never sent
    ]
    failure, hooks = fails(kernel, ops)
    assert failure.index == 1
    assert hooks.begun == [(0, 4)] and sorted(hooks.done) == [0, 2]
    assert "10.0.0.5/24" in links(a)["eth0"]["addresses"]  # type: ignore[operator]
    assert links(b)["eth0"]["up"] is False
    # The kernel stays usable after a refusal.
    run(kernel, [SetLinkUp(b, "eth0")])
    assert links(b)["eth0"]["up"] is True


def test_kernel_refuses_a_name_our_stale_view_missed(ns: Names, kernel: NetlinkKernel) -> None:
    a, b = ns("a"), ns("b")
    run(kernel, [CreateNamespace(a), CreateNamespace(b)])
    ip("-n", b, "link", "add", "taken", "type", "veth", "peer", "name", "other")
    # Our table of b is stale (we never saw 'taken'): the kernel refuses the create.
    kernel2 = NetlinkKernel()
    try:
        kernel2._links[b] = {"lo": 1}  # as if learnt before 'taken' was made
        failure, _ = fails(kernel2, [CreateVeth(a, "eth0", b, "taken", alias=MARK)])
    finally:
        kernel2.close()
    assert "already exists" in failure.reason
    assert "eth0" not in links(a)  # no half cable


@pytest.mark.parametrize("op", [
    SetLinkUp("", "lo"),
    SetLinkUp("host-ns", "lo"),
    CreateNamespace("not-netlab"),
    SetSysctl("netlab-ktx-a", "kernel.hostname", "x"),
    SetSysctl("netlab-ktx-a", "net.ipv4..conf", "1"),
    SetSysctl("netlab-ktx-a", "net/../../kernel/x", "1"),
    CreateVeth("netlab-ktx-a", "a/b", "netlab-ktx-b", "eth0"),
    CreateVeth("netlab-ktx-a", "much-too-long-name", "netlab-ktx-b", "eth0"),
])
def test_refused_before_any_syscall(op: Op, kernel: NetlinkKernel) -> None:
    failure, hooks = fails(kernel, [op])
    assert failure.index == 0 and hooks.begun == [] and failure.reason


def test_sysctl_lands_in_the_node_only(ns: Names, kernel: NetlinkKernel) -> None:
    node = ns("a")
    with open("/proc/sys/net/ipv4/ip_forward") as f:
        host_before = f.read()
    run(kernel, [CreateNamespace(node), SetSysctl(node, "net.ipv4.ip_forward", "1")])
    assert dumps.read_sysctl(node, "net.ipv4.ip_forward") == "1"
    with open("/proc/sys/net/ipv4/ip_forward") as f:
        assert f.read() == host_before
    failure, _ = fails(kernel, [SetSysctl(node, "net.ipv4.no_such_thing", "1")])
    assert "no such sysctl" in failure.reason


def test_create_namespace_that_exists(ns: Names, kernel: NetlinkKernel) -> None:
    a, b = ns("a"), ns("b")
    nsfs.create(b)
    failure, hooks = fails(kernel, [CreateNamespace(a), CreateNamespace(b)])
    assert failure.index == 1 and "already exists" in failure.reason
    assert hooks.done == [0]
    assert failure.reason.count("exists") == 1


def test_refusal_stops_a_run_of_namespace_ops_after_the_good_ones(
    ns: Names, kernel: NetlinkKernel
) -> None:
    a = ns("a")
    failure, hooks = fails(kernel, [CreateNamespace(a), CreateNamespace("foreign")])
    assert failure.index == 1 and hooks.done == [0] and nsfs.exists(a)
    failure, hooks = fails(kernel, [DeleteNamespace(a), DeleteNamespace("foreign")])
    assert failure.index == 1 and hooks.done == [0] and not nsfs.exists(a)


def test_messages_decode_as_pyroute2_reads_them() -> None:
    from pyroute2.netlink.rtnl.ifinfmsg import ifinfmsg

    from netlab.kernel import rtnl

    msg = ifinfmsg(bytes(rtnl.new_veth(7, 5, "eth0", 6, "p1", 3, 1400)))
    msg.decode()
    assert msg["header"]["sequence_number"] == 7 and msg["index"] == 5
    assert msg.get_attr("IFLA_IFNAME") == "eth0" and msg.get_attr("IFLA_MTU") == 1400
    info = msg.get_attr("IFLA_LINKINFO")
    assert info.get_attr("IFLA_INFO_KIND") == "veth"
    peer = info.get_attr("IFLA_INFO_DATA").get_attr("VETH_INFO_PEER")
    assert peer["index"] == 6 and peer.get_attr("IFLA_IFNAME") == "p1"
    assert peer.get_attr("IFLA_NET_NS_FD") == 3
    msg = ifinfmsg(bytes(rtnl.set_link(8, 5, alias="netlab:x", master=2, addrgen_none=True,
                                       up=True)))
    msg.decode()
    assert msg.get_attr("IFLA_IFALIAS") == "netlab:x" and msg.get_attr("IFLA_MASTER") == 2
    assert msg["flags"] & 1 and msg["change"] & 1


def test_index_taken_behind_our_back_is_explained(ns: Names, kernel: NetlinkKernel) -> None:
    a = ns("a")
    run(kernel, [CreateNamespace(a), CreateBridge(a, "br0")])  # we now know a's links
    ip("-n", a, "link", "add", "x0", "type", "veth", "peer", "name", "x1")
    failure, _ = fails(kernel, [CreateBridge(a, "br1")])
    assert "changed behind netlab's back" in failure.reason
    run(kernel, [CreateBridge(a, "br1")])  # learnt afresh after the refusal
    assert links(a)["br1"]["kind"] == "bridge"


@pytest.mark.skipif(not shutil.which("setpriv"), reason="needs setpriv (util-linux)")
def test_without_privileges_the_reason_is_a_sentence(ns: Names) -> None:
    node = ns("a")
    nsfs.create(node)
    code = (
        "import sys; sys.path.insert(0, sys.argv[1])\n"
        "from netlab.kernel.netlink import NetlinkKernel\n"
        "from netlab.kernel.base import OpFailed\n"
        "from netlab.plan.ops import CreateNamespace, SetLinkUp\n"
        "for op in (CreateNamespace(sys.argv[2] + 'x'), SetLinkUp(sys.argv[2], 'lo')):\n"
        "    try:\n"
        "        NetlinkKernel().execute([op], lambda a, b: None, lambda i: None)\n"
        "    except OpFailed as e:\n"
        "        print(e.reason, '|', e.hint)\n"
    )
    root = str(Path(__file__).resolve().parents[2])
    out = subprocess.run(
        ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "--inh-caps=-all",
         sys.executable, "-c", code, root, node],
        capture_output=True, text=True, check=False,
    )
    lines = out.stdout.splitlines()
    assert len(lines) == 2, out.stderr
    assert all("needs root" in line and "CAP_NET_ADMIN" in line for line in lines)
    assert "Traceback" not in out.stderr
