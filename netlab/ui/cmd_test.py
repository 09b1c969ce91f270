"""`netlab test`: run a lab's checks (the `checks:` section) and say which pass.

    netlab test FILE           the checks of FILE; if its lab is not up, bring it up for
                               the run and tear it down after (--keep keeps it up)
    netlab test -l LAB         the checks of a lab that is up (as saved when it came up)
    netlab test FILE --all-hosts [--via TEMPLATE]
                               a lab across hosts: each host runs the checks of its nodes
                               (fanned out through cmd_hosts.py); --host NAME runs one
                               host's share here

A lab that is already up is tested as it is and left up: a student who fixed it by hand
sees whether the fix works, and a CI job gets up, test, down in one command. Exit status:
0 when every check passed, 1 when one failed (or the lab could not be built), 2 for bad
input. --json prints the netlab.checks/1 document; --junit FILE writes JUnit XML.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from netlab.errors import EXIT_KERNEL, EXIT_OK, InputError, LabStateConflict, NetlabError
from netlab.kernel.privileges import require_privileges
from netlab.ui.common import (
    err,
    escape,
    note_built_from,
    out,
    overrides,
    print_json,
    progress,
    with_host,
    with_lab,
)

if TYPE_CHECKING:
    from rich.table import Table
    from rich.text import Text

    from netlab.api import Lab
    from netlab.checks import CheckReport, Probe
    from netlab.lab.fanout import HostResult


def register(sub: Any) -> None:
    p = sub.add_parser(
        "test", help="run the lab's checks (checks: in the topology); exit 0 if all pass",
        description="Run the checks of a topology against its lab. With FILE and the lab "
        "not up, the lab is brought up for the run and torn down after it (--keep keeps it). "
        "A lab across hosts: --all-hosts runs each check on the host of its node, in one "
        "report (docs/multi-host.md).",
    )
    with_lab(p)
    p.add_argument("--name", help="with FILE: the lab's name (default: the file's name:), "
                   "as 'up --name' gives it")
    p.add_argument("--json", action="store_true", help="print the netlab.checks/1 document")
    p.add_argument("--junit", metavar="FILE", help="write the results as JUnit XML to FILE")
    p.add_argument(
        "--timeout", type=float, metavar="S",
        help="seconds a check may take to pass, unless it gives its own (default 10)",
    )
    p.add_argument("--keep", action="store_true",
                   help="leave a lab that this command brought up running afterwards")
    p.add_argument("--pingall", action="store_true",
                   help="ping between every pair of nodes instead of running the lab's "
                   "checks, as Mininet's pingall (past 64 nodes: the first to each other, "
                   "each to the next)")
    with_host(p, all_hosts=True)
    p.set_defaults(func=cmd_test)


def cmd_test(args: argparse.Namespace) -> int:
    from netlab.api import Lab, resolve_lab

    if args.timeout is not None and not 0 < args.timeout <= 3600:
        raise InputError(f"--timeout {args.timeout:g}: give seconds between 0 and 3600")
    if args.name is not None and not args.file:
        raise InputError("--name names the lab of a FILE; a lab that is up is named by -l")
    if args.junit and not Path(args.junit).resolve().parent.is_dir():
        # said before a lab is brought up and its checks run, not after
        raise InputError(f"cannot write {args.junit}: its folder does not exist")
    if args.all_hosts:
        return test_all_hosts(args)
    if args.file:
        lab = Lab.from_file(args.file, overrides(args.set), args.name or args.lab, args.host)
    # Before the lab's state is read (root's alone): exit 2, in words, as for up or exec.
    require_privileges("run checks in a lab's nodes")
    if not args.file:
        lab = resolve_lab(args.lab, None, {})
        if args.host is not None and args.host != lab.host:
            raise InputError(f"lab '{lab.name}' is up here as host {lab.host or '(none)'}'s "
                             f"part, not host {args.host}'s")
    probes = checks_of(lab, args)
    if lab.host is not None:  # a lab across hosts: this host's share of the checks
        probes = probes_of_host(lab, probes, lab.host)
    # A run that brings the lab up takes it down again: two runs of one lab at once
    # must not tear it down under each other (LabState.testing refuses the second).
    with lab.state.testing(brings_up=not lab.is_up(), what="test"):
        report = _up_check_down(lab, probes, args)
    return show_report(report, args)


def checks_of(lab: Lab, args: argparse.Namespace) -> list[Probe]:
    """The lab's checks, ready to run (its file's lines in their messages), or with
    --pingall a ping between every pair of nodes; none: refused."""
    from netlab.api import STDIN
    from netlab.checks import every_pair, resolve

    where = lab.source if args.file == STDIN else args.file or f"lab '{lab.name}'"
    if args.pingall:
        probes = every_pair(lab.topology, args.timeout)
        if not probes:
            raise InputError(f"{where} has no two nodes with an address to ping between",
                             hint="give them addresses, such as "
                             "interfaces: {eth0: {addresses: [10.0.0.1/24]}}")
        return probes
    probes = resolve(lab.topology, lab.loaded.lines if lab.loaded else {}, args.timeout)
    if not probes:
        raise InputError(f"{where} has no checks; add a checks: section, such as "
                         "checks: [{from: h1, to: h2}]",
                         hint="'netlab test --pingall' pings between every pair of nodes")
    return probes


def probes_of_host(lab: Lab, probes: list[Probe], host: str) -> list[Probe]:
    """The checks a host runs: those from the nodes it holds (the only ones it can enter)."""
    from netlab.plan.partition import host_of

    mine = [p for p in probes if host_of(lab.topology, p.node) == host]
    if not mine:
        raise InputError(f"lab '{lab.name}' has no checks from host {host}'s nodes",
                         hint="--all-hosts runs every host's checks")
    return mine


def show_report(report: CheckReport, args: argparse.Namespace,
                doc: dict[str, Any] | None = None) -> int:
    """The report as --junit, --json (`doc`, else the report's) or a table; the exit status."""
    if args.junit:
        from netlab.checks import to_junit

        _write(args.junit, to_junit(report))
    if args.json:
        print_json(doc or report.to_json())
    else:
        out.print(checks_table(report))
        out.print(summary_line(report))
    return EXIT_OK if report.ok else EXIT_KERNEL


def _up_check_down(lab: Lab, probes: list[Probe], args: argparse.Namespace) -> CheckReport:
    """The checks, with the lab brought up for them (and down after) if it is not up."""
    from netlab.checks.report import failed_nodes
    from netlab.checks.run import run_checks

    started = False
    if not lab.is_up():
        if not args.file:
            raise LabStateConflict(f"lab '{lab.name}' is not up",
                                   hint="netlab test FILE brings it up")
        note_built_from(args.file, lab.name, "netlab test")
        began = time.monotonic()
        try:
            with progress(len(lab.plan.ops), f"up {lab.name}", not args.json) as advance:
                lab.up(progress=advance)
        except NetlabError as error:
            if args.junit:  # no check ran: the report says why
                from netlab.checks.report import up_failed_junit

                _write(args.junit, up_failed_junit(lab.name, str(error), error.hint,
                                                   time.monotonic() - began))
            raise
        started = True
        err.print(f"lab [bold]{escape(lab.name)}[/] is up for the checks")
    elif args.file and not _same_lab(lab):
        err.print(
            f"[yellow]warning:[/] lab [bold]{escape(lab.name)}[/] is up with another topology "
            f"than {escape(str(args.file))}; testing it as it is "
            "('netlab up --recreate FILE' rebuilds it)"
        )
    try:
        with _spinner(f"running {len(probes)} checks in lab {lab.name}", not args.json):
            report = run_checks(lab, probes)
        if not report.ok:
            report = replace(report, node_logs=_service_logs(lab, failed_nodes(report)))
    finally:
        if started and not args.keep:
            lab.down()
            err.print(f"lab [bold]{escape(lab.name)}[/] is down again")
        elif started:
            err.print(f"lab [bold]{escape(lab.name)}[/] stays up (--keep); "
                      f"'netlab down -l {escape(lab.name)}' removes it")
    return report


def _service_logs(lab: Lab, nodes: list[str], lines: int = 50) -> dict[str, str]:
    """The last lines of each service log of these nodes (before `down` removes them)."""
    from netlab.kernel.services import read_log

    found: dict[str, str] = {}
    for node in nodes:
        if node not in lab.plan.namespaces:
            continue  # a target given as an address, or a node on another host
        parts = []
        for name, path in lab.service_logs(node).items():
            with contextlib.suppress(OSError):
                tail = read_log(path).decode(errors="replace").splitlines()[-lines:]
                parts.append(f"==> {node}/{name} <==\n" + "\n".join(tail))
        if parts:
            found[node] = "\n".join(parts)
    return found


def _same_lab(lab: Lab) -> bool:
    """Whether the lab that is up was built from this topology (its checks aside)."""
    saved = dict(lab.state.read_meta().get("topology") or {})
    mine = lab.topology.model_dump(mode="json")
    saved.pop("checks", None)
    mine.pop("checks", None)
    return bool(saved == mine)


def _write(path: str, text: str) -> None:
    try:
        Path(path).write_text(text, encoding="utf-8")
    except OSError as e:
        raise InputError(f"cannot write {path}: {e.strerror or e}") from None


@contextmanager
def _spinner(text: str, enabled: bool) -> Iterator[None]:
    """A spinner on stderr while checks run, when stderr is a terminal."""
    if not enabled or not err.is_terminal:
        yield
        return
    with err.status(escape(text)):
        yield


def checks_table(report: CheckReport) -> Table:
    """The results as a table: check, pass/fail, why, time (pure)."""
    from rich.table import Table
    from rich.text import Text

    table = Table(title=f"checks of lab {report.lab}", title_justify="left", show_edge=False)
    table.add_column("#", justify="right", style="dim")
    table.add_column("check")
    table.add_column("result")
    table.add_column("why")
    table.add_column("time", justify="right")
    for n, result in enumerate(report.results, 1):
        verdict = Text("pass", style="bold green") if result.passed else Text(
            "FAIL", style="bold red")
        table.add_row(str(n), Text(result.name), verdict, Text(result.why),
                      f"{result.seconds:.2f} s")
    return table


def summary_line(report: CheckReport) -> Text:
    from rich.text import Text

    total = len(report.results)
    if report.ok:
        what = "the check passed" if total == 1 else f"all {total} checks passed"
        return Text(f"{what} in {report.seconds:.2f} s", style="green")
    return Text(
        f"{len(report.failed)} of {total} checks failed ({report.seconds:.2f} s)", style="red"
    )


def test_all_hosts(args: argparse.Namespace) -> int:
    """The checks of a lab across hosts, each run by the host of its node (the only one
    that can enter it; a target on another host is reached across the VXLAN cables), in
    one report. With FILE, the parts not up are brought up for the run and taken down
    after it (--keep keeps them), as `netlab test` does on one host."""
    from netlab.plan.partition import host_of
    from netlab.ui.cmd_hosts import down_parts, lab_across_hosts, up_parts

    if args.host is not None:
        raise InputError("--host and --all-hosts: give one of them")
    lab = lab_across_hosts(args, args.name)
    probes = checks_of(lab, args)
    where = {p.index: host_of(lab.topology, p.node) or "" for p in probes}
    testers = [h for h in lab.topology.hosts if h in where.values()]
    created = up_parts(lab, args.via, []) if args.file else {}
    brought = [h for h, made in created.items() if made]
    if brought:
        err.print(f"lab [bold]{lab.name}[/] is up for the checks on {', '.join(brought)}")
    try:
        report = _run_checks(lab, args, probes, where, testers)
    finally:
        if brought and not args.keep:
            down_parts(lab, args.via, brought)
        elif brought:
            err.print(f"lab [bold]{lab.name}[/] stays up (--keep); 'netlab down "
                      f"{args.file} --all-hosts' removes it")
    doc = report.to_json()
    for check in doc["checks"]:
        check["host"] = where[check["index"]]
    return show_report(report, args, doc)


def _run_checks(lab: Lab, args: argparse.Namespace, probes: list[Probe],
                where: dict[int, str], testers: list[str]) -> CheckReport:
    """Each host runs its share (`netlab test --host NAME --json`); their results in the
    order of checks:. A host that gives no report fails its checks with its error."""
    from netlab.checks import CheckReport, CheckResult
    from netlab.lab.fanout import REMOTE_NETLAB, run_all
    from netlab.ui.cmd_hosts import host_addresses, topology_text

    timeout = ["--timeout", str(args.timeout)] if args.timeout is not None else []
    timeout += ["--pingall"] if args.pingall else []  # each host makes the same pairs
    if args.file:  # the file's checks, as `netlab test FILE` tests a lab that is up
        def argv(h: str) -> list[str]:
            return [REMOTE_NETLAB, "test", "-", "--name", lab.name, "--host", h, "--json",
                    *timeout]
        stdin: str | None = topology_text(lab)
    else:
        def argv(h: str) -> list[str]:
            return [REMOTE_NETLAB, "test", "-l", lab.name, "--host", h, "--json", *timeout]
        stdin = None
    started = time.monotonic()
    addresses = {h: a for h, a in host_addresses(lab).items() if h in testers}
    results = run_all(addresses, args.via, argv, stdin=stdin, done=_said_checks)
    seconds = time.monotonic() - started
    by_index = {p.index: p for p in probes}
    found: dict[int, CheckResult] = {}
    for host, result in results.items():
        for check in _checks_in(result):
            probe = by_index.get(check["index"])
            if probe is not None and where[probe.index] == host:
                found[probe.index] = CheckResult(
                    probe, bool(check["passed"]), str(check["why"]), float(check["seconds"]),
                    int(check["attempts"]), check.get("output"))
    for probe in probes:
        if probe.index not in found:
            host = where[probe.index]
            found[probe.index] = CheckResult(
                probe, False, f"host {host}: {results[host].error()}", 0.0, 0)
    return CheckReport(lab.name, tuple(found[p.index] for p in probes), seconds)


def _checks_in(result: HostResult) -> list[dict[str, Any]]:
    """The checks of a host's `test --json` (exit 0: all passed, 1: some failed)."""
    if result.code not in (0, 1):
        return []
    try:
        checks = json.loads(result.stdout)["checks"]
    except (ValueError, KeyError, TypeError):
        return []
    return [c for c in checks if isinstance(c, dict)] if isinstance(checks, list) else []


def _said_checks(result: HostResult) -> None:
    checks = _checks_in(result)
    if checks:
        passed = sum(1 for c in checks if c.get("passed"))
        state = f"{passed} of {len(checks)} checks passed"
    else:
        state = f"failed: {result.error()}"
    err.print(f"host {result.host}: {state}", markup=False)
