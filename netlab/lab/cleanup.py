"""Find and remove what a crashed run left behind, by netlab's marks alone.

A namespace is ours when its name has the prefix `netlab-` and either its loopback carries
the alias `netlab:<lab>`, or it is empty and nothing runs in it (a crash between creating
it and marking it). Host interfaces are ours when their alias is `netlab:<lab>`. A lab
directory under /run/netlab with no journal is the record of an `up` that died before its
first op; a lock file with no lab directory is what a command killed at its very end left.
A lab whose `up` did not finish (its record says incomplete and nobody holds its lock) is
taken down from its journal, as `netlab down -l LAB` does; one kept on purpose with
--keep-on-error only when named with -l. Whatever a lab that is up still journals belongs
to that lab and is left to `netlab down`; a lab that a command is working on right now (its
lock is held) is not touched at all. Nothing unmarked is touched.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass

from netlab.errors import LabStateError
from netlab.plan.naming import lab_of_mark
from netlab.plan.ops import CreateNamespace
from netlab.state.store import (
    LabState,
    dirs_without_journal,
    labs_with_state,
    locks_without_lab,
    unheld_test_files,
)
from netlab.values.names import MARK_PREFIX, NS_PREFIX


@dataclass(frozen=True)
class Leftover:
    # "lab", "namespace", "node-host", "cgroup", "host-link", "state", "lock",
    # "test-file" or "mountpoint"
    kind: str
    name: str
    lab: str | None
    why: str


@dataclass(frozen=True)
class Survey:
    leftovers: list[Leftover]
    ignored: list[Leftover]  # looks like ours by name, carries no mark: left alone


def _owned_by(lab: str) -> set[str]:
    """The namespaces that lab `lab` journals (none if it is not up)."""
    try:
        entries = LabState(lab).entries()
    except LabStateError:
        return set()  # a damaged journal claims nothing; its marked namespaces are listed
    return {e.op.ns for e in entries if isinstance(e.op, CreateNamespace)}


def _owned_by_labs_up() -> set[str]:
    owned: set[str] = set()
    for lab in labs_with_state():
        owned.update(_owned_by(lab))
    return owned


def remove_stray_cgroups(lab: str) -> None:
    """Remove the cgroups named for nodes of `lab` whose namespace is gone and that no lab
    up journals: made by an entry that raced `down` (a check still running), or for a
    node the lab never had. `down` takes them with the lab, as `cleanup -l` would."""
    from netlab.kernel import cgroups, nsfs

    prefix = f"{NS_PREFIX}{lab}-"
    strays = [ns for ns in cgroups.groups() if ns.startswith(prefix) and not nsfs.exists(ns)]
    if strays:
        owned = _owned_by_labs_up()  # a lab named "<lab>-x" shares the prefix
        for ns in strays:
            if ns not in owned:
                cgroups.kill(ns)


def survey(only_lab: str | None = None) -> Survey:
    from netlab.kernel import nodehost, nsfs
    from netlab.kernel.dumps import list_marked_links_in_host, read_namespace
    from netlab.kernel.processes import pids_in

    owned = _owned_by_labs_up()
    leftovers: list[Leftover] = []
    ignored: list[Leftover] = []
    # A lab's namespaces are all named netlab-<lab>-<node>: with -l, read only those.
    for ns in nsfs.list_names(f"{NS_PREFIX}{only_lab}-" if only_lab else NS_PREFIX):
        if ns in owned:
            continue
        if nsfs.never_mounted(ns):
            # The mount point of a namespace that a crash stopped before it was made.
            leftovers.append(Leftover("namespace", ns, None, "empty file, never mounted"))
            continue
        try:
            links = read_namespace(ns)
        except FileNotFoundError:
            continue  # gone meanwhile
        except OSError:
            ignored.append(Leftover("namespace", ns, None, "cannot be read"))
            continue
        lo = next((link for link in links if link["ifname"] == "lo"), None)
        lab = lab_of_mark((lo or {}).get("alias") or "")
        others = [link for link in links if link["ifname"] != "lo"]
        if lab is not None:
            if not only_lab or lab == only_lab:
                leftovers.append(Leftover("namespace", ns, lab, f"marked {MARK_PREFIX}{lab}"))
        elif others:
            ignored.append(Leftover("namespace", ns, None, "not marked by netlab"))
        elif pids_in(ns):
            ignored.append(Leftover("namespace", ns, None, "not marked, processes inside"))
        else:
            leftovers.append(Leftover("namespace", ns, None, "empty, named like netlab's"))
    # A node's mount and UTS namespaces, pinned in nodehost.PIN_DIR under its namespace's
    # name: left over when no lab up journals that namespace.
    lab_of_ns = {lo.name: lo.lab for lo in leftovers if lo.kind == "namespace"}
    for ns in nodehost.leftovers(f"{NS_PREFIX}{only_lab}-" if only_lab else NS_PREFIX):
        if ns not in owned:
            leftovers.append(Leftover("node-host", ns, lab_of_ns.get(ns),
                                      "mount and uts namespaces that no lab up holds"))

    from netlab.kernel import cgroups

    namespaces = set(nsfs.list_names(NS_PREFIX))
    for ns in cgroups.groups():
        # A node's cgroup outlives its namespace only through a crash between the two.
        if (ns.startswith(f"{NS_PREFIX}{only_lab}-" if only_lab else NS_PREFIX)
                and ns not in owned and ns not in namespaces):
            leftovers.append(Leftover("cgroup", ns, None, "a node's cgroup, its namespace "
                                      "gone; its processes are stopped"))
    for lab in labs_with_state():
        if only_lab and lab != only_lab:
            continue
        found = _unfinished(lab, named=only_lab == lab)
        if found is not None:
            leftover, leave_alone = found
            (ignored if leave_alone else leftovers).append(leftover)
    labs_up = set(labs_with_state())
    for link in list_marked_links_in_host(MARK_PREFIX):
        lab = lab_of_mark(link["alias"])
        if lab in labs_up or (only_lab and lab != only_lab):
            continue
        leftovers.append(Leftover("host-link", link["ifname"], lab, f"marked {link['alias']}"))
    for lab in dirs_without_journal():
        if not only_lab or lab == only_lab:
            leftovers.append(Leftover("state", lab, lab, "a lab record with no journal"))
    for lab in locks_without_lab():
        if not only_lab or lab == only_lab:
            # Removed by remove() taking the lab's lock (a lock file goes with its holder).
            leftovers.append(Leftover("lock", f".{lab}.lock", lab, "a lock file with no lab"))
    for lab in unheld_test_files():
        if not only_lab or lab == only_lab:
            leftovers.append(Leftover("test-file", f".{lab}.test", lab,
                                      "a `netlab test` file that no run holds"))
    for entry in nsfs.stale_templates():
        # Belongs to no lab: a netlab process killed while it made namespaces left it.
        leftovers.append(Leftover("mountpoint", entry, None,
                                  "a mountpoint template of a netlab process that is gone"))
    return Survey(leftovers, ignored)


def _unfinished(lab: str, named: bool) -> tuple[Leftover, bool] | None:
    """A lab whose `up` did not finish and that nobody works on: a leftover, and whether
    to leave it alone: one kept with --keep-on-error is someone's to debug, unless named."""
    from netlab.state.condition import condition

    now = condition(lab)
    if now.state != "incomplete":
        return None  # up, unreadable (left to `down -l`), or being worked on
    if now.kept and not named:
        return Leftover("lab", lab, lab, f"kept with --keep-on-error; 'netlab down -l {lab}' "
                        f"or 'netlab cleanup -l {lab}' removes it"), True
    why = "its 'up' failed and it was kept" if now.kept else "its 'up' did not finish"
    return Leftover("lab", lab, lab, f"{why}; its journal is undone"), False


