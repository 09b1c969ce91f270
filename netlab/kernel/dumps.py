"""Read-only views of a namespace: links, addresses, routes, sysctls.

One route socket per namespace, opened by the current thread from inside it (a setns there
and back, no fork), used for every dump of that namespace. Replies are decoded by hand, as
rtnl.py encodes: only the attributes read here, with struct. pyroute2's message classes
decode every attribute of every message (~60 us each, thousands per lab); the values are
the ones pyroute2 gives (tests/integration compare both).
"""

from __future__ import annotations

import errno
import ipaddress
import socket
import struct
from collections.abc import Collection, Iterator, Mapping, Sequence
from typing import Any, NamedTuple

from netlab.kernel import link_state_decode, nlsock, nsfs, rtnl, tcmsg
from netlab.kernel.link_state_decode import LinkState

ARPHRD_LOOPBACK = 772
_PROTOCOLS = {2: "kernel", 3: "boot", 4: "static", 16: "dhcp", 186: "bgp", 188: "ospf"}
# What pyroute2 calls each IF_OPER_* state (linux/if.h).
_OPERSTATES = {0: "unknown", 1: "notpresent", 2: "down", 3: "lowerlayerdown", 4: "testing",
               5: "dormant", 6: "up"}

# Attributes read here (linux/if_link.h, if_addr.h, rtnetlink.h, if_tun.h).
IFLA_LINK = 5
IFLA_OPERSTATE = 16
IFLA_STATS64 = 23
IFLA_LINK_NETNSID = 37
IFLA_TUN_OWNER = 1
IFLA_TUN_GROUP = 2
IFLA_TUN_TYPE = 3
RTA_TABLE = 15
RT_TABLE_COMPAT = 252
_NLA_TYPE_MASK = 0x3FFF  # without NLA_F_NESTED and NLA_F_NET_BYTEORDER

_HDR = 16  # struct nlmsghdr
IFF_LOWER_UP = 0x10000
_IFINFO = struct.Struct("=BxHiII")  # family, type, index, flags, change
_IFADDR = struct.Struct("=BBBBi")  # family, prefixlen, flags, scope, index
_RTMSG = struct.Struct("=BBBBBBBBI")  # family dst_len src_len tos table proto scope type flags
_NLA = struct.Struct("=HH")
_U8 = struct.Struct("=B")
_U16 = struct.Struct("=H")
_U32 = struct.Struct("=I")
_S32 = struct.Struct("=i")
_STATS64_HEAD = struct.Struct("=QQQQ")  # rx_packets, tx_packets, rx_bytes, tx_bytes

Attrs = dict[int, bytes]

# The attributes wanted from each kind of message; the others are skipped unread.
_LINK_ATTRS = frozenset({rtnl.IFLA_ADDRESS, rtnl.IFLA_IFNAME, rtnl.IFLA_MTU, IFLA_LINK,
                         rtnl.IFLA_MASTER, IFLA_OPERSTATE, rtnl.IFLA_LINKINFO,
                         rtnl.IFLA_IFALIAS, IFLA_STATS64, IFLA_LINK_NETNSID})
_LINK_ATTRS |= link_state_decode.ATTRS
_INFO_ATTRS = frozenset({rtnl.IFLA_INFO_KIND, rtnl.IFLA_INFO_DATA})
_TUN_ATTRS = frozenset({IFLA_TUN_OWNER, IFLA_TUN_GROUP, IFLA_TUN_TYPE})
# IFLA_MACVLAN_MODE and IFLA_VLAN_ID are both 1: each read as its kind says.
_ON_PARENT_ATTRS = frozenset({rtnl.IFLA_MACVLAN_MODE, rtnl.IFLA_VLAN_ID})
_BOND_ATTRS = frozenset({rtnl.IFLA_BOND_MODE})
_VRF_ATTRS = frozenset({rtnl.IFLA_VRF_TABLE})
_ADDR_ATTRS = frozenset({rtnl.IFA_ADDRESS, rtnl.IFA_LOCAL})
_ROUTE_ATTRS = frozenset({rtnl.RTA_DST, rtnl.RTA_OIF, rtnl.RTA_GATEWAY, rtnl.RTA_PRIORITY,
                          RTA_TABLE})


