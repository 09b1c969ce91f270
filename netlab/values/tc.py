"""Shaping values as tc(8) writes them, parsed into the kernel's exact numbers. Pure.

    "10mbit" -> 1250000 bytes/s     "50ms" -> 50000 µs     "32kb" -> 32768 bytes
    "1%"     -> 42949673 (the kernel's 32-bit probability, 0 = never, 2**32-1 = always)

Units follow tc: rates in bit or bps (bytes per second) with decimal (k, m, g, t) or binary
(ki, mi, gi, ti) prefixes; sizes in bytes with binary prefixes (k = 1024, as tc reads them)
or in bit; times in s, ms or us. Fractions are truncated, as tc truncates them; percentages
are rounded to the nearest probability, as tc rounds them.

The units and the qdisc value live here; spec/tc_check.py says what is wrong with a set of
values, plan/shaping.py builds the root qdisc from good ones, kernel/tcmsg.py encodes it.
A leaf module, like errors.py: it imports nothing of netlab, so that every layer can use
it, and importing it costs nothing (no pydantic).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields
from fractions import Fraction
from typing import Any

U32 = 0xFFFFFFFF
U64 = 0xFFFFFFFFFFFFFFFF
S64 = 0x7FFFFFFFFFFFFFFF
ETH_HLEN = 14  # what a frame adds to the MTU on a veth
DEFAULT_MTU = 1500
DEFAULT_LATENCY_US = 50_000  # tbf queue when neither limit nor latency is given
DEFAULT_NETEM_LIMIT = 1000  # packets, the kernel's own default
BURST_SECONDS = Fraction(1, 250)  # default tbf bucket: 4 ms of traffic (at least two frames)
# tbf keeps its bucket as the time it takes to send, and reports it in a u32 of scheduler
# ticks (64 ns): a bucket longer than this wraps around (100mb at 1mbit reads back 1.7 MB).
TICK_NS = 64
MAX_BUCKET_NS = U32 * TICK_NS  # 274.88 s

NETEM_KEYS: tuple[str, ...] = ("delay", "jitter", "loss", "duplicate", "corrupt", "reorder")
TBF_ONLY_KEYS: tuple[str, ...] = ("burst", "latency")

_NUMBER = r"(\d+(?:\.\d+)?)"
_RATE = re.compile(rf"^{_NUMBER}([kmgt]i?)?(bit|bps)$", re.IGNORECASE)
_TIME = re.compile(rf"^{_NUMBER}(s|sec|secs|ms|msec|msecs|us|usec|usecs)$", re.IGNORECASE)
_SIZE = re.compile(rf"^{_NUMBER}([kmg]i?)?(b|bit)?$", re.IGNORECASE)
PERCENT_RE = re.compile(rf"^{_NUMBER}%(?:\s+{_NUMBER}%)?$")
COUNT_RE = re.compile(r"^\d+$")

_DECIMAL = {"": 1, "k": 10**3, "m": 10**6, "g": 10**9, "t": 10**12}
_BINARY = {"": 1, "k": 2**10, "m": 2**20, "g": 2**30, "t": 2**40}
_TIME_US = {"s": 10**6, "ms": 10**3, "us": 1}

# What each key takes, in the words of the messages.
WANTED: dict[str, str] = {
    "rate": "a rate such as 100mbit, 1gbit or 500kbit",
    "delay": "a time such as 10ms",
    "jitter": "a time such as 2ms",
    "latency": "a time such as 50ms",
    "burst": "a size such as 32kb",
    "limit": "a whole number (packets for netem, bytes for tbf)",
    "loss": "a percentage such as 1% (or 1% 25% with a correlation)",
    "duplicate": "a percentage such as 1%",
    "corrupt": "a percentage such as 0.1%",
    "reorder": "a percentage such as 25% (or 25% 50% with a correlation)",
}

# --- single values ----------------------------------------------------------------------
def parse_rate(text: str) -> int:
    """'10mbit' -> 1250000: bytes per second (tc: a bare 'bps' is bytes, 'bit' is bits)."""
    m = _RATE.match(text.strip())
    if not m:
        raise ValueError(f"'{text}' is not a rate")
    prefix, unit = (m.group(2) or "").lower(), m.group(3).lower()
    scale = _BINARY[prefix[0]] if prefix.endswith("i") else _DECIMAL[prefix]
    bits = Fraction(m.group(1)) * scale * (8 if unit == "bps" else 1)
    return int(bits / 8)


def parse_time(text: str) -> int:
    """'50ms' -> 50000: microseconds."""
    m = _TIME.match(text.strip())
    if not m:
        raise ValueError(f"'{text}' is not a time")
    unit = m.group(2).lower()
    base = "us" if unit.startswith("us") else "ms" if unit.startswith("ms") else "s"
    return int(Fraction(m.group(1)) * _TIME_US[base])


def parse_size(text: str) -> int:
    """'32kb' -> 32768: bytes (k, m, g are powers of 1024 as tc reads them; 'bit' is /8)."""
    m = _SIZE.match(text.strip())
    if not m:
        raise ValueError(f"'{text}' is not a size")
    prefix, unit = (m.group(2) or "").lower(), (m.group(3) or "b").lower()
    size = Fraction(m.group(1)) * _BINARY[prefix[:1]]
    return int(size / 8) if unit == "bit" else int(size)


def probability(percent: str) -> int:
    """'1' (percent) -> the kernel's 32-bit probability, rounded to nearest as tc does."""
    return round(Fraction(percent) / 100 * U32)


