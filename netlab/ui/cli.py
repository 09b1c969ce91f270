"""The command line: parse, call the API, render, map errors to exit codes. Nothing else."""

from __future__ import annotations

import argparse
import contextlib
import gc
import importlib
import os
import signal
import sys
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from netlab import __version__
from netlab.errors import (
    EXIT_DRIFTED,
    EXIT_INPUT,
    EXIT_INTERRUPTED,
    EXIT_KERNEL,
    EXIT_OK,
    EXIT_SIGPIPE,
    InputError,
    LabStateConflict,
    LabStateError,
    NetlabError,
    PrivilegeError,
    TopologyError,
    Unsupported,
)
from netlab.ui.common import (
    JSON_HELP,
    err,
    escape,
    json_doc,
    lab_or_file,
    no_room,
    note_built_from,
    out,
    overrides,
    print_json,
    progress,
    status_exit,
    with_file,
    with_host,
    with_lab,
)
from netlab.values.words import count

if TYPE_CHECKING:
    from typing import TypeAlias

    from netlab.engine import TeardownReport

    Subparsers: TypeAlias = argparse._SubParsersAction[argparse.ArgumentParser]

# Commands beyond the core live in modules of their own, each with register(subparsers)
# adding that one command: command -> module, in the order `netlab --help` lists them.
COMMAND_MODULES: dict[str, str] = {
    "graph": "netlab.ui.cmd_graph",
    "test": "netlab.ui.cmd_test",
    "ping": "netlab.ui.cmd_ping",
    "capture": "netlab.ui.cmd_capture",
    "logs": "netlab.ui.cmd_logs",
    "service": "netlab.ui.cmd_service",
    "save": "netlab.ui.cmd_save",
    "link": "netlab.ui.cmd_link",
    "web": "netlab.ui.cmd_web",
    "import": "netlab.ui.cmd_import",
    "completion": "netlab.ui.completion",
}

# --- commands ---------------------------------------------------------------------------


def cmd_validate(args: argparse.Namespace) -> int:
    from netlab.api import STDIN, Lab

    topo = Lab.from_file(args.file, overrides(args.set)).topology  # "-": from stdin, as up
    shown = "<stdin>" if args.file == STDIN else str(args.file)
    if args.json:  # a problem is the netlab.error/1 document, as for every --json
        print_json(json_doc("validate", {"file": shown, "ok": True, "lab": topo.name,
                                     "nodes": len(topo.nodes), "links": len(topo.links)}))
        return EXIT_OK
    out.print(
        f"{shown}: ok: lab '{topo.name}', {count(topo.nodes, 'node')}, "
        f"{count(topo.links, 'link')}"
    )
    return EXIT_OK


def cmd_plan(args: argparse.Namespace) -> int:
    from netlab.api import Lab
    from netlab.ui.render import plan_table, teardown_table

    lab = Lab.from_file(args.file, overrides(args.set), args.name, args.host)
    if len(lab.topology.hosts) > 1 and args.host is None:
        return _plan_across_hosts(lab, args.json)
    plan = lab.plan
    if args.json:
        doc = json_doc("plan", {"lab": lab.name, "ops": [op.to_json() for op in plan.ops]})
        if args.host is not None:
            doc["host"] = args.host
        if args.down:
            doc["teardown"] = [
                {**op.to_json(), "carried_out": c} for op, c in plan.teardown()
            ]
        print_json(doc)
        return EXIT_OK
    on = f" on host {args.host}" if args.host else ""
    if args.down:
        out.print(teardown_table(plan.teardown(), f"teardown of lab {lab.name}{on}", lab.name))
    else:
        out.print(plan_table(plan.ops, f"plan for lab {lab.name}{on} ({len(plan.ops)} ops)",
                             lab.name))
    return EXIT_OK