def _attrs(data: bytes, offset: int, end: int, wanted: frozenset[int]) -> Attrs:
    """The wanted attributes between offset and end, by type (the first of each)."""
    out: Attrs = {}
    unpack = _NLA.unpack_from
    while offset + 4 <= end:
        length, kind = unpack(data, offset)
        if length < 4:
            break
        kind &= _NLA_TYPE_MASK
        if kind in wanted and kind not in out:
            out[kind] = data[offset + 4 : offset + length]
        offset += (length + 3) & ~3
    return out


def _text(value: bytes | None) -> str | None:
    if value is None:
        return None
    raw = value.split(b"\0", 1)[0]
    try:
        return raw.decode()
    except UnicodeDecodeError:
        return raw.decode(errors="replace")


def _u32(value: bytes | None) -> int | None:
    return _U32.unpack_from(value)[0] if value is not None and len(value) >= 4 else None


def _ip(family: int, value: bytes | None) -> str | None:
    if not value:
        return None
    try:
        return socket.inet_ntop(family, value)
    except (ValueError, OSError):
        return None


def _mac(value: bytes | None) -> str | None:
    if value is None:
        return None
    return ":".join(f"{b:02x}" for b in value)


# --- dumps ------------------------------------------------------------------------------
# A message of a dump: the datagram it came in, where it starts and where it ends.
Msg = tuple[bytes, int, int]


def _answers(sock: socket.socket, request: bytearray) -> Iterator[tuple[int, Msg]]:
    """Send a request; the (type, message) of each message that answers it (its sequence
    number), as they come, left in the datagrams they came in. The caller stops."""
    seq = rtnl.seq_of(request)
    sock.send(request)
    unpack = rtnl.NLMSG_HDR.unpack_from
    while True:
        data = sock.recv(1 << 16)
        offset, size = 0, len(data)
        while offset + _HDR <= size:
            length, mtype, _flags, mseq, _pid = unpack(data, offset)
            if length < _HDR or offset + length > size:
                break
            if mseq == seq:
                yield mtype, (data, offset, offset + length)
            offset += (length + 3) & ~3


def _refusal(msg: Msg, tolerated: int = 0) -> OSError | None:
    """The kernel's refusal in an NLMSG_ERROR message (None for an ack, or `tolerated`)."""
    data, start, end = msg
    for reply in rtnl.replies(data[start:end]):
        if reply.error and reply.error != tolerated:
            return OSError(reply.error, reply.text or "request refused")
    return None


def _dump(sock: socket.socket, request: bytearray, kind: int) -> list[Msg]:
    """Send a dump request; the messages of type `kind` that answer it (raises OSError on
    a refusal, as nlsock.dump does)."""
    out: list[Msg] = []
    for mtype, msg in _answers(sock, request):
        if mtype == kind:
            out.append(msg)
        elif mtype == rtnl.NLMSG_DONE:
            break
        elif mtype == rtnl.NLMSG_ERROR:
            refused = _refusal(msg)
            if refused is not None:
                raise refused
            break
    return out


def _get(sock: socket.socket, request: bytearray, kind: int) -> Msg | None:
    """Send a request for one object; its answer, or None when there is no such object
    (raises OSError on any other refusal)."""
    for mtype, msg in _answers(sock, request):
        if mtype == kind:
            return msg
        if mtype == rtnl.NLMSG_ERROR:
            refused = _refusal(msg, tolerated=errno.ENODEV)
            if refused is not None:
                raise refused
            return None
    return None


# --- links ------------------------------------------------------------------------------


class _RawLink:
    """A link message with the few fields read from it."""

    __slots__ = ("attrs", "flags", "ifname", "index", "type")

    def __init__(self, msg: Msg) -> None:
        data, offset, end = msg
        _family, self.type, self.index, self.flags, _change = _IFINFO.unpack_from(
            data, offset + _HDR
        )
        self.attrs = _attrs(data, offset + _HDR + _IFINFO.size, end, _LINK_ATTRS)
        self.ifname = _text(self.attrs.get(rtnl.IFLA_IFNAME))

    @property
    def alias(self) -> str | None:
        return _text(self.attrs.get(rtnl.IFLA_IFALIAS))


def _dump_links(sock: socket.socket) -> list[_RawLink]:
    return [_RawLink(m) for m in _dump(sock, rtnl.get_links(1), rtnl.RTM_NEWLINK)]


