"""Where a service's files are and what `status` says of it, apart from kernel/services.py
(which loads the ops and the engine's hooks): `netlab status` needs only these."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from netlab.kernel import cgroups


def service_dir(node_dir: str, name: str) -> Path:
    return Path(node_dir) / "services" / name


def log_file(node_dir: str, name: str) -> Path:
    return service_dir(node_dir, name) / "log"


def service_state(ns: str, node_dir: str, name: str) -> dict[str, Any]:
    """What `status` says of a service: its pid, whether it runs, where its log is; from
    the service's cgroup, not from any file the service could write."""
    leaf = cgroups.service_leaf(name)
    members = cgroups.pids(ns, leaf)
    pid = cgroups.main_pid(ns, leaf) if members else None
    return {"name": name, "pid": pid, "running": bool(members), "processes": len(members),
            "log": str(log_file(node_dir, name))}
