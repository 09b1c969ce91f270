"""A lab's record (lab.json) read as plain data: what `exec` and `ls` need.

The topology in the record was checked when the lab came up. These commands need only
its nodes' names and hosts, so they read it without the model: importing pydantic and
building the model's classes costs more than all the rest of `netlab exec`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from netlab.errors import InputError, LabStateConflict, LabStateError, ProgramMissing
from netlab.plan.naming import namespace
from netlab.state.store import LabState, labs_with_state


@dataclass(frozen=True)
class Record:
    lab: str
    file: str
    host: str | None  # a lab across hosts: the part of this host
    topology: dict[str, Any]  # as stored: the model's JSON form

    @property
    def nodes(self) -> dict[str, Any]:
        nodes = self.topology.get("nodes")
        return nodes if isinstance(nodes, dict) else {}

    def here(self) -> list[str]:
        """The nodes built on this host (all of them, but for a lab across hosts)."""
        if self.host is None:
            return list(self.nodes)
        hosts = self.topology.get("hosts") or {}
        first = next(iter(hosts), None)
        return [n for n, spec in self.nodes.items()
                if ((spec or {}).get("host") or first) == self.host]

    def namespace(self, node: str) -> str:
        """The namespace of `node` (InputError, naming the nodes, when there is none)."""
        here = self.here()
        if node not in here:
            raise InputError(f"lab '{self.lab}' has no node '{node}' (nodes: "
                             f"{', '.join(here)})")
        return namespace(self.lab, node)

    def node_namespace(self, node: str) -> str:
        """The namespace of `node`, which must be there (LabStateError if it is missing)."""
        named = "" if self.lab == self.topology.get("name") else f" --name {self.lab}"
        return present(self.lab, node, self.namespace(node), f"{self.file or 'FILE'}{named}")

    def node_command(self, node: str, argv: Sequence[str]) -> tuple[list[str], dict[str, str]]:
        """What runs argv inside `node` (api.Lab.node_command, from the record)."""
        env = (self.nodes.get(node) or {}).get("env") or {}
        return node_command(self.lab, node, self.node_namespace(node), env, argv)

    def private_paths(self, node: str) -> list[str]:
        """The folders of `node`'s own (its `private:`), as the record has them."""
        spec = self.nodes.get(node) or {}
        return [p if isinstance(p, str) else str(p.get("path")) for p in
                spec.get("private") or () if isinstance(p, (str, dict))]


def node_command(lab: str, node: str, ns: str, env: Mapping[str, str],
                 argv: Sequence[str]) -> tuple[list[str], dict[str, str]]:
    """argv and environment that run a program inside `node` as its `exec:` commands
    run: in its namespaces (network, mount, UTS), in its folder, with its env: and the
    NETLAB_* variables."""
    from netlab.kernel.enter import node_argv, process_env
    from netlab.plan.naming import node_dir
    from netlab.state.store import state_root

    folder = node_dir(str(state_root()), lab, node)
    return node_argv(ns, folder, argv), process_env(ns, folder, env)


def require_program(program: str, path: str, private: Sequence[str]) -> None:
    """ProgramMissing (exit 127) when a node would not find `program` on `path` (its
    PATH): said by netlab, with the package to install, rather than by the `env` that
    starts it inside the node ("env: 'ping': No such file or directory"). A path
    (`./run.sh`, `/usr/sbin/sshd`) is left to the node."""
    from netlab.kernel.enter import finds

    if "/" not in program and not finds(program, path, private):
        from netlab.values.commands import install_hint

        raise ProgramMissing(f"'{program}' is not installed on this machine",
                             hint=install_hint([program]))


def present(lab: str, node: str, ns: str, up_args: str) -> str:
    """`ns`, the namespace of `node` of `lab`, if it is there; LabStateError if not
    (`up_args`: what `netlab up` is given to build the lab again, --name included)."""
    from netlab.kernel import nsfs

    if not nsfs.exists(ns):
        raise LabStateConflict(
            f"the namespace of node '{node}' of lab '{lab}' ({ns}) is missing",
            hint=f"'netlab up --recreate {up_args}' builds the lab anew; "
            "'netlab status' shows what else is missing",
        )
    return ns


def labs_hint() -> str:
    labs = labs_with_state()
    return f"labs up: {', '.join(labs)}" if labs else "no lab is up ('netlab up FILE')"


def read(name: str) -> Record:
    """The record of lab `name`, which must be up."""
    return of_meta(name, LabState(name).read_meta())


def of_meta(name: str, meta: dict[str, Any]) -> Record:
    """The record of lab `name` from its lab.json as read (LabState.read_meta)."""
    if not meta:
        raise LabStateConflict(f"lab '{name}' is not up", hint=labs_hint())
    topology = meta.get("topology")
    if not isinstance(topology, dict):
        raise LabStateError(f"the state of lab '{name}' is unreadable (lab.json: no topology)",
                            hint=f"'netlab down -l {name}' still works from the journal")
    return Record(name, str(meta.get("file") or ""), meta.get("host"), topology)


def built_from(file: str) -> list[str]:
    """The labs that are up whose record names this topology file (as `up` resolved it)."""
    path = str(Path(file).resolve())
    found = []
    for name in labs_with_state():
        try:
            if read(name).file == path:
                found.append(name)
        except LabStateError:
            continue  # an unreadable record names no file
    return found


def resolve(name: str | None) -> Record:
    """-l LAB, or (none) the only lab that is up."""
    return read(name or only_lab())


def only_lab() -> str:
    """The name of the only lab that is up (an error when none or several are)."""
    labs = labs_with_state()
    if len(labs) == 1:
        return labs[0]
    if not labs:
        raise LabStateConflict("no lab is up", hint="start one with 'netlab up FILE'")
    raise InputError(f"several labs are up ({', '.join(labs)}); name one with -l LAB")
