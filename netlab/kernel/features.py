"""What this kernel supports, asked once per process: the qdiscs netlab sets (tbf, netem),
the interface kinds some kernels lack (dummy, 802.1Q vlan, bonding, vrf) and bridge VLAN
filtering.

The question is put to the kernel itself, not to its config file: a short-lived thread
unshares a scratch network namespace of its own (no name, no mount: it goes with the
thread), asks for each qdisc on that namespace's loopback device, and reads the answer.
"Specified qdisc kind is unknown" (ENOENT) means the kernel lacks it, even after trying to
load its module; any other answer means it has it. An interface kind is asked for by making
one there: "not supported" (EOPNOTSUPP) means the kernel lacks it.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import os
import shutil
import socket
import subprocess
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from netlab.kernel import nlsock, rtnl, tcmsg
from netlab.kernel.reasons import LINK_OPTION, QDISC_OPTION
from netlab.values.tc import Qdisc

CLONE_NEWNET = 0x40000000
# Small, valid settings of each kind: the kernel checks the kind before the values.
_SAMPLES = {
    "tbf": Qdisc("tbf", rate=125_000, burst=3028, limit=10_000),
    "netem": Qdisc("netem", limit=1000, delay=1000),
}

_libc = ctypes.CDLL(None, use_errno=True)
_libc.unshare.argtypes = [ctypes.c_int]


@dataclass(frozen=True)
class Support:
    """The qdisc kinds and interface kinds this kernel has (and lacks)."""

    qdiscs: frozenset[str]
    probed: tuple[str, ...] = tuple(_SAMPLES)
    links: frozenset[str] = frozenset(LINK_OPTION)
    bridge_vlans: bool = True  # bridge VLAN filtering (CONFIG_BRIDGE_VLAN_FILTERING)

    def has(self, kind: str) -> bool:
        return kind in self.qdiscs

    def missing(self) -> dict[str, str]:
        """Each kind asked for and lacking, with its kernel option."""
        return {k: QDISC_OPTION[k] for k in self.probed if k not in self.qdiscs}

    def missing_links(self) -> dict[str, tuple[str, str]]:
        """Each interface kind lacking, with its kernel option and module."""
        return {k: v for k, v in LINK_OPTION.items() if k not in self.links}


_lock = threading.Lock()
_cached: Support | None = None


def qdiscs() -> Support:
    """The answer for this process (the kernel is asked the first time only)."""
    global _cached
    with _lock:
        if _cached is None:
            _cached = _ask()
        return _cached


@contextmanager
def assumed(support: Support) -> Iterator[None]:
    """Act as if the kernel answered `support` (tests: a kernel with netem, or without)."""
    global _cached
    with _lock:
        before, _cached = _cached, support
    try:
        yield
    finally:
        with _lock:
            _cached = before


# Modules that make a device of their own in the host's namespace when loaded with their
# defaults (the kernel loads them so when asked for the kind): loaded first without it.
_NO_DEFAULT_DEVICE = {"dummy": "numdummies=0", "bonding": "max_bonds=0"}


def _load_without_default_devices() -> None:
    for module, option in _NO_DEFAULT_DEVICE.items():
        if os.path.exists(f"/sys/module/{module}"):
            continue  # loaded already (or built in): asking makes nothing new
        modprobe = shutil.which("modprobe") or "/sbin/modprobe"
        with contextlib.suppress(OSError, subprocess.SubprocessError):
            # Fails quietly where the kernel lacks it: the probe then says so.
            subprocess.run([modprobe, "-q", module, option], capture_output=True,
                           timeout=10, check=False)


def _ask() -> Support:
    result: list[Support | BaseException] = []
    _load_without_default_devices()

    def scratch() -> None:
        # This thread alone moves to a new namespace, and ends there: nothing to clean up.
        try:
            if _libc.unshare(CLONE_NEWNET) != 0:
                code = ctypes.get_errno()
                raise OSError(code, f"unshare: {errno.errorcode.get(code, code)}")
            result.append(_try_each())
        except BaseException as err:  # handed to the caller's thread
            result.append(err)

    thread = threading.Thread(target=scratch, name="netlab-probe")
    thread.start()
    thread.join()
    outcome = result[0]
    if isinstance(outcome, BaseException):
        raise outcome
    return outcome


def _try_each() -> Support:
    have: set[str] = set()
    with nlsock.open_here() as sock:
        lo = socket.if_nametoindex("lo")
        for seq, (kind, sample) in enumerate(_SAMPLES.items(), 1):
            refused = nlsock.exchange(sock, [tcmsg.new_qdisc(seq, lo, sample)])
            code = refused.get(seq, (0, ""))[0]
            if code != errno.ENOENT:
                have.add(kind)
        links: set[str] = set()
        for seq, kind in enumerate(LINK_OPTION, len(_SAMPLES) + 1):
            refused = nlsock.exchange(sock, [rtnl.new_kind(seq, f"probe-{kind}", kind)])
            if refused.get(seq, (0, ""))[0] != errno.EOPNOTSUPP:
                links.add(kind)
        seq = len(_SAMPLES) + len(LINK_OPTION) + 1
        refused = nlsock.exchange(sock, [rtnl.new_bridge(seq, 0, "probe-brvlan", False, None,
                                                         vlan_filtering=True)])
        bridge_vlans = refused.get(seq, (0, ""))[0] != errno.EOPNOTSUPP
    return Support(frozenset(have), links=frozenset(links), bridge_vlans=bridge_vlans)
