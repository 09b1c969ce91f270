"""A topology made in Python, checked exactly as a file is (pure).

    t = netlab.build("demo")
    s1 = t.switch("s1")
    for k in range(1, 4):
        t.link(t.host(f"h{k}", f"10.0.0.{k}/24"), s1)
    t.check("h1", "h3")
    lab = t.lab()            # netlab.api.Lab; t.loaded() is the checked LoadedTopology

Each call adds what a topology file would hold; nothing is checked until `loaded()` (or
`lab()`), which raises the same TopologyError (an InputError) with the same messages as a
file would, each naming the line of the Python call that wrote the faulty part.
A link's end is `node` or `node:interface`; a host's or router's interface left unnamed
gets the next free ethN, a switch's is named by netlab as in a file. The addresses given
to host()/router() go on the node's first linked interface (Mininet's default interface).
"""

from __future__ import annotations

import os
import sys
from typing import TYPE_CHECKING, Any

from netlab.errors import Problem, TopologyError
from netlab.values.names import SWITCH_BRIDGE

if TYPE_CHECKING:
    from netlab.spec.loaded import LoadedTopology

_PACKAGE = os.path.dirname(os.path.dirname(os.path.abspath(__file__))) + os.sep


class TopologyBuilder:
    def __init__(self, name: str, **keys: Any) -> None:
        """`keys`: the topology's other top-level keys (description, vars)."""
        self.name = name
        self.keys = keys
        self.nodes: dict[str, dict[str, Any]] = {}
        self.addresses: dict[str, list[str]] = {}  # node -> its default interface's
        self.links: list[tuple[str, str, dict[str, Any]]] = []
        self.checks: list[dict[str, Any]] = []
        self.twice: list[Problem] = []  # a node defined again (a file's duplicate key)
        self.file, line = _caller()
        self.lines: dict[str, int] = {"": line, "name": line}

    # --- what a topology holds -------------------------------------------------------
    def host(self, name: str, *addresses: str, **node_keys: Any) -> str:
        """A host (no forwarding); `node_keys` are a node's keys in a file (interfaces,
        routes, exec, env, services, files, sysctls). Returns the name, for link()."""
        return self._node(name, "host", addresses, node_keys)

    def router(self, name: str, *addresses: str, **node_keys: Any) -> str:
        """A router: a host that forwards IPv4 and IPv6."""
        return self._node(name, "router", addresses, node_keys)

    def switch(self, name: str, **node_keys: Any) -> str:
        """A switch: one bridge, whose ports are its links (`stp=True`: spanning tree)."""
        if node_keys.pop("stp", False):
            node_keys.setdefault("interfaces", {}).setdefault(SWITCH_BRIDGE, {})["stp"] = True
        return self._node(name, "switch", (), node_keys)

    def link(self, a: str, b: str, addresses: tuple[str | None, str | None] = (None, None),
             **link_keys: Any) -> None:
        """A cable between `a` and `b` (each `node` or `node:interface`); `addresses`: an
        address for a's end and one for b's (None: none), as Mininet's params1/params2
        give them; `link_keys` are a link's keys in a file (mtu, rate, delay, loss...)."""
        self.lines[f"links[{len(self.links)}]"] = _caller()[1]
        self.links.append((a, b, {"addresses": addresses, **link_keys}))

    def check(self, source: str | None = None, target: str | None = None,
              **check_keys: Any) -> None:
        """A check for `netlab test` / Lab.run_checks: check("h1", "h2") pings h2 from h1;
        check("h1", "h2", tcp=80); check(node="r1", run="ip route", expect_output="...")."""
        check = dict(check_keys)
        if source is not None:
            check["from"] = source
        if target is not None:
            check["to"] = target
        self.lines[f"checks[{len(self.checks)}]"] = _caller()[1]
        self.checks.append(check)

    # --- the result ------------------------------------------------------------------
    def data(self) -> dict[str, Any]:
        """The topology as a file's data (what yaml.safe_load of it would give)."""
        nodes = {name: {**keys, "interfaces": dict(keys.get("interfaces") or {})}
                 for name, keys in self.nodes.items()}
        ends = [[_split(a), _split(b)] for a, b, _ in self.links]
        taken = {name: set(keys["interfaces"]) for name, keys in nodes.items()}
        for pair in ends:
            for node, iface in pair:
                if iface is not None and node in taken:
                    taken[node].add(iface)
        first: dict[str, str] = {}  # node -> its first linked interface
        links = []
        per_end: list[tuple[str, str, str]] = []  # (node, interface, address) of links
        for pair, (_, _, given) in zip(ends, self.links, strict=True):
            keys = dict(given)
            addresses = keys.pop("addresses")
            written = []
            for (node, iface), address in zip(pair, addresses, strict=False):
                kind = (self.nodes.get(node) or {}).get("kind", "host")
                if iface is None and node in taken and kind != "switch":
                    iface = _free(taken[node])
                    taken[node].add(iface)
                if iface is not None:
                    first.setdefault(node, iface)
                    if address is not None and node in nodes:
                        per_end.append((node, iface, address))
                written.append(node if iface is None else f"{node}:{iface}")
            links.append({"endpoints": written, **keys})
        for node, iface, address in per_end:  # copied: the caller's dicts stay as given
            settings = dict(nodes[node]["interfaces"].get(iface) or {})
            settings["addresses"] = [*settings.get("addresses", []), address]
            nodes[node]["interfaces"][iface] = settings
        for node, addresses in self.addresses.items():
            if not addresses:
                continue
            iface = first.get(node, "eth0")
            settings = dict(nodes[node]["interfaces"].get(iface) or {})
            settings["addresses"] = [*addresses, *settings.get("addresses", [])]
            nodes[node]["interfaces"][iface] = settings
        for keys in nodes.values():
            if not keys["interfaces"]:
                del keys["interfaces"]
        data: dict[str, Any] = {"name": self.name, **self.keys, "nodes": nodes}
        if links:
            data["links"] = links
        if self.checks:
            data["checks"] = self.checks
        return data

    def loaded(self) -> LoadedTopology:
        """The topology, checked as a file is (TopologyError, an InputError, if not)."""
        from netlab.spec.load import load_data  # pydantic: only when checking

        if self.twice:
            raise TopologyError(problems=self.twice)
        return load_data(self.data(), self.file, self.lines)

    def yaml(self) -> str:
        """The topology as the text of a file (to keep, or to read)."""
        import yaml

        return str(yaml.safe_dump(self.data(), sort_keys=False, default_flow_style=None))

    def _node(self, name: str, kind: str, addresses: tuple[str, ...],
              keys: dict[str, Any]) -> str:
        line = _caller()[1]
        if name in self.nodes:
            first = self.lines.get(f"nodes.{name}")
            self.twice.append(Problem(self.file, line, f"nodes.{name}",
                                      f"node '{name}' is defined twice (first at line {first})"))
        self.lines.setdefault(f"nodes.{name}", line)
        self.nodes[name] = {"kind": kind, **keys} if kind != "host" else dict(keys)
        self.addresses[name] = list(addresses)
        return name


def _split(end: str) -> tuple[str, str | None]:
    node, colon, iface = end.partition(":")
    return node, (iface if colon else None)


def _free(taken: set[str]) -> str:
    k = 0
    while f"eth{k}" in taken:
        k += 1
    return f"eth{k}"


def _caller() -> tuple[str, int]:
    """The file and line of the first call from outside netlab (the user's)."""
    frame = sys._getframe(1)
    while frame.f_back is not None and frame.f_code.co_filename.startswith(_PACKAGE):
        frame = frame.f_back
    return frame.f_code.co_filename, frame.f_lineno
