"""What is wrong, in words, with a set of shaping values (tc units: values/tc.py). Pure.

The topology's validation and `netlab link set` both use check(); plan/shaping.py builds
the qdisc only from values it passes.
"""

from __future__ import annotations

from collections.abc import Mapping
from fractions import Fraction
from typing import Any

from netlab.values.tc import (
    COUNT_RE,
    DEFAULT_LATENCY_US,
    DEFAULT_MTU,
    ETH_HLEN,
    MAX_BUCKET_NS,
    PERCENT_RE,
    S64,
    TBF_ONLY_KEYS,
    U32,
    U64,
    WANTED,
    default_burst,
    max_burst,
    needs_netem,
    parse_percent,
    parse_rate,
    parse_size,
    parse_time,
    rate_text,
    trim,
)

_KINDS = {"rate": "rate", "delay": "time", "jitter": "time", "latency": "time",
          "burst": "size", "limit": "count", "loss": "percent", "duplicate": "percent",
          "corrupt": "percent", "reorder": "percent"}


def check(values: Mapping[str, str | None], mtu: int = DEFAULT_MTU) -> list[tuple[str, str]]:
    """Every problem of a set of shaping values, as (key, message); [] when they build."""
    given = {k: v for k, v in values.items() if v is not None}
    problems: list[tuple[str, str]] = []
    parsed: dict[str, Any] = {}
    for key in _KINDS:
        if key in given:
            value, problem = _parse_one(key, given[key])
            if problem:
                problems.append((key, problem))
            else:
                parsed[key] = value
    netem = needs_netem(given)
    for key in ("jitter", "reorder"):
        if key in given and "delay" not in given:
            problems.append((key, f"{key} needs a delay as well (delay: 10ms)"))
    if netem:
        for key in TBF_ONLY_KEYS:
            if key in given:
                problems.append((key, _tbf_only(key, netem)))
    else:
        for key in ("burst", "latency", "limit"):
            if key in given and "rate" not in given:
                problems.append((key, f"{key} shapes a rate; give the rate as well (rate: 10mbit)"))
        if "limit" in given and "latency" in given:
            problems.append(("latency", "give limit or latency, not both (each sets the "
                                        "length of the tbf queue)"))
    if not problems and not netem and "rate" in parsed:
        problems += _tbf_sizes(parsed, given, mtu)
    return problems


def _slowest_rate(frame: int) -> int:
    """The lowest rate, in bytes per second, whose tbf bucket holds one frame."""
    return -(-frame * 10**9 // MAX_BUCKET_NS)


def _size_below(size: int) -> str:
    """A round size, as tc reads it, no larger than `size` bytes."""
    for unit, scale in (("mb", 2**20), ("kb", 2**10)):
        if size >= 10 * scale:
            return f"{size // scale}{unit}"
    return f"{size}b"


def _seconds_text(size: int, rate: int) -> str:
    return f"{trim(Fraction(size, rate))} s"


def _parse_one(key: str, text: str) -> tuple[Any, str | None]:
    kind = _KINDS[key]
    stripped = text.strip()
    try:
        if kind == "rate":
            value: Any = parse_rate(stripped)
            if value == 0:
                return None, f"rate '{text}' is less than 1 byte per second; give a rate above 0"
            if value > U64:
                return None, f"rate '{text}' is too large"
        elif kind == "time":
            value = parse_time(stripped)
            if value * 1000 > S64:
                return None, f"{key} '{text}' is too long"
        elif kind == "size":
            value = parse_size(stripped)
            if value > U32:
                return None, f"{key} '{text}' is too large (at most 4 GB)"
        elif kind == "count":
            if not COUNT_RE.match(stripped):
                raise ValueError(text)
            value = int(stripped)
            if value == 0:
                return None, f"{key} 0 would hold nothing and drop every packet; give 1 or more"
            if value > U32:
                return None, f"{key} {value} is too large"
        else:
            m = PERCENT_RE.match(stripped)
            if m and any(g is not None and Fraction(g) > 100 for g in m.groups()):
                return None, f"{key} '{text}' is more than 100%"
            value = parse_percent(stripped)
    except ValueError:
        unit = " needs a unit" if COUNT_RE.match(stripped) and kind != "count" else ""
        if stripped.startswith("-"):
            unit = " is negative"
        return None, f"{key} '{text}'{unit or ' is not understood'}; give {WANTED[key]}"
    return value, None


def _tbf_only(key: str, netem: list[str]) -> str:
    what = ("the bucket of tbf" if key == "burst" else "the queue of tbf (with netem, "
            "limit gives its queue in packets)")
    keys = netem[0] if len(netem) == 1 else f"{', '.join(netem[:-1])} and {netem[-1]}"
    return (f"{key} is {what}; with {keys} the link is shaped by netem, which "
            f"carries the rate itself and has no {key}")


def _tbf_sizes(parsed: Mapping[str, Any], given: Mapping[str, str],
               mtu: int) -> list[tuple[str, str]]:
    frame = mtu + ETH_HLEN
    rate: int = parsed["rate"]
    longest = f"{trim(Fraction(MAX_BUCKET_NS, 10**9))} s"
    problems: list[tuple[str, str]] = []
    if max_burst(rate) < frame:
        slowest = rate_text(_slowest_rate(frame))
        problems.append(("rate", f"rate {given['rate']} is too slow for tbf: one full frame "
                                 f"({frame} bytes at mtu {mtu}) takes "
                                 f"{_seconds_text(frame, rate)} to send, and the kernel's "
                                 f"bucket holds at most {longest} of traffic; give at least "
                                 f"{slowest}"))
        return problems
    burst = parsed.get("burst", default_burst(rate, mtu))
    if burst < frame:
        problems.append(("burst", f"burst {burst} bytes is less than one full frame ({frame} "
                                  f"bytes at mtu {mtu}); such frames would be dropped"))
    elif burst > max_burst(rate):
        problems.append(("burst", f"burst {given['burst']} is {_seconds_text(burst, rate)} "
                                  f"of traffic at rate {given['rate']}, and the kernel's "
                                  f"bucket holds at most {longest} (at this rate "
                                  f"{_size_below(max_burst(rate))}); give a smaller burst or "
                                  "a higher rate"))
    if "limit" in parsed and parsed["limit"] < frame:
        problems.append(("limit", f"limit {parsed['limit']} (bytes, for tbf) holds no full "
                                  f"frame ({frame} bytes at mtu {mtu})"))
    latency = parsed.get("latency", DEFAULT_LATENCY_US)
    if "limit" not in parsed and int(Fraction(rate * latency, 10**6)) + burst > U32:
        problems.append(("latency" if "latency" in parsed else "rate",
                         "the tbf queue this makes is over 4 GB; give a shorter latency"))
    return problems
