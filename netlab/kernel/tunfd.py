"""Attach to a TUN/TAP device the way a VPN daemon or a hypervisor does: open /dev/net/tun
and ask for the device by name (TUNSETIFF), from inside the device's namespace."""

from __future__ import annotations

import fcntl
import os
import struct
import threading

from netlab.kernel import nsfs

TUNSETIFF = 0x400454CA
IFF_TUN = 0x0001
IFF_TAP = 0x0002
IFF_NO_PI = 0x1000
IFF_MULTI_QUEUE = 0x0100


def attach(ns: str, ifname: str, mode: str) -> int:
    """An fd reading and writing raw IP packets (tun) or Ethernet frames (tap) of the
    device `ifname` in namespace `ns`. The device must exist (netlab made it persistent)."""
    base = (IFF_TUN if mode == "tun" else IFF_TAP) | IFF_NO_PI
    result: list[int | BaseException] = []

    def open_there() -> None:
        try:
            with nsfs.entered(ns):
                fd = os.open("/dev/net/tun", os.O_RDWR)
                try:
                    # A device made multi-queue accepts only multi-queue attachments, and
                    # the other way round: try the plain form first.
                    for flags in (base, base | IFF_MULTI_QUEUE):
                        try:
                            ifr = struct.pack("16sH", ifname.encode(), flags)
                            fcntl.ioctl(fd, TUNSETIFF, ifr)
                            result.append(fd)
                            return
                        except OSError as error:
                            last: OSError = error
                    raise last
                except BaseException:
                    os.close(fd)
                    raise
        except BaseException as error:
            result.append(error)

    thread = threading.Thread(target=open_there, name=f"tun-{ns}")
    thread.start()
    thread.join()
    outcome = result[0]
    if isinstance(outcome, BaseException):
        raise outcome
    return outcome
