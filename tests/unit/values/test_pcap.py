"""The pcap format netlab writes, and the one-line packet summaries of `netlab capture`."""

from __future__ import annotations

import io
import socket
import struct

import pytest
from hypothesis import given
from hypothesis import strategies as st

from netlab.ui.cli import main
from netlab.ui.cmd_capture import split_where
from netlab.values.pcap import LINKTYPE_ETHERNET, LINKTYPE_RAW, PcapWriter, summary

MAC_A, MAC_B, BROADCAST = bytes.fromhex("020000000001"), bytes.fromhex("020000000002"), b"\xff" * 6


def _eth(dst: bytes, src: bytes, ethertype: int, payload: bytes) -> bytes:
    return dst + src + struct.pack("!H", ethertype) + payload


def _ipv4(src: str, dst: str, proto: int, payload: bytes, frag: int = 0) -> bytes:
    return struct.pack(
        "!BBHHHBBH4s4s", 0x45, 0, 20 + len(payload), 1, frag, 64, proto, 0,
        socket.inet_aton(src), socket.inet_aton(dst),
    ) + payload


def _ipv6(src: str, dst: str, proto: int, payload: bytes) -> bytes:
    return struct.pack("!IHBB", 6 << 28, len(payload), proto, 64) + socket.inet_pton(
        socket.AF_INET6, src) + socket.inet_pton(socket.AF_INET6, dst) + payload


def _arp(op: int, sha: bytes, spa: str, tha: bytes, tpa: str) -> bytes:
    return struct.pack("!HHBBH", 1, 0x0800, 6, 4, op) + sha + socket.inet_aton(spa) + tha + \
        socket.inet_aton(tpa)


def _read_pcap(data: bytes) -> tuple[int, list[tuple[float, bytes, int]]]:
    magic, major, minor, _zone, _sigfigs, snaplen, linktype = struct.unpack("<IHHiIII", data[:24])
    assert (magic, major, minor, snaplen) == (0xA1B2C3D4, 2, 4, 262144)
    records, offset = [], 24
    while offset < len(data):
        sec, usec, incl, orig = struct.unpack("<IIII", data[offset : offset + 16])
        records.append((sec + usec / 1e6, data[offset + 16 : offset + 16 + incl], orig))
        offset += 16 + incl
    assert offset == len(data)
    return linktype, records


def test_pcap_writer_header_and_records() -> None:
    stream = io.BytesIO()
    writer = PcapWriter(stream, LINKTYPE_ETHERNET)
    assert len(stream.getvalue()) == 24
    writer.write(1700000000.25, b"\x01" * 60)
    writer.write(1700000001.9999997, b"\x02" * 10, length=1514)
    linktype, records = _read_pcap(stream.getvalue())
    assert linktype == LINKTYPE_ETHERNET
    assert records[0] == (1700000000.25, b"\x01" * 60, 60)
    assert records[1][1:] == (b"\x02" * 10, 1514)
    # Rounded, but never to a microsecond count of 10**6.
    assert struct.unpack("<II", stream.getvalue()[24 + 16 + 60 :][:8]) == (1700000001, 999999)


def test_pcap_writer_cuts_at_snaplen() -> None:
    stream = io.BytesIO()
    PcapWriter(stream, LINKTYPE_RAW, snaplen=262144).write(0.0, b"x" * 300000)
    _, [(_, kept, wire)] = _read_pcap(stream.getvalue())
    assert (len(kept), wire) == (262144, 300000)