def _plan_across_hosts(lab: Any, as_json: bool) -> int:
    """`plan` of a lab across hosts: each host's share, and the cables between hosts."""
    from netlab.plan.partition import host_of
    from netlab.plan.planner import plan
    from netlab.state.store import state_root
    from netlab.ui.render import cross_table

    topo = lab.topology
    parts = {h: plan(topo, lab.name, str(state_root()), h) for h in topo.hosts}
    cross = next(iter(parts.values())).cross
    if as_json:
        print_json(json_doc("plan-hosts", {
            "lab": lab.name,
            "hosts": {h: {"address": topo.hosts[h].address,
                          "nodes": [n for n in topo.nodes if host_of(topo, n) == h],
                          "ops": len(p.ops)} for h, p in parts.items()},
            "cross_links": [{"a": f"{c.a[0]}:{c.a[1]}", "host_a": c.host_a,
                             "b": f"{c.b[0]}:{c.b[1]}", "host_b": c.host_b, "vni": c.vni}
                            for c in cross],
        }))
        return EXIT_OK
    for h, p in parts.items():
        nodes = [n for n in topo.nodes if host_of(topo, n) == h]
        out.print(f"host {h} ({topo.hosts[h].address}): {count(nodes, 'node')}, "
                  f"{len(p.ops)} ops ('netlab plan --host {h}' lists them)")
    rows = [[f"{c.a[0]}:{c.a[1]}", c.host_a, f"{c.b[0]}:{c.b[1]}", c.host_b, str(c.vni)]
            for c in cross]
    out.print(cross_table(rows, f"cables between hosts of lab {lab.name} (VXLAN, UDP 4789)"))
    return EXIT_OK


def cmd_up(args: argparse.Namespace) -> int:
    from netlab.api import Lab, checked_lab

    if args.all_hosts:
        from netlab.ui.cmd_hosts import up_all_hosts

        if args.restore:
            raise InputError("--restore builds the lab on this host only, not --all-hosts")
        return up_all_hosts(args)
    if args.restore:
        lab = Lab.from_file(args.file, overrides(args.set), args.name, args.host)
        lab, notes = lab.with_saved_files(args.restore)
        for note in notes:
            err.print(f"warning: {escape(note)}")
    else:
        # The plan cache is root's alone (docs/security.md); `up` needs root anyway.
        cache = not args.no_cache and os.environ.get("NETLAB_PLAN_CACHE", "") != "off" \
            and os.geteuid() == 0
        lab = checked_lab(args.file, overrides(args.set), args.name, args.host, cache)
    checked = lab.checked
    with progress(len(checked.ops), f"up {lab.name}", not args.json) as advance:
        result = lab.up(args.keep_on_error, args.recreate, advance)
    if args.json:
        print_json(json_doc("up", {"lab": result.lab, "created": result.created,
                               "ops": result.ops, "seconds": round(result.seconds, 3),
                               "replaced": result.replaced or None}))
    elif result.created:
        if result.replaced:
            from netlab.api import REPLACED

            err.print(f"note: {REPLACED[result.replaced]}")
        on = f" on host {lab.host}" if lab.host else ""
        out.print(
            f"lab [bold]{lab.name}[/] is up{on}: {count(checked.namespaces, 'node')}, "
            f"{count(checked.links, 'link')}, "
            f"{result.ops} operations in {result.seconds:.2f} s"
        )
    else:
        out.print(f"lab [bold]{lab.name}[/] is already up and unchanged; nothing to do")
    if not result.created:
        for node, service in lab.dead_services():
            err.print(f"warning: service {service} of node {node} is not running; "
                      f"'netlab up --recreate {lab._up_args()}' starts the lab anew")
    return EXIT_OK


