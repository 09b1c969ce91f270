"""Packets as files and as words. Pure: bytes in, bytes or text out.

`PcapWriter` writes the classic pcap format (what tcpdump -w writes and Wireshark reads):
a 24-byte global header, then per packet a 16-byte record header and the bytes captured.
`summary` turns one packet into one short line, tcpdump-like, from the Ethernet, ARP, IPv4,
IPv6, ICMP, ICMPv6, TCP and UDP headers; anything else is named by its number.
"""

from __future__ import annotations

import ipaddress
import struct
from typing import BinaryIO

PCAP_MAGIC = 0xA1B2C3D4  # microsecond timestamps
LINKTYPE_ETHERNET = 1
LINKTYPE_RAW = 101  # a bare IPv4 or IPv6 packet, no link-layer header (TUN devices)
SNAPLEN = 262144  # what tcpdump keeps of a packet by default

_ETHERTYPES = {0x0800: "IPv4", 0x0806: "ARP", 0x86DD: "IPv6", 0x8100: "802.1Q", 0x88CC: "LLDP"}
_IP_PROTOCOLS = {1: "ICMP", 2: "IGMP", 6: "TCP", 17: "UDP", 47: "GRE", 58: "ICMPv6", 89: "OSPF",
                 132: "SCTP"}
_ICMP = {0: "echo reply", 3: "unreachable", 5: "redirect", 8: "echo request",
         11: "time exceeded"}
_ICMP6 = {1: "unreachable", 2: "packet too big", 3: "time exceeded", 128: "echo request",
          129: "echo reply", 130: "multicast listener query", 131: "multicast listener report",
          133: "router solicitation", 134: "router advertisement",
          135: "neighbor solicitation", 136: "neighbor advertisement", 143: "MLDv2 report"}
_TCP_FLAGS = ((0x02, "S"), (0x10, "."), (0x01, "F"), (0x04, "R"), (0x08, "P"), (0x20, "U"))
_IPV6_EXTENSIONS = (0, 43, 60)  # hop-by-hop, routing, destination options: skipped over


class PcapWriter:
    """Writes a pcap stream; flushed after every packet, so that the file is whole (and a
    pipe into Wireshark is live) whenever the capture stops."""

    def __init__(self, stream: BinaryIO, linktype: int, snaplen: int = SNAPLEN) -> None:
        self.stream = stream
        self.snaplen = snaplen
        stream.write(struct.pack("<IHHiIII", PCAP_MAGIC, 2, 4, 0, 0, snaplen, linktype))
        stream.flush()

    def write(self, timestamp: float, data: bytes, length: int | None = None) -> None:
        seconds = int(timestamp)
        micros = min(round((timestamp - seconds) * 1_000_000), 999_999)
        kept = data[: self.snaplen]
        wire = max(length if length is not None else len(data), len(kept))
        self.stream.write(struct.pack("<IIII", seconds, micros, len(kept), wire) + kept)
        self.stream.flush()


def _mac(raw: bytes) -> str:
    return ":".join(f"{b:02x}" for b in raw)


def _ip(raw: bytes) -> str:
    return str(ipaddress.ip_address(raw))


def _endpoint(address: str, port: int) -> str:
    return f"[{address}]:{port}" if ":" in address else f"{address}:{port}"


def summary(data: bytes, linktype: int, length: int | None = None) -> str:
    """One line for one packet: "src > dst PROTOCOL details, length N"."""
    wire = length if length is not None else len(data)
    try:
        if linktype == LINKTYPE_ETHERNET:
            text = _ethernet(data)
        elif linktype == LINKTYPE_RAW:
            text = _raw_ip(data)
        else:
            text = f"linktype {linktype}"
    except (IndexError, ValueError, struct.error):
        text = "truncated or malformed packet"
    return f"{text}, length {wire}"


