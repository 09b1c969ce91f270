"""`netlab logs [-l LAB] NODE [SERVICE] [-f]`: what a node's services wrote."""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
import time
from pathlib import Path
from typing import BinaryIO

from netlab.errors import EXIT_OK, InputError
from netlab.ui.common import err, long_running, with_lab


def cmd_logs(args: argparse.Namespace) -> int:
    from netlab.api import resolve_lab

    lab = resolve_lab(args.lab, None, {})
    services = lab.service_logs(args.node)
    if not services:
        raise InputError(f"node '{args.node}' has no services")
    if args.service and args.service not in services:
        raise InputError(
            f"node '{args.node}' has no service '{args.service}' "
            f"(services: {', '.join(services)})"
        )
    names = [args.service] if args.service else list(services)
    files = {name: services[name] for name in names}
    offsets: dict[str, int] = {}  # what was printed of each: following goes on from there
    for name, path in files.items():
        if len(files) > 1:
            print(f"==> {args.node}/{name} <==")
        data = path.read_bytes() if path.exists() else b""
        offsets[name] = len(data)
        sys.stdout.write(data.decode(errors="replace"))
    sys.stdout.flush()
    if not args.follow:
        return EXIT_OK
    long_running()
    return _follow(args.node, lab.name, lab.namespace(args.node), files, offsets)


def _follow(node: str, lab: str, ns: str, files: dict[str, Path],
            offsets: dict[str, int]) -> int:
    """Print what the logs gain, until the node's namespace is gone (the lab was taken
    down) or every log file it had was deleted (exit 0): what was written before that is
    printed first (a deleted file read through its open descriptor). Ctrl-C is left to
    cli.main: `error: interrupted`, exit 130, as for every command."""
    from netlab.kernel import nsfs

    handles: dict[str, BinaryIO] = {}
    try:
        while True:
            gone = _why_gone(node, lab, ns, handles, nsfs.exists(ns))
            for name, path in files.items():
                if name not in handles and path.exists():
                    with contextlib.suppress(OSError):
                        handles[name] = open(path, "rb")  # noqa: SIM115  # closed below
                        handles[name].seek(offsets[name])
                if name in handles:
                    _print_new(handles[name], f"{name}: " if len(files) > 1 else "")
            if gone:
                err.print(gone)
                return EXIT_OK
            time.sleep(0.2)
    finally:
        for handle in handles.values():
            handle.close()


def _why_gone(node: str, lab: str, ns: str, handles: dict[str, BinaryIO],
              ns_exists: bool) -> str | None:
    if not ns_exists:
        return f"node '{node}' of lab '{lab}' is gone (the lab was taken down); stopped following"
    if handles and all(os.fstat(h.fileno()).st_nlink == 0 for h in handles.values()):
        return f"the logs of node '{node}' were deleted; stopped following"
    return None


def _print_new(handle: BinaryIO, prefix: str) -> None:
    chunk = handle.read()
    for line in chunk.decode(errors="replace").splitlines():
        print(f"{prefix}{line}", flush=True)


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("logs", help="show what a node's services wrote")
    with_lab(p, file=False)
    p.add_argument("node", help="the node whose services to show")
    p.add_argument("service", nargs="?", help="one service (default: all of the node's)")
    p.add_argument("-f", "--follow", action="store_true", help="keep printing new lines")
    p.set_defaults(func=cmd_logs)