def cmd_down(args: argparse.Namespace) -> int:
    from netlab.api import down_lab

    if args.all_hosts:
        from netlab.ui.cmd_hosts import down_all_hosts

        return down_all_hosts(args)

    from netlab.state.store import labs_with_state

    if not args.lab and not args.file and not labs_with_state():
        # `down` twice, or in a script's cleanup: nothing is up, so nothing is left to do
        # (as `down -l LAB` of a lab not up).
        if args.json:
            print_json(json_doc("down", {"lab": None, "was_up": False, "undone": 0,
                                         "with_namespace": 0, "processes": 0}))
        else:
            out.print("no lab is up; nothing to do")
        return EXIT_OK
    if args.lab and not args.file:
        # From the journal alone: a crash may have left the lab's record unreadable.
        # Already gone is fine: down is idempotent, and scripts rely on exit 0.
        with progress(0, f"down {args.lab}", not args.json) as advance:
            was_up, report = down_lab(args.lab, advance)
        return _down_result(args, args.lab, was_up, report)
    lab = _resolve_by_file(args, "down")
    was_up = lab.is_up()
    with progress(0, f"down {lab.name}", not args.json) as advance:
        report = lab.down(advance)
    return _down_result(args, lab.name, was_up, report)


def _down_result(args: argparse.Namespace, lab: str, was_up: bool,
                 report: TeardownReport) -> int:
    if args.json:
        print_json(json_doc("down", {"lab": lab, "was_up": was_up, "undone": report.sent,
                                 "with_namespace": report.implicit,
                                 "processes": report.processes}))
    elif was_up:
        stopped = f"; {report.processes_said}" if report.processes else ""
        out.print(f"lab [bold]{lab}[/] is down ({report.sent} operations undone{stopped})")
    else:
        out.print(f"lab [bold]{lab}[/] is not up; nothing to do")
        note_built_from(args.file, lab, "netlab down")  # the file's lab under another name
    return EXIT_OK


def _resolve_by_file(args: argparse.Namespace, verb: str) -> Any:
    """The lab of -l, FILE or the only one up. A FILE that no longer loads (edited or
    removed since `up`) still names the lab built from it: the hint says how to reach it."""
    from netlab.api import resolve_lab

    try:
        return resolve_lab(args.lab, args.file, overrides(args.set))
    except InputError as error:
        if isinstance(args.file, str) and error.hint is None:
            from netlab.lab.record import built_from

            labs = built_from(args.file)
            if labs:
                error.hint = "; ".join(f"lab {n} is up, built from {args.file}: 'netlab {verb} "
                                       f"-l {n}' needs no file" for n in labs)
        raise


def cmd_status(args: argparse.Namespace) -> int:
    from netlab.api import condition, require_privileges, up_labs

    if args.all_hosts:
        from netlab.ui.cmd_hosts import status_all_hosts

        return status_all_hosts(args)
    require_privileges("read a lab's namespaces")  # reading a lab back means entering them
    if not args.lab and not args.file and not args.check and len(up_labs()) > 1:
        return cmd_ls(args)  # --check: which lab? (one is named, or the only one up)
    from netlab.lab.status_skeleton import recorded_lab

    # The record's skeleton, if it has one: no model to load, no plan to make (startup.py).
    lab = (None if args.file else recorded_lab(args.lab)) or _resolve_by_file(args, "status")
    if not lab.is_up():
        note_built_from(args.file, lab.name, "netlab status")
        raise LabStateConflict(f"lab '{lab.name}' is not up",
                               hint=f"netlab up {args.file or 'FILE'}")
    now = condition(lab.name)
    if now.state != "up":
        # What is there is shown, and what is not shows as missing; but first, why.
        err.print(f"[yellow]warning:[/] lab {lab.name} is {now.state}: {now.note}")
    with progress(len(lab.topology.nodes), f"status {lab.name}", not args.json) as advance:
        doc = lab.status(advance)
    if args.json:
        print_json(doc)
    else:
        from netlab.ui.render import status_view

        out.print(status_view(doc))
    return status_exit(doc, args.check)


