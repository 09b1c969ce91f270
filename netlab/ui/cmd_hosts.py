"""--all-hosts: up, down and status of a lab across hosts, each host's part run through
--via (docs/multi-host.md)."""

from __future__ import annotations

import argparse
import json
from typing import Any

from netlab.api import Lab, resolve_lab
from netlab.errors import EXIT_OK, InputError, LabStateError
from netlab.lab.fanout import REMOTE_NETLAB, HostResult, run_all
from netlab.ui.common import err, out, overrides, print_json


def _lab(args: argparse.Namespace) -> Lab:
    lab = resolve_lab(getattr(args, "lab", None), args.file, overrides(args.set))
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
    """Every host builds its part at once; if one fails, the others' parts are taken down."""
    lab = Lab.from_file(args.file, overrides(args.set), args.name)
    if not lab.topology.hosts:
        raise InputError(f"lab '{lab.name}' has no 'hosts:'; --all-hosts is for a lab across "
                         "hosts", hint="leave out --all-hosts")
    extra = [*(["--recreate"] if args.recreate else []),
             *(["--keep-on-error"] if args.keep_on_error else [])]
    topology = json.dumps(lab.topology.model_dump(mode="json", exclude_unset=True))
    results = run_all(
        _addresses(lab), args.via,
        lambda h: [REMOTE_NETLAB, "up", "-", "--host", h, "--name", lab.name, *extra],
        stdin=topology, done=_said("up"),
    )
    failed = [r for r in results.values() if r.code != 0]
    if failed:
        built = {h: a for h, a in _addresses(lab).items() if results[h].code == 0}
        if built and not args.keep_on_error:
            err.print(f"taking the lab down on {', '.join(built)}", markup=False)
            run_all(built, args.via, lambda h: [REMOTE_NETLAB, "down", "-l", lab.name],
                    done=_said("down"))
        first = failed[0]
        raise LabStateError(f"host {first.host}: {first.error()}",
                            hint="the other hosts' parts were taken down" if built else None)
    if args.json:
        print_json({"lab": lab.name, "hosts": list(results)})
    else:
        out.print(f"lab [bold]{lab.name}[/] is up on {len(results)} hosts")
    return EXIT_OK


def down_all_hosts(args: argparse.Namespace) -> int:
    lab = _lab(args)
    results = run_all(_addresses(lab), args.via,
                      lambda h: [REMOTE_NETLAB, "down", "-l", lab.name], done=_said("down"))
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
