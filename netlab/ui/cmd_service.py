"""`netlab service [-l LAB] NODE [SERVICE] start|stop|restart|status`."""

from __future__ import annotations

import argparse

from netlab.errors import EXIT_KERNEL, EXIT_OK
from netlab.ui.common import json_doc, out, print_json, with_lab

ACTIONS = ("start", "stop", "restart", "status")


def cmd_service(args: argparse.Namespace) -> int:
    from rich.table import Table  # here, not at import: `netlab exec` loads no rich
    from rich.text import Text

    from netlab.api import resolve_lab

    # `netlab service h1 status`: the one word is the action, not a service's name.
    name, action = args.service, args.action
    if action is None and name in ACTIONS:
        name, action = None, name
    action = action or "status"
    lab = resolve_lab(args.lab, None, {})
    states = lab.service(args.node, name, action)
    if args.json:
        print_json(json_doc("service", {"lab": lab.name, "node": args.node, "action": action,
                                        "services": states}))
    else:
        table = Table(show_edge=False)
        for col in ("service", "state", "pid", "processes", "log"):
            table.add_column(col)
        for state in states:
            table.add_row(state["name"], Text("running", "green") if state["running"]
                          else Text("stopped", "red"), str(state["pid"] or ""),
                          str(state["processes"]), state["log"])
        out.print(table)
    # status: 0 when every service named runs (as `systemctl is-active`), 1 otherwise.
    if action in ("start", "restart", "status") and not all(s["running"] for s in states):
        return EXIT_KERNEL
    return EXIT_OK


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("service", help="start, stop, restart or show a node's services")
    with_lab(p, file=False)
    p.add_argument("node", help="the node whose services to act on")
    p.add_argument("service", nargs="?", help="one service (default: all of the node's)")
    p.add_argument("action", nargs="?", choices=ACTIONS, help="what to do (default: status)")
    p.add_argument("--json", action="store_true", help="the services' states as JSON")
    p.set_defaults(func=cmd_service)
