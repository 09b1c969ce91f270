"""Results of checks and the documents made of them (pure): JSON for graders, JUnit XML
for CI systems, one line for an assertion message.

The JSON document (`netlab test --json`), schema "netlab.checks/1":

    {"schema": "netlab.checks/1", "lab": "hello", "ok": false,
     "total": 3, "passed": 2, "failed": 1, "seconds": 3.02,
     "checks": [{"index": 0, "name": "alice reaches srv (10.0.0.2)", "kind": "ping",
                 "node": "alice", "target": "srv", "address": "10.0.0.2", "port": null,
                 "command": null, "expect": "reachable", "line": 12,
                 "passed": true, "why": "reply in 0.1 ms", "seconds": 0.004,
                 "attempts": 1, "output": null}, ...]}
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from netlab.checks.resolve import Probe

SCHEMA = "netlab.checks/1"
_OUTPUT_LIMIT = 4000  # characters of a command's output kept in a result


@dataclass(frozen=True)
class CheckResult:
    """How one check went. True when it passed, so `assert lab.check(...)` reads well."""

    probe: Probe
    passed: bool
    why: str  # one line: what was seen
    seconds: float
    attempts: int = 1
    output: str | None = None  # a command's last output (run checks)

    @property
    def name(self) -> str:
        return self.probe.name

    def __bool__(self) -> bool:
        return self.passed

    def __repr__(self) -> str:
        verdict = "PASS" if self.passed else "FAIL"
        return f"<{verdict} {self.name!r}: {self.why}>"

    def to_json(self) -> dict[str, Any]:
        p = self.probe
        return {
            "index": p.index,
            "name": p.name,
            "kind": p.kind,
            "node": p.node,
            "target": p.target,
            "address": p.address,
            "port": p.port,
            "command": p.command,
            "expect": p.expect if p.kind != "run" else None,
            "expect_output": p.expect_output,
            "expect_exit": p.expect_exit if p.kind == "run" else None,
            "line": p.line,
            "passed": self.passed,
            "why": self.why,
            "seconds": round(self.seconds, 3),
            "attempts": self.attempts,
            "output": self.output,
        }


@dataclass(frozen=True)
class CheckReport:
    """All checks of one run. True when every check passed."""

    lab: str
    results: tuple[CheckResult, ...]
    seconds: float
    # The end of each service log of the nodes in failed checks, read before the lab went
    # down (JUnit's system-out carries them): node -> text.
    node_logs: dict[str, str] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return all(r.passed for r in self.results)

    @property
    def passed(self) -> list[CheckResult]:
        return [r for r in self.results if r.passed]

    @property
    def failed(self) -> list[CheckResult]:
        return [r for r in self.results if not r.passed]

    def __bool__(self) -> bool:
        return self.ok

    def __iter__(self) -> Iterator[CheckResult]:
        """The results, in the order of the topology's checks (`for r in report`)."""
        return iter(self.results)

    def __len__(self) -> int:
        return len(self.results)

    def __getitem__(self, name: str) -> CheckResult:
        """The result of the check named `name` (KeyError: none has that name)."""
        for result in self.results:
            if result.name == name:
                return result
        raise KeyError(name)

    def summary(self) -> str:
        """One line: how many passed, and each failure with its reason."""
        total = len(self.results)
        if self.ok:
            return "the check passed" if total == 1 else f"all {total} checks passed"
        failures = "; ".join(f"{r.name}: {r.why}" for r in self.failed)
        return f"{len(self.failed)} of {total} checks failed: {failures}"

    def __repr__(self) -> str:
        return f"<CheckReport {self.lab}: {self.summary()}>"

    def to_json(self) -> dict[str, Any]:
        return {
            "schema": SCHEMA,
            "lab": self.lab,
            "ok": self.ok,
            "total": len(self.results),
            "passed": len(self.passed),
            "failed": len(self.failed),
            "seconds": round(self.seconds, 3),
            "checks": [r.to_json() for r in self.results],
        }