@contextlib.contextmanager
def _lab_held(lab: str | None) -> Iterator[bool]:
    """The lab's lock if it is free (True); False if a command is working on the lab."""
    if lab is None:
        yield True
        return
    stack = contextlib.ExitStack()
    try:
        stack.enter_context(LabState(lab).try_locked(what="cleanup"))
    except LabStateError:
        yield False
        return
    with stack:
        yield True


def remove(leftovers: list[Leftover]) -> list[str]:
    """Remove the leftovers; returns what could not be removed (or was left alone because
    a command is working on its lab), in words."""
    from netlab.kernel import cgroups, nodehost, nsfs
    from netlab.kernel.hostlinks import delete_marked
    from netlab.kernel.processes import pids_in, stop_all_in

    problems: list[str] = []
    by_lab: dict[str | None, list[Leftover]] = {}
    for leftover in leftovers:
        by_lab.setdefault(leftover.lab, []).append(leftover)
    for lab, items in by_lab.items():
        with _lab_held(lab) as free:
            if not free:
                problems.append(f"lab '{lab}' is busy (a netlab command is working on it); "
                                "left as it is")
                continue
            for leftover in items:
                if leftover.kind == "lab":
                    problems += _take_down(leftover.name)
            # Under the lock the lab cannot change: what its journal holds now is its own.
            owned = _owned_by(lab) if lab is not None else set()
            namespaces = [lo.name for lo in items
                          if lo.kind == "namespace" and lo.name not in owned]
            if lab is None:
                # Unmarked and empty when surveyed: still so? Someone may have started
                # using it since.
                namespaces = [ns for ns in namespaces if not pids_in(ns)]
            stop_all_in(namespaces)
            if lab is None:  # a lab may have begun to journal it since the survey
                owned = _owned_by_labs_up()
            for leftover in items:
                try:
                    if leftover.kind == "cgroup" and leftover.name.startswith(NS_PREFIX):
                        cgroups.kill(leftover.name)
                    elif leftover.kind == "namespace":
                        if leftover.name in namespaces and leftover.name.startswith(NS_PREFIX):
                            nsfs.remove(leftover.name)
                    elif leftover.kind == "node-host" and leftover.name not in owned:
                        nodehost.remove(leftover.name)
                    elif leftover.kind == "mountpoint":
                        nsfs.remove_stale_template(leftover.name)
                    elif leftover.kind == "test-file" and leftover.lab is not None:
                        # Taken alone, it is removed as its holder leaves (a run that
                        # began meanwhile keeps it).
                        with contextlib.suppress(LabStateError), \
                                LabState(leftover.lab).testing(True, "cleanup"):
                            pass
                    elif leftover.kind == "host-link" and leftover.lab is not None:
                        delete_marked(leftover.name, f"{MARK_PREFIX}{leftover.lab}")
                    elif leftover.kind == "state" and lab is not None:
                        state = LabState(lab)
                        if not state.exists():
                            state.remove()
                except FileNotFoundError:
                    pass  # gone meanwhile: that is what was wanted
                except OSError as error:
                    problems.append(f"{leftover.name}: {error.strerror or error}")
    return problems


def _take_down(lab: str) -> list[str]:
    """Undo the journal of a lab whose `up` did not finish, as `netlab down -l` does (the
    caller holds the lab's lock). Finished meanwhile (an `up` ran between the survey and
    now): a lab that is up, left alone."""
    from netlab.lab.teardown_journal import teardown_journal

    state = LabState(lab)
    try:
        if state.read_meta().get("complete", True) is True:
            return []
        teardown_journal(state)
    except LabStateError as error:
        return [str(error)]
    return []