def cmd_ls(args: argparse.Namespace) -> int:
    # Below the API: the records as plain data, no model, engine or kernel (startup.py).
    from netlab.lab import record
    from netlab.state.condition import condition
    from netlab.state.store import labs_with_state as up_labs

    labs: list[dict[str, Any]] = []
    notes: list[str] = []
    for name in up_labs():
        now = condition(name)
        try:
            lab = record.read(name)
            labs.append({"lab": name, "nodes": len(lab.nodes), "file": lab.file})
        except NetlabError:
            labs.append({"lab": name, "nodes": 0, "file": "(state unreadable)"})
        labs[-1]["state"] = now.state
        if now.state != "up":
            labs[-1]["note"] = now.note
            notes.append(f"{name}: {now.state}: {now.note}")
    if getattr(args, "json", False):
        print_json(json_doc("ls", {"labs": labs}))
    elif not labs:
        out.print("no lab is up")
    else:
        from netlab.ui.render import labs_table

        out.print(labs_table(labs))
        for note in notes:
            out.print(escape(note))
    return EXIT_OK


def cmd_exec(args: argparse.Namespace) -> int:
    # The lab's record as plain data, not the model: `exec` is the command a class runs
    # most, and it needs only the node's namespace, folder and env (bench/startup.py).
    from netlab.kernel.privileges import require_privileges
    from netlab.lab import record

    require_privileges("enter a lab's namespaces")

    command = list(args.command)
    several = args.all or args.nodes is not None
    if several and args.node is not None:
        command = [args.node, *command]  # no NODE with --all/--nodes: a word of the command
    if command and command[0] == "--":
        command = command[1:]
    if not command:
        raise InputError("no command given: netlab exec NODE -- COMMAND... (or --all / "
                         "--nodes a,b -- COMMAND...)")
    if several:
        from netlab.api import resolve_lab
        from netlab.ui.exec_many import exec_on_nodes

        lab = resolve_lab(args.lab, None, {})
        nodes = list(lab.topology.nodes) if args.all else [
            n.strip() for n in args.nodes.split(",") if n.strip()]
        return exec_on_nodes(lab, nodes, command)
    if args.node is None:
        raise InputError("which node? netlab exec NODE -- COMMAND... (or --all / --nodes a,b)")
    rec = record.resolve(args.lab)
    argv, env = rec.node_command(args.node, command)
    record.require_program(command[0], env.get("PATH", ""), rec.private_paths(args.node))
    sys.stdout.flush()
    _become(argv, env)
    return EXIT_KERNEL  # not reached


def cmd_shell(args: argparse.Namespace) -> int:
    from netlab.api import require_privileges, resolve_lab

    require_privileges("enter a lab's namespaces")

    lab = resolve_lab(args.lab, None, {})
    sys.stdout.flush()
    _become(*lab.shell_command(args.node))  # the shell owns the terminal and the signals
    return EXIT_KERNEL


def _become(argv: list[str], env: dict[str, str]) -> None:
    """Become the program inside the node (for `netlab exec` and `netlab shell`), so
    signals, the terminal and the exit code all belong to it."""
    try:
        os.execve(argv[0], argv, env)
    except FileNotFoundError:
        raise Unsupported(f"'{argv[0]}' is not installed", hint="apt-get install util-linux"
                         ) from None


def cmd_cleanup(args: argparse.Namespace) -> int:
    from netlab.api import require_privileges
    from netlab.lab.cleanup import remove, survey
    from netlab.state.store import LabState

    if args.lab is not None:
        LabState(args.lab)  # a name that is no lab's is bad input, not "nothing found"
    require_privileges("find and remove what crashed runs left behind")
    found = survey(args.lab)
    if args.json:
        print_json(json_doc("cleanup", {
            "dry_run": args.dry_run,
            "leftovers": [vars(lo) for lo in found.leftovers],
            "left_alone": [vars(lo) for lo in found.ignored],
        }))
    else:
        for lo in found.ignored:
            out.print(f"left alone: {lo.kind} {lo.name} ({lo.why})")
        verb = "would remove" if args.dry_run else "removing"
        for lo in found.leftovers:
            out.print(f"{verb} {lo.kind} {lo.name} ({lo.why})")
        if not found.leftovers:
            out.print("nothing to clean up")
    if args.dry_run or not found.leftovers:
        return EXIT_OK
    problems = remove(found.leftovers)
    if problems:
        raise LabStateError("could not remove: " + "; ".join(problems))
    return EXIT_OK


