"""Reachability probed by netlab itself: sockets opened inside a node's namespace.

No `ping` binary is needed: a socket keeps the namespace it was born in, so a short thread
enters the namespace, opens the socket and hands it back.
"""

from __future__ import annotations

import ipaddress
import os
import select
import socket
import struct
import threading
import time

from netlab.kernel import nsfs


def socket_in(ns: str, family: int, kind: int, proto: int = 0) -> socket.socket:
    """A socket that lives in namespace `ns`, whatever thread uses it afterwards."""
    return nsfs.run_in(ns, lambda: socket.socket(family, kind, proto))


def _checksum(data: bytes) -> int:
    if len(data) % 2:
        data += b"\0"
    total: int = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def ping(ns: str, address: str, timeout: float = 1.0, count: int = 1,
         first_seq: int = 1) -> float | None:
    """Send ICMP echo requests from inside `ns` to `address`, numbered from `first_seq`
    (a caller sending one at a time, as `netlab ping` does, counts on); the round-trip time
    in seconds of the first reply, or None if none came within `timeout` per try."""
    ip = ipaddress.ip_address(address)
    v6 = ip.version == 6
    family = socket.AF_INET6 if v6 else socket.AF_INET
    proto = socket.IPPROTO_ICMPV6 if v6 else socket.IPPROTO_ICMP
    request_type, reply_type = (128, 129) if v6 else (8, 0)
    ident = (os.getpid() ^ threading.get_ident()) & 0xFFFF
    with socket_in(ns, family, socket.SOCK_RAW, proto) as sock:
        for n in range(count):
            seq = (first_seq + n) & 0xFFFF  # the field has 16 bits; ping wraps it too
            payload = b"netlab-ping" + struct.pack("!d", time.monotonic())
            header = struct.pack("!BBHHH", request_type, 0, 0, ident, seq)
            # The kernel fills in the ICMPv6 checksum itself (it needs the addresses).
            csum = 0 if v6 else _checksum(header + payload)
            packet = struct.pack("!BBHHH", request_type, 0, csum, ident, seq) + payload
            sent = time.monotonic()
            try:
                sock.sendto(packet, (str(ip), 0))
            except OSError:
                continue  # no route, unreachable: this try failed
            deadline = sent + timeout
            while (left := deadline - time.monotonic()) > 0:
                ready, _, _ = select.select([sock], [], [], left)
                if not ready:
                    break
                data, source = sock.recvfrom(2048)
                icmp = data if v6 else data[(data[0] & 0x0F) * 4 :]
                if len(icmp) < 8 or ipaddress.ip_address(source[0]) != ip:
                    continue
                kind, _, _, rid, rseq = struct.unpack("!BBHHH", icmp[:8])
                if kind == reply_type and rid == ident and rseq == seq:
                    return time.monotonic() - sent
    return None
