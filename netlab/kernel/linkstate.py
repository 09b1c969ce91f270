"""What a link is doing now, read from the kernel (read-only): admin and carrier state,
carrier-change counters, and the root qdisc with its values.

One route socket per namespace, two dumps (links, qdiscs), decoded by hand: only the few
attributes needed here are read.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from netlab.kernel import nlsock, rtnl, tcmsg
from netlab.tc import Qdisc

IFLA_IFNAME = 3
IFLA_OPERSTATE = 16
IFLA_CARRIER = 33
IFLA_CARRIER_CHANGES = 35
IFLA_CARRIER_UP_COUNT = 47
IFLA_CARRIER_DOWN_COUNT = 48
OPERSTATES = ("unknown", "notpresent", "down", "lowerlayerdown", "testing", "dormant", "up")

_IFINFO = struct.Struct("=BxHiII")  # family, type, index, flags, change
_NLMSG_LEN = 16


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


def read(ns: str) -> dict[str, LinkState]:
    """Every link of namespace `ns`, by name."""
    with nlsock.open_in(ns) as sock:
        links = nlsock.dump(sock, rtnl.get_links(1))
        qdiscs = nlsock.dump(sock, tcmsg.get_qdiscs(2))
    roots = {q.index: q for q in map(tcmsg.decode_qdisc, qdiscs) if q.is_root}
    out: dict[str, LinkState] = {}
    for reply in links:
        state = _link(reply, roots)
        if state is not None:
            out[state.ifname] = state
    return out


_WANTED = frozenset({IFLA_IFNAME, IFLA_OPERSTATE, IFLA_CARRIER, IFLA_CARRIER_CHANGES,
                     IFLA_CARRIER_UP_COUNT, IFLA_CARRIER_DOWN_COUNT})
_NLA = struct.Struct("=HH")


def _wanted(data: bytes, offset: int) -> dict[int, bytes]:
    """The attributes read here, and no further than the last of them: the kernel puts
    them early in a link message, before the long ones (stats, address families)."""
    out: dict[int, bytes] = {}
    end = len(data)
    while offset + 4 <= end and len(out) < len(_WANTED):
        length, kind = _NLA.unpack_from(data, offset)
        if length < 4:
            break
        if kind in _WANTED:
            out[kind] = data[offset + 4 : offset + length]
        offset += (length + 3) & ~3
    return out


def _link(reply: rtnl.Reply, roots: dict[int, tcmsg.QdiscInfo]) -> LinkState | None:
    data = reply.data
    if reply.kind != rtnl.RTM_NEWLINK or len(data) < _NLMSG_LEN + _IFINFO.size:
        return None
    _family, _type, index, flags, _change = _IFINFO.unpack_from(data, _NLMSG_LEN)
    attrs = _wanted(data, _NLMSG_LEN + _IFINFO.size)
    if IFLA_IFNAME not in attrs:
        return None

    def u32(kind: int) -> int:
        value = attrs.get(kind, b"")
        return int(struct.unpack_from("=I", value)[0]) if len(value) >= 4 else 0

    oper = attrs.get(IFLA_OPERSTATE, b"\0")[0]
    root = roots.get(index)
    default = root is None or root.handle == 0
    return LinkState(
        ifname=attrs[IFLA_IFNAME].rstrip(b"\0").decode(errors="replace"),
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