def cmd_schema(args: argparse.Namespace) -> int:
    from netlab.spec import json_schema

    print_json(json_schema())
    return EXIT_OK


# --- parser -----------------------------------------------------------------------------


def _add_validate(sub: Subparsers) -> None:
    p = sub.add_parser("validate", help="check a topology file")
    with_file(p)
    p.add_argument("--json", action="store_true",
                   help="print JSON (for scripts): the lab's size, or the netlab.error/1 "
                   "document with every problem")
    p.set_defaults(func=cmd_validate)


def _add_plan(sub: Subparsers) -> None:
    p = sub.add_parser("plan", help="print the operations 'up' would do, touching nothing")
    with_file(p)
    p.add_argument("--down", action="store_true", help="print the teardown order instead")
    p.add_argument("--name", help="lab name (default: the file's name:)")
    with_host(p)
    p.add_argument("--json", action="store_true", help=JSON_HELP)
    p.set_defaults(func=cmd_plan)


def _add_up(sub: Subparsers) -> None:
    p = sub.add_parser("up", help="build the lab (FILE - reads the topology from stdin)")
    with_file(p)
    p.add_argument("--name", help="lab name (default: the file's name:)")
    with_host(p, all_hosts=True)
    p.add_argument("--keep-on-error", action="store_true",
                   help="keep a half-built lab for debugging instead of rolling back")
    p.add_argument("--recreate", action="store_true",
                   help="if the lab is up with another topology, tear it down first")
    p.add_argument("--restore", metavar="HANDIN",
                   help="with the node files of a folder 'netlab save' wrote (their files: "
                   "and FRR configs only; what runs is FILE's)")
    p.add_argument("--no-cache", action="store_true",
                   help="load, check and plan FILE anew, not from the plan an earlier 'up' of "
                   "the same file kept (NETLAB_PLAN_CACHE=off does too)")
    p.add_argument("--json", action="store_true", help=JSON_HELP)
    p.set_defaults(func=cmd_up)


def _add_status(sub: Subparsers) -> None:
    p = sub.add_parser("status", help="show a lab as the kernel has it")
    with_lab(p, printable=False)
    with_host(p, all_hosts=True, one=False)
    p.add_argument("--check", action="store_true",
                   help=f"exit {EXIT_DRIFTED} when the lab differs from its topology (the drift: "
                   "a node, interface, address or service missing or changed), 0 when not")
    p.add_argument("--json", action="store_true", help="the netlab.status/1 document")
    p.set_defaults(func=cmd_status)


def _add_down(sub: Subparsers) -> None:
    p = sub.add_parser("down", help="tear a lab down in exact reverse order")
    with_lab(p, printable=False)
    with_host(p, all_hosts=True, one=False)
    p.add_argument("--json", action="store_true", help=JSON_HELP)
    p.set_defaults(func=cmd_down)


def _add_ls(sub: Subparsers) -> None:
    p = sub.add_parser("ls", help="list the labs that are up")
    p.add_argument("--json", action="store_true", help=JSON_HELP)
    p.set_defaults(func=cmd_ls)


def _add_exec(sub: Subparsers) -> None:
    p = sub.add_parser("exec", help="run a command in a node: netlab exec NODE -- CMD...")
    with_lab(p, file=False)
    which = p.add_mutually_exclusive_group()
    which.add_argument("--all", action="store_true",
                       help="run it in every node, side by side; each line of output begins "
                       "with its node's name; the exit status is the worst")
    which.add_argument("--nodes", metavar="A,B", help="run it in these nodes (as --all)")
    p.add_argument("node", metavar="NODE", nargs="?",
                   help="the node to run it in (none with --all or --nodes)")
    p.add_argument("command", metavar="-- CMD...", nargs=argparse.REMAINDER,
                   help="the command and its arguments, after '--'; its exit status is "
                   "netlab's")
    p.set_defaults(func=cmd_exec)


