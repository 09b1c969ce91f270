"""`netlab save DIR`: a running lab's node files handed in, and brought back by `netlab up`.

DIR/<node>/<path> holds each node's private folders as the node sees them (/etc/frr/frr.conf
-> DIR/r1/etc/frr/frr.conf) and DIR/<node>/node-folder/<name> the files of its folder named
in `files:`. DIR/topology.yaml is the lab's topology with those files in it: its `files:`
hold what was saved (text files), an FRR node's `frr: config` its running config (written
by `vtysh -w` first). `netlab up DIR/topology.yaml` restores the lab: the saved topology is
checked like any other; `netlab up FILE --restore DIR` takes only its files into FILE's lab
(spec/restore.py).

The files are read from the host's side of the node's folders (kernel/copyout.py: no link
followed, only regular files, bounded); everything in DIR is root's, files 0600.
"""

from __future__ import annotations

import copy
import grp
import os
import pwd
import re
import subprocess
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import yaml

from netlab.kernel import copyout
from netlab.kernel.privileges import require_privileges
from netlab.lab import record
from netlab.plan.naming import node_dir
from netlab.spec.frr import expand as frr_keys
from netlab.spec.restore import FRR_CONF
from netlab.spec.restore import SAVED_TOPOLOGY as TOPOLOGY
from netlab.spec.source import MAX_BYTES  # what netlab reads as a topology
from netlab.state.store import LabState, state_root

NODE_FOLDER = "node-folder"  # DIR/<node>/node-folder/: the files of the node's own folder
WRITE_TIMEOUT = 30.0
WRITERS = 8  # routers writing their running config at once
_JINJA = re.compile(r"\{[{%#]")


@dataclass
class Saved:
    lab: str
    folder: str
    files: dict[str, int] = field(default_factory=dict)  # per node, files saved
    bytes: int = 0
    notes: list[str] = field(default_factory=list)  # one line each: left out, not restorable


def save(lab: str | None, folder: str, force: bool = False) -> Saved:
    """Save the lab's node files into `folder` (see the module's doc)."""
    require_privileges("save a lab")
    rec = record.resolve(lab)
    copyout.open_target(folder, force, create=False)  # a wrong DIR said before the work
    with LabState(rec.lab).locked(what="save"):
        nodes = rec.here()
        routers = [node for node in nodes if _is_frr(rec.nodes[node])]
        with ThreadPoolExecutor(max_workers=max(1, min(WRITERS, len(routers)))) as pool:
            notes = [note for said in pool.map(lambda n: _write_running_config(rec, n),
                                               routers) for note in said]
        reading = copyout.Reading()
        found = {node: _read_node(rec, node, reading) for node in nodes}
    notes += reading.skipped
    topology, unrestorable = saved_topology(rec.lab, rec.topology, found,
                                          _user, _group)
    notes += unrestorable
    text = dump(topology)
    if len(text.encode()) > MAX_BYTES:
        notes.append(f"{TOPOLOGY} is larger than netlab reads ({MAX_BYTES} bytes): "
                     "restore needs smaller files")
    result = Saved(rec.lab, folder, {n: len(f) for n, f in found.items()},
                   sum(len(f.data) for files in found.values() for f in files.values()),
                   notes)
    fd = copyout.open_target(folder, force)
    assert fd is not None
    try:
        for node, files in found.items():
            for path, file in files.items():
                copyout.write_into(fd, f"{node}/{_saved_name(path)}", file.data)
        copyout.write_into(fd, TOPOLOGY, text.encode())
    finally:
        os.close(fd)
    return result


def _is_frr(spec: Any) -> bool:
    return isinstance(spec, dict) and spec.get("frr") is not None


def _write_running_config(rec: record.Record, node: str) -> list[str]:
    """FRR writes its running config to /etc/frr/frr.conf, so what was configured live with
    vtysh is saved; a note when it could not."""
    argv, env = rec.node_command(node, ["vtysh", "-w"])
    try:
        done = subprocess.run(argv, env=env, capture_output=True, text=True,
                              timeout=WRITE_TIMEOUT, check=False)
    except subprocess.TimeoutExpired:
        return [f"{node}: FRR did not write its running config within "
                f"{WRITE_TIMEOUT:.0f} s; saved {FRR_CONF} as it is"]
    if done.returncode != 0:
        said = (done.stderr or done.stdout).strip().splitlines()
        return [f"{node}: FRR did not write its running config "
                f"({said[-1] if said else f'vtysh exit status {done.returncode}'}); "
                f"saved {FRR_CONF} as it is"]
    return []


def _read_node(rec: record.Record, node: str, reading: copyout.Reading
               ) -> dict[str, copyout.Found]:
    """The node's files by the path `files:` names them with: absolute for those of its
    private folders, relative for those of its own folder."""
    spec = rec.nodes[node] or {}
    folder = node_dir(str(state_root()), rec.lab, node)
    found: dict[str, copyout.Found] = {}
    for item in spec.get("private") or []:
        path = item if isinstance(item, str) else item["path"]
        for f in copyout.read_tree(folder, f"private/{path.lstrip('/')}", f"{node}:{path}",
                                   reading):
            found[f"{path}/{f.path}"] = f
    for name in spec.get("files") or {}:
        if not name.startswith("/"):
            got = copyout.read_file(folder, name, f"{node}:{name}", reading)
            if got is not None:
                found[name] = got
    return found


def _saved_name(path: str) -> str:
    return path.lstrip("/") if path.startswith("/") else f"{NODE_FOLDER}/{path}"


