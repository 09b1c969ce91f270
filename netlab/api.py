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
import re
import socket
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
    TeardownProgress,
    TeardownReport,
    apply,
    stop_on_signals,
)
from netlab.errors import InputError, LabStateConflict, LabStateError, NetlabError
from netlab.kernel.privileges import require_privileges as require_privileges
from netlab.lab.record import labs_hint, node_command, only_lab, present
from netlab.spec.builder import TopologyBuilder
from netlab.state.condition import Condition as Condition
from netlab.state.condition import condition as condition
from netlab.state.store import LabState, labs_with_state, state_root
from netlab.values.words import count

if TYPE_CHECKING:
    # The model, loader and planner load pydantic, the kernel side pyroute2: imported
    # where used, so that `validate`, `down` and `ls`, which need not all of them, start fast.
    from netlab.kernel.capture import Capture
    from netlab.lab.faults import FaultInjectingKernel
    from netlab.lab.link_control import LinkControl
    from netlab.lab.plancache import Checked
    from netlab.lab.save import Saved
    from netlab.plan.planner import Plan
    from netlab.spec import LoadedTopology
    from netlab.spec.generate import Generated
    from netlab.spec.model import Topology
    from netlab.spec.segments import Places

@dataclass(frozen=True)
class UpResult:
    lab: str
    created: bool  # False: the same lab was already up, nothing was done
    ops: int
    seconds: float
    # What this `up` removed before building: "kept" (a half-built lab an earlier `up
    # --keep-on-error` kept), "unfinished" (the remains of an `up` that died), or "".
    replaced: str = ""


# How a person is told what `up` removed before building (UpResult.replaced).
REPLACED = {
    "kept": "the half-built lab kept by an earlier 'up --keep-on-error' was removed first",
    "unfinished": "the remains of an earlier 'up' that did not finish were removed first",
}


STDIN = "-"  # the FILE that says: read the topology from standard input


def _shell_word(text: str) -> str:
    """A path as a shell reads it back, inside a hint that is itself in single quotes:
    as it is (ünï.yaml too), or in double quotes when the shell would split or expand it."""
    if not re.search(r"""[\s'"\\$`!*?\[\]{}()<>|&;#~]""", text):
        return text
    return '"' + re.sub(r'(["\\$`])', r"\\\1", text) + '"'


