"""`netlab logs [-l LAB] NODE [SERVICE] [-f]`: what a node's services wrote."""

from __future__ import annotations

import argparse
import sys
import time

from netlab.errors import EXIT_OK, InputError
from netlab.ui.common import long_running, with_lab


def cmd_logs(args: argparse.Namespace) -> int:
    from netlab.api import resolve_lab
    from netlab.kernel.services import log_file
    from netlab.plan.ops import StartService

    lab = resolve_lab(args.lab, None, {})
    lab.namespace(args.node)  # a clear error for a node that does not exist
    services = {
        op.name: op.node_dir for op in lab.plan.ops
        if isinstance(op, StartService) and op.ns == lab.namespace(args.node)
    }
    if not services:
        raise InputError(f"node '{args.node}' has no services")
    if args.service and args.service not in services:
        raise InputError(
            f"node '{args.node}' has no service '{args.service}' "
            f"(services: {', '.join(services)})"
        )
    names = [args.service] if args.service else list(services)
    files = {name: log_file(services[name], name) for name in names}
    for name, path in files.items():
        if len(files) > 1:
            print(f"==> {args.node}/{name} <==")
        sys.stdout.write(path.read_text(errors="replace") if path.exists() else "")
    sys.stdout.flush()
    if not args.follow:
        return EXIT_OK
    long_running()
    offsets = {name: path.stat().st_size if path.exists() else 0 for name, path in files.items()}
    try:
        while True:
            for name, path in files.items():
                if not path.exists():
                    continue
                with open(path, "rb") as f:
                    f.seek(offsets[name])
                    chunk = f.read()
                if chunk:
                    offsets[name] += len(chunk)
                    prefix = f"{name}: " if len(files) > 1 else ""
                    for line in chunk.decode(errors="replace").splitlines():
                        print(f"{prefix}{line}", flush=True)
            time.sleep(0.2)
    except KeyboardInterrupt:
        return EXIT_OK


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("logs", help="show what a node's services wrote")
    with_lab(p, file=False)
    p.add_argument("node", help="the node whose services to show")
    p.add_argument("service", nargs="?", help="one service (default: all of the node's)")
    p.add_argument("-f", "--follow", action="store_true", help="keep printing new lines")
    p.set_defaults(func=cmd_logs)
