"""`netlab web [-l LAB] [--port P] [--bind ADDR]`: a live page of running labs.

The server is netlab/web/ (aiohttp, the optional extra `netlab[web]`), imported only when
this command runs, so that the other commands do not pay for it.
"""

from __future__ import annotations

import argparse
import importlib.util
from typing import Any

from netlab.errors import EXIT_INTERRUPTED, Unsupported
from netlab.ui.common import err, escape, long_running, out


def register(sub: Any) -> None:
    p = sub.add_parser(
        "web", help="serve a live page of a lab: map, counters, links, logs, terminals",
        description="Serve a live page of a running lab (or of every lab, with a chooser): "
        "its map with link states and packet counters updated live, drift, services and "
        "their logs, its checks, captures as pcap files, links taken down and up by a "
        "click, and a terminal in every node. It listens on 127.0.0.1 and prints a URL "
        "with a random token; nothing answers without it. Ctrl-C stops it. The API under "
        "/api is documented in docs/web.md.",
    )
    p.add_argument("-l", "--lab", help="serve this lab only (default: every lab that is up)")
    p.add_argument("--port", type=_port, metavar="P",
                   help="TCP port (default: 8040, or the next free one up to 8049; "
                   "0: any free port)")
    p.add_argument("--bind", default=None, metavar="ADDR",
                   help="address to listen on (default 127.0.0.1, this machine only; "
                   "anything else lets other machines in, with the token)")
    p.set_defaults(func=cmd_web)


def _port(text: str) -> int:
    if not text.isdigit() or int(text) > 65535:
        raise argparse.ArgumentTypeError(f"'{text}' is not a port number (0 to 65535)")
    return int(text)


def web_extra_installed() -> bool:
    return importlib.util.find_spec("aiohttp") is not None


def cmd_web(args: argparse.Namespace) -> int:
    import asyncio

    from netlab.api import Lab, require_privileges

    if not web_extra_installed():
        raise Unsupported("netlab web needs the web extra (aiohttp), which is not installed",
                         hint="pip install 'netlab[web]' (scripts/setup.sh installs it)")
    from netlab.web import address, auth, server

    require_privileges("read and enter a lab's namespaces")
    if args.lab is not None:
        Lab.attach(args.lab)  # up, or a clear error now rather than on the page
    host = args.bind or address.DEFAULT_HOST
    family, numeric = address.resolve(host, args.port or 0)
    ports = [args.port] if args.port is not None else [
        address.DEFAULT_PORT + n for n in range(address.PORTS_TRIED)]
    sock = server.listen(family, numeric, ports)
    port = sock.getsockname()[1]
    token = auth.new_token()
    if not address.is_loopback(numeric):
        err.print(f"[yellow]warning:[/] listening on {escape(numeric)}: other machines can "
                  "reach this page; whoever has the URL (its token) can run shells in the "
                  "lab's nodes as root")
    what = f"lab {args.lab}" if args.lab else "every lab that is up"

    def ready() -> None:
        out.print(f"netlab web: {escape(what)} at {address.url(numeric, port, token)} "
                  "(Ctrl-C stops)", soft_wrap=True)

    long_running()
    asyncio.run(server.serve(server.make_app(token, args.lab), sock, ready))
    err.print("netlab web stopped")
    return EXIT_INTERRUPTED
