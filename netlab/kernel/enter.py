"""How a process enters a node: node_argv (in the node's cgroup, its namespaces, its
folder, as its user) and process_env (the environment it gets). Every process netlab starts
in a node is made here. Kept apart from kernel/services.py (which runs the ops) so that
`netlab exec` loads neither the ops nor the engine (bench/startup.py)."""

from __future__ import annotations

import os
import pwd
import shutil
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

from netlab.errors import NodeMissing
from netlab.kernel import cgroups, nodehost
from netlab.values.names import NETNS_DIR

STANDARD_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"  # sudo's


def finds(program: str, path: str | None, private: Sequence[str] = ()) -> bool:
    """Whether a node finds `program` (a plain name) on its PATH: `path`, or when None
    (the node's env: sets none) any process_env gives, root's or a user's. A PATH folder
    inside one of the node's `private` folders may hold the node's own: taken as there."""
    folders = path if path is not None else os.pathsep.join(
        [os.path.dirname(sys.executable), os.environ.get("PATH", ""), STANDARD_PATH])
    if any(f == p or f.startswith(p.rstrip("/") + "/") for f in folders.split(os.pathsep)
           for p in private):
        return True
    return shutil.which(program, path=folders) is not None


def process_env(ns: str, node_dir: str, extra: Mapping[str, str],
                uid: int | None = None) -> dict[str, str]:
    """The environment of a process in a node: the node's NETLAB_* facts, the topology's
    env, and netlab's own bin directory first on PATH (so `netlab-tunnel` and the python
    that runs netlab are found, venv or not). Run as root: on top of ours. Run as another
    user: a clean one as sudo gives (that user's HOME, USER, LOGNAME, SHELL, a standard
    PATH), so nothing of root's environment (its secrets) reaches that user."""
    bindir = os.path.dirname(sys.executable)
    if uid is None or uid == 0:
        env = dict(os.environ)
        env["PATH"] = f"{bindir}:{env.get('PATH', STANDARD_PATH)}"
    else:
        env = {"PATH": f"{bindir}:{STANDARD_PATH}"}
        try:
            user = pwd.getpwuid(uid)
            env.update({"HOME": user.pw_dir, "USER": user.pw_name, "LOGNAME": user.pw_name,
                        "SHELL": user.pw_shell or "/bin/sh"})
        except KeyError:  # a uid with no name: as sudo -u '#uid' does
            env.update({"HOME": "/", "USER": str(uid), "LOGNAME": str(uid),
                        "SHELL": "/bin/sh"})
    env.update({"NETLAB_NAMESPACE": ns, "NETLAB_NODE_DIR": node_dir})
    parts = Path(node_dir).parts  # .../<lab>/nodes/<node>, as naming.node_dir makes it
    if len(parts) >= 3 and parts[-2] == "nodes":
        env.update({"NETLAB_LAB": parts[-3], "NETLAB_NODE": parts[-1]})
    env.update(extra)
    return env


def node_argv(ns: str, node_dir: str, argv: Sequence[str], uid: int | None = None,
              gid: int | None = None, leaf: str = cgroups.RUN_LEAF,
              capabilities: Sequence[str] = ()) -> list[str]:
    """argv as netlab runs it in a node: in the node's cgroup `leaf` (joined before
    anything runs, so every child is there too), inside its namespaces, in its folder (when
    there is one), as `uid`/`gid` when given, with `capabilities` as ambient ones. Every
    process netlab starts in a node (exec:, prepare:, services, checks, `netlab
    exec`/`shell`) is made here."""
    if uid is not None:
        # Drop to the user inside the node: entering the namespaces needs root.
        gid = gid if gid is not None else uid
        drop = [shutil.which("setpriv") or "setpriv", f"--reuid={uid}", f"--regid={gid}",
                "--clear-groups"]
        if capabilities:
            # Ambient capabilities: kept by the user's programs across exec.
            caps = ",".join(f"+{c.lower().removeprefix('cap_')}" for c in capabilities)
            drop += [f"--inh-caps={caps}", f"--ambient-caps={caps}"]
        argv = [*drop, *argv]
    if not os.path.lexists(f"{NETNS_DIR}/{ns}"):
        # Before the cgroup below is made: a missing node must leave nothing behind.
        raise NodeMissing(f"namespace {ns} is missing (lab taken down?)")
    entered = nodehost.enter_argv(ns, argv, node_dir)  # a lazy node's is made on entry
    return cgroups.wrap(entered, ns, leaf)
