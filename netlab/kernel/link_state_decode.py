"""What a link is doing now (read-only): admin and carrier state, carrier-change counters,
and the root qdisc with its values.

Decoding only: kernel/dumps.py dumps links and qdiscs through the one socket it opens per
namespace and hands the attributes read here to link_state().
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from netlab.kernel import rtnl, tcmsg
from netlab.values.tc import Qdisc

IFLA_OPERSTATE = 16
IFLA_CARRIER = 33
IFLA_CARRIER_CHANGES = 35
IFLA_CARRIER_UP_COUNT = 47
IFLA_CARRIER_DOWN_COUNT = 48
OPERSTATES = ("unknown", "notpresent", "down", "lowerlayerdown", "testing", "dormant", "up")
# The link attributes link_state() reads (the caller's dump must keep them).
ATTRS = frozenset({IFLA_OPERSTATE, IFLA_CARRIER, IFLA_CARRIER_CHANGES,
                   IFLA_CARRIER_UP_COUNT, IFLA_CARRIER_DOWN_COUNT})
_U32 = struct.Struct("=I")


@dataclass(frozen=True)
class LinkState:
    ifname: str
    index: int
    up: bool  # administratively (IFF_UP)
    carrier: bool
    operstate: str  # up, down, lowerlayerdown, ...
    carrier_changes: int
    carrier_up_count: int
    carrier_down_count: int
    qdisc_kind: str | None  # the root qdisc's kind (noqueue, tbf, netem, ...)
    qdisc: Qdisc | None  # a root qdisc that is not the device's default, with its values
    qdisc_default: bool  # the root qdisc is the one the kernel gave the device


def root_qdiscs(replies: list[rtnl.Reply]) -> dict[int, tcmsg.QdiscInfo]:
    """The root qdisc of each interface of a qdisc dump, by ifindex."""
    return {q.index: q for q in map(tcmsg.decode_qdisc, replies) if q.is_root}


def link_state(ifname: str, index: int, flags: int, attrs: dict[int, bytes],
               roots: dict[int, tcmsg.QdiscInfo]) -> LinkState:
    def u32(kind: int) -> int:
        value = attrs.get(kind, b"")
        return int(_U32.unpack_from(value)[0]) if len(value) >= 4 else 0

    oper = attrs.get(IFLA_OPERSTATE, b"\0")[0]
    root = roots.get(index)
    default = root is None or root.handle == 0
    return LinkState(
        ifname=ifname,
        index=index,
        up=bool(flags & rtnl.IFF_UP),
        carrier=attrs.get(IFLA_CARRIER, b"\0")[0] == 1,
        operstate=OPERSTATES[oper] if oper < len(OPERSTATES) else str(oper),
        carrier_changes=u32(IFLA_CARRIER_CHANGES),
        carrier_up_count=u32(IFLA_CARRIER_UP_COUNT),
        carrier_down_count=u32(IFLA_CARRIER_DOWN_COUNT),
        qdisc_kind=root.kind if root is not None else None,
        qdisc=None if default or root is None else (root.qdisc or Qdisc(root.kind)),
        qdisc_default=default,
    )