def clip_output(text: str) -> str:
    """A command's output as kept in a result: its end, when it is long."""
    if len(text) <= _OUTPUT_LIMIT:
        return text
    return "[...]\n" + text[-_OUTPUT_LIMIT:]


def to_junit(report: CheckReport) -> str:
    """JUnit XML: one testsuite for the lab, one testcase per check, a failure with its
    reason for each that failed (the format Jenkins, GitLab and GitHub actions read)."""
    total, failures = len(report.results), len(report.failed)
    seconds = f"{report.seconds:.3f}"
    root = ET.Element(
        "testsuites", name="netlab", tests=str(total), failures=str(failures), errors="0",
        time=seconds,
    )
    suite = ET.SubElement(
        root, "testsuite", name=f"netlab.{report.lab}", tests=str(total),
        failures=str(failures), errors="0", skipped="0", time=seconds,
    )
    for result in report.results:
        case = ET.SubElement(
            suite, "testcase", classname=f"netlab.{report.lab}", name=_xml_safe(result.name),
            time=f"{result.seconds:.3f}",
        )
        if result.probe.line is not None:
            case.set("line", str(result.probe.line))
        if not result.passed:
            failure = ET.SubElement(
                case, "failure", message=_xml_safe(result.why), type="CheckFailed"
            )
            failure.text = _failure_text(result)
        logs = [report.node_logs[n] for n in _nodes_of(result) if n in report.node_logs]
        if result.output or (logs and not result.passed):
            said = [result.output] if result.output else []
            said += logs if not result.passed else []
            ET.SubElement(case, "system-out").text = _xml_safe("\n".join(said))
    ET.indent(root)
    body = ET.tostring(root, encoding="unicode")
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + body + "\n"


def up_failed_junit(lab: str, message: str, hint: str | None, seconds: float) -> str:
    """JUnit XML for a run whose lab could not be brought up: one case, errored, with
    the error (a CI page shows why no check ran, not an empty or a stale report)."""
    root = ET.Element("testsuites", name="netlab", tests="1", failures="0", errors="1",
                      time=f"{seconds:.3f}")
    suite = ET.SubElement(root, "testsuite", name=f"netlab.{lab}", tests="1", failures="0",
                          errors="1", skipped="0", time=f"{seconds:.3f}")
    case = ET.SubElement(suite, "testcase", classname=f"netlab.{lab}", name="up",
                         time=f"{seconds:.3f}")
    error = ET.SubElement(case, "error", message=_xml_safe(message), type="UpFailed")
    error.text = _xml_safe(message + (f"\nhint: {hint}" if hint else ""))
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, "unicode") + "\n"


def _nodes_of(result: CheckResult) -> list[str]:
    """The nodes a check involves: where it runs, and the node it targets (if one)."""
    target = (result.probe.target or "").partition(":")[0]
    return [result.probe.node] + ([target] if target and target != result.probe.node else [])


def failed_nodes(report: CheckReport) -> list[str]:
    return sorted({n for r in report.failed for n in _nodes_of(r)})


def _failure_text(result: CheckResult) -> str:
    p = result.probe
    lines = [result.why, f"check: {p.name}", f"node: {p.node}"]
    if p.kind == "run":
        lines.append(f"command: {p.command}")
        if p.expect_output is not None:
            lines.append(f"expected output containing: {p.expect_output}")
        lines.append(f"expected exit status: {p.expect_exit}")
    else:
        port = f" port {p.port}" if p.port is not None else ""
        address = p.address or "its address at run time"
        target = p.target if p.target == p.address else f"{p.target} ({address})"
        lines.append(f"target: {target}{port}, expected {p.expect}")
    lines.append(f"after {result.attempts} attempts in {result.seconds:.2f} s")
    return _xml_safe("\n".join(lines))


def _xml_safe(text: str) -> str:
    # XML 1.0 cannot hold most control characters, even escaped; a command may print them.
    return "".join(c if c in "\t\n\r" or ord(c) >= 0x20 else f"\\x{ord(c):02x}" for c in text)
