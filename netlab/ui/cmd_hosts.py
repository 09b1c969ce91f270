"""--all-hosts: up, down and status of a lab across hosts, each host's part run through
--via (docs/multi-host.md)."""

from __future__ import annotations

import argparse
import json
import time
from typing import TYPE_CHECKING, Any

from netlab.api import Lab, resolve_lab
from netlab.errors import EXIT_OK, InputError, LabStateError
from netlab.lab.fanout import REMOTE_NETLAB, HostResult, run_all
from netlab.ui.cmd_test import checks_of, show_report
from netlab.ui.common import err, out, overrides, print_json

if TYPE_CHECKING:
    from netlab.checks import CheckReport, Probe


def _lab(args: argparse.Namespace, name: str | None = None) -> Lab:
    """The lab of FILE (named `name` if given) or of -l: one with hosts."""
    lab = resolve_lab(name or getattr(args, "lab", None), args.file, overrides(args.set))
    if not lab.topology.hosts:
        raise InputError(f"lab '{lab.name}' has no 'hosts:'; --all-hosts is for a lab across "
                         "hosts", hint="leave out --all-hosts")
    return lab


def _addresses(lab: Lab) -> dict[str, str]:
    return {name: host.address for name, host in lab.topology.hosts.items()}


def _said(verb: str) -> Any:
    def done(result: HostResult) -> None:
        state = verb if result.code == 0 else f"failed: {result.error()}"
        err.print(f"host {result.host}: {state}", markup=False)
    return done


def up_all_hosts(args: argparse.Namespace) -> int:
    lab = _lab(args, args.name)
    extra = [*(["--recreate"] if args.recreate else []),
             *(["--keep-on-error"] if args.keep_on_error else [])]
    results = _up_parts(lab, args.via, extra, args.keep_on_error)
    if args.json:
        print_json({"lab": lab.name, "hosts": list(results)})
    else:
        out.print(f"lab [bold]{lab.name}[/] is up on {len(results)} hosts")
    return EXIT_OK


def _topology(lab: Lab) -> str:
    """The resolved topology, as each host's command reads it on its standard input."""
    return json.dumps(lab.topology.model_dump(mode="json", exclude_unset=True))


def _up_parts(lab: Lab, via: str, extra: list[str], keep_on_error: bool = False
              ) -> dict[str, bool]:
    """Every host builds its part at once (host -> whether it built it now: False when it
    was up already); if one fails, the parts built now are taken down again."""
    results = run_all(
        _addresses(lab), via,
        lambda h: [REMOTE_NETLAB, "up", "-", "--host", h, "--name", lab.name, "--json", *extra],
        stdin=_topology(lab), done=_said("up"),
    )
    created = {h: _created(r) for h, r in results.items() if r.code == 0}
    failed = [r for r in results.values() if r.code != 0]
    if failed:
        built = [h for h, made in created.items() if made]
        if built and not keep_on_error:
            err.print(f"taking the lab down on {', '.join(built)}", markup=False)
            _down_parts(lab, via, built)
        first = failed[0]
        raise LabStateError(f"host {first.host}: {first.error()}",
                            hint="the other hosts' parts were taken down" if built else None)
    return created


def _created(result: HostResult) -> bool:
    """Whether `up --json` built the part now (True if it does not say: rather down)."""
    try:
        return bool(json.loads(result.stdout).get("created", True))
    except (ValueError, AttributeError):
        return True


def _down_parts(lab: Lab, via: str, hosts: list[str]) -> dict[str, HostResult]:
    """The lab taken down on these hosts, each from its own record."""
    addresses = {h: a for h, a in _addresses(lab).items() if h in hosts}
    return run_all(addresses, via, lambda h: [REMOTE_NETLAB, "down", "-l", lab.name],
                   done=_said("down"))


def down_all_hosts(args: argparse.Namespace) -> int:
    lab = _lab(args)
    results = _down_parts(lab, args.via, list(lab.topology.hosts))
    failed = [r for r in results.values() if r.code != 0]
    if failed:
        raise LabStateError("; ".join(f"host {r.host}: {r.error()}" for r in failed))
    if args.json:
        print_json({"lab": lab.name, "hosts": list(results)})
    else:
        out.print(f"lab [bold]{lab.name}[/] is down on {len(results)} hosts")
    return EXIT_OK


def status_all_hosts(args: argparse.Namespace) -> int:
    """One status document for the whole lab: each host's nodes (marked with their host),
    drift prefixed with the host it was seen on."""
    lab = _lab(args)
    results = run_all(_addresses(lab), args.via,
                      lambda h: [REMOTE_NETLAB, "status", "-l", lab.name, "--json"])
    doc: dict[str, Any] | None = None
    problems: list[str] = []
    for host, result in results.items():
        try:
            part = json.loads(result.stdout) if result.code == 0 else None
        except ValueError:
            part = None
        if part is None:
            problems.append(f"{host}: {result.error()}")
            continue
        part["drift"] = [f"{host}: {d}" for d in part["drift"]]
        if doc is None:
            doc = {**part, "hosts": {}}
        else:
            doc["nodes"] += part["nodes"]
            doc["drift"] += part["drift"]
            doc["up"] = doc["up"] and part["up"]
        doc["hosts"][host] = {"up": part["up"], "state": part["state"]}
    if doc is None:
        raise LabStateError("no host answered: " + "; ".join(problems))
    for problem in problems:
        doc["hosts"][problem.partition(":")[0]] = {"up": False, "state": "unknown"}
        doc["drift"].append(f"host {problem}")
        doc["up"] = False
    if args.json:
        print_json(doc)
    else:
        from netlab.ui.render import status_view

        out.print(status_view(doc))
    return EXIT_OK


def test_all_hosts(args: argparse.Namespace) -> int:
    """The checks of a lab across hosts, each run by the host of its node (the only one
    that can enter it; a target on another host is reached across the VXLAN cables), in
    one report. With FILE, the parts not up are brought up for the run and taken down
    after it (--keep keeps them), as `netlab test` does on one host."""
    from netlab.plan.partition import host_of

    if args.host is not None:
        raise InputError("--host and --all-hosts: give one of them")
    lab = _lab(args, args.name)
    probes = checks_of(lab, args)
    where = {p.index: host_of(lab.topology, p.node) or "" for p in probes}
    testers = [h for h in lab.topology.hosts if h in where.values()]
    created = _up_parts(lab, args.via, []) if args.file else {}
    brought = [h for h, made in created.items() if made]
    if brought:
        err.print(f"lab [bold]{lab.name}[/] is up for the checks on {', '.join(brought)}")
    try:
        report = _run_checks(lab, args, probes, where, testers)
    finally:
        if brought and not args.keep:
            _down_parts(lab, args.via, brought)
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

    timeout = ["--timeout", str(args.timeout)] if args.timeout is not None else []
    if args.file:  # the file's checks, as `netlab test FILE` tests a lab that is up
        def argv(h: str) -> list[str]:
            return [REMOTE_NETLAB, "test", "-", "--name", lab.name, "--host", h, "--json",
                    *timeout]
        stdin: str | None = _topology(lab)
    else:
        def argv(h: str) -> list[str]:
            return [REMOTE_NETLAB, "test", "-l", lab.name, "--host", h, "--json", *timeout]
        stdin = None
    started = time.monotonic()
    addresses = {h: a for h, a in _addresses(lab).items() if h in testers}
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
