"""Attach to a TUN/TAP device the way a VPN daemon or a hypervisor does: open /dev/net/tun
and ask for the device by name (TUNSETIFF), from inside the device's namespace."""

from __future__ import annotations

import errno
import fcntl
import os
import socket
import struct

from netlab.kernel import nsfs

TUNSETIFF = 0x400454CA
IFF_TUN = 0x0001
IFF_TAP = 0x0002
IFF_NO_PI = 0x1000
IFF_MULTI_QUEUE = 0x0100


def attach_in(ns: str, ifname: str, mode: str) -> int:
    """The fd of device `ifname` in namespace `ns` (raw IP packets for a tun, Ethernet
    frames for a tap), opened from a thread inside it. The device must exist."""
    return nsfs.run_in(ns, lambda: open_device(ifname, mode))


def open_tun_device() -> int:
    """/dev/net/tun opened for reading and writing (this needs permission on the node)."""
    return os.open("/dev/net/tun", os.O_RDWR)


def require_device(ifname: str) -> None:
    """FileNotFoundError unless `ifname` exists in this namespace: TUNSETIFF with a name
    that does not exist *creates* a device, so a mistyped name would pass unnoticed."""
    try:
        socket.if_nametoindex(ifname)
    except OSError:
        raise FileNotFoundError(errno.ENODEV, "no such device", ifname) from None


def attach(fd: int, ifname: str, mode: str) -> None:
    """Attach fd to the existing device `ifname`. The kernel allows this to the device's
    owner (or group) without CAP_NET_ADMIN: that is what `owner:` in a topology is for."""
    require_device(ifname)
    base = (IFF_TUN if mode == "tun" else IFF_TAP) | IFF_NO_PI
    last: OSError | None = None
    # A device made multi-queue accepts only multi-queue attachments, and the other way.
    for flags in (base, base | IFF_MULTI_QUEUE):
        try:
            fcntl.ioctl(fd, TUNSETIFF, struct.pack("16sH", ifname.encode(), flags))
            return
        except OSError as error:
            last = error
            if error.errno in (errno.EPERM, errno.EBUSY):
                break  # not the owner, or held by another fd: another flag will not help
    assert last is not None
    raise last


def drop_privileges(uid: int, gid: int | None) -> None:
    """Become uid/gid for good (no way back to root)."""
    os.setgroups([])
    if gid is not None:
        os.setresgid(gid, gid, gid)
    os.setresuid(uid, uid, uid)


def open_device(ifname: str, mode: str, user: int | None = None,
                group: int | None = None) -> int:
    """The fd of device `ifname`. With `user`, /dev/net/tun is opened first and privileges
    dropped before attaching, so the attach itself is done as that user: the kernel checks
    the device's owner and group, as it would for a VPN daemon started by that user."""
    fd = open_tun_device()
    try:
        if user is not None:
            drop_privileges(user, group)
        attach(fd, ifname, mode)
    except BaseException:
        os.close(fd)
        raise
    return fd
