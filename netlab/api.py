"""The Python API: what the CLI can do, a program (or the pytest plugin) can do.

    lab = Lab.from_file("topologies/hello.yaml")
    lab.up()
    print(lab.exec("h1", ["ip", "addr"]).stdout)
    lab.down()

The kernel package (pyroute2) is imported only when a command needs the kernel, so that
`validate` and `plan` stay fast and work without privileges.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from netlab.engine import (
    Interrupted,
    Progress,
    Stop,
    TeardownProgress,
    TeardownReport,
    apply,
    stop_on_signals,
    teardown,
)
from netlab.errors import InputError, LabStateError, PrivilegeError
from netlab.plan.ops import Op
from netlab.state.store import LabState, labs_with_state, state_root
from netlab.words import count

if TYPE_CHECKING:
    # The model, loader and planner load pydantic: imported where used, so that `down`
    # and `ls`, which need none of them, start fast.
    from netlab.kernel.base import BeginHook, DoneHook
    from netlab.linkctl import LinkControl
    from netlab.plan.planner import Plan
    from netlab.spec import LoadedTopology
    from netlab.spec.model import Topology

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


class _LabKernel:
    """The lab's kernel (netlink and processes), with fault injection for tests:
    NETLAB_FAIL_AT=N makes the N-th op sent (counting from 1) be refused as if by the
    kernel, once, after the ops before it really happened."""

    def __init__(self) -> None:
        from netlab.kernel.lab import LabKernel

        self.inner = LabKernel()
        fail_at = os.environ.get("NETLAB_FAIL_AT", "")
        self.fail_at = int(fail_at) if fail_at.isdigit() else None
        self.sent = 0

    def execute(self, ops: Sequence[Op], begin: BeginHook, done: DoneHook) -> None:
        if self.fail_at is not None and 0 < self.fail_at - self.sent <= len(ops):
            from netlab.kernel.base import OpFailed

            index = self.fail_at - self.sent - 1
            self.fail_at = None
            self.inner.execute(ops[:index], begin, done)
            begin(index, index + 1)
            raise OpFailed(index, ops[index], "refused by fault injection (NETLAB_FAIL_AT)")
        self.sent += len(ops)
        self.inner.execute(ops, begin, done)

    def close(self) -> None:
        self.inner.close()


@dataclass(frozen=True)
class UpResult:
    lab: str
    created: bool  # False: the same lab was already up, nothing was done
    ops: int
    seconds: float


STDIN = "-"  # the FILE that says: read the topology from standard input


class Lab:
    def __init__(self, topology: Topology, name: str | None = None, source: str = "",
                 host: str | None = None) -> None:
        self.topology = topology
        self.name = topology.name if name is None else name  # --name '' is not the file's
        self.source = source
        self.host = host  # a lab across hosts: the part of this host (docs/multi-host.md)
        self.state = LabState(self.name)
        self._plan: Plan | None = None
        self.loaded: LoadedTopology | None = None  # the file's lines, for messages

    # --- construction -----------------------------------------------------------------
    @classmethod
    def from_file(
        cls, path: str | os.PathLike[str], overrides: Mapping[str, str] | None = None,
        name: str | None = None, host: str | None = None,
    ) -> Lab:
        """The lab of a topology file; "-" reads it from standard input (a JSON object
        there is a topology already rendered, as `--all-hosts` sends it: no Jinja2)."""
        from netlab.spec import load_text, load_topology

        if os.fspath(path) == STDIN:
            text = sys.stdin.read()
            loaded: LoadedTopology = load_text(text, "<stdin>", overrides or {},
                                               rendered=text.lstrip().startswith("{"))
            source = "<stdin>"
        else:
            loaded = load_topology(os.fspath(path), overrides or {})
            source = str(Path(path).resolve())
        lab = cls(loaded.topology, name, source, host)
        lab.loaded = loaded
        return lab

    @classmethod
    def attach(cls, name: str) -> Lab:
        """A lab that is up, from its saved state (no file needed)."""
        state = LabState(name)
        meta = state.read_meta()
        if not meta:
            raise LabStateError(
                f"lab '{name}' is not up", hint=_labs_hint()
            )
        from netlab.spec.model import Topology

        return cls(Topology.model_validate(meta["topology"]), name, meta.get("file", ""),
                   meta.get("host"))

    @property
    def plan(self) -> Plan:
        if self._plan is None:
            from netlab.plan.planner import plan

            self._plan = plan(self.topology, self.name, str(state_root()), self.host)
        return self._plan

    def namespace(self, node: str) -> str:
        try:
            return self.plan.namespaces[node]
        except KeyError:
            nodes = ", ".join(self.plan.namespaces)
            raise InputError(f"lab '{self.name}' has no node '{node}' (nodes: {nodes})") from None

    # --- lifecycle --------------------------------------------------------------------
    def is_up(self) -> bool:
        return self.state.exists()

    def up(
        self, keep_on_error: bool = False, recreate: bool = False,
        progress: Progress | None = None,
    ) -> UpResult:
        """Build the lab. Already up with this topology: nothing to do. The remains of an
        `up` that did not finish (killed, or kept with keep_on_error) are removed first.
        SIGINT, SIGTERM and SIGHUP roll back (see engine.Stop)."""
        require_privileges("build a lab")
        from netlab.support import refuse_unsupported

        refuse_unsupported(self.topology, self.loaded, self.source)  # netem? before anything
        started = time.monotonic()
        with self.state.locked(what="up"), stop_on_signals() as stop:
            if self.state.exists():
                meta = self.state.read_meta()
                same = _what_is_built(meta.get("topology")) == _what_is_built(
                    self._topology_json()
                )
                # A record from before "complete" was kept is of a finished up.
                finished = meta.get("complete", True) is True
                if same and finished and not recreate:
                    self._refuse_missing_namespaces()
                    if meta.get("topology") != self._topology_json():
                        # Only checks or the description changed: keep the new ones.
                        self.state.write_meta({**meta, "topology": self._topology_json()})
                    return UpResult(self.name, False, 0, time.monotonic() - started)
                if finished and not recreate:
                    raise LabStateError(
                        f"lab '{self.name}' is already up with a different topology",
                        hint="'netlab up --recreate' tears it down and builds it anew",
                    )
                _teardown_state(self.state, stop)
            if stop.signals:
                raise Interrupted("interrupted", hint="nothing was built")
            self._refuse_foreign_objects()
            meta = {
                "lab": self.name,
                "file": self.source,
                "topology": self._topology_json(),
                "created": time.time(),
                "host": self.host,
                "pid": os.getpid(),
                "complete": False,
            }
            kernel: _LabKernel | None = None
            try:
                self.state.write_meta(meta)
                kernel = _LabKernel()
                apply(self.plan.ops, kernel, self.state, keep_on_error, progress, stop)
                self.state.write_meta({**meta, "complete": True})
            except BaseException:
                if not self.state.exists():
                    self.state.remove()  # nothing was journaled: the record goes too
                elif keep_on_error:
                    # Kept on purpose, for debugging: `ls` and `cleanup` tell it from the
                    # remains of an `up` that died.
                    self.state.write_meta({**meta, "kept": True})
                raise
            finally:
                if kernel is not None:
                    kernel.close()
                self.state.close()
        return UpResult(self.name, True, len(self.plan.ops), time.monotonic() - started)

    def down(self, progress: TeardownProgress | None = None) -> TeardownReport:
        """Undo the journal in exact reverse order. A lab that is not up: nothing to do.
        progress(done, total), if given, after each undo sent to the kernel."""
        require_privileges("take a lab down")
        with self.state.locked(what="down"):
            return _teardown_state(self.state, progress=progress)

    def _refuse_foreign_objects(self) -> None:
        from netlab.kernel import nsfs

        existing = [ns for ns in self.plan.namespaces.values() if nsfs.taken(ns)]
        if existing:
            owner = lab_owning(existing[0])
            if owner is not None:
                hint = (f"it is a namespace of lab '{owner}', which is up (lab and node names "
                        f"are joined by '-'): give this lab another name with --name, or "
                        f"take that one down with 'netlab down -l {owner}'")
            else:
                hint = "if it is a leftover of a crashed run: 'netlab cleanup --dry-run'"
            raise LabStateError(
                f"namespace {existing[0]} already exists and is not part of lab "
                f"'{self.name}'; netlab will not adopt or delete it",
                hint=hint,
            )

    def missing_namespaces(self) -> dict[str, str]:
        """The nodes whose namespace is not there (removed by hand, say): node -> namespace."""
        from netlab.kernel import nsfs

        return {node: ns for node, ns in self.plan.namespaces.items() if not nsfs.exists(ns)}

    def _refuse_missing_namespaces(self) -> None:
        missing = self.missing_namespaces()
        if missing:
            listed = ", ".join(f"{node} ({ns})" for node, ns in list(missing.items())[:3])
            more = f" and {len(missing) - 3} more" if len(missing) > 3 else ""
            file = self.source or "FILE"
            raise LabStateError(
                f"lab '{self.name}' is up but the namespace of {count(missing, 'node')} is "
                f"missing: {listed}{more}",
                hint=f"'netlab up --recreate {file}' builds it anew (or 'netlab down -l "
                f"{self.name}', then 'netlab up {file}')",
            )

    def dead_services(self) -> list[tuple[str, str]]:
        """The (node, service) pairs of the lab whose process is not running."""
        from netlab.kernel.services import service_state
        from netlab.plan.naming import node_dir
        from netlab.state.store import state_root

        return [(node, name) for node, spec in self.topology.nodes.items()
                for name in spec.services
                if not service_state(node_dir(str(state_root()), self.name, node),
                                     name)["running"]]

    def node_namespace(self, node: str) -> str:
        """The namespace of `node`, which must be there (LabStateError if it is missing)."""
        from netlab.kernel import nsfs

        ns = self.namespace(node)
        if not nsfs.exists(ns):
            raise LabStateError(
                f"the namespace of node '{node}' of lab '{self.name}' ({ns}) is missing",
                hint=f"'netlab up --recreate {self.source or 'FILE'}' builds the lab anew; "
                "'netlab status' shows what else is missing",
            )
        return ns

    def _topology_json(self) -> dict[str, Any]:
        return self.topology.model_dump(mode="json")

    # --- inside the lab ---------------------------------------------------------------
    def exec(
        self, node: str, cmd: str | Sequence[str], timeout: float | None = None,
        input: str | None = None,
    ) -> subprocess.CompletedProcess[str]:
        """Run cmd (an argv list, or a string for `sh -c`) in the node; capture output."""
        from netlab.kernel.processes import run

        argv = ["sh", "-c", cmd] if isinstance(cmd, str) else list(cmd)
        return run(self.node_namespace(node), argv, capture=True, timeout=timeout, input=input)

    def status(self, progress: Progress | None = None) -> dict[str, Any]:
        """The netlab.status/1 document (docs/status-json.md), read from the kernel."""
        from netlab.inspect import lab_status

        return lab_status(self, progress)

    def link(self, endpoint: str) -> LinkControl:
        """One end of a cable, 'node:interface', to act on while the lab runs: down(), up(),
        set(rate="1mbit"), clear(), flap(...) (see netlab/linkctl.py)."""
        from netlab.linkctl import LinkControl

        return LinkControl(self, endpoint)


def _teardown_state(state: LabState, stop: Stop | None = None,
                    progress: TeardownProgress | None = None) -> TeardownReport:
    """Undo what the journal holds (the lab's record is not needed); the caller holds the
    lab's lock. A record without a journal (an `up` that died before its first op) is just
    removed."""
    if not state.exists():
        state.remove()
        return TeardownReport()
    kernel = _LabKernel()
    try:
        report = teardown(state, kernel, stop, progress)
    finally:
        kernel.close()
        state.close()
    if report.errors:
        raise LabStateError(
            f"teardown of lab '{state.lab}' was incomplete: " + "; ".join(report.errors),
            hint="run 'netlab down' again, or 'netlab cleanup' to remove what is marked",
        )
    return report


def teardown_held(state: LabState) -> TeardownReport:
    """Undo what the lab's journal holds; the caller holds the lab's lock (for cleanup)."""
    return _teardown_state(state)


def down_lab(name: str, progress: TeardownProgress | None = None,
             ) -> tuple[bool, TeardownReport]:
    """Take lab `name` down from its journal alone, without its file or its record (which
    may be unreadable after a crash). Returns whether it was up, and what was undone."""
    state = LabState(name)
    if not state.dir.exists() and not state.lock_path.exists():
        return False, TeardownReport()  # not up: nothing to do, no privilege needed
    require_privileges("take a lab down")
    # A lock file without a record: a command was killed between removing the record and
    # removing its lock. Taking the lock (free: its holder is dead) removes the file.
    with state.locked(what="down"):
        was_up = state.exists()
        return was_up, _teardown_state(state, progress=progress)


def _what_is_built(topology: Any) -> Any:
    """A topology without the keys that change nothing in the kernel (checks, description),
    so that editing a lab's checks does not ask for --recreate."""
    if not isinstance(topology, dict):
        return topology
    return {k: v for k, v in topology.items() if k not in ("checks", "description")}


def up_labs() -> list[str]:
    return labs_with_state()


def lab_owning(ns: str) -> str | None:
    """The lab that is up whose journal made namespace `ns`, if any."""
    from netlab.plan.ops import CreateNamespace

    for lab in labs_with_state():
        try:
            entries = LabState(lab).entries()
        except LabStateError:
            continue  # a damaged journal claims nothing
        if any(isinstance(e.op, CreateNamespace) and e.op.ns == ns for e in entries):
            return lab
    return None


@dataclass(frozen=True)
class Condition:
    """How far a lab with a journal got: "up" (its `up` finished), "building" (a command
    works on it now and it is not finished), "incomplete" (its `up` died, or failed and
    was kept with --keep-on-error: `kept`), or "unreadable" (its record is)."""

    state: str
    note: str = ""
    kept: bool = False


def condition(name: str) -> Condition:
    state = LabState(name)
    try:
        meta = state.read_meta()
    except LabStateError:
        return Condition("unreadable", f"its record is unreadable; 'netlab down -l {name}' "
                         "still works from the journal")
    # A record from before "complete" was kept is of a finished up.
    if meta.get("complete", True) is True:
        return Condition("up")
    holder = state.holder()
    if holder is not None:
        pid, _, what = holder.partition(" ")
        return Condition("building", f"netlab {what or 'command'} (pid {pid}) is working on it")
    down = f"'netlab down -l {name}' removes it"
    if meta.get("kept") is True:
        return Condition("incomplete", f"an 'up' that failed, kept with --keep-on-error; {down}",
                         kept=True)
    return Condition("incomplete", f"its 'up' did not finish; {down} (so does "
                     "'netlab cleanup')")


def _labs_hint() -> str:
    labs = up_labs()
    return f"labs up: {', '.join(labs)}" if labs else "no lab is up ('netlab up FILE')"


def resolve_lab(name: str | None, file: str | None, overrides: Mapping[str, str]) -> Lab:
    """-l LAB, or FILE, or (neither) the only lab that is up."""
    if file:
        return Lab.from_file(file, overrides, name)
    if name:
        return Lab.attach(name)
    labs = up_labs()
    if len(labs) == 1:
        return Lab.attach(labs[0])
    if not labs:
        raise LabStateError("no lab is up", hint="start one with 'netlab up FILE'")
    raise InputError(f"several labs are up ({', '.join(labs)}); name one with -l LAB")


def down_report_text(report: TeardownReport) -> str:
    return f"{report.sent} ops undone, {report.implicit} went with their namespaces"

