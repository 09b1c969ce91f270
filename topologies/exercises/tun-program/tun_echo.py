#!/usr/bin/env python3
"""Answer pings on a TUN device: the smallest program that plays a whole network.

Run it inside the node that has the device (as root, or as the device's owner):

    netlab exec gw -- python3 "$PWD/tun_echo.py"            # tun0 (from this folder)
    netlab exec gw -- python3 "$PWD/tun_echo.py" tun0 -q    # quietly

Every IP packet the kernel routes into tun0 is handed to this program, whole, by read();
whatever it write()s goes back into the kernel as if it had arrived on tun0. It answers
ICMP echo requests (IPv4) for any address and ignores everything else. Stop it with
Ctrl-C: tun0 loses its carrier again and the packets routed into it are dropped.
Standard library only; read it, then change it (see README.md for ideas).
"""

from __future__ import annotations

import fcntl
import os
import struct
import sys

TUNSETIFF = 0x400454CA  # ioctl: attach this file descriptor to a TUN/TAP device by name
IFF_TUN = 0x0001  # layer 3: whole IP packets, no Ethernet header
IFF_NO_PI = 0x1000  # no 4-byte packet information header before each packet
ICMP = 1
ECHO_REQUEST, ECHO_REPLY = 8, 0


def open_tun(name: str) -> int:
    fd = os.open("/dev/net/tun", os.O_RDWR)
    fcntl.ioctl(fd, TUNSETIFF, struct.pack("16sH", name.encode(), IFF_TUN | IFF_NO_PI))
    return fd


def checksum(data: bytes) -> int:
    """The Internet checksum (RFC 1071): one's complement sum of 16-bit words."""
    if len(data) % 2:
        data += b"\0"
    total: int = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def answer(packet: bytes) -> bytes | None:
    """The echo reply to an IPv4 echo request, or None for any other packet."""
    if len(packet) < 20 or packet[0] >> 4 != 4:
        return None  # not IPv4 (IPv6 is an exercise)
    header_length = (packet[0] & 0x0F) * 4
    if packet[9] != ICMP or len(packet) < header_length + 8:
        return None
    icmp = packet[header_length:]
    if icmp[0] != ECHO_REQUEST:
        return None
    # ICMP: type 0 (reply), code 0, checksum, then identifier, sequence and data unchanged.
    reply = bytearray(icmp)
    reply[0], reply[2:4] = ECHO_REPLY, b"\0\0"
    reply[2:4] = struct.pack("!H", checksum(bytes(reply)))
    # IP: swap source and destination, a fresh TTL, a new header checksum.
    header = bytearray(packet[:header_length])
    header[12:16], header[16:20] = packet[16:20], packet[12:16]
    header[8] = 64
    header[10:12] = b"\0\0"
    header[10:12] = struct.pack("!H", checksum(bytes(header)))
    return bytes(header) + bytes(reply)


def main(argv: list[str]) -> int:
    names = [a for a in argv if not a.startswith("-")]
    quiet = "-q" in argv
    name = names[0] if names else "tun0"
    try:
        fd = open_tun(name)
    except OSError as e:
        print(f"cannot attach to {name}: {e.strerror} (run me inside the node that has it: "
              f"netlab exec NODE -- python3 {sys.argv[0]})", file=sys.stderr)
        return 1
    print(f"attached to {name}; answering pings (Ctrl-C stops)", flush=True)
    try:
        while True:
            packet = os.read(fd, 65535)
            reply = answer(packet)
            if reply is None:
                continue
            os.write(fd, reply)
            if not quiet:
                source = ".".join(map(str, packet[12:16]))
                target = ".".join(map(str, packet[16:20]))
                print(f"echo request {source} -> {target}: answered", flush=True)
    except KeyboardInterrupt:
        return 0
    finally:
        os.close(fd)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
