"""`frr:` on a node: sugar for FRR's files, private folders and services.

`frr: {daemons: [ospfd], config: "..."}` becomes what a user could write by hand: /etc/frr and
/var/log/frr private to the node, frr.conf (the integrated config), `daemons` and vtysh.conf
there, /run/frr (the node's own /run) made for the frr user, and one service per daemon:
zebra first, then staticd and the listed daemons once zebra is ready. Each daemon runs in
the foreground and drops to frr:frr itself; it is ready when it logs "starting: vty@",
which FRR prints once its vty socket listens (so `vtysh` in the node answers).
"""

from __future__ import annotations

from typing import Any

FRR_DIR = "/usr/lib/frr"
ZEBRA = f"{FRR_DIR}/zebra"
# Daemons a user may list (zebra and staticd always run).
DAEMONS = ("bgpd", "ospfd", "ospf6d", "ripd", "ripngd", "isisd", "pimd", "ldpd", "nhrpd",
           "eigrpd", "babeld", "pbrd", "bfdd", "fabricd", "vrrpd", "pathd")
READY = "starting: vty@"
MAKE_RUN_DIR = "install -d -o frr -g frr -m 0755 /run/frr"
VTYSH_CONF = "service integrated-vtysh-config\n"


def _daemons_file(daemons: list[str]) -> str:
    # FRR's own init scripts read this; vtysh and users look at it to see what runs.
    lines = ["zebra=yes", "staticd=yes"]
    lines += [f"{d}={'yes' if d in daemons else 'no'}" for d in DAEMONS]
    return "\n".join(lines) + "\nvtysh_enable=yes\n"


def _command(daemon: str) -> str:
    return f"exec {FRR_DIR}/{daemon} -u frr -g frr -f /etc/frr/frr.conf --log stdout -P 0"


def expand(daemons: list[str], config: str) -> dict[str, Any]:
    """The node keys (private, files, prepare, services) that run FRR with this config."""
    files = {
        "/etc/frr/frr.conf": {"content": config, "mode": 0o640, "owner": "frr", "group": "frr"},
        "/etc/frr/daemons": {"content": _daemons_file(daemons), "mode": 0o640,
                             "owner": "frr", "group": "frr"},
        "/etc/frr/vtysh.conf": {"content": VTYSH_CONF, "mode": 0o640,
                                "owner": "frr", "group": "frrvty"},
    }
    services: dict[str, Any] = {"zebra": {"run": _command("zebra"), "ready": READY}}
    for daemon in ["staticd", *daemons]:
        services[daemon] = {"run": _command(daemon), "ready": READY, "after": ["zebra"]}
    return {
        "private": ["/etc/frr", "/var/log/frr"],
        "files": files,
        "prepare": [MAKE_RUN_DIR],
        "services": services,
    }