def _add_shell(sub: Subparsers) -> None:
    p = sub.add_parser("shell", help="open an interactive shell in a node")
    with_lab(p, file=False)
    p.add_argument("node", help="the node to open the shell in")
    p.set_defaults(func=cmd_shell)


def _add_cleanup(sub: Subparsers) -> None:
    p = sub.add_parser(
        "cleanup", help="remove what crashed runs left behind (only what carries netlab's mark)"
    )
    p.add_argument("-l", "--lab", help="only leftovers of this lab")
    p.add_argument("--dry-run", action="store_true", help="list them, remove nothing")
    p.add_argument("--json", action="store_true", help=JSON_HELP)
    p.set_defaults(func=cmd_cleanup)


def _add_schema(sub: Subparsers) -> None:
    p = sub.add_parser("schema", help="print the JSON Schema of the topology format")
    p.set_defaults(func=cmd_schema)


# The commands of this module, in the order `netlab --help` lists them.
CORE_COMMANDS: dict[str, Callable[[Subparsers], None]] = {
    "validate": _add_validate,
    "plan": _add_plan,
    "up": _add_up,
    "status": _add_status,
    "down": _add_down,
    "ls": _add_ls,
    "exec": _add_exec,
    "shell": _add_shell,
    "cleanup": _add_cleanup,
    "schema": _add_schema,
}