def _user(uid: int) -> int | str:
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return uid


def _group(gid: int) -> int | str:
    try:
        return grp.getgrgid(gid).gr_name
    except KeyError:
        return gid


# --- the saved topology (pure) ----------------------------------------------------------


def saved_topology(lab: str, topology: Mapping[str, Any],
                   found: Mapping[str, Mapping[str, copyout.Found]],
                   user: Callable[[int], int | str], group: Callable[[int], int | str]
                   ) -> tuple[dict[str, Any], list[str]]:
    """The lab's topology (as its record holds it) with each saved node's files in its
    `files:` (and an FRR node's saved frr.conf as its `frr: config`), without what the
    record adds by default or by expanding `frr:`; and a note per file that cannot be
    restored that way (not text, or a name `files:` does not take)."""
    from pydantic import TypeAdapter, ValidationError

    from netlab.spec.model import FilePath, Topology

    names: TypeAdapter[str] = TypeAdapter(FilePath)
    doc = Topology.model_validate(copy.deepcopy(dict(topology))).model_dump(
        mode="json", exclude_defaults=True)
    doc.pop("vars", None)  # the topology is rendered: its variables did their work
    doc["name"] = lab  # the lab's (`up --name` may have given it another than the file's)
    notes: list[str] = []
    room = MAX_BYTES - len(dump(doc).encode())  # what netlab reads back, for the files
    for node, files in found.items():
        spec = doc["nodes"].get(node)
        if spec is None:
            continue
        frr = spec.get("frr")
        made = _unexpand_frr(spec) if frr is not None else {}
        # Files that were named but are gone stay gone.
        kept = {k: v for k, v in (spec.get("files") or {}).items() if k in files}
        for path, f in files.items():
            text = _text(f.data)
            if text is None:
                notes.append(f"{node}:{path}: not text, saved but not restorable by "
                             "'netlab up'")
                continue
            try:
                names.validate_python(path)
            except ValidationError:
                notes.append(f"{node}:{path}: a name `files:` does not take, saved but not "
                             "restorable by 'netlab up'")
                continue
            cost = _cost(path, text)
            if cost > room:
                notes.append(f"{node}:{path}: too large for {TOPOLOGY} (netlab reads "
                             f"{MAX_BYTES // 1_000_000} MB of a topology), saved but not "
                             "restorable by 'netlab up'")
                continue
            room -= cost
            if frr is not None and path == FRR_CONF:
                frr["config"] = text
                kept.pop(path, None)
                continue
            entry: dict[str, Any] = {"content": text, "mode": f.mode}
            if f.uid != 0:
                entry["owner"] = user(f.uid)
            if f.gid != 0:
                entry["group"] = group(f.gid)
            if made.get(path) == entry:
                continue  # as `frr:` writes it
            kept[path] = {**entry, "mode": f"{f.mode:04o}"}
        if kept:
            spec["files"] = kept
        else:
            spec.pop("files", None)
    return doc, notes


def _cost(path: str, text: str) -> int:
    """At least the bytes a file takes in the saved YAML: its escaped text, each line
    indented, its path and keys."""
    return (len(_escaped(text).encode()) + 12 * (text.count("\n") + 1) + 2 * len(path)
            + 100)


def _text(data: bytes) -> str | None:
    """The file as text for `files:` (None for a binary file: not UTF-8, or with NULs)."""
    try:
        text = data.decode()
    except UnicodeDecodeError:
        return None
    return None if "\0" in text else text


def _unexpand_frr(spec: dict[str, Any]) -> dict[str, Any]:
    """Leave out of a node what `frr:` adds (private folders, prepare, services, files),
    where it is as `frr:` makes it: loading the saved topology adds it back. The files
    `frr:` writes, by path."""
    from netlab.spec.model import Node

    frr = spec["frr"]
    made = Node.model_validate(frr_keys(list(frr.get("daemons") or []),
                                    frr.get("config") or "")).model_dump(
        mode="json", exclude_defaults=True)
    for key in ("private", "prepare"):
        left = [item for item in spec.get(key) or [] if item not in made.get(key, [])]
        _set(spec, key, left)
    for key in ("services", "files"):
        left_map = {name: item for name, item in (spec.get(key) or {}).items()
                    if made.get(key, {}).get(name) != item}
        _set(spec, key, left_map)
    files: dict[str, Any] = made.get("files", {})
    return files


def _set(spec: dict[str, Any], key: str, value: Any) -> None:
    if value:
        spec[key] = value
    else:
        spec.pop(key, None)


# --- YAML that netlab reads back as it is -----------------------------------------------


class _Dumper(yaml.SafeDumper):
    pass


def _escaped(value: str) -> str:
    # Jinja2's delimiters spelled as Jinja2 gives them back: loading renders the file.
    return value.replace("{", "{{ '{' }}") if _JINJA.search(value) else value


def _scalar(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", _escaped(value), style=style)


_Dumper.add_representer(str, _scalar)


def dump(topology: Mapping[str, Any]) -> str:
    """The topology as YAML that `netlab up` reads back to the same values (Jinja2's
    delimiters in a text escaped, as loading renders the file)."""
    head = "# Saved by 'netlab save': 'netlab up THIS-FILE' brings the lab back.\n"
    return head + yaml.dump(dict(topology), Dumper=_Dumper, sort_keys=False,
                            allow_unicode=True, width=1 << 30, default_flow_style=False)