def _ethernet(frame: bytes) -> str:
    if len(frame) < 14:
        raise ValueError("short frame")
    dst, src = _mac(frame[0:6]), _mac(frame[6:12])
    (ethertype,) = struct.unpack("!H", frame[12:14])
    payload = frame[14:]
    if ethertype == 0x0806:
        return f"{src} > {dst} {_arp(payload)}"
    if ethertype == 0x0800:
        return _ipv4(payload)
    if ethertype == 0x86DD:
        return _ipv6(payload)
    name = _ETHERTYPES.get(ethertype, f"ethertype 0x{ethertype:04x}")
    if ethertype < 0x0600:  # an 802.3 length field: an LLC frame (STP, for one)
        name = "802.3 LLC"
    return f"{src} > {dst} {name}"


def _raw_ip(packet: bytes) -> str:
    version = packet[0] >> 4
    if version == 4:
        return _ipv4(packet)
    if version == 6:
        return _ipv6(packet)
    return f"IP version {version}?"


def _arp(arp: bytes) -> str:
    _htype, ptype, hlen, plen, op = struct.unpack("!HHBBH", arp[:8])
    if ptype != 0x0800 or hlen != 6 or plen != 4:
        return f"ARP op {op}"
    sha, spa, tpa = arp[8:14], arp[14:18], arp[24:28]
    if len(tpa) < 4:
        raise ValueError("short ARP")
    if op == 1:
        return f"ARP who-has {_ip(tpa)} tell {_ip(spa)}"
    if op == 2:
        return f"ARP {_ip(spa)} is-at {_mac(sha)}"
    return f"ARP op {op}"


def _ipv4(packet: bytes) -> str:
    header = (packet[0] & 0x0F) * 4
    if header < 20 or len(packet) < 20:
        raise ValueError("short IPv4 header")
    (fragment,) = struct.unpack("!H", packet[6:8])
    proto, src, dst = packet[9], _ip(packet[12:16]), _ip(packet[16:20])
    if fragment & 0x1FFF:  # not the first fragment: no transport header here
        return f"{src} > {dst} IPv4 fragment of {_IP_PROTOCOLS.get(proto, f'proto {proto}')}"
    return _transport(src, dst, proto, packet[header:], icmp=_ICMP)


def _ipv6(packet: bytes) -> str:
    if len(packet) < 40:
        raise ValueError("short IPv6 header")
    proto, src, dst = packet[6], _ip(packet[8:24]), _ip(packet[24:40])
    rest = packet[40:]
    while proto in _IPV6_EXTENSIONS:
        proto, rest = rest[0], rest[(rest[1] + 1) * 8 :]
    if proto == 44:  # fragment header
        return f"{src} > {dst} IPv6 fragment"
    return _transport(src, dst, proto, rest, icmp=_ICMP6)


def _transport(src: str, dst: str, proto: int, payload: bytes, icmp: dict[int, str]) -> str:
    if proto in (6, 17):
        sport, dport = struct.unpack("!HH", payload[:4])
        where = f"{_endpoint(src, sport)} > {_endpoint(dst, dport)}"
        if proto == 17:
            return f"{where} UDP"
        flags = payload[13]
        marks = "".join(mark for bit, mark in _TCP_FLAGS if flags & bit)
        return f"{where} TCP [{marks or 'none'}]"
    if proto in (1, 58):
        kind, code = payload[0], payload[1]
        name = icmp.get(kind, f"type {kind} code {code}")
        label = "ICMP" if proto == 1 else "ICMPv6"
        if kind in (0, 8, 128, 129):
            ident, seq = struct.unpack("!HH", payload[4:8])
            return f"{src} > {dst} {label} {name} id {ident} seq {seq}"
        if proto == 58 and kind in (135, 136) and len(payload) >= 24:
            verb = "who-has" if kind == 135 else "tgt is"
            return f"{src} > {dst} {label} {name} {verb} {_ip(payload[8:24])}"
        return f"{src} > {dst} {label} {name}"
    return f"{src} > {dst} {_IP_PROTOCOLS.get(proto, f'IP proto {proto}')}"
