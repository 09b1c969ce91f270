"""A loaded topology together with where each of its values was written."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from netlab.errors import Problem
from netlab.spec.model import Topology

_LAST_PART = re.compile(r"(\[\d+\]|\.[^.\[\]]*|^[^.\[\]]+)$")


def one_line(text: str) -> str:
    """Text from the file made safe for a one-line message: control characters escaped."""
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)


def join(parent: str, part: str | int) -> str:
    """The data path of a child: "links" + 2 -> "links[2]", "nodes" + "h1" -> "nodes.h1"."""
    if isinstance(part, int):
        return f"{parent}[{part}]"
    return f"{parent}.{part}" if parent else part


def parent_of(path: str) -> str | None:
    """The path one level up ("nodes.h1.mtu" -> "nodes.h1"), or None above the root."""
    if not path:
        return None
    m = _LAST_PART.search(path)
    return path[: m.start()] if m else ""


@dataclass(frozen=True)
class LoadedTopology:
    """A validated topology, the file it came from, and the line of every value in it.

    `lines` maps a data path ("nodes.h1.interfaces.eth0.mtu", "links[2]") to its 1-based line
    in the file as the user wrote it. Where a Jinja2 loop or block moved lines around, each
    rendered line is traced back to the template line that produced it; `rendered` holds the
    text that was actually parsed.
    """

    topology: Topology
    filename: str
    lines: dict[str, int] = field(default_factory=dict)
    rendered: str = ""

    def line_of(self, path: str) -> int | None:
        """The line of `path`, or of its nearest parent that has one."""
        return line_in(self.lines, path)

    def problem(self, path: str, message: str) -> Problem:
        """A Problem at `path` of this file, for checks made after loading (the planner's)."""
        return Problem(self.filename, self.line_of(path), one_line(path), one_line(message))


def line_in(lines: dict[str, int], path: str) -> int | None:
    current: str | None = path
    while current is not None:
        if current in lines:
            return lines[current]
        current = parent_of(current)
    return None
