"""What TUN and TAP exist for: a program in the packet path.

TUN: a program attached to the device reads the raw IP packet a node sent to the TUN subnet.
TAP: an Ethernet frame written to a TAP in a bridge gets its answer (an ARP reply) back.
"""

from __future__ import annotations

import ipaddress
import os
import select
import socket
import struct
import subprocess
import time
from pathlib import Path

from netlab.kernel.tunfd import attach_in
from netlab.pytest_plugin import LabFactory

TOPO = Path(__file__).parents[2] / "topologies"


def _read_until(fd: int, wanted: object, seconds: float = 5.0) -> bytes:
    deadline = time.monotonic() + seconds
    while (left := deadline - time.monotonic()) > 0:
        ready, _, _ = select.select([fd], [], [], left)
        if ready:
            data = os.read(fd, 65536)
            if wanted(data):  # type: ignore[operator]
                return data
    raise AssertionError("the expected packet never arrived")


def test_tun_program_reads_the_ip_packet(netlab_lab: LabFactory) -> None:
    lab = netlab_lab(TOPO / "tun.yaml")
    fd = attach_in(lab.namespace("gw"), "tun0", "tun")
    try:
        with lab.socket("client", socket.AF_INET, socket.SOCK_DGRAM) as sock:
            def is_ours(pkt: bytes) -> bool:
                return len(pkt) >= 28 and pkt[0] >> 4 == 4 and pkt[9] == 17 and \
                    pkt[16:20] == socket.inet_aton("10.8.0.9")
            deadline = time.monotonic() + 5
            packet = b""
            while not packet and time.monotonic() < deadline:
                sock.sendto(b"through the tunnel", ("10.8.0.9", 5555))
                try:
                    packet = _read_until(fd, is_ours, 1.0)
                except AssertionError:
                    continue
        assert packet, "no packet reached the program on tun0"
        header_len = (packet[0] & 0x0F) * 4
        assert ipaddress.ip_address(packet[12:16]) == ipaddress.ip_address("10.5.0.1")
        dport = struct.unpack("!H", packet[header_len + 2 : header_len + 4])[0]
        assert dport == 5555
        assert packet[header_len + 8 :] == b"through the tunnel"
        # The TTL went down by one: the packet was routed by gw into the TUN device.
        assert packet[8] == 63
    finally:
        os.close(fd)


def _arp_request(src_mac: bytes, src_ip: str, target_ip: str) -> bytes:
    eth = b"\xff" * 6 + src_mac + b"\x08\x06"
    arp = struct.pack("!HHBBH", 1, 0x0800, 6, 4, 1) + src_mac + socket.inet_aton(src_ip)
    arp += b"\x00" * 6 + socket.inet_aton(target_ip)
    return eth + arp


def _is_arp_reply_from(target_ip: str, my_mac: bytes) -> object:
    def check(frame: bytes) -> bool:
        return (
            len(frame) >= 42 and frame[12:14] == b"\x08\x06" and frame[0:6] == my_mac
            and struct.unpack("!H", frame[20:22])[0] == 2
            and frame[28:32] == socket.inet_aton(target_ip)
        )
    return check


def test_tap_frame_gets_arp_reply_through_bridge(netlab_lab: LabFactory) -> None:
    lab = netlab_lab(TOPO / "tap-bridge.yaml")
    fd = attach_in(lab.namespace("host"), "tap0", "tap")
    my_mac = bytes.fromhex("020000000099")
    try:
        # The bridge's own address answers, and so does the peer across the cable: the
        # frame crossed tap0 -> br0 -> eth0 -> peer and the reply came all the way back.
        for target in ("10.6.0.254", "10.6.0.1"):
            reply = b""
            deadline = time.monotonic() + 5
            while not reply and time.monotonic() < deadline:
                os.write(fd, _arp_request(my_mac, "10.6.0.99", target))
                try:
                    reply = _read_until(fd, _is_arp_reply_from(target, my_mac), 1.0)
                except AssertionError:
                    continue
            assert reply, f"no ARP reply from {target} on tap0"
            assert reply[38:42] == socket.inet_aton("10.6.0.99")
    finally:
        os.close(fd)


def test_a_device_of_another_kind_under_the_planned_name_is_drift(
        netlab_lab: LabFactory) -> None:
    lab = netlab_lab(TOPO / "tun.yaml")
    assert lab.status()["drift"] == []
    ns = lab.namespace("gw")
    subprocess.run(["ip", "-n", ns, "tuntap", "del", "tun0", "mode", "tun"], check=True)
    subprocess.run(["ip", "-n", ns, "tuntap", "add", "tun0", "mode", "tap"], check=True)
    drift = lab.status()["drift"]
    assert "gw: tun0 is a tap; the topology says tun" in drift
    assert "gw: tun0 lacks address 10.8.0.1/24" in drift
