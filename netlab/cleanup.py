"""Find and remove what a crashed run left behind, by netlab's marks alone.

A namespace is ours when its name has the prefix `netlab-` and either its loopback carries
the alias `netlab:<lab>` or it is empty (a crash between creating it and marking it). Host
interfaces are ours when their alias is `netlab:<lab>`. Whatever a lab that is up still
journals belongs to that lab and is left to `netlab down`. Nothing unmarked is touched.
"""

from __future__ import annotations

from dataclasses import dataclass

from netlab.plan.naming import MARK_PREFIX, NS_PREFIX, lab_of_mark
from netlab.plan.ops import CreateNamespace
from netlab.state.store import LabState, labs_with_state


@dataclass(frozen=True)
class Leftover:
    kind: str  # "namespace", "host-link" or "state"
    name: str
    lab: str | None
    why: str


@dataclass(frozen=True)
class Survey:
    leftovers: list[Leftover]
    ignored: list[Leftover]  # looks like ours by name, carries no mark: left alone


def _owned_by_labs_up() -> set[str]:
    owned: set[str] = set()
    for lab in labs_with_state():
        owned.update(
            e.op.ns for e in LabState(lab).entries() if isinstance(e.op, CreateNamespace)
        )
    return owned


def survey(only_lab: str | None = None) -> Survey:
    from netlab.kernel import nsfs
    from netlab.kernel.inspect import list_marked_links_in_host, read_namespace

    owned = _owned_by_labs_up()
    leftovers: list[Leftover] = []
    ignored: list[Leftover] = []
    for ns in nsfs.list_names(NS_PREFIX):
        if ns in owned:
            continue
        links = read_namespace(ns)
        lo = next((link for link in links if link["ifname"] == "lo"), None)
        lab = lab_of_mark((lo or {}).get("alias") or "")
        others = [link for link in links if link["ifname"] != "lo"]
        if only_lab and lab != only_lab:
            continue
        if lab is not None:
            leftovers.append(Leftover("namespace", ns, lab, f"marked {MARK_PREFIX}{lab}"))
        elif not others:
            leftovers.append(Leftover("namespace", ns, None, "empty, named like netlab's"))
        else:
            ignored.append(Leftover("namespace", ns, None, "not marked by netlab"))
    labs_up = set(labs_with_state())
    for link in list_marked_links_in_host(MARK_PREFIX):
        lab = lab_of_mark(link["alias"])
        if lab in labs_up or (only_lab and lab != only_lab):
            continue
        leftovers.append(Leftover("host-link", link["ifname"], lab, f"marked {link['alias']}"))
    return Survey(leftovers, ignored)


def remove(leftovers: list[Leftover]) -> list[str]:
    """Remove the leftovers; returns what could not be removed, in words."""
    from netlab.kernel import nsfs
    from netlab.kernel.hostlinks import delete_marked
    from netlab.kernel.processes import stop_all_in

    namespaces = [lo.name for lo in leftovers if lo.kind == "namespace"]
    stop_all_in(namespaces)
    problems: list[str] = []
    for leftover in leftovers:
        try:
            if leftover.kind == "namespace" and leftover.name.startswith(NS_PREFIX):
                nsfs.remove(leftover.name)
            elif leftover.kind == "host-link" and leftover.lab is not None:
                delete_marked(leftover.name, f"{MARK_PREFIX}{leftover.lab}")
        except OSError as error:
            problems.append(f"{leftover.name}: {error.strerror or error}")
    return problems