class Lab:
    def __init__(self, topology: Topology | None, name: str | None = None, source: str = "",
                 host: str | None = None, checked: Checked | None = None) -> None:
        """A lab of `topology`; or (None) of what `checked` holds of one (from_checked)."""
        self._topology = topology
        self._checked = checked
        if name is None:  # --name '' is not the file's
            if topology is not None:
                name = topology.name
            else:
                assert checked is not None, "a lab of neither a topology nor a checked one"
                name = checked.name
        self.name = name
        self.source = source
        self.host = host  # a lab across hosts: the part of this host (docs/multi-host.md)
        self.state = LabState(self.name)
        self._plan: Plan | None = None
        self._places: Places | None = None  # where addresses meet, made when first asked
        self.loaded: LoadedTopology | None = None  # the file's lines, for messages

    @classmethod
    def from_checked(cls, checked: Checked, name: str | None = None, source: str = "",
                     host: str | None = None) -> Lab:
        """The lab of a topology checked and planned before (the plan cache's entry,
        lab/plancache.py): `up` runs from it without the model; the model is made from
        its topology only if something else asks for it."""
        return cls(None, name, source, host, checked)

    @property
    def topology(self) -> Topology:
        if self._topology is None:
            from netlab.spec.model import Topology

            assert self._checked is not None
            self._topology = Topology.model_validate(self._checked.topology)
        return self._topology

    @property
    def checked(self) -> Checked:
        """What `up` needs of the topology and its plan, as plain data."""
        if self._checked is None:
            from netlab.lab.plancache import Checked
            from netlab.lab.preflight import needs
            from netlab.lab.status_skeleton import skeleton

            topology, plan = self.topology, self.plan
            self._checked = Checked(
                topology.model_dump(mode="json"), skeleton(self), plan.ops,
                plan.namespaces, needs(topology, self.loaded, self.source),
                len(topology.links),
                {n: list(topology.nodes[n].services) for n in plan.namespaces})
        return self._checked

    # --- construction -----------------------------------------------------------------
    @classmethod
    def from_file(
        cls, path: str | os.PathLike[str] | Generated,
        overrides: Mapping[str, str] | None = None, name: str | None = None,
        host: str | None = None,
    ) -> Lab:
        """The lab of a topology file; "-" reads it from standard input (a JSON object
        there is a topology already rendered, as `--all-hosts` sends it: no Jinja2); a
        Generated is the topology `--topo` makes."""
        from netlab.spec import load_text, load_topology

        if not isinstance(path, (str, os.PathLike)):  # Generated (not imported for a file)
            loaded: LoadedTopology = load_topology(path, overrides or {})
            source = str(path)
        elif os.fspath(path) == STDIN:
            text = sys.stdin.read()
            loaded = load_text(text, "<stdin>", overrides or {},
                               rendered=text.lstrip().startswith("{"))
            source = "<stdin>"
        else:
            loaded = load_topology(os.fspath(path), overrides or {})
            source = str(Path(path).resolve())
        return cls.from_loaded(loaded, name, source, host)

    @classmethod
    def from_loaded(cls, loaded: LoadedTopology, name: str | None = None, source: str = "",
                    host: str | None = None) -> Lab:
        lab = cls(loaded.topology, name, source, host)
        lab.loaded = loaded
        return lab

    def with_saved_files(self, handin: str) -> tuple[Lab, list[str]]:
        """This lab with the node files a `netlab save` handed in (`handin`: its folder):
        their `files:` and FRR configs only; what runs stays this topology's
        (netlab/spec/restore.py). And a note per handed-in node this lab has not."""
        from netlab.spec import load_topology
        from netlab.spec.restore import with_saved_files

        loaded = self.loaded or load_topology(self.source)
        restored, notes = with_saved_files(loaded, handin)
        lab = Lab(restored.topology, self.name, self.source, self.host)
        lab.loaded = restored
        return lab, notes

    @classmethod
    def attach(cls, name: str) -> Lab:
        """A lab that is up, from its saved state (no file needed)."""
        state = LabState(name)
        meta = state.read_meta()
        if not meta:
            raise LabStateConflict(f"lab '{name}' is not up", hint=labs_hint())
        from pydantic import ValidationError

        from netlab.spec.model import Topology

        try:
            topology = Topology.model_validate(meta.get("topology"))
        except ValidationError as err:
            # A record written by another version of netlab (keys this one does not know),
            # or edited by hand: its journal still takes it down.
            first = err.errors()[0]
            where = ".".join(str(p) for p in first["loc"])
            raise LabStateError(
                f"the record of lab '{name}' does not fit this netlab ({where}: "
                f"{first['msg'].lower()}); was it made by another version?",
                hint=f"'netlab down -l {name}' still works from the journal",
            ) from None
        return cls(topology, name, meta.get("file", ""), meta.get("host"))

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
        from netlab.lab.faults import FaultInjectingKernel
        from netlab.lab.preflight import refuse
        from netlab.lab.teardown_journal import teardown_journal

        checked = self.checked
        refuse(checked.needs)  # netem? before anything
        started = time.monotonic()
        replaced = ""
        with self.state.locked(what="up"), stop_on_signals() as stop:
            if self.state.exists():
                meta = self.state.read_meta()
                same = _what_is_built(meta.get("topology")) == _what_is_built(checked.topology)
                # A record from before "complete" was kept is of a finished up.
                finished = meta.get("complete", True) is True
                if same and finished and not recreate:
                    self._refuse_missing_namespaces()
                    if meta.get("topology") != checked.topology:
                        # Only checks or the description changed: keep the new ones.
                        self.state.write_meta({**meta, "topology": checked.topology,
                                               "status": checked.skeleton})
                    return UpResult(self.name, False, 0, time.monotonic() - started)
                if finished and not recreate:
                    self._refuse_changed(str(meta.get("file") or ""))
                if not finished:
                    replaced = "kept" if meta.get("kept") is True else "unfinished"
                teardown_journal(self.state, stop)
            if stop.signals:
                raise Interrupted("interrupted", hint="nothing was built")
            self._refuse_foreign_objects()
            meta = {
                "lab": self.name,
                "file": self.source,
                "topology": checked.topology,
                "created": time.time(),
                "host": self.host,
                "pid": os.getpid(),
                "complete": False,
                "status": checked.skeleton,  # what `netlab status` reads instead of the model
            }
            kernel: FaultInjectingKernel | None = None
            try:
                self.state.write_meta(meta)
                kernel = FaultInjectingKernel()
                apply(checked.ops, kernel, self.state, keep_on_error, progress, stop)
                self.state.write_meta({**meta, "complete": True})
            except BaseException as error:
                if replaced and isinstance(error, NetlabError):
                    # "the host is as it was" holds from the removal on: say the removal.
                    error.hint = "; ".join(filter(None, (error.hint, REPLACED[replaced])))
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
        return UpResult(self.name, True, len(checked.ops), time.monotonic() - started,
                        replaced)

    def down(self, progress: TeardownProgress | None = None) -> TeardownReport:
        """Undo the journal in exact reverse order. A lab that is not up: nothing to do.
        progress(done, total), if given, after each undo sent to the kernel."""
        require_privileges("take a lab down")
        from netlab.lab.cleanup import remove_stray_cgroups
        from netlab.lab.teardown_journal import teardown_journal

        with self.state.locked(what="down"):
            report = teardown_journal(self.state, progress=progress)
            remove_stray_cgroups(self.name)
            return report

    def _refuse_foreign_objects(self) -> None:
        from netlab.kernel import nsfs

        existing = [ns for ns in self.checked.namespaces.values() if nsfs.taken(ns)]
        if existing:
            owner = lab_owning(existing[0])
            if owner is not None:
                hint = (f"it is a namespace of lab '{owner}', which is up (lab and node names "
                        f"are joined by '-'): give this lab another name with --name, or "
                        f"take that one down with 'netlab down -l {owner}'")
            else:
                hint = "if it is a leftover of a crashed run: 'netlab cleanup --dry-run'"
            raise LabStateConflict(
                f"namespace {existing[0]} already exists and is not part of lab "
                f"'{self.name}'; netlab will not adopt or delete it",
                hint=hint,
            )

    def missing_namespaces(self) -> dict[str, str]:
        """The nodes whose namespace is not there (removed by hand, say): node -> namespace."""
        from netlab.kernel import nsfs

        return {node: ns for node, ns in self.checked.namespaces.items()
                if not nsfs.exists(ns)}

    def _refuse_missing_namespaces(self) -> None:
        missing = self.missing_namespaces()
        if missing:
            listed = ", ".join(f"{node} ({ns})" for node, ns in list(missing.items())[:3])
            more = f" and {len(missing) - 3} more" if len(missing) > 3 else ""
            again = self._up_args()
            raise LabStateConflict(
                f"lab '{self.name}' is up but the namespace of {count(missing, 'node')} is "
                f"missing: {listed}{more}",
                hint=f"'netlab up --recreate {again}' builds it anew (or 'netlab down -l "
                f"{self.name}', then 'netlab up {again}')",
            )

    def _refuse_changed(self, built_from: str) -> None:
        if built_from and built_from != self.source:
            # Another file that happens to use the same name: --recreate would replace it.
            raise LabStateConflict(
                f"lab '{self.name}' is already up, built from {built_from}",
                hint=f"'netlab up {self._file_arg()} --name OTHER' builds this one beside it; "
                f"'netlab up --recreate {self._up_args()}' replaces it",
            )
        raise LabStateConflict(
            f"lab '{self.name}' is already up with a different topology",
            hint=f"'netlab up --recreate {self._up_args()}' tears it down and builds it anew",
        )

    def _up_args(self) -> str:
        """What `netlab up` is given to build this lab again, for hints: its file, and
        --name when the lab is not named as its topology."""
        name = f" --name {self.name}" if self.name != self.checked.name else ""
        return self._file_arg() + name

    def _file_arg(self) -> str:
        """The lab's topology as `netlab up` takes it: its file, --topo, or '-' (stdin)."""
        if self.source.startswith("--topo "):
            return self.source
        return _shell_word({"": "FILE", "<stdin>": "-"}.get(self.source, self.source))

    def dead_services(self) -> list[tuple[str, str]]:
        """The (node, service) pairs of the lab whose process is not running."""
        from netlab.kernel.service_state import service_state
        from netlab.plan.naming import node_dir
        from netlab.state.store import state_root

        checked = self.checked
        return [(node, name) for node, names in checked.services.items()
                for name in names
                if not service_state(checked.namespaces[node],
                                     node_dir(str(state_root()), self.name, node),
                                     name)["running"]]

    def node_namespace(self, node: str) -> str:
        """The namespace of `node`, which must be there (LabStateError if it is missing)."""
        return present(self.name, node, self.namespace(node), self._up_args())

    # --- inside the lab ---------------------------------------------------------------
    def exec(
        self, node: str, cmd: str | Sequence[str], timeout: float | None = None,
        input: str | None = None,
    ) -> subprocess.CompletedProcess[str]:
        """Run cmd (an argv list, or a string for `sh -c`) in the node as its `exec:`
        commands run (node_command); capture output."""
        argv, env = self.node_command(node, ["sh", "-c", cmd] if isinstance(cmd, str) else cmd)
        return subprocess.run(argv, capture_output=True, text=True, timeout=timeout,
                              input=input, check=False, env=env)

    def node_command(self, node: str, argv: Sequence[str]) -> tuple[list[str], dict[str, str]]:
        """argv and environment that run a program inside `node` as its `exec:` commands
        run: in its namespaces (network, mount, UTS), in its folder, with its env: and the
        NETLAB_* variables."""
        return node_command(self.name, node, self.node_namespace(node),
                            self.topology.nodes[node].env, argv)

    def address(self, target: str, family: int | None = None) -> str:
        """What a target means in the lab: an address is itself; a node (or node:interface)
        is its first address (of `family`, if given) in the topology, else the one it has
        in the kernel now (made by its commands, or by DHCP). InputError when none."""
        from netlab.kernel.dumps import first_address, read_namespace
        from netlab.spec.targets import (
            no_address,
            no_interface,
            refuse_link_local,
            written_address,
        )

        address = written_address(self.topology, target, family)
        if address is None:
            node, _, iface = target.partition(":")
            ns = self.node_namespace(node)
            address = first_address(ns, iface or None, family)
            if address is None and iface:
                names = [link["ifname"] for link in read_namespace(ns)]
                if iface not in names:
                    raise InputError(no_interface(node, iface, [n for n in names if n != "lo"]))
        if address is None:
            raise InputError(no_address(target, family, live=True))
        refuse_link_local(address)
        return address

    def address_from(self, source: str, target: str, family: int | None = None) -> str:
        """address(target) as probed from `source`, refused as refuse_ambiguous() says."""
        address = self.address(target, family)
        self.refuse_ambiguous(source, target, address)
        return address

    def refuse_ambiguous(self, source: str, target: str, address: str) -> None:
        """InputError when `target` is a node (or node:interface), meaning `address`, which
        the topology gives to several interfaces `source` may reach, or to `source` itself
        (spec/segments.py): either could answer. An address is taken as written."""
        from netlab.spec.endpoints import parse_target
        from netlab.spec.ip import parse_address
        from netlab.spec.segments import Places

        parsed = parse_target(target)
        if not isinstance(parsed, tuple) or parsed[0] == source \
                or source not in self.topology.nodes:
            return
        if self._places is None:
            self._places = Places(self.topology)
        own, places = self._places.answering(source, parse_address(address))
        hint = ("the topology gives that address to several interfaces (docs/links.md "
                "\"Where the same address may appear\"); name an interface whose address only "
                "it has, or give an address")
        if own:
            raise InputError(f"{target} means {address}, which is {source}'s own address "
                             f"(on {places[0][1]})", hint=hint)
        if places:
            where = ", ".join(f"{n}:{i}" for n, i in places)
            raise InputError(f"{target} means {address}, which {where} all have, and "
                             f"{source} may reach either", hint=hint)

    def ping(self, source: str, target: str, count: int = 3, timeout: float = 1.0) -> bool:
        """Whether `target` (a node, node:interface or an address: see address_from())
        answers an ICMP echo sent from inside `source`; one of `count` tries is enough."""
        from netlab.kernel.reach import ping

        ns = self.node_namespace(source)
        return ping(ns, self.address_from(source, target), timeout, count) is not None

    def socket(self, node: str, family: int = socket.AF_INET,
               kind: int = socket.SOCK_STREAM) -> socket.socket:
        """A socket opened inside the node's namespace, usable from this program."""
        from netlab.kernel.reach import socket_in

        return socket_in(self.node_namespace(node), family, kind)

    def status(self, progress: Progress | None = None) -> dict[str, Any]:
        """The netlab.status/1 document (docs/status-json.md), read from the kernel."""
        from netlab.lab.status_doc import status_document
        from netlab.lab.status_skeleton import skeleton

        return status_document(skeleton(self), self.name, self.source, self.is_up(), progress)

    def shell_command(self, node: str) -> tuple[list[str], dict[str, str]]:
        """What `netlab shell NODE` runs (and the web page's terminal): the user's $SHELL
        inside the node, and the variables it gets on top of ours."""
        argv, env = self.node_command(node, [os.environ.get("SHELL", "/bin/bash")])
        env["NETLAB_NODE"] = f"{self.name}:{node}"  # for a prompt: which lab, which node
        return argv, env

    def service_logs(self, node: str) -> dict[str, Path]:
        """The log file of each of the node's services, by service name (none: {})."""
        from netlab.kernel.service_state import log_file
        from netlab.plan.ops import StartService

        ns = self.namespace(node)  # a clear error for a node that does not exist
        return {op.name: log_file(op.node_dir, op.name) for op in self.plan.ops
                if isinstance(op, StartService) and op.ns == ns}

    def service(self, node: str, name: str | None, action: str) -> list[dict[str, Any]]:
        """start, stop, restart or status of one of the node's services (or all of them,
        name None), as `up` started them. Returns each one's state afterwards. Not
        journaled: `down` stops a node's services whether they run or not."""
        from netlab.kernel.service_state import service_state
        from netlab.kernel.services import ProcessOpsKernel, stop_service
        from netlab.plan.ops import StartService

        require_privileges("start and stop a lab's services")
        ns = self.node_namespace(node)
        ops = {op.name: op for op in self.plan.ops
               if isinstance(op, StartService) and op.ns == ns}
        if not ops:
            raise InputError(f"node '{node}' has no services")
        if name is not None and name not in ops:
            raise InputError(f"node '{node}' has no service '{name}' "
                             f"(services: {', '.join(ops)})")
        chosen = [ops[name]] if name is not None else list(ops.values())
        if action in ("stop", "restart"):
            for op in chosen:
                stop_service(ns, op.name)
        if action in ("start", "restart"):
            wanted = [op for op in chosen
                      if not service_state(ns, op.node_dir, op.name)["running"]]
            kernel = ProcessOpsKernel()
            try:
                kernel.execute(wanted, lambda a, b: None, lambda i: None)
            finally:
                kernel.close()
        return [service_state(ns, op.node_dir, op.name) for op in chosen]

    def capture(self, node: str, ifname: str) -> Capture:
        """A capture on the node's interface (a context manager; see kernel/capture.py)."""
        from netlab.kernel.capture import Capture, NoSuchInterface

        ns = self.node_namespace(node)
        try:
            capture = Capture(ns, ifname)
        except NoSuchInterface:
            known = sorted({"lo", *(i.name for i in self.plan.interfaces.get(node, []))})
            raise InputError(
                f"node '{node}' has no interface '{ifname}' (interfaces: {', '.join(known)})"
            ) from None
        capture.label = f"{node}:{ifname}"
        return capture

    def save(self, folder: str, force: bool = False) -> Saved:
        """Hand in the running lab: each node's private folders and files into `folder`,
        and `folder`/topology.yaml, which `Lab.from_file` and `up` bring back (see
        netlab/lab/save.py)."""
        from netlab.lab.save import save

        return save(self.name, folder, force)

    def link(self, endpoint: str) -> LinkControl:
        """One end of a cable, 'node:interface', to act on while the lab runs: down(), up(),
        set(rate="1mbit"), clear(), flap(...) (see netlab/lab/link_control.py)."""
        from netlab.lab.link_control import LinkControl

        return LinkControl(self, endpoint)


