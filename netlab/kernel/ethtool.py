"""Offload features of an interface through the ethtool ioctl (what `ethtool -K` does).

The ioctl goes through any socket of the interface's namespace: a netlink socket passes
it on to the device layer of its own namespace, so the executor's socket serves.
"""

from __future__ import annotations

import ctypes
import fcntl
import socket
import struct

SIOCETHTOOL = 0x8946
ETHTOOL_STSO = 0x1F  # struct ethtool_value {u32 cmd; u32 data}
ETHTOOL_SGRO = 0x2C


def _set(sock: socket.socket, ifname: str, cmd: int, on: bool) -> None:
    value = ctypes.create_string_buffer(struct.pack("II", cmd, int(on)))
    # struct ifreq: the name, then a pointer to the ethtool request (the union is 24 bytes).
    ifreq = struct.pack("16sP", ifname.encode(), ctypes.addressof(value)).ljust(40, b"\0")
    fcntl.ioctl(sock.fileno(), SIOCETHTOOL, ifreq)


def set_offload(sock: socket.socket, ifname: str, gro: bool | None, tso: bool | None) -> None:
    """Turn GRO and TSO on or off (None: leave it) on ifname, in the namespace of sock."""
    if gro is not None:
        _set(sock, ifname, ETHTOOL_SGRO, gro)
    if tso is not None:
        _set(sock, ifname, ETHTOOL_STSO, tso)
