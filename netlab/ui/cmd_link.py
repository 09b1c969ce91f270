"""`netlab link [-l LAB] NODE:IFACE ACTION`: a link's faults and shaping while the lab runs.

    netlab link r1:eth1 down                      # the peer loses its carrier
    netlab link r1:eth1 up
    netlab link r1:eth1 set rate=1mbit loss=5%    # what leaves through r1:eth1
    netlab link r1:eth1 clear
    netlab link r1:eth1 flap --down 2s --up 3s --count 5
    netlab link r1:eth1 show [--json]
    netlab link h1:eth0 vlan 20                   # its switch port: an access port of VLAN 20
    netlab link r1:eth0 vlans 10,20 [--native 5]  # its switch port: a trunk of VLANs 10, 20

The logic is netlab/lab/link_control.py (the same as lab.link("r1:eth1") in Python).
"""

from __future__ import annotations

import argparse
from typing import Any

from netlab.errors import EXIT_OK
from netlab.ui.common import escape, json_doc, out, print_json, with_lab
from netlab.values.names import DEFAULT_VLAN, MAX_VLAN


def register(sub: Any) -> None:
    p = sub.add_parser(
        "link", help="take a link down or up, shape it, flap it (lab running)",
        description="Act on one end of a link while the lab runs: down or up (a veth's peer "
        "loses its carrier), set KEY=VALUE... (shape what leaves through it, as a topology's "
        "rate, delay, loss... do), clear (its shaping), flap [--down TIME] [--up TIME] "
        "[--count N] (down and up again, N times; it ends up), show [--json], vlan VID (the "
        "switch port at either end becomes an access port of VLAN VID, on a switch whose "
        "topology uses VLANs), vlans VID,VID... [--native VID] (that port becomes a trunk: "
        "these VLANs tagged, the native one untagged). Each change is journaled; 'netlab "
        "status' shows it against the topology.",
    )
    with_lab(p, file=False)
    p.add_argument("endpoint", metavar="NODE:IFACE", help="one end of a link, such as r1:eth1")
    actions = p.add_subparsers(dest="action", metavar="ACTION", required=True)
    actions.add_parser("down", help="administratively down (the peer loses its carrier)")
    actions.add_parser("up", help="administratively up")
    a = actions.add_parser("set", help="shape what leaves through it: KEY=VALUE...")
    a.add_argument("values", nargs="+", metavar="KEY=VALUE",
                   help="rate, burst, latency, limit, delay, jitter, loss, duplicate, "
                        "corrupt, reorder (as in the topology; replaces the shaping there)")
    actions.add_parser("clear", help="remove its shaping (the device's default qdisc)")
    a = actions.add_parser("flap", help="down and up again, COUNT times")
    a.add_argument("--down", default="1s", metavar="TIME", help="time down (default 1s)")
    a.add_argument("--up", default="1s", metavar="TIME",
                   help="time up between flaps (default 1s)")
    a.add_argument("--count", type=int, default=1, metavar="N", help="flaps (default 1)")
    a = actions.add_parser("show", help="its admin state, carrier and shaping, now and planned")
    a.add_argument("--json", action="store_true")
    a = actions.add_parser("vlan", help="move its switch port to another VLAN (access, untagged)")
    a.add_argument("vid", type=_vlan_id, metavar="VID", help=f"the VLAN, 1 to {MAX_VLAN}")
    a = actions.add_parser("vlans", help="make its switch port a trunk: VLANs tagged, one "
                           "native (untagged)")
    a.add_argument("vids", type=_vlan_ids, metavar="VID,VID...",
                   help="the VLANs it carries tagged, such as 10,20")
    a.add_argument("--native", type=_vlan_id, default=DEFAULT_VLAN, metavar="VID",
                   help=f"the VLAN it carries untagged (default {DEFAULT_VLAN})")
    p.set_defaults(func=cmd_link)


def _vlans_words(vlans: dict[str, Any]) -> str:
    from netlab.plan.switch_vlans import words

    now = words(vlans["now"]) if vlans["now"] else "not read"
    return f"{vlans['port']} {now} (the topology: {words(vlans['planned'])})"


def _vlan_id(text: str) -> int:
    if not text.isdigit() or not 1 <= int(text) <= MAX_VLAN:
        raise argparse.ArgumentTypeError(f"'{text}' is not a VLAN id (1 to {MAX_VLAN})")
    return int(text)


def _vlan_ids(text: str) -> list[int]:
    return [_vlan_id(word.strip()) for word in text.split(",")]


def cmd_link(args: argparse.Namespace) -> int:
    from netlab.api import resolve_lab
    from netlab.lab.link_control import parse_assignments

    lab = resolve_lab(args.lab, None, {})
    link = lab.link(args.endpoint)
    name = escape(args.endpoint)
    peer = f"{link.peer[0]}:{link.peer[1]}" if link.peer else None
    if args.action == "down":
        link.down()
        lost = f" ({escape(peer)} has lost its carrier)" if peer else ""
        out.print(f"{name} is down{lost}")
    elif args.action == "up":
        link.up()
        out.print(f"{name} is up")
    elif args.action == "set":
        qdisc = link.set(parse_assignments(args.values))
        out.print(f"{name} is shaped: {escape(qdisc.describe())}")
    elif args.action == "clear":
        if link.clear():
            out.print(f"{name}: shaping removed")
        else:
            out.print(f"{name} has no shaping; nothing to do")
    elif args.action == "vlan":
        from netlab.plan.switch_vlans import words

        moved = link.vlan(args.vid)
        out.print(f"{escape(moved.port)} is an access port of VLAN {args.vid} now "
                  f"(it was {escape(words(moved.before))})")
    elif args.action == "vlans":
        from netlab.plan.switch_vlans import words

        moved = link.trunk(args.vids, args.native)
        out.print(f"{escape(moved.port)} is a trunk now: {escape(words(moved.after))} "
                  f"(it was {escape(words(moved.before))})")
    elif args.action == "flap":
        report = link.flap(args.down, args.up, args.count,
                           lambda n, what: out.print(f"flap {n}/{args.count}: {name} {what}"))
        out.print(f"{name} flapped {report.flaps} times in {report.seconds:.1f} s; it is up")
    else:
        view = link.describe()
        if args.json:
            print_json(json_doc("link", view))
        else:
            for key, value in view.items():
                if key == "vlans" and value is not None:
                    value = _vlans_words(value)
                out.print(f"{key}: {escape(str(value if value is not None else '-'))}")
    return EXIT_OK
