"""`netlab capture` on real namespaces: a pcap of a ping that any pcap reader can read, one
line per packet, the -c/--timeout/Ctrl-C stops, and raw IP on a TUN device."""

from __future__ import annotations

import os
import signal
import socket
import struct
import subprocess
import sys
import time
from pathlib import Path

from netlab.kernel.capture import Capture
from netlab.kernel.tunfd import attach_in
from netlab.pytest_plugin import LabFactory

TOPO = Path(__file__).parents[2] / "topologies"


def read_pcap(path: Path) -> tuple[int, list[bytes]]:
    """A reader of its own, independent of netlab.values.pcap: (linktype, packets)."""
    data = path.read_bytes()
    magic, major, minor, _zone, _sigfigs, _snaplen, linktype = struct.unpack(
        "<IHHiIII", data[:24]
    )
    assert (magic, major, minor) == (0xA1B2C3D4, 2, 4), "not a classic pcap file"
    packets, offset = [], 24
    while offset < len(data):
        _sec, usec, incl, orig = struct.unpack("<IIII", data[offset : offset + 16])
        assert usec < 1_000_000 and incl <= orig
        packets.append(data[offset + 16 : offset + 16 + incl])
        offset += 16 + incl
    assert offset == len(data), "a record runs past the end of the file"
    return linktype, packets


def icmp_echoes(frames: list[bytes]) -> set[tuple[str, str, int]]:
    """(source, destination, ICMP type) of every IPv4 ICMP echo in Ethernet frames."""
    found = set()
    for frame in frames:
        if frame[12:14] != b"\x08\x00" or frame[23] != 1:
            continue
        ip = frame[14:]
        icmp = ip[(ip[0] & 0x0F) * 4 :]
        if icmp[0] in (0, 8):
            found.add((socket.inet_ntoa(ip[12:16]), socket.inet_ntoa(ip[16:20]), icmp[0]))
    return found


