"""--all-hosts: up, down and status of a lab across hosts, each host's part run through
--via (docs/multi-host.md)."""

from __future__ import annotations

import argparse
import json
from typing import Any

from netlab.api import Lab, resolve_lab
from netlab.errors import EXIT_OK, InputError, LabStateError
from netlab.lab.fanout import REMOTE_NETLAB, HostResult, run_all
from netlab.ui.common import err, json_doc, out, overrides, print_json, status_exit


def lab_across_hosts(args: argparse.Namespace, name: str | None = None) -> Lab:
    """The lab of FILE (named `name` if given) or of -l: one with hosts."""
    lab = resolve_lab(name or getattr(args, "lab", None), args.file, overrides(args.set))
    if not lab.topology.hosts:
        raise InputError(f"lab '{lab.name}' has no 'hosts:'; --all-hosts is for a lab across "
                         "hosts", hint="leave out --all-hosts")
    return lab


def host_addresses(lab: Lab) -> dict[str, str]:
    return {name: host.address for name, host in lab.topology.hosts.items()}


def _said(verb: str) -> Any:
    def done(result: HostResult) -> None:
        state = verb if result.code == 0 else f"failed: {result.error()}"
        err.print(f"host {result.host}: {state}", markup=False)
    return done


def up_all_hosts(args: argparse.Namespace) -> int:
    lab = lab_across_hosts(args, args.name)
    extra = [*(["--recreate"] if args.recreate else []),
             *(["--keep-on-error"] if args.keep_on_error else [])]
    results = up_parts(lab, args.via, extra, args.keep_on_error)
    if args.json:
        print_json(json_doc("up-hosts", {"lab": lab.name, "hosts": list(results)}))
    else:
        out.print(f"lab [bold]{lab.name}[/] is up on {len(results)} hosts")
    return EXIT_OK


def topology_text(lab: Lab) -> str:
    """The resolved topology, as each host's command reads it on its standard input."""
    return json.dumps(lab.topology.model_dump(mode="json", exclude_unset=True))


def up_parts(lab: Lab, via: str, extra: list[str], keep_on_error: bool = False
              ) -> dict[str, bool]:
    """Every host builds its part at once (host -> whether it built it now: False when it
    was up already); if one fails, the parts built now are taken down again."""
    results = run_all(
        host_addresses(lab), via,
        lambda h: [REMOTE_NETLAB, "up", "-", "--host", h, "--name", lab.name, "--json", *extra],
        stdin=topology_text(lab), done=_said("up"),
    )
    created = {h: _created(r) for h, r in results.items() if r.code == 0}
    failed = [r for r in results.values() if r.code != 0]
    if failed:
        built = [h for h, made in created.items() if made]
        if built and not keep_on_error:
            err.print(f"taking the lab down on {', '.join(built)}", markup=False)
            down_parts(lab, via, built)
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


def down_parts(lab: Lab, via: str, hosts: list[str]) -> dict[str, HostResult]:
    """The lab taken down on these hosts, each from its own record."""
    addresses = {h: a for h, a in host_addresses(lab).items() if h in hosts}
    return run_all(addresses, via, lambda h: [REMOTE_NETLAB, "down", "-l", lab.name],
                   done=_said("down"))


def down_all_hosts(args: argparse.Namespace) -> int:
    lab = lab_across_hosts(args)
    results = down_parts(lab, args.via, list(lab.topology.hosts))
    failed = [r for r in results.values() if r.code != 0]
    if failed:
        raise LabStateError("; ".join(f"host {r.host}: {r.error()}" for r in failed))
    if args.json:
        print_json(json_doc("down-hosts", {"lab": lab.name, "hosts": list(results)}))
    else:
        out.print(f"lab [bold]{lab.name}[/] is down on {len(results)} hosts")
    return EXIT_OK


def status_all_hosts(args: argparse.Namespace) -> int:
    """One status document for the whole lab: each host's nodes (marked with their host),
    drift prefixed with the host it was seen on."""
    lab = lab_across_hosts(args)
    results = run_all(host_addresses(lab), args.via,
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
    return status_exit(doc, args.check)

