"""Traffic-control messages packed by hand (RTM_NEWQDISC, RTM_DELQDISC, RTM_GETQDISC) and
the kernel's answers decoded: pure, no sockets. The numbers are the kernel's uapi values
(linux/rtnetlink.h, linux/pkt_sched.h); tests/unit compare what we pack with pyroute2's
encoding of the same request.

A root qdisc is always replaced (NLM_F_CREATE | NLM_F_REPLACE, no handle), as
`tc qdisc replace dev X root ...` does: it makes one where the device has its default, and
changes or swaps the one that is there.
"""

from __future__ import annotations

import socket
import struct
from dataclasses import dataclass

from netlab.kernel.rtnl import (
    NLM_F_CREATE,
    NLM_F_DUMP,
    Reply,
    message,
    nla,
    nla_str,
    nla_u32,
)
from netlab.values.tc import U32, Qdisc

RTM_NEWQDISC = 36
RTM_DELQDISC = 37
RTM_GETQDISC = 38
NLM_F_REPLACE = 0x100
TC_H_ROOT = 0xFFFFFFFF
TCA_KIND = 1
TCA_OPTIONS = 2
TC_LINKLAYER_ETHERNET = 1
PSCHED_NS_PER_TICK = 64  # the kernel's PSCHED_SHIFT is 6

TCA_TBF_PARMS = 1
TCA_TBF_RATE64 = 4
TCA_TBF_BURST = 6

TCA_NETEM_CORR = 1
TCA_NETEM_REORDER = 3
TCA_NETEM_CORRUPT = 4
TCA_NETEM_RATE = 6
TCA_NETEM_RATE64 = 8
TCA_NETEM_LATENCY64 = 10
TCA_NETEM_JITTER64 = 11

_TCMSG = struct.Struct("=BBHiIII")  # family, pad, pad, ifindex, handle, parent, info
_RATESPEC = "BBHhHI"  # cell_log, linklayer, overhead, cell_align, mpu, rate
_TBF_QOPT = struct.Struct(f"={_RATESPEC}{_RATESPEC}III")  # rate, peakrate, limit, buffer, mtu
_NETEM_QOPT = struct.Struct("=IIIIII")  # latency, limit, loss, gap, duplicate, jitter (ticks)
_NETEM_RATE = struct.Struct("=IiIi")  # rate, packet_overhead, cell_size, cell_overhead
_U32 = struct.Struct("=I")
_U64 = struct.Struct("=Q")
_S64 = struct.Struct("=q")
_NLA = struct.Struct("=HH")
_NLMSG_LEN = 16


def tcmsg(index: int, parent: int = 0, handle: int = 0) -> bytes:
    return _TCMSG.pack(socket.AF_UNSPEC, 0, 0, index, handle, parent, 0)


