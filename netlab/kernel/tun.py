"""TUN/TAP devices: made by ioctl on /dev/net/tun, not by netlink.

The device lands in the namespace of the task that *opened* /dev/net/tun, so the open
happens inside the namespace (a setns of the current thread, no fork); the ioctls may
follow anywhere.
"""

from __future__ import annotations

import fcntl
import os
import socket
import struct

from netlab.kernel import nsfs

IFF_TUN = 0x0001
IFF_TAP = 0x0002
IFF_NO_PI = 0x1000
# _IOW('T', nr, int): the write direction bit differs on a few architectures.
# (os.uname().machine is platform.machine(), without importing platform: ~1 ms of `down`)
_IOC_WRITE = 4 if os.uname().machine.startswith(("ppc", "mips", "sparc")) else 1


def _iow(nr: int) -> int:
    return (_IOC_WRITE << 30) | (4 << 16) | (ord("T") << 8) | nr


TUNSETIFF = _iow(202)
TUNSETPERSIST = _iow(203)
TUNSETOWNER = _iow(204)
TUNSETGROUP = _iow(206)


def create(ns: str, ifname: str, mode: str, uid: int | None, gid: int | None) -> int:
    """A persistent tun or tap device without packet info header, owned by uid/gid so an
    unprivileged program can attach to it; returns its ifindex. The caller checks that the
    name is free: the kernel would otherwise attach to an existing device of that name.
    Until TUNSETPERSIST the device lives only as long as our fd: a failure leaves nothing."""
    flags = (IFF_TUN if mode == "tun" else IFF_TAP) | IFF_NO_PI
    ifr = struct.pack("16sH22x", ifname.encode(), flags)  # struct ifreq (40 bytes)
    with nsfs.entered(ns):
        fd = os.open("/dev/net/tun", os.O_RDWR | os.O_CLOEXEC)
        try:
            fcntl.ioctl(fd, TUNSETIFF, ifr)
            if uid is not None:
                fcntl.ioctl(fd, TUNSETOWNER, _c_int(uid))
            if gid is not None:
                fcntl.ioctl(fd, TUNSETGROUP, _c_int(gid))
            fcntl.ioctl(fd, TUNSETPERSIST, 1)
        finally:
            os.close(fd)
        return socket.if_nametoindex(ifname)


def _c_int(value: int) -> int:
    """An id as the C int that ioctl() passes (uids above 2**31 - 1 wrap, as uid_t does)."""
    return value - 2**32 if value >= 2**31 else value
