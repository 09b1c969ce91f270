"""Shaping on links, planned: one root qdisc per shaped end (its egress). Pure.

A link's own tc values shape both directions; an endpoint written long shapes what leaves
through it, over the link's values. Values were checked when the topology was loaded, so
building them here cannot fail (build() raises ValueError on values that do not pass
spec/tc_check.py).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from fractions import Fraction

from netlab.plan.ops import SetQdisc
from netlab.spec.model import Endpoint, Link, Topology
from netlab.spec.tc_check import check
from netlab.spec.validate import end_mtu
from netlab.values.tc import (
    DEFAULT_LATENCY_US,
    DEFAULT_MTU,
    DEFAULT_NETEM_LIMIT,
    Qdisc,
    default_burst,
    needs_netem,
    parse_percent,
    parse_rate,
    parse_size,
    parse_time,
)


@dataclass(frozen=True)
class QdiscUse:
    """Where a topology asks for a qdisc kind: the data path of the key that decides it."""

    path: str
    link: str  # "r1:eth1 -- h3:eth0"
    kind: str  # tbf or netem
    keys: tuple[str, ...]  # what needs that kind: the netem keys given, or rate


def qdisc_ops(
    topo: Topology, ends: list[tuple[tuple[str, str], tuple[str, str], Link]],
    namespaces: Mapping[str, str],
) -> list[SetQdisc]:
    """SetQdisc for every shaped end; `ends` are the links with their ends named."""
    ops: list[SetQdisc] = []
    for a, b, link in ends:
        for k, (node, ifname) in enumerate((a, b)):
            qdisc = build(link.end_shaping(k), end_mtu(topo, link, (node, ifname)))
            if qdisc is not None:
                ops.append(SetQdisc(namespaces[node], ifname, qdisc))
    return ops


def qdisc_uses(topo: Topology) -> list[QdiscUse]:
    """Every place the topology asks for a qdisc, once per place written (a link's values
    shape both of its ends, but were written once)."""
    uses: list[QdiscUse] = []
    seen: set[str] = set()
    for i, link in enumerate(topo.links):
        for k, end in enumerate(link.endpoints):
            values = link.end_shaping(k)
            keys = tuple(needs_netem(values)) or (("rate",) if "rate" in values else ())
            if not keys:
                continue
            own = end.shaping() if isinstance(end, Endpoint) else {}
            path = f"links[{i}].endpoints[{k}].{keys[0]}" if keys[0] in own else (
                f"links[{i}].{keys[0]}")
            if path not in seen:
                seen.add(path)
                kind = "netem" if keys[0] != "rate" else "tbf"
                uses.append(QdiscUse(path, " -- ".join(link.ends()), kind, keys))
    return uses


def build(values: Mapping[str, str | None], mtu: int = DEFAULT_MTU) -> Qdisc | None:
    """The root qdisc for these values (None when none is given). ValueError when check()
    finds a problem: the first one, as 'key: message'."""
    problems = check(values, mtu)
    if problems:
        key, message = problems[0]
        raise ValueError(f"{key}: {message}")
    given = {k: v for k, v in values.items() if v is not None}
    if not given:
        return None
    rate = parse_rate(given["rate"]) if "rate" in given else None
    if not needs_netem(given):
        assert rate is not None
        burst = parse_size(given["burst"]) if "burst" in given else default_burst(rate, mtu)
        return Qdisc("tbf", rate=rate, burst=burst, limit=_tbf_limit(given, rate, burst))
    percents: dict[str, int | None] = {}
    for key in ("loss", "duplicate", "corrupt", "reorder"):
        if key in given:
            percents[key], percents[f"{key}_corr"] = parse_percent(given[key])
    return Qdisc(
        "netem",
        rate=rate,
        limit=int(given["limit"]) if "limit" in given else DEFAULT_NETEM_LIMIT,
        delay=parse_time(given["delay"]) if "delay" in given else None,
        jitter=parse_time(given["jitter"]) if "jitter" in given else None,
        **percents,
    )


def _tbf_limit(given: Mapping[str, str], rate: int, burst: int) -> int:
    """The tbf queue in bytes: given, or what `latency` of traffic fills (tc's formula)."""
    if "limit" in given:
        return int(given["limit"])
    latency = parse_time(given["latency"]) if "latency" in given else DEFAULT_LATENCY_US
    return int(Fraction(rate * latency, 10**6)) + burst