def _link(msg: _RawLink, names: dict[int, str | None]) -> dict[str, Any]:
    attrs = msg.attrs
    info = attrs.get(rtnl.IFLA_LINKINFO)
    info_attrs = _attrs(info, 0, len(info), _INFO_ATTRS) if info is not None else {}
    kind = _text(info_attrs.get(rtnl.IFLA_INFO_KIND))
    owner = group = None
    tun = info_attrs.get(rtnl.IFLA_INFO_DATA)
    if kind == "tun" and tun is not None:
        # The kernel calls both "tun"; IFLA_TUN_TYPE tells them apart (1 tun, 2 tap).
        data = _attrs(tun, 0, len(tun), _TUN_ATTRS)
        tun_type = data.get(IFLA_TUN_TYPE)
        kind = "tap" if tun_type and _U8.unpack_from(tun_type)[0] == 2 else "tun"
        owner, group = _u32(data.get(IFLA_TUN_OWNER)), _u32(data.get(IFLA_TUN_GROUP))
    if kind is None:
        kind = "loopback" if msg.type == ARPHRD_LOOPBACK else "device"
    raw_stats = attrs.get(IFLA_STATS64)
    if raw_stats is not None and len(raw_stats) >= _STATS64_HEAD.size:
        rx_packets, tx_packets, rx_bytes, tx_bytes = _STATS64_HEAD.unpack_from(raw_stats)
    else:
        rx_packets = tx_packets = rx_bytes = tx_bytes = 0
    master = _u32(attrs.get(rtnl.IFLA_MASTER))
    operstate = attrs.get(IFLA_OPERSTATE)
    entry: dict[str, Any] = {
        "ifname": msg.ifname,
        "index": msg.index,
        "kind": kind,
        "alias": msg.alias or "",
        "mac": _mac(attrs.get(rtnl.IFLA_ADDRESS)),
        "mtu": _u32(attrs.get(rtnl.IFLA_MTU)),
        "operstate": _OPERSTATES.get(operstate[0], "unknown") if operstate else "unknown",
        "up": bool(msg.flags & rtnl.IFF_UP),
        # The carrier (IFF_LOWER_UP): a veth whose peer is up, a TUN/TAP with a program.
        # operstate alone can say "unknown" of a working veth.
        "carrier": bool(msg.flags & IFF_LOWER_UP),
        "master": names.get(master) if master else None,
        "addresses": [],
        "owner": owner,
        "group": group,
        "rx_bytes": rx_bytes,
        "tx_bytes": tx_bytes,
        "rx_packets": rx_packets,
        "tx_packets": tx_packets,
    }
    if kind in ("macvlan", "vlan"):
        # A device on a parent (IFLA_LINK): its parent, and its own setting.
        raw = info_attrs.get(rtnl.IFLA_INFO_DATA)
        own = _attrs(raw, 0, len(raw), _ON_PARENT_ATTRS) if raw is not None else {}
        parent = _u32(attrs.get(IFLA_LINK))
        settings: dict[str, Any] = {"parent": names.get(parent) if parent else None}
        if kind == "macvlan":
            mode = _u32(own.get(rtnl.IFLA_MACVLAN_MODE))
            modes = {v: k for k, v in rtnl.MACVLAN_MODES.items()}
            settings["mode"] = modes.get(mode, str(mode)) if mode is not None else None
        else:
            vid = own.get(rtnl.IFLA_VLAN_ID)
            settings["id"] = _U16.unpack_from(vid)[0] if vid else None
        entry[kind] = settings
    if kind == "bond":
        raw = info_attrs.get(rtnl.IFLA_INFO_DATA)
        own = _attrs(raw, 0, len(raw), _BOND_ATTRS) if raw is not None else {}
        raw_mode = own.get(rtnl.IFLA_BOND_MODE)
        number = _U8.unpack_from(raw_mode)[0] if raw_mode else None
        entry["bond"] = {  # its ports are filled in once every link is read
            "mode": (rtnl.BOND_MODES[number] if number is not None
                     and number < len(rtnl.BOND_MODES) else None), "ports": []}
    if kind == "vrf":
        raw = info_attrs.get(rtnl.IFLA_INFO_DATA)
        own = _attrs(raw, 0, len(raw), _VRF_ATTRS) if raw is not None else {}
        entry["vrf"] = {"table": _u32(own.get(rtnl.IFLA_VRF_TABLE))}
    if kind == "veth":
        # The peer's index in its own namespace; that namespace by its id as seen from here.
        entry["peer_index"] = _u32(attrs.get(IFLA_LINK))
        netnsid = attrs.get(IFLA_LINK_NETNSID)
        entry["peer_netnsid"] = _S32.unpack_from(netnsid)[0] if netnsid else None
    return entry


