"""`netlab up FILE --restore HANDIN`: the lab of FILE with the files a `netlab save` handed in.

Only data comes from the handed-in topology (HANDIN/topology.yaml): each node's `files:` and
an FRR node's `frr: config`, for the nodes FILE has. What runs (`exec:`, `prepare:`,
services) and where files may go (`private:`) stay FILE's, so a teacher restoring a
student's folder runs the teacher's own lab: a file outside FILE's private folders is left
out, with a note.
"""

from __future__ import annotations

import os
from typing import Any

from netlab.errors import InputError
from netlab.spec import yamltree
from netlab.spec.loaded import LoadedTopology

SAVED_TOPOLOGY = "topology.yaml"  # in a folder `netlab save` wrote
FRR_CONF = "/etc/frr/frr.conf"


def saved_file(handin: str) -> str:
    """The handed-in topology: HANDIN/topology.yaml, or HANDIN when it is a file."""
    path = os.path.join(handin, SAVED_TOPOLOGY) if os.path.isdir(handin) else handin
    if not os.path.isfile(path):
        raise InputError(f"{handin}: no {SAVED_TOPOLOGY} of 'netlab save' there",
                         hint="name the folder 'netlab save DIR' wrote")
    return path


def with_saved_files(loaded: LoadedTopology, handin: str) -> tuple[LoadedTopology, list[str]]:
    """`loaded` with the handed-in nodes' files and FRR configs; a note per node of the
    handed-in lab that `loaded` has not, and per file outside the node's private folders
    in `loaded` (left out)."""
    from netlab.spec.load import load_data, load_topology

    path = saved_file(handin)
    raw = _as_written(load_topology(path))  # checked as any topology
    data = _as_written(loaded)
    data["vars"] = loaded.topology.vars  # as rendered, after --set
    notes: list[str] = []
    for name, node in (raw.get("nodes") or {}).items():
        if name not in data["nodes"]:
            notes.append(f"{path}: node '{name}' is not in {loaded.filename}; its files "
                         "are left out")
            continue
        mine = data["nodes"][name] = data["nodes"][name] or {}
        node = node or {}
        # Where files may go: the node's private folders, those `frr:` adds included.
        folders = [p.path for p in loaded.topology.nodes[name].private_paths()]
        files = dict(mine.get("files") or {})
        for file, value in (node.get("files") or {}).items():
            if str(file).startswith("/") and not any(str(file).startswith(f"{d}/")
                                                     for d in folders):
                notes.append(f"{path}: {name}:{file} is in none of the node's private "
                             f"folders in {loaded.filename}; left out")
                continue
            files[file] = value
        config = (node.get("frr") or {}).get("config")
        if config is not None and not isinstance(mine.get("frr"), dict):
            notes.append(f"{path}: {name}'s FRR config is left out: {name} runs no FRR in "
                         f"{loaded.filename}")
        elif config is not None:
            mine["frr"]["config"] = config
            files.pop(FRR_CONF, None)  # written from the new config as `frr:` writes it
        mine["files"] = files
    return load_data(data, loaded.filename, loaded.lines, text=loaded.rendered), notes


def _as_written(loaded: LoadedTopology) -> dict[str, Any]:
    """A topology's keys as its file says them (rendered), not as the model fills them in."""
    tree = yamltree.parse(loaded.rendered, loaded.filename, lambda line: line)
    if not isinstance(tree.data, dict):
        raise InputError(f"{loaded.filename}: --restore needs a topology file")
    return tree.data
