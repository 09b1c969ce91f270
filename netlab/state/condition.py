"""How far a lab with a journal got, read from its record and its lock. Here, below the
API and the lab services, so that `status`, `ls` and `cleanup` all read it one way."""

from __future__ import annotations

from dataclasses import dataclass

from netlab.errors import LabStateError
from netlab.state.store import LabState, RootOnly


@dataclass(frozen=True)
class Condition:
    """How far a lab with a journal got: "up" (its `up` finished), "building" (a command
    works on it now and it is not finished), "incomplete" (its `up` died, or failed and
    was kept with --keep-on-error: `kept`), or "unreadable" (its record is)."""

    state: str
    note: str = ""
    kept: bool = False


def condition(name: str) -> Condition:
    state = LabState(name)
    try:
        meta = state.read_meta()
    except RootOnly:
        return Condition("unreadable", "only root can read its state; run netlab with sudo")
    except LabStateError:
        return Condition("unreadable", f"its record is unreadable; 'netlab down -l {name}' "
                         "still works from the journal")
    # A record from before "complete" was kept is of a finished up.
    if meta.get("complete", True) is True:
        return Condition("up")
    holder = state.holder()
    if holder is not None:
        pid, _, what = holder.partition(" ")
        return Condition("building", f"netlab {what or 'command'} (pid {pid}) is working on it")
    down = f"'netlab down -l {name}' removes it"
    if meta.get("kept") is True:
        return Condition("incomplete", f"an 'up' that failed, kept with --keep-on-error; {down}",
                         kept=True)
    return Condition("incomplete", f"its 'up' did not finish; {down} (so does "
                     "'netlab cleanup')")