def ticks(ns: int) -> int:
    """Nanoseconds in the kernel's scheduler ticks, as a u32 field holds them."""
    return min(ns // PSCHED_NS_PER_TICK, U32)


# --- requests ---------------------------------------------------------------------------
def new_qdisc(seq: int, index: int, qdisc: Qdisc) -> bytearray:
    """Replace the root qdisc of link `index` with `qdisc` (tbf or netem)."""
    body = tcmsg(index, TC_H_ROOT) + nla_str(TCA_KIND, qdisc.kind)
    body += nla(TCA_OPTIONS, options(qdisc))
    return message(RTM_NEWQDISC, NLM_F_CREATE | NLM_F_REPLACE, seq, body)


def del_qdisc(seq: int, index: int) -> bytearray:
    """Remove the root qdisc of link `index` (the device falls back to its default)."""
    return message(RTM_DELQDISC, 0, seq, tcmsg(index, TC_H_ROOT))


def get_qdiscs(seq: int) -> bytearray:
    return message(RTM_GETQDISC, NLM_F_DUMP, seq, tcmsg(0))


def options(qdisc: Qdisc) -> bytes:
    if qdisc.kind == "tbf":
        return tbf_options(qdisc)
    if qdisc.kind == "netem":
        return netem_options(qdisc)
    raise ValueError(f"no such qdisc kind {qdisc.kind!r} (tbf or netem)")


def tbf_options(q: Qdisc) -> bytes:
    """TCA_TBF_PARMS (link layer ethernet: no rate table needed), TCA_TBF_BURST in bytes
    (the kernel derives the bucket from it), TCA_TBF_RATE64 for rates over 32 bits."""
    if q.rate is None or q.burst is None or q.limit is None:
        raise ValueError("tbf needs a rate, a burst and a limit")
    buffer = ticks(q.burst * 10**9 // q.rate)
    parms = _TBF_QOPT.pack(0, TC_LINKLAYER_ETHERNET, 0, 0, 0, min(q.rate, U32),
                           0, 0, 0, 0, 0, 0,
                           q.limit, buffer, 0)
    attrs = nla(TCA_TBF_PARMS, parms) + nla_u32(TCA_TBF_BURST, q.burst)
    if q.rate > U32:
        attrs += nla(TCA_TBF_RATE64, _U64.pack(q.rate))
    return attrs


def netem_options(q: Qdisc) -> bytes:
    """struct tc_netem_qopt, then its attributes (netem's options are not nested: the
    struct comes first, as tc sends it). Delay and jitter also go in nanoseconds
    (LATENCY64, JITTER64), which the kernel prefers to the struct's ticks."""
    delay_ns = (q.delay or 0) * 1000
    jitter_ns = (q.jitter or 0) * 1000
    gap = 1 if q.reorder else 0  # tc: reordering without a gap means every other packet
    head = _NETEM_QOPT.pack(ticks(delay_ns), q.limit or 0, q.loss or 0, gap,
                            q.duplicate or 0, ticks(jitter_ns))
    attrs = b""
    if q.loss_corr or q.duplicate_corr:
        attrs += nla(TCA_NETEM_CORR, struct.pack("=III", 0, q.loss_corr or 0,
                                                 q.duplicate_corr or 0))
    if q.reorder is not None:
        attrs += nla(TCA_NETEM_REORDER, struct.pack("=II", q.reorder, q.reorder_corr or 0))
    if q.corrupt is not None:
        attrs += nla(TCA_NETEM_CORRUPT, struct.pack("=II", q.corrupt, q.corrupt_corr or 0))
    if q.rate is not None:
        attrs += nla(TCA_NETEM_RATE, _NETEM_RATE.pack(min(q.rate, U32), 0, 0, 0))
        if q.rate > U32:
            attrs += nla(TCA_NETEM_RATE64, _U64.pack(q.rate))
    if q.delay is not None:
        attrs += nla(TCA_NETEM_LATENCY64, _S64.pack(delay_ns))
    if q.jitter is not None:
        attrs += nla(TCA_NETEM_JITTER64, _S64.pack(jitter_ns))
    return head + attrs


# --- answers ----------------------------------------------------------------------------
@dataclass(frozen=True)
class QdiscInfo:
    """A qdisc the kernel reported: where it sits, its kind, and (tbf, netem) its values."""

    index: int
    handle: int
    parent: int
    kind: str
    qdisc: Qdisc | None  # None: a kind netlab does not set (noqueue, fq_codel, ...)

    @property
    def is_root(self) -> bool:
        return self.parent == TC_H_ROOT


def attributes(buf: bytes, offset: int = 0, end: int | None = None) -> dict[int, bytes]:
    """Netlink attributes from offset to end, by type (the nested flag masked off)."""
    end = len(buf) if end is None else end
    out: dict[int, bytes] = {}
    while offset + 4 <= end:
        length, kind = _NLA.unpack_from(buf, offset)
        if length < 4 or offset + length > end:
            break
        out[kind & 0x3FFF] = bytes(buf[offset + 4 : offset + length])
        offset += (length + 3) & ~3
    return out


def decode_qdisc(reply: Reply) -> QdiscInfo:
    data = reply.data
    _f, _p1, _p2, index, handle, parent, _info = _TCMSG.unpack_from(data, _NLMSG_LEN)
    attrs = attributes(data, _NLMSG_LEN + _TCMSG.size)
    kind = attrs.get(TCA_KIND, b"").rstrip(b"\0").decode(errors="replace")
    opts = attrs.get(TCA_OPTIONS)
    qdisc = None
    if opts is not None and kind == "tbf":
        qdisc = _decode_tbf(opts)
    elif opts is not None and kind == "netem":
        qdisc = _decode_netem(opts)
    return QdiscInfo(index, handle, parent, kind, qdisc)


def _decode_tbf(opts: bytes) -> Qdisc | None:
    attrs = attributes(opts)
    parms = attrs.get(TCA_TBF_PARMS)
    if parms is None or len(parms) < _TBF_QOPT.size:
        return None
    fields = _TBF_QOPT.unpack_from(parms)
    rate, limit, buffer = fields[5], fields[12], fields[13]
    if TCA_TBF_RATE64 in attrs and len(attrs[TCA_TBF_RATE64]) >= 8:
        rate = _U64.unpack_from(attrs[TCA_TBF_RATE64])[0]
    burst = None
    if TCA_TBF_BURST in attrs:  # not in dumps today; the bucket is given as time
        burst = _U32.unpack_from(attrs[TCA_TBF_BURST])[0]
    elif rate:
        burst = round(buffer * PSCHED_NS_PER_TICK * rate / 10**9)
    return Qdisc("tbf", rate=rate, burst=burst, limit=limit)


def _decode_netem(opts: bytes) -> Qdisc | None:
    if len(opts) < _NETEM_QOPT.size:
        return None
    latency, limit, loss, _gap, duplicate, jitter = _NETEM_QOPT.unpack_from(opts)
    attrs = attributes(opts, _NETEM_QOPT.size)
    delay_ns = latency * PSCHED_NS_PER_TICK
    jitter_ns = jitter * PSCHED_NS_PER_TICK
    if TCA_NETEM_LATENCY64 in attrs:
        delay_ns = _S64.unpack_from(attrs[TCA_NETEM_LATENCY64])[0]
    if TCA_NETEM_JITTER64 in attrs:
        jitter_ns = _S64.unpack_from(attrs[TCA_NETEM_JITTER64])[0]
    values: dict[str, int | None] = {
        "limit": limit, "delay": delay_ns // 1000 or None, "jitter": jitter_ns // 1000 or None,
        "loss": loss or None, "duplicate": duplicate or None,
    }
    if TCA_NETEM_CORR in attrs:
        _delay_corr, loss_corr, dup_corr = struct.unpack_from("=III", attrs[TCA_NETEM_CORR])
        values["loss_corr"], values["duplicate_corr"] = loss_corr or None, dup_corr or None
    for attr, key in ((TCA_NETEM_REORDER, "reorder"), (TCA_NETEM_CORRUPT, "corrupt")):
        if attr in attrs:
            probability, corr = struct.unpack_from("=II", attrs[attr])
            values[key], values[f"{key}_corr"] = probability or None, corr or None
    if TCA_NETEM_RATE in attrs:
        values["rate"] = _NETEM_RATE.unpack_from(attrs[TCA_NETEM_RATE])[0] or None
    if TCA_NETEM_RATE64 in attrs:
        values["rate"] = _U64.unpack_from(attrs[TCA_NETEM_RATE64])[0] or None
    return Qdisc("netem", **values)