def _links_with_addresses(links: list[_RawLink], addrs: list[Msg]) -> list[dict[str, Any]]:
    names = {m.index: m.ifname for m in links}
    out = {m.index: _link(m, names) for m in links}
    for m in links:
        master = out.get(_u32(m.attrs.get(rtnl.IFLA_MASTER)) or 0)
        if master is not None and "bond" in master:
            master["bond"]["ports"].append(m.ifname)
    for data, offset, end in addrs:
        family, prefixlen, _flags, _scope, index = _IFADDR.unpack_from(data, offset + _HDR)
        entry = out.get(index)
        if entry is None:
            continue
        attrs = _attrs(data, offset + _HDR + _IFADDR.size, end, _ADDR_ATTRS)
        # IFA_LOCAL is our own address (IFA_ADDRESS is the far end on point-to-point).
        ip = _ip(family, attrs.get(rtnl.IFA_LOCAL)) or _ip(family, attrs.get(rtnl.IFA_ADDRESS))
        if ip:
            entry["addresses"].append(f"{ip}/{prefixlen}")
    return [out[i] for i in sorted(out)]


# --- routes -----------------------------------------------------------------------------


def _routes(msgs: list[Msg], names: dict[int, str | None],
            vrfs: dict[int, str] | None = None) -> list[dict[str, Any]]:
    """The unicast routes of the main table, then those of each VRF's table (`vrfs`:
    table -> the VRF's name), which say their VRF and table."""
    vrfs = vrfs or {}
    heads = {rtnl.RT_TABLE_MAIN, RT_TABLE_COMPAT, *(t for t in vrfs if t < RT_TABLE_COMPAT)}
    out: list[dict[str, Any]] = []
    for data, offset, end in msgs:
        family, dst_len, _src, _tos, head_table, proto, _scope, kind, _flags = (
            _RTMSG.unpack_from(data, offset + _HDR)
        )
        # Most of a dump is the local table (type local, broadcast, multicast): skip it
        # unread. The header names tables below 256 as RTA_TABLE does, others as COMPAT.
        if kind != rtnl.RTN_UNICAST or head_table not in heads:
            continue
        attrs = _attrs(data, offset + _HDR + _RTMSG.size, end, _ROUTE_ATTRS)
        table = _u32(attrs.get(RTA_TABLE)) or head_table
        if table != rtnl.RT_TABLE_MAIN and table not in vrfs:
            continue
        dst = _ip(family, attrs.get(rtnl.RTA_DST))
        oif = _u32(attrs.get(rtnl.RTA_OIF))
        route = {
            "family": 4 if family == socket.AF_INET else 6,
            "to": f"{dst}/{dst_len}" if dst else "default",
            "via": _ip(family, attrs.get(rtnl.RTA_GATEWAY)),
            "dev": names.get(oif) if oif else None,
            "metric": _u32(attrs.get(rtnl.RTA_PRIORITY)),
            "protocol": _PROTOCOLS.get(proto, str(proto)),
        }
        if table != rtnl.RT_TABLE_MAIN:
            route.update(vrf=vrfs[table], table=table)
        out.append(route)
    out.sort(key=lambda route: (route.get("table", 0), route["family"]))
    return out


def _vrf_tables(links: list[dict[str, Any]]) -> dict[int, str]:
    """table -> the name of the VRF that routes through it."""
    return {link["vrf"]["table"]: link["ifname"] for link in links
            if link["kind"] == "vrf" and link["vrf"]["table"] is not None}


# --- what callers use -------------------------------------------------------------------


class NodeView(NamedTuple):
    links: list[dict[str, Any]]  # as read_namespace gives them
    routes: list[dict[str, Any]]  # as read_routes gives them
    states: dict[str, LinkState]  # as read_link_states gives them


def read_node(ns: str) -> NodeView:
    """Everything status shows of a namespace through one socket, links dumped once."""
    with nlsock.open_in(ns) as sock:
        links = _dump_links(sock)
        addrs = _dump(sock, rtnl.get_addresses(2), rtnl.RTM_NEWADDR)
        routes = _dump(sock, rtnl.get_routes(3, 0), rtnl.RTM_NEWROUTE)
        qdiscs = nlsock.dump(sock, tcmsg.get_qdiscs(4))
    names = {m.index: m.ifname for m in links}
    decoded = _links_with_addresses(links, addrs)
    return NodeView(decoded, _routes(routes, names, _vrf_tables(decoded)),
                    _states(links, qdiscs))


