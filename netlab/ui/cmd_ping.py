"""`netlab ping [-l LAB] A B [-c N]`: ICMP echo from inside node A, for a person.

B is a node (its first address, or its first IPv4/IPv6 one with -4/-6), node:interface,
or an address. Probing is netlab's own (a raw socket inside A's namespace), so the nodes
need no ping binary. A router that drops a request because its time to live ran out
(ICMP time exceeded) is named. Exit status 0 when any reply came, 1 when none did.
"""

from __future__ import annotations

import argparse
import time
from typing import Any

from netlab.errors import EXIT_KERNEL, EXIT_OK, InputError
from netlab.kernel.privileges import require_privileges
from netlab.ui.common import escape, out, with_lab


def register(sub: Any) -> None:
    p = sub.add_parser("ping", help="ping from inside a node: netlab ping A B")
    with_lab(p, file=False)
    p.add_argument("source", metavar="A", help="the node to ping from")
    p.add_argument("target", metavar="B", help="a node, node:interface, or an address")
    p.add_argument("-c", "--count", type=int, default=4, metavar="N",
                   help="echo requests to send (default 4)")
    p.add_argument("-i", "--interval", type=float, default=1.0, metavar="S",
                   help="seconds between requests (default 1)")
    p.add_argument("-W", "--wait", type=float, default=1.0, metavar="S",
                   help="seconds to wait for each reply (default 1)")
    p.add_argument("-t", "--ttl", type=int, metavar="N",
                   help="the requests' time to live (IPv6: hop limit), 1 to 255")
    family = p.add_mutually_exclusive_group()
    family.add_argument("-4", dest="family", action="store_const", const=4,
                        help="a node's first IPv4 address")
    family.add_argument("-6", dest="family", action="store_const", const=6,
                        help="a node's first IPv6 address")
    p.set_defaults(func=cmd_ping)


def cmd_ping(args: argparse.Namespace) -> int:
    from netlab.api import resolve_lab
    from netlab.checks.run import expired_reason, route_problem
    from netlab.kernel.reach import echo

    if not 1 <= args.count <= 100000:
        raise InputError(f"-c {args.count}: give a count between 1 and 100000")
    for option, value in (("-i", args.interval), ("-W", args.wait)):
        if not 0.01 <= value <= 60:
            raise InputError(f"{option} {value:g}: give seconds between 0.01 and 60")
    if args.ttl is not None and not 1 <= args.ttl <= 255:
        raise InputError(f"--ttl {args.ttl}: give a time to live between 1 and 255")
    require_privileges("ping from a lab's node")  # before its state is read: exit 2, in words
    lab = resolve_lab(args.lab, None, {})
    ns = lab.node_namespace(args.source)
    address = lab.address_from(args.source, args.target, args.family)
    shown = address if args.target == address else f"{args.target} ({address})"
    out.print(f"PING {escape(shown)} from {escape(args.source)} in lab {escape(lab.name)}")
    problem = route_problem(ns, args.source, address)
    if problem:
        out.print(escape(problem))
        return EXIT_KERNEL
    rtts: list[float] = []
    sent = errors = 0
    try:
        for seq in range(1, args.count + 1):
            started = time.monotonic()
            sent += 1
            answer = echo(ns, address, args.wait, 1, first_seq=seq, ttl=args.ttl)
            if answer.rtt is not None:
                rtts.append(answer.rtt)
                out.print(f"reply from {address}: seq={seq} time={answer.rtt * 1000:.3f} ms")
            elif answer.expired_at is not None:
                errors += 1
                out.print(f"{expired_reason(address, answer.expired_at)}: seq={seq}")
            else:
                out.print(f"no reply from {address}: seq={seq} (waited {args.wait:g} s)")
            if seq < args.count:
                time.sleep(max(0.0, args.interval - (time.monotonic() - started)))
    except KeyboardInterrupt:
        pass  # like ping: the statistics of what was sent, then the exit status
    out.print(statistics(escape(args.target), sent, rtts, errors))
    return EXIT_OK if rtts else EXIT_KERNEL


def statistics(target: str, sent: int, rtts: list[float], errors: int = 0) -> str:
    """ping's closing lines (pure); `errors`: requests an ICMP error answered."""
    received = len(rtts)
    loss = 100 * (sent - received) / sent if sent else 0
    errored = f", +{errors} errors" if errors else ""
    lines = [
        f"--- {target} ping statistics ---",
        f"{sent} packets transmitted, {received} received{errored}, {loss:.0f}% packet loss",
    ]
    if rtts:
        ms = [r * 1000 for r in rtts]
        lines.append(
            f"rtt min/avg/max = {min(ms):.3f}/{sum(ms) / len(ms):.3f}/{max(ms):.3f} ms"
        )
    return "\n".join(lines)
