"""Capturing what crosses one interface of a node, with no tcpdump: an AF_PACKET socket.

The socket is opened inside the node's namespace (a packet socket sees only the devices of
the namespace it was born in) and bound to the interface; it then sees every frame the
interface sends or receives. What kind of header the frames carry comes from the device's
ARPHRD type, which the bound socket reports itself: Ethernet for veth, TAP, bridges and
loopback, none at all (a bare IP packet) for TUN.

When the interface goes down or away (a link flap, `netlab down`), the kernel unhooks the
socket and says so once (ENETDOWN): the capture ends there (CaptureCut), and what was
queued before still comes out of pending().
"""

from __future__ import annotations

import errno
import select
import socket
import struct
import time
from collections.abc import Iterator
from dataclasses import dataclass
from types import TracebackType

from netlab.errors import InputError, LabStateConflict, LabStateError, PrivilegeError
from netlab.kernel import nsfs
from netlab.kernel.reach import socket_in
from netlab.values.pcap import LINKTYPE_ETHERNET, LINKTYPE_RAW, SNAPLEN

ETH_P_ALL = 0x0003
SOL_PACKET = 263
PACKET_STATISTICS = 6
SO_TIMESTAMPNS = 35  # asm-generic; the cmsg comes back as SCM_TIMESTAMPNS (same number)
RCVBUF = 4 << 20

# ARPHRD_* (include/uapi/linux/if_arp.h) -> pcap link type.
LINKTYPES = {
    1: LINKTYPE_ETHERNET,  # ARPHRD_ETHER: veth, tap, bridge, vxlan, macvlan
    772: LINKTYPE_ETHERNET,  # ARPHRD_LOOPBACK: an all-zero Ethernet header
    65534: LINKTYPE_RAW,  # ARPHRD_NONE: tun
    768: LINKTYPE_RAW,  # ARPHRD_TUNNEL (ipip)
    769: LINKTYPE_RAW,  # ARPHRD_TUNNEL6
    776: LINKTYPE_RAW,  # ARPHRD_SIT
}


class NoSuchInterface(InputError):
    """The namespace has no interface of that name."""


class CaptureCut(LabStateError):
    """The interface went down or away while the capture ran; the message says which."""


# What a packet socket says when its device goes down or is deleted.
_CUT = (errno.ENETDOWN, errno.ENODEV, errno.ENXIO)


@dataclass(frozen=True)
class Packet:
    time: float  # seconds since the epoch, as the kernel stamped it
    data: bytes  # at most the snap length
    length: int  # the whole packet's length


class Capture:
    """A packet socket bound to `ifname` in namespace `ns`. Use as a context manager."""

    def __init__(self, ns: str, ifname: str, snaplen: int = SNAPLEN) -> None:
        self.ns, self.ifname, self.snaplen = ns, ifname, snaplen
        self.label = ifname  # how messages name the interface (cmd_capture: node:iface)
        # Protocol 0 at first: the socket receives nothing until bind() names both the
        # protocol and the interface in one step, so no frame of another interface slips in.
        try:
            self.sock = socket_in(ns, socket.AF_PACKET, socket.SOCK_RAW, 0)
        except PermissionError:
            raise PrivilegeError(
                "capturing needs root (CAP_NET_RAW, and CAP_SYS_ADMIN to enter the node)",
                hint="run it with sudo",
            ) from None
        except FileNotFoundError:
            raise LabStateConflict(
                f"namespace {ns} does not exist", hint="is the lab up? 'netlab status'"
            ) from None
        try:
            self.sock.bind((ifname, ETH_P_ALL))
            hatype: int = self.sock.getsockname()[3]
            if hatype not in LINKTYPES:
                raise InputError(
                    f"{ifname} is a device of ARPHRD type {hatype}, which netlab cannot "
                    "capture on (Ethernet, loopback and TUN devices it can)"
                )
            self.linktype = LINKTYPES[hatype]
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, RCVBUF)
            self._stamped = _try_timestamps(self.sock)
        except OSError as error:
            self.sock.close()
            if error.errno == errno.ENODEV:
                raise NoSuchInterface(f"there is no interface {ifname} in {ns}") from None
            raise
        except BaseException:
            self.sock.close()
            raise
        self._buffer = bytearray(snaplen)

    def __enter__(self) -> Capture:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        self.sock.close()

    def packets(self, count: int | None = None, timeout: float | None = None,
                stop_fd: int | None = None) -> Iterator[Packet]:
        """Packets as they come, until `count` of them, `timeout` seconds from now, or
        `stop_fd` becomes readable (a signal's wakeup: see cmd_capture)."""
        deadline = None if timeout is None else time.monotonic() + timeout
        watched: list[socket.socket | int] = [self.sock]
        if stop_fd is not None:
            watched.append(stop_fd)
        seen = 0
        while count is None or seen < count:
            wait = None if deadline is None else deadline - time.monotonic()
            if wait is not None and wait <= 0:
                return
            ready, _, _ = select.select(watched, [], [], wait)
            if stop_fd is not None and stop_fd in ready:
                return
            if not ready:
                continue
            try:
                packet = self._receive()
            except OSError as error:
                if error.errno in _CUT:
                    raise CaptureCut(self._why_cut()) from None
                raise
            yield packet
            seen += 1

    def _why_cut(self) -> str:
        if not nsfs.exists(self.ns):
            return f"the node's namespace {self.ns} is gone (the lab was taken down)"
        try:
            nsfs.run_in(self.ns, lambda: socket.if_nametoindex(self.ifname))
        except OSError:
            return f"{self.label} is gone (deleted, or the lab is being taken down)"
        return f"{self.label} went down"

    def pending(self, limit: int = 100_000) -> Iterator[Packet]:
        """The packets already queued on the socket, without waiting for more: what the
        kernel delivered before a capture was told to stop."""
        for _ in range(limit):
            ready, _, _ = select.select([self.sock], [], [], 0)
            if not ready:
                return
            try:
                packet = self._receive()
            except OSError as error:
                if error.errno in _CUT:
                    return
                raise
            yield packet

    def _receive(self) -> Packet:
        view = memoryview(self._buffer)
        if self._stamped:
            # MSG_TRUNC: the result is the packet's real length even when it was cut.
            length, ancillary, _flags, _addr = self.sock.recvmsg_into(
                [view], socket.CMSG_SPACE(16), socket.MSG_TRUNC
            )
            stamp = _timestamp(ancillary)
        else:
            length = self.sock.recv_into(view, self.snaplen, socket.MSG_TRUNC)
            stamp = None
        kept = min(length, self.snaplen)
        return Packet(stamp if stamp is not None else time.time(), bytes(view[:kept]), length)

    def dropped(self) -> int:
        """Packets the kernel dropped because the socket's buffer was full (since last asked)."""
        try:
            raw = self.sock.getsockopt(SOL_PACKET, PACKET_STATISTICS, 8)
        except OSError:
            return 0
        _packets, drops = struct.unpack("II", raw)
        return int(drops)


def _try_timestamps(sock: socket.socket) -> bool:
    try:
        sock.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
    except OSError:
        return False
    return True


def _timestamp(ancillary: list[tuple[int, int, bytes]]) -> float | None:
    for level, kind, data in ancillary:
        if level == socket.SOL_SOCKET and kind == SO_TIMESTAMPNS and len(data) >= 16:
            seconds, nanos = struct.unpack("qq", data[:16])
            return float(seconds + nanos / 1e9)
    return None
