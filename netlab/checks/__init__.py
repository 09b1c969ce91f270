"""Checks of a running lab (`checks:` in a topology, `netlab test`, `lab.run_checks()`).

    resolve.py  PURE     checks of a topology -> Probes (addresses, timeouts, names)
    report.py   PURE     results -> JSON ("netlab.checks/1"), JUnit XML, one-line summary
    run.py      EFFECTS  Probes carried out inside the lab's nodes, side by side
"""

from __future__ import annotations

from netlab.checks.report import CheckReport, CheckResult, to_junit
from netlab.checks.resolve import (
    Probe,
    address_of,
    every_pair,
    parse_check,
    probe_of,
    resolve,
)

__all__ = [
    "CheckReport",
    "CheckResult",
    "Probe",
    "address_of",
    "every_pair",
    "parse_check",
    "probe_of",
    "resolve",
    "to_junit",
]
