"""Whether this process may make and enter namespaces: the capabilities it holds."""

from __future__ import annotations

from netlab.errors import PrivilegeError

CAP_NET_ADMIN = 12
CAP_SYS_ADMIN = 21


def require_privileges(purpose: str = "work on a lab's namespaces") -> None:
    """Making namespaces needs CAP_SYS_ADMIN (mounts) and CAP_NET_ADMIN (links); so does
    reading or entering them. `purpose` says what the command needs root for."""
    caps = 0
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("CapEff:"):
                caps = int(line.split()[1], 16)
    missing = [
        name
        for bit, name in ((CAP_NET_ADMIN, "CAP_NET_ADMIN"), (CAP_SYS_ADMIN, "CAP_SYS_ADMIN"))
        if not caps & (1 << bit)
    ]
    if missing:
        raise PrivilegeError(
            f"netlab needs root to {purpose} (missing {' and '.join(missing)})",
            hint="run it with sudo, or grant CAP_NET_ADMIN and CAP_SYS_ADMIN",
        )
