"""Undo what a lab's journal holds, its record not needed: `down`, `up --recreate`,
`down -l` and `cleanup` all end here. The caller holds the lab's lock."""

from __future__ import annotations

from netlab.engine import Stop, TeardownProgress, TeardownReport, teardown
from netlab.errors import LabStateError
from netlab.lab.faults import FaultInjectingKernel
from netlab.state.store import LabState


def teardown_journal(state: LabState, stop: Stop | None = None,
                     progress: TeardownProgress | None = None) -> TeardownReport:
    """Undo what the journal holds (the lab's record is not needed); the caller holds the
    lab's lock. A record without a journal (an `up` that died before its first op) is just
    removed."""
    if not state.exists():
        state.remove()
        return TeardownReport()
    kernel = FaultInjectingKernel()
    try:
        report = teardown(state, kernel, stop, progress)
        stopped = kernel.inner.stopped
        if stopped.total:
            report.processes, report.processes_said = stopped.total, stopped.words()
    finally:
        kernel.close()
        state.close()
    if report.errors:
        raise LabStateError(
            f"teardown of lab '{state.lab}' was incomplete: " + "; ".join(report.errors),
            hint="run 'netlab down' again, or 'netlab cleanup' to remove what is marked",
        )
    return report