def start_capture(*args: str) -> subprocess.Popen[str]:
    """`netlab capture ...` in the background, returned once it is capturing."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "netlab", "capture", *args],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    assert proc.stderr is not None
    first = proc.stderr.readline()
    assert first.startswith("capturing on"), first + proc.stderr.read()
    return proc


def test_pcap_of_a_ping(netlab_lab: LabFactory, tmp_path: Path) -> None:
    lab = netlab_lab(TOPO / "veth-pair.yaml")
    pcap = tmp_path / "a-eth0.pcap"
    proc = start_capture("-l", lab.name, "a:eth0", "-w", str(pcap), "--timeout", "60")
    try:
        assert lab.ping("a", "b")
        assert lab.ping("b", "a")
    finally:
        proc.send_signal(signal.SIGINT)  # Ctrl-C
        _, stderr = proc.communicate(timeout=30)
    assert proc.returncode == 0, stderr
    assert "Traceback" not in stderr
    assert f"packets written to {pcap} (interrupted)" in stderr
    linktype, frames = read_pcap(pcap)
    assert linktype == 1  # LINKTYPE_ETHERNET
    assert {
        ("10.0.0.1", "10.0.0.2", 8), ("10.0.0.2", "10.0.0.1", 0),  # a pings b
        ("10.0.0.2", "10.0.0.1", 8), ("10.0.0.1", "10.0.0.2", 0),  # b pings a
    } <= icmp_echoes(frames)
    count = int(stderr.strip().splitlines()[-1].split()[0])
    assert count == len(frames)


def test_lines_and_timeout(netlab_lab: LabFactory) -> None:
    lab = netlab_lab(TOPO / "veth-pair.yaml")
    proc = start_capture("-l", lab.name, "b:eth0", "--timeout", "3")
    started = time.monotonic()
    assert lab.ping("a", "b")
    stdout, stderr = proc.communicate(timeout=30)
    assert proc.returncode == 0 and time.monotonic() - started < 15, stderr
    assert "10.0.0.1 > 10.0.0.2 ICMP echo request" in stdout
    assert "10.0.0.2 > 10.0.0.1 ICMP echo reply" in stdout
    assert "packets captured" in stderr and "interrupted" not in stderr


def test_count_stops_the_capture(netlab_lab: LabFactory) -> None:
    lab = netlab_lab(TOPO / "veth-pair.yaml")
    with Capture(lab.namespace("a"), "eth0") as capture:
        assert lab.ping("a", "b")
        packets = list(capture.packets(count=2, timeout=30))
    assert len(packets) == 2
    assert all(p.length >= len(p.data) > 14 for p in packets)
    assert abs(packets[0].time - time.time()) < 30  # the kernel's wall-clock stamp


def test_unknown_interface_is_bad_input(netlab_lab: LabFactory) -> None:
    lab = netlab_lab(TOPO / "veth-pair.yaml")
    result = subprocess.run(
        [sys.executable, "-m", "netlab", "capture", "-l", lab.name, "a:eth7", "-c", "1"],
        capture_output=True, text=True, timeout=60,
    )
    assert result.returncode == 2
    assert "node 'a' has no interface 'eth7' (interfaces: eth0, lo)" in result.stderr


def test_tun_capture_is_raw_ip(netlab_lab: LabFactory, tmp_path: Path) -> None:
    lab = netlab_lab(TOPO / "tun.yaml")
    # Without a program attached a TUN device has no carrier and sends nothing.
    fd = attach_in(lab.namespace("gw"), "tun0", "tun")
    pcap = tmp_path / "tun0.pcap"
    try:
        proc = start_capture("-l", lab.name, "gw:tun0", "-w", str(pcap), "--timeout", "60")
        try:
            with lab.socket("client", socket.AF_INET, socket.SOCK_DGRAM) as sock:
                for _ in range(3):
                    sock.sendto(b"into the tunnel", ("10.8.0.9", 5555))
                    time.sleep(0.1)
        finally:
            proc.send_signal(signal.SIGINT)
            _, stderr = proc.communicate(timeout=30)
    finally:
        os.close(fd)
    assert proc.returncode == 0, stderr
    linktype, packets = read_pcap(pcap)
    assert linktype == 101  # LINKTYPE_RAW: no Ethernet header, the IP packet itself
    ours = [p for p in packets if p[0] >> 4 == 4 and p[16:20] == socket.inet_aton("10.8.0.9")]
    assert ours, f"no packet to 10.8.0.9 among {len(packets)}"
    header = (ours[0][0] & 0x0F) * 4
    assert ours[0][9] == 17 and ours[0][header + 8 :] == b"into the tunnel"


def test_interface_going_down_ends_the_capture_and_keeps_the_packets(
    netlab_lab: LabFactory, tmp_path: Path
) -> None:
    lab = netlab_lab(TOPO / "veth-pair.yaml")
    pcap = tmp_path / "a-eth0.pcap"
    proc = start_capture("-l", lab.name, "a:eth0", "-w", str(pcap), "--timeout", "30")
    try:
        assert lab.ping("a", "b")
        flap = subprocess.run(
            [sys.executable, "-m", "netlab", "link", "-l", lab.name, "a:eth0", "flap",
             "--down", "1s", "--count", "1"], capture_output=True, text=True, timeout=60)
        assert flap.returncode == 0, flap.stderr
        _, stderr = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 1, stderr
    assert "Traceback" not in stderr and "internal error" not in stderr
    last = stderr.strip().splitlines()[-1]
    assert last.endswith(f"packets written to {pcap} (stopped: a:eth0 went down)"), stderr
    _, frames = read_pcap(pcap)
    assert int(last.split()[0]) == len(frames)
    assert ("10.0.0.1", "10.0.0.2", 8) in icmp_echoes(frames)


def test_the_lab_going_down_ends_the_capture(netlab_lab: LabFactory) -> None:
    lab = netlab_lab(TOPO / "veth-pair.yaml")
    proc = start_capture("-l", lab.name, "b:eth0", "--timeout", "30")
    try:
        assert lab.ping("a", "b")
        down = subprocess.run([sys.executable, "-m", "netlab", "down", "-l", lab.name],
                              capture_output=True, text=True, timeout=120)
        assert down.returncode == 0, down.stderr
        stdout, stderr = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 1, stderr
    assert "Traceback" not in stderr and "internal error" not in stderr
    assert "10.0.0.1 > 10.0.0.2 ICMP echo request" in stdout
    last = stderr.strip().splitlines()[-1]
    assert " packets captured (stopped: " in last, stderr
    assert ("namespace netlab-" in last and "is gone (the lab was taken down)" in last) or (
        "b:eth0 is gone" in last), last