def decode_node(links: Sequence[bytes], addrs: Sequence[bytes], routes: Sequence[bytes],
                qdiscs: Sequence[bytes]) -> NodeView:
    """What read_node makes of a node's four dumps, from their messages as bytes (each
    with its netlink header). Pure: tests feed it recorded dumps."""
    raw = [_RawLink((m, 0, len(m))) for m in links]
    names = {m.index: m.ifname for m in raw}
    decoded = _links_with_addresses(raw, [(m, 0, len(m)) for m in addrs])
    return NodeView(decoded,
                    _routes([(m, 0, len(m)) for m in routes], names, _vrf_tables(decoded)),
                    _states(raw, [r for m in qdiscs for r in rtnl.replies(m)]))


def read_port_vlans(ns: str) -> dict[str, dict[str, Any]]:
    """Each bridge port's VLANs (`bridge vlan show`), by name: its PVID (the VLAN of what
    arrives untagged), and the VLANs it sends untagged and tagged."""
    with nlsock.open_in(ns) as sock:
        msgs = _dump(sock, rtnl.get_bridge_vlans(1), rtnl.RTM_NEWLINK)
    return decode_port_vlans([data[offset:end] for data, offset, end in msgs])


def decode_port_vlans(msgs: Sequence[bytes]) -> dict[str, dict[str, Any]]:
    """What read_port_vlans makes of the dump's messages (each with its header). Pure."""
    ports: dict[str, dict[str, Any]] = {}
    for data in msgs:
        attrs = _attrs(data, _HDR + _IFINFO.size, len(data),
                       frozenset({rtnl.IFLA_IFNAME, rtnl.IFLA_AF_SPEC}))
        name, spec = _text(attrs.get(rtnl.IFLA_IFNAME)), attrs.get(rtnl.IFLA_AF_SPEC)
        if name is None or spec is None:
            continue
        pvid: int | None = None
        untagged: list[int] = []
        tagged: list[int] = []
        for kind, value in _all_attrs(spec):
            if kind != rtnl.IFLA_BRIDGE_VLAN_INFO or len(value) < 4:
                continue
            flags, vid = rtnl.VLAN_INFO.unpack_from(value)
            if flags & rtnl.BRIDGE_VLAN_INFO_PVID:
                pvid = vid
            (untagged if flags & rtnl.BRIDGE_VLAN_INFO_UNTAGGED else tagged).append(vid)
        ports[name] = {"pvid": pvid, "untagged": sorted(untagged), "tagged": sorted(tagged)}
    return ports


def _all_attrs(data: bytes) -> list[tuple[int, bytes]]:
    """Every attribute of a nest, in order (a nest may repeat one, as VLAN infos do)."""
    out = []
    offset = 0
    while offset + 4 <= len(data):
        length, kind = _NLA.unpack_from(data, offset)
        if length < 4:
            break
        out.append((kind & _NLA_TYPE_MASK, data[offset + 4 : offset + length]))
        offset += (length + 3) & ~3
    return out


def read_link_states(ns: str) -> dict[str, LinkState]:
    """Admin and carrier state, carrier counters and root qdisc of each link, by name."""
    with nlsock.open_in(ns) as sock:
        links = _dump_links(sock)
        qdiscs = nlsock.dump(sock, tcmsg.get_qdiscs(2))
    return _states(links, qdiscs)


def _states(links: list[_RawLink], qdiscs: list[rtnl.Reply]) -> dict[str, LinkState]:
    roots = link_state_decode.root_qdiscs(qdiscs)
    return {m.ifname: link_state_decode.link_state(m.ifname, m.index, m.flags, m.attrs, roots)
            for m in links if m.ifname is not None}


# Links whose carrier the kernel turns on at once but starts to transmit on only when its
# linkwatch work has seen the change (up to a second later, later on a busy machine): until
# then their queue is a no-op that drops every packet. Their operstate says when it is done.
_LINKWATCHED = ("veth", "bridge")


# Up to this many links of a namespace are asked for one by one (by index), past it in
# one dump: 500 namespaces' one link each, asked so, ~3-9 ms against 14-17 ms dumped.
_ASKED_ONE_BY_ONE = 4


