"""Kernel refusals (an errno plus the kernel's own extended-ack text) in words, with a hint.

NetlinkError is not an OSError, and our own netlink code reports plain errnos: everything
arrives here as (errno, text) so one table decides what a person reads.
"""

from __future__ import annotations

import errno
import os

from netlab.plan.kind_ops import PLANNED
from netlab.plan.ops import (
    AddAddress,
    AddRoute,
    CreateNamespace,
    CreateTunTap,
    CreateVeth,
    CreateVxlan,
    DeleteAddress,
    DeleteNamespace,
    DeleteQdisc,
    DeleteRoute,
    Op,
    SetLink,
    SetQdisc,
)

ROOT_HINT = "run netlab as root (it needs CAP_NET_ADMIN and CAP_SYS_ADMIN)"
# The kernel layer's kind table of refusals: the option a kernel needs for each kind.
KERNEL_OPTION: dict[str, str] = {
    "veth": "CONFIG_VETH",
    "tun": "CONFIG_TUN",
    "tap": "CONFIG_TUN",
    "bridge": "CONFIG_BRIDGE",
    "vxlan": "CONFIG_VXLAN",
    "dummy": "CONFIG_DUMMY",
    "macvlan": "CONFIG_MACVLAN",
    "vlan": "CONFIG_VLAN_8021Q",
    "bond": "CONFIG_BONDING",
    "vrf": "CONFIG_NET_VRF",
}
_KIND_OF_OP = {planned.op: kind for kind, planned in reversed(PLANNED.items())}


def kind_made_by(op: Op) -> str | None:
    """The interface kind `op` makes, or None if it makes none."""
    if isinstance(op, CreateTunTap):
        return op.mode
    return _KIND_OF_OP.get(type(op))


def explain(code: int, text: str, op: Op) -> tuple[str, str | None]:
    """(reason, hint) for errno `code` refusing `op`; `text` is the kernel's own words."""
    reason, hint = _base(code, op)
    if code == errno.EEXIST and isinstance(op, CreateVxlan) and vni_taken(text):
        reason, hint = (f"another vxlan in this node already has id {op.vni} on port "
                        f"{op.port}", "give each vxlan of a node its own id (or port)")
        if op.underlay:  # a cable to another host: VNIs are per host (docs/multi-host.md)
            reason, hint = (f"VNI {op.vni} (UDP port {op.port}) is already taken on this "
                            "host, by another lab's cable or a vxlan of the host's own",
                            "give the lab another name (--name, on every host): its VNIs "
                            "are derived from it")
        text = ""  # said in our words
    if text and text.lower() not in reason.lower():
        reason = f"{reason} (kernel: {text})"
    return reason, hint


def vni_taken(text: str) -> bool:
    """Whether the kernel's words for an EEXIST say the vxlan id is taken (not the name)."""
    return "vni" in text.lower()


def _base(code: int, op: Op) -> tuple[str, str | None]:
    if code == errno.EEXIST:
        return _exists(op), None
    if code == errno.ENODEV:
        return "no such interface in that node", None
    if code == errno.ERANGE:
        return "name too long (at most 15 bytes)", None
    if code == errno.EOPNOTSUPP:
        kind = kind_made_by(op)
        if kind:
            return (f"this kernel lacks {kind} devices",
                    f"enable {KERNEL_OPTION[kind]} (or load its module)")
        if isinstance(op, SetLink) and op.master:
            return f"{op.master} is not a bridge", None
        return "this kernel does not support that operation", None
    if code in (errno.EPERM, errno.EACCES):
        return "permission denied: needs root (CAP_NET_ADMIN)", ROOT_HINT
    if code in (errno.ENETUNREACH, errno.EHOSTUNREACH):
        if isinstance(op, AddRoute) and op.via and ":" in op.via:
            return ("gateway not on a connected subnet",
                    "the interface needs an IPv6 address in the gateway's subnet")
        return "gateway not on a connected subnet", "add an address in the gateway's subnet first"
    if code == errno.EBUSY:
        return "busy (in use)", None
    if code == errno.EADDRNOTAVAIL:
        if isinstance(op, DeleteAddress):
            return "no such address on that interface", None
        return "address not available", None
    if code == errno.ESRCH and isinstance(op, DeleteRoute):
        return "no such route", None
    if isinstance(op, (SetQdisc, DeleteQdisc)) and code in (errno.ENOENT, errno.EINVAL):
        return _qdisc(code, op)
    if code == errno.ENOENT:
        if isinstance(op, (CreateNamespace, DeleteNamespace)):
            return "no such namespace", None
        if isinstance(op, DeleteRoute):
            return "no such route", None
        return "not found", None
    if code == errno.EAFNOSUPPORT and isinstance(op, SetLink) and op.addrgen_none:
        return "IPv6 is off on this interface (an MTU below 1280?)", None
    if code == errno.EINVAL:
        return "invalid value", None
    if code in (errno.ENOBUFS, errno.ENOMEM):
        return "the kernel ran out of memory or buffer space", None
    return f"{errno.errorcode.get(code, 'error')}: {_strerror(code)}", None


def _exists(op: Op) -> str:
    if isinstance(op, CreateNamespace):
        return f"namespace {op.ns} already exists"
    if isinstance(op, CreateVeth):
        return (f"an interface named {op.ifname} already exists in {op.ns}, "
                f"or {op.peer_ifname} in {op.peer_ns}")
    if kind_made_by(op):  # a veth is told above
        return f"an interface named {getattr(op, 'ifname', '')} already exists in that node"
    if isinstance(op, AddAddress):
        return "that address is already on the interface"
    if isinstance(op, AddRoute):
        return "that route already exists"
    return "already exists"


# The kernel option behind each interface kind some kernels lack (asked by kernel/features.py),
# and its module.
LINK_OPTION = {"dummy": ("CONFIG_DUMMY", "dummy"), "vlan": ("CONFIG_VLAN_8021Q", "8021q"),
               "bond": ("CONFIG_BONDING", "bonding"), "vrf": ("CONFIG_NET_VRF", "vrf")}

# What a switch with VLANs (a link's `vlan:`/`vlans:`) needs of the bridge (asked by
# kernel/features.py): an option of the bridge module, not a module of its own.
BRIDGE_VLAN_OPTION = "CONFIG_BRIDGE_VLAN_FILTERING"

# The kernel option behind each qdisc netlab sets.
QDISC_OPTION = {"netem": "CONFIG_NET_SCH_NETEM", "tbf": "CONFIG_NET_SCH_TBF"}


def _qdisc(code: int, op: SetQdisc | DeleteQdisc) -> tuple[str, str | None]:
    if isinstance(op, DeleteQdisc):
        return "that interface has no shaping to remove", None
    kind = op.qdisc.kind
    option = QDISC_OPTION.get(kind, f"CONFIG_NET_SCH_{kind.upper()}")
    if code == errno.ENOENT:  # "Specified qdisc kind is unknown"
        return (f"this kernel lacks {kind} ({option})",
                f"enable {option} (or load its module: modprobe sch_{kind})")
    return f"the kernel refused the {kind} settings (invalid value)", None


def _strerror(code: int) -> str:
    return os.strerror(code).lower()
