"""The status document's view of links in force now against the topology: each
interface's shaping (the root qdisc the kernel has, and the one the topology gives it),
its carrier-change counters, and drift where the admin state or the shaping is not what
the topology says (a `netlab link ... down` or `set` shows there until undone).

Used by netlab/lab/status_doc.py, a few lines there; the fields are in docs/status-json.md.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from netlab.values.tc import Qdisc

if TYPE_CHECKING:
    from netlab.kernel.link_state_decode import LinkState

BURST_SLACK = 0.01  # the kernel keeps the bucket as time, in 64 ns ticks: bytes come back near


class StatusLinks:
    """One node's: `planned` is the root qdisc the plan gives each of its interfaces
    (ifname -> Qdisc.to_json(), as the status skeleton has it)."""

    def __init__(self, planned: Mapping[str, Mapping[str, Any]]) -> None:
        self.planned = {ifname: Qdisc.from_json(q) for ifname, q in planned.items()}

    def annotate(self, entry: dict[str, Any], node: str, want: Mapping[str, Any] | None,
                 now: LinkState | None, drift: list[str]) -> None:
        """Add `shaping` and the carrier counters to an interface's entry; note drift."""
        ifname = entry["name"]
        planned = self.planned.get(ifname)
        current = now.qdisc if now is not None else None
        same = matches(planned, current)
        entry["shaping"] = {
            "now": current.to_json() if current else None,
            "planned": planned.to_json() if planned else None,
            "as_planned": same,
            "text": current.describe() if current else None,
        }
        entry["carrier_changes"] = now.carrier_changes if now else 0
        entry["carrier_up_count"] = now.carrier_up_count if now else 0
        entry["carrier_down_count"] = now.carrier_down_count if now else 0
        if want is None or now is None:
            return
        if now.up != want["up"]:
            said = "up" if want["up"] else "down"
            drift.append(f"{node}: {ifname} is administratively {'up' if now.up else 'down'}; "
                         f"the topology has it {said}")
        if not same:
            drift.append(f"{node}: {ifname} is shaped {_words(current)}; "
                         f"the topology says {_words(planned)}")


def matches(planned: Qdisc | None, now: Qdisc | None) -> bool:
    """The kernel's qdisc carries the planned values (the bucket within 1%)."""
    if planned is None or now is None:
        return planned is None and now is None
    if planned.kind != now.kind:
        return False
    for key, value in planned.to_json().items():
        got = getattr(now, key)
        if key == "burst" and value is not None and got is not None:
            if abs(got - value) > max(1, value * BURST_SLACK):
                return False
        elif got != value and not (value == 0 and got is None):
            return False
    return True


def _words(qdisc: Qdisc | None) -> str:
    return f"'{qdisc.describe()}'" if qdisc else "not at all"