ICMP_ECHO = struct.pack("!BBHHH", 8, 0, 0, 0x1234, 7) + b"payload"
CASES = [
    (_eth(BROADCAST, MAC_A, 0x0806, _arp(1, MAC_A, "10.0.0.1", b"\0" * 6, "10.0.0.2")),
     "02:00:00:00:00:01 > ff:ff:ff:ff:ff:ff ARP who-has 10.0.0.2 tell 10.0.0.1, length 42"),
    (_eth(MAC_A, MAC_B, 0x0806, _arp(2, MAC_B, "10.0.0.2", MAC_A, "10.0.0.1")),
     "02:00:00:00:00:02 > 02:00:00:00:00:01 ARP 10.0.0.2 is-at 02:00:00:00:00:02, length 42"),
    (_eth(MAC_B, MAC_A, 0x0800, _ipv4("10.0.0.1", "10.0.0.2", 1, ICMP_ECHO)),
     "10.0.0.1 > 10.0.0.2 ICMP echo request id 4660 seq 7, length 49"),
    (_eth(MAC_B, MAC_A, 0x0800, _ipv4("10.0.0.1", "10.0.0.2", 6,
                                     struct.pack("!HHIIBBHHH", 40000, 80, 1, 0, 5 << 4, 0x12,
                                                 0, 0, 0))),
     "10.0.0.1:40000 > 10.0.0.2:80 TCP [S.], length 54"),
    (_eth(MAC_B, MAC_A, 0x86DD, _ipv6("fd00::1", "fd00::2", 17, struct.pack("!HHHH", 5353,
                                                                            53, 8, 0))),
     "[fd00::1]:5353 > [fd00::2]:53 UDP, length 62"),
    # hop-by-hop options, then ICMPv6 neighbor solicitation
    (_eth(MAC_B, MAC_A, 0x86DD, _ipv6("fe80::1", "ff02::1:ff00:2", 0, bytes([58, 0]) + b"\0" * 6
                                      + bytes([135, 0, 0, 0, 0, 0, 0, 0])
                                      + socket.inet_pton(socket.AF_INET6, "fd00::2"))),
     "fe80::1 > ff02::1:ff00:2 ICMPv6 neighbor solicitation who-has fd00::2, length 86"),
    (_eth(MAC_B, MAC_A, 0x0800, _ipv4("10.0.0.1", "10.0.0.2", 17, b"data", frag=100)),
     "10.0.0.1 > 10.0.0.2 IPv4 fragment of UDP, length 38"),
    (_eth(MAC_B, MAC_A, 0x88B5, b"\0" * 46), "02:00:00:00:00:01 > 02:00:00:00:00:02 "
     "ethertype 0x88b5, length 60"),
    (_eth(MAC_B, MAC_A, 0x0026, b"\0" * 46), "02:00:00:00:00:01 > 02:00:00:00:00:02 "
     "802.3 LLC, length 60"),
    (_eth(MAC_B, MAC_A, 0x0800, b"\x45\x00"), "truncated or malformed packet, length 16"),
]


@pytest.mark.parametrize(("frame", "expected"), CASES)
def test_ethernet_summaries(frame: bytes, expected: str) -> None:
    assert summary(frame, LINKTYPE_ETHERNET) == expected


def test_raw_ip_summaries_and_wire_length() -> None:
    packet = _ipv4("10.5.0.1", "10.8.0.9", 17, struct.pack("!HHHH", 1234, 5555, 10, 0) + b"hi")
    assert summary(packet, LINKTYPE_RAW, 1500) == "10.5.0.1:1234 > 10.8.0.9:5555 UDP, length 1500"
    echo = _ipv6("fd00::1", "fd00::2", 58, struct.pack("!BBHHH", 129, 0, 0, 1, 2))
    assert summary(echo, LINKTYPE_RAW) == (
        "fd00::1 > fd00::2 ICMPv6 echo reply id 1 seq 2, length 48"
    )
    assert summary(b"\x20", LINKTYPE_RAW) == "IP version 2?, length 1"


@given(st.binary(max_size=200), st.sampled_from([LINKTYPE_ETHERNET, LINKTYPE_RAW, 147]))
def test_summary_never_raises(data: bytes, linktype: int) -> None:
    assert summary(data, linktype).endswith(f", length {len(data)}")


def test_where_must_name_node_and_interface() -> None:
    assert split_where("h1:eth0") == ("h1", "eth0")
    for bad in ("h1", "h1:", ":eth0"):
        with pytest.raises(Exception, match="name a node and an interface"):
            split_where(bad)


@pytest.mark.parametrize("args", [["-c", "0"], ["-c", "x"], ["--timeout", "0"],
                                  ["--timeout", "nan"], ["--timeout", "inf"]])
def test_capture_bad_limits_exit_2(args: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["capture", "-l", "nosuch", "a:eth0", *args]) == 2
    assert "netlab capture: error:" in capsys.readouterr().err