class Builder(TopologyBuilder):
    """A topology made in Python (netlab.build(name)); lab() gives its Lab, checked as a
    file is. See netlab/spec/builder.py."""

    def lab(self, name: str | None = None) -> Lab:
        loaded = self.loaded()
        lab = Lab(loaded.topology, name, loaded.filename)
        lab.loaded = loaded
        return lab


def down_lab(name: str, progress: TeardownProgress | None = None,
             ) -> tuple[bool, TeardownReport]:
    """Take lab `name` down from its journal alone, without its file or its record (which
    may be unreadable after a crash). Returns whether it was up, and what was undone."""
    state = LabState(name)
    if not state.dir.exists() and not state.lock_path.exists():
        return False, TeardownReport()  # not up: nothing to do, no privilege needed
    require_privileges("take a lab down")
    from netlab.lab.cleanup import remove_stray_cgroups
    from netlab.lab.teardown_journal import teardown_journal

    # A lock file without a record: a command was killed between removing the record and
    # removing its lock. Taking the lock (free: its holder is dead) removes the file.
    with state.locked(what="down"):
        was_up = state.exists()
        report = teardown_journal(state, progress=progress)
        remove_stray_cgroups(name)
        return was_up, report


def _what_is_built(topology: Any) -> Any:
    """A topology without the keys that change nothing in the kernel (checks, description),
    so that editing a lab's checks does not ask for --recreate."""
    if not isinstance(topology, dict):
        return topology
    return {k: v for k, v in topology.items() if k not in ("checks", "description")}