class _CommandsFormatter(argparse.HelpFormatter):
    """argparse measures the command names at the indent of COMMAND but shows them one
    step deeper, so the longest (`completion`) got its summary on a line of its own."""

    def add_argument(self, action: argparse.Action) -> None:
        super().add_argument(action)
        if isinstance(action, argparse._SubParsersAction):
            self._action_max_length += self._indent_increment


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The parser of every command, or of `command` alone when it names one: what a run
    needs, since it parses a line that begins with that command the same way (and the
    other commands' modules and parsers cost ~9 ms at every run). `--help`, completion and
    docs/cli.md take every command (tests/unit/ui/test_cli_lazy.py)."""
    parser = argparse.ArgumentParser(
        prog="netlab",
        description="Build a network lab of Linux namespaces from a YAML topology.",
        formatter_class=_CommandsFormatter,
    )
    parser.add_argument("--version", action="version", version=f"netlab {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    if command in CORE_COMMANDS:
        CORE_COMMANDS[command](sub)
    elif command in COMMAND_MODULES:
        importlib.import_module(COMMAND_MODULES[command]).register(sub)
    else:
        for add in CORE_COMMANDS.values():
            add(sub)
        for module in COMMAND_MODULES.values():
            importlib.import_module(module).register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command. As the program (argv None) the cyclic garbage collector is off: a
    command lives a second or two and frees its objects by reference counting, and the
    collector's passes over tens of thousands of objects were 0.5 s of `plan` of a
    1000-node lab, and as much again at exit (its objects are frozen for that).
    Open-ended commands (logs -f, capture) turn it back on (common.long_running)."""
    collecting = gc.isenabled()
    gc.disable()
    try:
        return _main(argv)
    except KeyboardInterrupt:  # before the command began (parsing, imports): nothing done
        err.print("[bold red]error:[/] interrupted")
        err.print("[dim]hint:[/] nothing was done")
        return EXIT_INTERRUPTED
    finally:
        if argv is None:
            # The command is over, and said so: a Ctrl-C now would only turn a finished
            # command's exit into a death by signal.
            signal.signal(signal.SIGINT, signal.SIG_IGN)
            gc.freeze()  # the process ends now: shutdown skips a pass over every object
        elif collecting:
            gc.enable()  # called in-process (tests, scripts): leave the caller's collector on


def _main(argv: Sequence[str] | None) -> int:
    words = sys.argv[1:] if argv is None else list(argv)
    if words[:1] == ["_complete"]:  # at every Tab: before building the parser
        from netlab.ui.completion import complete

        return complete(words[1:], build_parser)
    parser = build_parser(words[0] if words else None)
    if not words:  # `netlab` alone: what it can do, as usage (exit 2, as any usage error)
        parser.print_help(sys.stderr)
        return EXIT_INPUT
    try:
        args, extra = parser.parse_known_args(argv)
        if extra:  # said by the command's own parser, so its usage is the one shown
            _command_parser(parser, args.command).error(
                f"unrecognized arguments: {' '.join(extra)}")
    except SystemExit as exit_:
        return EXIT_INPUT if exit_.code not in (0, None) else EXIT_OK
    try:
        lab_or_file(args)
        if getattr(args, "print_topo", False):
            out.file.write(args.file.text())
            return EXIT_OK
        code: int = args.func(args)
        return code
    except NetlabError as error:
        report(error)
        if getattr(args, "json", False):
            print_json(error_document(error))
        return error.exit_code
    except KeyboardInterrupt:
        # Said as `up` says it when it stops on a signal (engine.Interrupted).
        err.print("[bold red]error:[/] interrupted")
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        # The reader went away (`netlab plan --json | head`): what it wanted it has. Exit
        # as a program killed by SIGPIPE would, without a word, and without Python
        # complaining again when it flushes stdout at exit.
        with contextlib.suppress(OSError):
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_SIGPIPE
    except PermissionError as error:
        # A privilege that a command missed checking up front: still one line, not a bug.
        what = f"{error.strerror or error}" + (f": {error.filename}" if error.filename else "")
        denied = PrivilegeError(f"permission denied ({what})",
                                hint="netlab needs root: run it with sudo, or grant "
                                "CAP_NET_ADMIN and CAP_SYS_ADMIN")
        report(denied)
        if getattr(args, "json", False):
            print_json(error_document(denied))
        return EXIT_INPUT
    except OSError as error:
        full = no_room(error)
        if full is None:
            return _bug(error)
        report(full)
        return full.exit_code
    except Exception as error:  # the last line of defence: no tracebacks
        return _bug(error)


def _bug(error: Exception) -> int:
    """The one line for what netlab did not expect (the traceback with NETLAB_DEBUG=1)."""
    if isinstance(error.__cause__, KeyboardInterrupt):
        # A Ctrl-C while a class was being made (pydantic's, as a command imports the
        # model): Python 3.11 wraps it in a RuntimeError.
        err.print("[bold red]error:[/] interrupted")
        return EXIT_INTERRUPTED
    if os.environ.get("NETLAB_DEBUG"):
        raise error
    err.print(f"[bold red]internal error:[/] {type(error).__name__}: {error}")
    err.print("hint: this is a bug in netlab; NETLAB_DEBUG=1 shows the traceback")
    return EXIT_KERNEL


def _command_parser(parser: argparse.ArgumentParser, command: str) -> argparse.ArgumentParser:
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    found: argparse.ArgumentParser = sub.choices[command]
    return found


def error_document(error: NetlabError) -> dict[str, Any]:
    """An error as JSON, for --json: what `report` says, as data (schema netlab.error/1)."""
    problems = error.problems if isinstance(error, TopologyError) else []
    return json_doc("error", {
        "error": error.message if not problems else str(problems[0]),
        "hint": error.hint,
        "exit_code": error.exit_code,
        "kind": type(error).__name__,
        "problems": [{"file": p.file, "line": p.line, "path": p.path, "message": p.message}
                     for p in problems],
    })


def report(error: NetlabError) -> None:
    from rich.markup import escape

    if isinstance(error, TopologyError):
        # Each problem already reads "file:line: path: what is wrong".
        for problem in error.problems:
            err.print(escape(str(problem)))
    else:
        for line in str(error).splitlines():
            err.print(f"[bold red]error:[/] {escape(line)}")
    if error.hint:
        err.print(f"[dim]hint:[/] {escape(error.hint)}")


if __name__ == "__main__":
    sys.exit(main())
