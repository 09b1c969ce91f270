"""What a topology asks of the kernel, checked before anything is made: a lab that needs
netem on a kernel without it is refused as bad input (exit 2), naming the link, the key
and the missing kernel option, not half built and rolled back."""

from __future__ import annotations

from collections.abc import Iterable

from netlab.errors import InputError, Problem, TopologyError
from netlab.plan.shaping import QdiscUse, qdisc_uses
from netlab.spec.loaded import LoadedTopology, line_in
from netlab.spec.model import Topology

_NETEM_KEYS = "delay, jitter, loss, duplicate, corrupt and reorder"


def refuse_unsupported(topology: Topology, loaded: LoadedTopology | None = None,
                       source: str = "") -> None:
    """TopologyError (exit 2) when the topology's shaping needs a qdisc the kernel lacks.
    The kernel is asked only when the topology shapes something, and once per process."""
    uses = qdisc_uses(topology)
    if not uses:
        return
    from netlab.kernel import features

    missing = features.qdiscs().missing()
    lacking = [u for u in uses if u.kind in missing]
    if not lacking:
        return
    filename = loaded.filename if loaded is not None else (source or "topology")
    lines = loaded.lines if loaded is not None else {}
    problems = [Problem(filename, line_in(lines, u.path), u.path, _message(u, missing[u.kind]))
                for u in lacking]
    error = TopologyError(problems=problems)
    error.hint = _hint({u.kind for u in lacking}, missing)
    raise error


def refuse_values(endpoint: str, values: Iterable[str], kind: str) -> None:
    """InputError (exit 2) when `netlab link ... set` asks for a qdisc the kernel lacks."""
    from netlab.kernel import features

    missing = features.qdiscs().missing()
    if kind in missing:
        keys = list(values)
        verb = "needs" if len(keys) == 1 else "need"
        raise InputError(
            f"{endpoint}: {', '.join(keys)} {verb} {kind}, which this kernel lacks "
            f"({missing[kind]})",
            hint=_hint({kind}, missing),
        )


def _message(use: QdiscUse, option: str) -> str:
    keys = ", ".join(use.keys)
    verb = "needs" if len(use.keys) == 1 else "need"
    return f"{use.link}: {keys} {verb} {use.kind}, which this kernel lacks ({option})"


def _hint(kinds: set[str], missing: dict[str, str]) -> str:
    options = " and ".join(missing[k] for k in sorted(kinds))
    modules = " ".join(f"sch_{k}" for k in sorted(kinds))
    hint = f"enable {options} in the kernel (or load its module: modprobe {modules})"
    if kinds == {"netem"}:
        hint += f"; without netem, leave out {_NETEM_KEYS} (a rate alone is shaped by tbf)"
    return hint