def links_still_starting(ns: str, names: Collection[str],
                         sock: socket.socket | None = None,
                         indexes: Mapping[str, int] | None = None) -> list[str]:
    """Of the named links of `ns`, the veth and bridge links that have a carrier but do not
    pass packets yet (operstate not yet "up"). `sock`: a route socket in `ns` to ask
    through (opening one there for each of 1000 nodes, each round, cost more than the
    question); `indexes`: their ifindexes, where known (a name found at another index
    asks again by dump)."""
    links: list[_RawLink] | None = None
    if sock is None:
        with nlsock.open_in(ns) as own:
            links = _dump_links(own)
    else:
        # Sequence number 0 is never that of a request NetlinkKernel sent on its socket
        # (it counts from 1): a late answer to one of those cannot end this question.
        if indexes is not None and len(names) <= _ASKED_ONE_BY_ONE:
            links = _links_by_index(sock, names, indexes)
        if links is None:
            links = [_RawLink(m) for m in _dump(sock, rtnl.get_links(0), rtnl.RTM_NEWLINK)]
    starting = []
    for msg in links:
        if msg.ifname not in names or not msg.flags & IFF_LOWER_UP:
            continue
        oper = msg.attrs.get(IFLA_OPERSTATE)
        if oper and _OPERSTATES.get(oper[0]) == "up":
            continue
        info = msg.attrs.get(rtnl.IFLA_LINKINFO)
        kind = _attrs(info, 0, len(info), _INFO_ATTRS).get(rtnl.IFLA_INFO_KIND) if info else None
        if _text(kind) in _LINKWATCHED:
            starting.append(str(msg.ifname))
    return starting


def _links_by_index(sock: socket.socket, names: Collection[str],
                    indexes: Mapping[str, int]) -> list[_RawLink] | None:
    """The named links, asked for by index; None when an index is not known or names
    another link now (the caller dumps them instead)."""
    links = []
    for name in names:
        index = indexes.get(name)
        msg = _get(sock, rtnl.get_link(0, index), rtnl.RTM_NEWLINK) if index else None
        link = _RawLink(msg) if msg is not None else None
        if link is None or link.ifname != name:
            return None
        links.append(link)
    return links


def links_still_up(ns: str, names: Collection[str]) -> list[str]:
    """Of the named links of `ns`, those whose operstate still says "up"."""
    return [name for name, state in read_link_states(ns).items()
            if name in names and state.operstate == "up"]


def read_namespace(ns: str) -> list[dict[str, Any]]:
    """Every link of namespace `ns` with its addresses (CIDR strings, link-local included)
    and counters, ordered by ifindex."""
    with nlsock.open_in(ns) as sock:
        links = _dump_links(sock)
        addrs = _dump(sock, rtnl.get_addresses(2), rtnl.RTM_NEWADDR)
    return _links_with_addresses(links, addrs)


def first_address(ns: str, iface: str | None = None, family: int | None = None) -> str | None:
    """The first address `ns` has now (on `iface`, if given; of `family`, if given), for a
    node whose topology gives it none: made by its own commands or by DHCP. Loopback and
    link-local addresses are left out, on lo too: 127.0.0.1 or ::1 is every node's own, so
    probed from another node it would answer from that node itself."""
    for link in read_namespace(ns):
        if link["ifname"] != (iface or link["ifname"]) or (not iface and link["ifname"] == "lo"):
            continue
        for cidr in link["addresses"]:
            ip = ipaddress.ip_interface(cidr).ip
            if (family is None or ip.version == family) and not ip.is_link_local \
                    and not ip.is_loopback:
                return str(ip)
    return None


def read_routes(ns: str) -> list[dict[str, Any]]:
    """The main routing table of `ns`, IPv4 then IPv6 (kernel routes included), then each
    VRF's table."""
    with nlsock.open_in(ns) as sock:
        links = _dump_links(sock)
        routes = _dump(sock, rtnl.get_routes(2, 0), rtnl.RTM_NEWROUTE)
    names = {m.index: m.ifname for m in links}
    return _routes(routes, names, _vrf_tables(_links_with_addresses(links, [])))


def read_sysctl(ns: str, key: str) -> str:
    """The value of a net.* sysctl as seen inside `ns`."""
    parts = key.split(".")
    if parts[0] != "net" or any(not p for p in parts) or "/" in key or ".." in key:
        raise ValueError(f"not a net.* sysctl key: {key!r}")
    with nsfs.entered(ns), open("/proc/sys/" + "/".join(parts)) as f:
        return f.read().strip()


def list_marked_links_in_host(mark_prefix: str = "netlab:") -> list[dict[str, Any]]:
    """Links of the caller's own (host) namespace whose alias starts with the mark."""
    with nlsock.open_here() as sock:
        links = _dump_links(sock)
    names = {m.index: m.ifname for m in links}
    return [_link(m, names) for m in links if (m.alias or "").startswith(mark_prefix)]
