"""The host namespace: netlab only ever deletes an interface there that carries its mark."""

from __future__ import annotations

import errno

from pyroute2 import IPRoute


def delete_marked(ifname: str, mark: str) -> None:
    """Delete host interface `ifname` if, and only if, its alias is exactly `mark`."""
    with IPRoute() as ipr:
        found = ipr.link_lookup(ifname=ifname)
        if not found:
            return
        link = ipr.link("get", index=found[0])[0]
        if link.get_attr("IFLA_IFALIAS") != mark:
            raise OSError(errno.EPERM, f"{ifname} does not carry the mark {mark}; not deleting")
        ipr.link("del", index=found[0])