def parse_percent(text: str) -> tuple[int, int | None]:
    """'1%' -> (42949673, None); '25% 50%' -> (probability, correlation)."""
    m = PERCENT_RE.match(text.strip())
    if not m:
        raise ValueError(f"'{text}' is not a percentage")
    corr = m.group(2)
    return probability(m.group(1)), (probability(corr) if corr is not None else None)


def percent_of(value: int) -> float:
    """The kernel's 32-bit probability as a percentage (for people)."""
    return round(value * 100 / U32, 6)


# --- text for people --------------------------------------------------------------------
def rate_text(bytes_per_s: int) -> str:
    bits = bytes_per_s * 8
    for unit, scale in (("gbit", 10**9), ("mbit", 10**6), ("kbit", 10**3)):
        if bits >= scale and bits % (scale // 1000 or 1) == 0:
            return f"{trim(Fraction(bits, scale))}{unit}"
    return f"{bits}bit"


def time_text(us: int) -> str:
    if us and us % 10**6 == 0:
        return f"{us // 10**6}s"
    if us >= 1000:
        return f"{trim(Fraction(us, 1000))}ms"
    return f"{us}us"


def size_text(size: int) -> str:
    return f"{size // 1024}kb" if size and size % 1024 == 0 else f"{size}b"


def trim(value: Fraction) -> str:
    text = f"{float(value):.3f}".rstrip("0").rstrip(".")
    return text


# --- a whole set of values ------------------------------------------------------------
@dataclass(frozen=True)
class Qdisc:
    """The root qdisc that carries a set of shaping values, in the kernel's numbers."""

    kind: str  # "tbf" (a rate alone) or "netem" (anything else)
    rate: int | None = None  # bytes per second
    burst: int | None = None  # bytes (tbf)
    limit: int | None = None  # the queue: bytes (tbf) or packets (netem)
    delay: int | None = None  # µs (netem)
    jitter: int | None = None  # µs (netem)
    loss: int | None = None  # 32-bit probabilities (netem), each with its correlation
    loss_corr: int | None = None
    duplicate: int | None = None
    duplicate_corr: int | None = None
    corrupt: int | None = None
    corrupt_corr: int | None = None
    reorder: int | None = None
    reorder_corr: int | None = None

    def describe(self) -> str:
        """As tc would write it: 'tbf rate 10mbit burst 5000b limit 67500b'."""
        words = [self.kind]
        if self.rate is not None:
            words.append(f"rate {rate_text(self.rate)}")
        if self.burst is not None:
            words.append(f"burst {size_text(self.burst)}")
        if self.limit is not None:
            words.append(f"limit {self.limit}" + ("b" if self.kind == "tbf" else ""))
        for key in ("delay", "jitter"):
            value = getattr(self, key)
            if value is not None:
                words.append(f"{key} {time_text(value)}")
        for key in ("loss", "duplicate", "corrupt", "reorder"):
            value, corr = getattr(self, key), getattr(self, f"{key}_corr")
            if value is not None:
                words.append(f"{key} {percent_of(value):g}%")
                if corr:
                    words.append(f"{percent_of(corr):g}%")
        return " ".join(words)

    def to_json(self) -> dict[str, Any]:
        return {k: v for k, v in asdict(self).items() if v is not None}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Qdisc:
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})


def needs_netem(values: Mapping[str, str | None]) -> list[str]:
    """The keys among values that only netem carries."""
    return [k for k in NETEM_KEYS if values.get(k) is not None]


def default_burst(rate: int, mtu: int = DEFAULT_MTU) -> int:
    """4 ms of traffic, and at least two full frames (a bucket smaller than a frame would
    drop it), but no more than the kernel's bucket holds at this rate (check() refuses a
    rate too slow for even one frame)."""
    return min(max(int(rate * BURST_SECONDS), 2 * (mtu + ETH_HLEN)), max_burst(rate))


def max_burst(rate: int) -> int:
    """The largest tbf bucket, in bytes, the kernel can hold at `rate` bytes per second."""
    return min(MAX_BUCKET_NS * rate // 10**9, U32)
