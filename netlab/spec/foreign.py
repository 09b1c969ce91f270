"""Labs of other tools (containerlab, Kathará) made into netlab topologies: what the two
importers share (pure): telling such a file, node names, and writing the result as YAML
with a comment for everything that could not be carried.

    from_clab.convert(text, folder)      a .clab.yml
    from_kathara.convert(folder)         a Kathará lab: lab.conf, <node>.startup, ...
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

MAX_NAME = 24  # model.MAX_NAME: not imported, the model loads pydantic
_CLAB = re.compile(r"^topology:\s*(#.*)?$", re.M)
_NETLAB_NODES = re.compile(r"^nodes:", re.M)
_KATHARA = re.compile(r"^[a-z0-9_]{1,30}\[\w+\]=", re.M)
# A startup line that starts a daemon of a container image: netlab nodes run the host's
# programs, where init scripts and systemd belong to the host.
_DAEMON = re.compile(r"^\s*(/etc/init\.d/\S+|service\s+\S+|systemctl\s)")


def detect(text: str) -> str | None:
    """The tool whose file this is ("containerlab", "Kathará"), if not netlab's."""
    if _CLAB.search(text) and not _NETLAB_NODES.search(text):
        return "containerlab"
    if _KATHARA.search(text):
        return "Kathará"
    return None


def import_hint(tool: str, shown: str) -> str:
    """What `validate` of another tool's file says (one line)."""
    return (f"this is a {tool} lab, not a netlab topology; 'netlab import {shown} -o lab.yaml' "
            "converts it")


class Names:
    """Names of the other tool made into netlab node names (lowercase, digits, '-'),
    distinct from each other; what was renamed is remembered for a comment."""

    def __init__(self, taken: set[str] | None = None) -> None:
        self.given: dict[str, str] = {}
        self.renamed: dict[str, str] = {}
        self.taken = set(taken or ())  # names already used elsewhere

    def __call__(self, raw: str) -> str:
        if raw in self.given:
            return self.given[raw]
        name = re.sub(r"[^a-z0-9-]+", "-", raw.lower()).strip("-")[:MAX_NAME]
        name = name.strip("-") or "node"
        base, k = name, 2
        while name in self.taken:
            suffix = f"-{k}"
            name = base[: MAX_NAME - len(suffix)].strip("-") + suffix
            k += 1
        self.given[raw] = name
        self.taken.add(name)
        if name != raw:
            self.renamed[raw] = name
        return name


def lab_name(raw: str) -> str:
    name = re.sub(r"[^a-z0-9-]+", "-", raw.lower()).strip("-")[:64].strip("-")
    return name or "imported"


@dataclass
class Imported:
    """A netlab topology as data, with the comments that go with it."""

    tool: str
    source: str
    name: str
    notes: list[str] = field(default_factory=list)  # at the top of the file
    nodes: dict[str, dict[str, Any]] = field(default_factory=dict)
    node_notes: dict[str, list[str]] = field(default_factory=dict)
    # exec lines kept as comments (daemons of an image): node -> [(index, line, why)]
    parked: dict[str, list[tuple[int, str, str]]] = field(default_factory=dict)
    links: list[list[str]] = field(default_factory=list)
    link_keys: list[dict[str, Any]] = field(default_factory=list)
    link_notes: list[str] = field(default_factory=list)  # links that were left out

    def note(self, node: str, text: str) -> None:
        self.node_notes.setdefault(node, []).append(text)

    def add_exec(self, node: str, line: str) -> None:
        """A command for the node's exec:, or a comment when it starts an image's daemon."""
        commands = self.nodes[node].setdefault("exec", [])
        if _DAEMON.match(line):
            self.parked.setdefault(node, []).append(
                (len(commands), line, "starts a daemon of the image; netlab runs the host's "
                 "programs: make it a service (services:) if the host has it"))
        else:
            commands.append(line)

    def link(self, a: str, b: str, **keys: Any) -> None:
        self.links.append([a, b])
        self.link_keys.append(keys)

    def yaml(self) -> str:
        lines = [f"# Imported by 'netlab import' from {self.source} ({self.tool})."]
        lines += [f"# {note}" for note in self.notes]
        lines += [f"name: {self.name}", "nodes:"]
        for name, body in self.nodes.items():
            lines += [f"  # {note}" for note in self.node_notes.get(name, [])]
            lines += _node(name, body, self.parked.get(name, []))
        if self.links or self.link_notes:
            lines.append("links:" if self.links else "links: []")  # every link left out
        lines += [f"  # {note}" for note in self.link_notes]
        for ends, keys in zip(self.links, self.link_keys, strict=True):
            if keys:
                lines.append(f"  - endpoints: [{_q(ends[0])}, {_q(ends[1])}]")
                lines += [f"    {key}: {_q(value)}" for key, value in keys.items()]
            else:
                lines.append(f"  - [{_q(ends[0])}, {_q(ends[1])}]")
        return "\n".join(lines) + "\n"


def _q(value: Any) -> str:
    """A scalar as YAML reads it back unchanged (JSON strings are YAML strings)."""
    if isinstance(value, str) and re.fullmatch(r"[A-Za-z0-9_./:-]+", value) \
            and not re.fullmatch(r"[0-9.:]+|true|false|yes|no|on|off|null|~", value, re.I):
        return value
    return json.dumps(value, ensure_ascii=False)


def _node(name: str, body: dict[str, Any], parked: list[tuple[int, str, str]]) -> list[str]:
    if not body and not parked:
        return [f"  {name}: {{}}"]
    lines = [f"  {name}:"]
    for key, value in body.items():
        if key == "exec":
            continue
        if isinstance(value, dict):
            lines.append(f"    {key}:")
            lines += _mapping(value, "      ")
        elif isinstance(value, list):
            lines.append(f"    {key}:")
            lines += [f"      - {_q(item)}" for item in value]
        else:
            lines.append(f"    {key}: {_q(value)}")
    commands = body.get("exec", [])
    if commands or parked:
        lines.append("    exec:")
        for k in range(len(commands) + 1):
            for at, line, why in parked:
                if at == k:
                    lines.append(f"      # - {json.dumps(line, ensure_ascii=False)}   ({why})")
            if k < len(commands):
                lines.append(f"      - {_q(commands[k])}")
        if not commands:
            lines.append("      []")
    return lines


def _mapping(value: dict[str, Any], indent: str) -> list[str]:
    lines = []
    for key, item in value.items():
        if isinstance(item, dict):
            lines.append(f"{indent}{_q(key)}:")
            lines += _mapping(item, indent + "  ")
        elif isinstance(item, str) and item.endswith("\n") and item[:1] not in " \t\n":
            lines.append(f"{indent}{_q(key)}: |")
            lines += [f"{indent}  {line}" if line else "" for line in item.splitlines()]
        else:
            lines.append(f"{indent}{_q(key)}: {_q(item)}")
    return lines