def checked_lab(file: str | Generated, overrides: Mapping[str, str], name: str | None,
                host: str | None, cache: bool = True) -> Lab:
    """The lab of `up`'s FILE, checked and planned: from the plan cache
    (`cache`) when this file was built before and nothing that went into its plan has
    changed (lab/plancache.py: no YAML, model or checks then); else loaded, checked and
    planned, and kept there when it may be."""
    from netlab.lab import plancache

    source = None
    if cache and isinstance(file, str) and file != STDIN:
        source = plancache.read(file, overrides, name, host)
        checked = plancache.lookup(source) if source is not None else None
        if source is not None and checked is not None:
            return Lab.from_checked(checked, name, source.resolved, host)
    if source is None:
        return Lab.from_file(file, overrides, name, host)
    from netlab.spec import load_text, userdb

    userdb.start_recording()  # the user and group lookups of the checks and the plan
    try:
        # The text whose bytes are in the key: an edit since is the next up's miss.
        lab = Lab.from_loaded(load_text(source.text, source.shown, overrides), name,
                              source.resolved, host)
        checked = lab.checked
    finally:
        lookups = userdb.stop_recording()
    plancache.save(source, checked, lookups)
    return lab


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


def resolve_lab(
    name: str | None, file: str | Generated | None, overrides: Mapping[str, str]
) -> Lab:
    """-l LAB, or FILE, or (neither) the only lab that is up."""
    if file:
        return Lab.from_file(file, overrides, name)
    return Lab.attach(name or only_lab())
