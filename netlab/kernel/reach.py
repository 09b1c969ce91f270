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
from dataclasses import dataclass

from netlab.kernel import nsfs

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


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


@dataclass(frozen=True)
class Echo:
    """What came back for echo requests: a reply's round-trip time, or the router that said
    the time to live ran out on the way (ICMP time exceeded), or neither."""

    rtt: float | None = None  # seconds, of the first reply
    expired_at: str | None = None  # the address of the router that dropped the request


def ping(ns: str, address: str, timeout: float = 1.0, count: int = 1,
         first_seq: int = 1) -> float | None:
    """The round-trip time in seconds of the first reply, or None (see echo)."""
    return echo(ns, address, timeout, count, first_seq).rtt


def echo(ns: str, address: str, timeout: float = 1.0, count: int = 1, first_seq: int = 1,
         ttl: int | None = None, stop_fd: int | None = None) -> Echo:
    """Send ICMP echo requests from inside `ns` to `address`, numbered from `first_seq`
    (a caller sending one at a time, as `netlab ping` does, counts on), each waited for up
    to `timeout` seconds, until a reply comes; with `ttl`, the requests' time to live (hop
    limit). Gives up early when `stop_fd` becomes readable (a Ctrl-C's wakeup)."""
    ip = ipaddress.ip_address(address)
    v6 = ip.version == 6
    family = socket.AF_INET6 if v6 else socket.AF_INET
    proto = socket.IPPROTO_ICMPV6 if v6 else socket.IPPROTO_ICMP
    request_type = 128 if v6 else 8
    ident = (os.getpid() ^ threading.get_ident()) & 0xFFFF
    result = Echo()
    with socket_in(ns, family, socket.SOCK_RAW, proto) as sock:
        if ttl is not None:
            level, option = ((socket.IPPROTO_IPV6, socket.IPV6_UNICAST_HOPS) if v6
                             else (socket.IPPROTO_IP, socket.IP_TTL))
            sock.setsockopt(level, option, ttl)
        watched: list[socket.socket | int] = [sock]
        if stop_fd is not None:
            watched.append(stop_fd)
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
                ready, _, _ = select.select(watched, [], [], left)
                if stop_fd is not None and stop_fd in ready:
                    return result
                if not ready:
                    break
                data, source = sock.recvfrom(2048)
                icmp = data if v6 else data[(data[0] & 0x0F) * 4 :]
                answer = _answer(icmp, ip, ident, seq)
                if answer == "reply" and ipaddress.ip_address(source[0]) == ip:
                    return Echo(time.monotonic() - sent)
                if answer == "expired":
                    result = Echo(None, str(ipaddress.ip_address(source[0].split("%")[0])))
                    break  # no reply will come for this request
    return result


def _answer(icmp: bytes, ip: IPAddress, ident: int, seq: int) -> str | None:
    """'reply' for an echo reply to request (ident, seq), 'expired' for a time exceeded
    message about that request to `ip`, None for anything else."""
    if len(icmp) < 8:
        return None
    kind, code = icmp[0], icmp[1]
    if kind == (129 if ip.version == 6 else 0):
        rid, rseq = struct.unpack("!HH", icmp[4:8])
        return "reply" if (rid, rseq) == (ident, seq) else None
    if kind == (3 if ip.version == 6 else 11) and code == 0:  # in transit, not reassembly
        return "expired" if _quoted_request(icmp[8:], ip) == (ident, seq) else None
    return None


def _quoted_request(inner: bytes, ip: IPAddress) -> tuple[int, int] | None:
    """(ident, seq) of the echo request to `ip` that an ICMP error quotes, if it is one."""
    if ip.version == 6:
        if len(inner) < 48 or inner[6] != 58 or inner[24:40] != ip.packed:
            return None
        request, request_type = inner[40:48], 128
    else:
        start = (inner[0] & 0x0F) * 4 if inner else 0
        if len(inner) < start + 8 or inner[9] != 1 or inner[16:20] != ip.packed:
            return None
        request, request_type = inner[start : start + 8], 8
    if request[0] != request_type:
        return None
    rid, rseq = struct.unpack("!HH", request[4:8])
    return rid, rseq
