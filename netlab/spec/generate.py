"""Topologies made from a few numbers, as Mininet's `mn --topo` makes them (pure).

    generate("tree,depth=2,fanout=3")   -> the YAML text of that topology

`single,N` (N hosts on one switch), `linear,K[,N]` (K switches in a row, N hosts on each),
`tree,depth=D,fanout=F` (switches in a tree, F**D hosts at its leaves), `ring,N` (N switches
in a ring, a host on each) and `grid,R,C` (R x C switches, each linked to its right and lower
neighbour, a host on each). Hosts are h1..hN, switches s1..sM, all in one subnet (10.0.0.0/8,
h1 = 10.0.0.1, as Mininet numbers them), with a check from each host to every later one, so
that `netlab test --topo ...` pings every pair (past 64 hosts: h1 to each other host and
each host to the next). Switches in a loop (ring, grid) run the
spanning tree (`stp: true`). The text is a topology file like any other: loaded and checked
the same way, or printed (`--print`) for a person to edit.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from itertools import pairwise

from netlab.errors import InputError

MAX_HOSTS = 1000  # `netlab test` pings every pair: a million checks would be a mistake
MAX_SWITCHES = 1000
ALL_PAIRS = 64  # up to this many hosts, a check for every pair (2016 checks)


@dataclass
class _Graph:
    hosts: list[str] = field(default_factory=list)
    switches: list[str] = field(default_factory=list)
    links: list[tuple[str, str]] = field(default_factory=list)  # (host or switch, switch)
    stp: bool = False

    def switch(self) -> str:
        name = f"s{len(self.switches) + 1}"
        self.switches.append(name)
        return name

    def host(self, switch: str) -> str:
        name = f"h{len(self.hosts) + 1}"
        self.hosts.append(name)
        self.links.append((name, switch))
        return name


def _single(n: int) -> _Graph:
    g = _Graph()
    s1 = g.switch()
    for _ in range(n):
        g.host(s1)
    return g


def _linear(k: int, n: int = 1) -> _Graph:
    g = _Graph()
    previous = None
    for _ in range(k):
        switch = g.switch()
        for _ in range(n):
            g.host(switch)
        if previous is not None:
            g.links.append((previous, switch))
        previous = switch
    return g


def _tree(depth: int, fanout: int = 2) -> _Graph:
    g = _Graph()

    def grow(level: int) -> str:  # switches numbered depth first, as Mininet's TreeTopo
        switch = g.switch()
        for _ in range(fanout):
            if level == 1:
                g.host(switch)
            else:
                g.links.append((switch, grow(level - 1)))
        return switch

    grow(depth)
    return g


def _ring(n: int) -> _Graph:
    g = _linear(n)
    g.links.append((g.switches[-1], g.switches[0]))
    g.stp = n > 1
    return g


def _grid(rows: int, cols: int) -> _Graph:
    g = _Graph()
    for _ in range(rows * cols):
        g.host(g.switch())
    for r in range(rows):
        for c in range(cols):
            here = g.switches[r * cols + c]
            if c + 1 < cols:
                g.links.append((here, g.switches[r * cols + c + 1]))
            if r + 1 < rows:
                g.links.append((here, g.switches[(r + 1) * cols + c]))
    g.stp = rows > 1 and cols > 1
    return g


@dataclass(frozen=True)
class _Kind:
    build: Callable[..., _Graph]
    params: tuple[str, ...]  # in the order they may be given without a name
    required: int  # how many of them must be given
    least: tuple[int, ...]  # the smallest value of each


KINDS: dict[str, _Kind] = {
    "single": _Kind(_single, ("n",), 1, (1,)),
    "linear": _Kind(_linear, ("k", "n"), 1, (1, 1)),
    "tree": _Kind(_tree, ("depth", "fanout"), 1, (1, 1)),
    "ring": _Kind(_ring, ("n",), 1, (3,)),
    "grid": _Kind(_grid, ("rows", "cols"), 2, (1, 1)),
}
USAGE = "single,N  linear,K[,N]  tree,depth=D,fanout=F  ring,N  grid,R,C"


@dataclass(frozen=True)
class Generated:
    """A topology named by `--topo SPEC`, taken wherever a topology file is."""

    spec: str

    def __str__(self) -> str:
        return f"--topo {self.spec}"

    def text(self) -> str:
        return generate(self.spec)


def parse(spec: str) -> tuple[str, dict[str, int]]:
    """`tree,depth=2,fanout=3` -> ("tree", {"depth": 2, "fanout": 3}); InputError if wrong."""
    kind_name, *parts = [p.strip() for p in spec.split(",")]
    kind = KINDS.get(kind_name)
    if kind is None:
        raise InputError(f"--topo {spec}: no topology '{kind_name}' (there are: "
                         f"{', '.join(KINDS)})", hint=f"--topo takes one of: {USAGE}")
    values: dict[str, int] = {}
    for n, part in enumerate(parts):
        key, eq, text = part.rpartition("=")
        if not eq:
            if n >= len(kind.params):
                most = len(kind.params)
                raise InputError(f"--topo {spec}: {kind_name} takes at most {most} "
                                 f"number{'s' if most > 1 else ''}", hint=f"--topo {USAGE}")
            key = kind.params[n]
        if key not in kind.params:
            raise InputError(f"--topo {spec}: {kind_name} has no '{key}' (it takes: "
                             f"{', '.join(kind.params)})")
        if key in values:
            raise InputError(f"--topo {spec}: '{key}' is given twice")
        if not text.isdigit():
            raise InputError(f"--topo {spec}: {key} must be a whole number, not '{text}'")
        least = kind.least[kind.params.index(key)]
        if int(text) < least:
            raise InputError(f"--topo {spec}: {key} must be at least {least}")
        values[key] = int(text)
    missing = [p for p in kind.params[: kind.required] if p not in values]
    if missing:
        raise InputError(f"--topo {spec}: give {' and '.join(missing)}, e.g. --topo "
                         f"{_example(kind_name)}")
    return kind_name, values


def _example(kind: str) -> str:
    return next(u for u in USAGE.split() if u.startswith(kind + ","))


def lab_name(kind: str, values: dict[str, int]) -> str:
    """`tree` {depth: 2, fanout: 3} -> tree-2-3 (the defaults are not written)."""
    return "-".join([kind, *(str(v) for v in values.values())])


def generate(spec: str) -> str:
    """The topology `spec` names, as the text of a topology file."""
    kind_name, values = parse(spec)
    kind = KINDS[kind_name]
    hosts = _count_hosts(kind_name, values)
    if hosts > MAX_HOSTS:
        raise InputError(f"--topo {spec}: {hosts} hosts; at most {MAX_HOSTS}")
    g = kind.build(**values)
    if len(g.switches) > MAX_SWITCHES:
        raise InputError(f"--topo {spec}: {len(g.switches)} switches; at most {MAX_SWITCHES}")
    return _yaml(spec, lab_name(kind_name, values), g)


def _count_hosts(kind: str, values: dict[str, int]) -> int:
    """Hosts a spec makes, before making them (tree,depth=30 must not run out of memory)."""
    if kind == "tree":
        fanout: int = values.get("fanout", 2)
        return int(fanout ** values["depth"]) if fanout > 1 else 1
    if kind == "linear":
        return values["k"] * values.get("n", 1)
    if kind == "grid":
        return values["rows"] * values["cols"]
    return values["n"]


def pairs(hosts: list[str]) -> list[tuple[str, str]]:
    """Every pair of hosts; past ALL_PAIRS hosts (n*n/2 checks), h1 to every other host
    and each host to the next, which still crosses every switch and link to a host."""
    if len(hosts) <= ALL_PAIRS:
        return [(a, b) for i, a in enumerate(hosts) for b in hosts[i + 1:]]
    return [(hosts[0], b) for b in hosts[1:]] + list(pairwise(hosts[1:]))


def _address(k: int) -> str:
    return f"10.{(k >> 16) & 255}.{(k >> 8) & 255}.{k & 255}/8"


def _yaml(spec: str, name: str, g: _Graph) -> str:
    lines = [
        f"# Made by netlab --topo {spec}: {len(g.hosts)} hosts and {len(g.switches)} "
        "switches in one subnet,",
        "# with checks between the hosts (netlab test pings every pair).",
    ]
    if g.stp:
        lines.append("# The switches form a loop: they run the spanning tree (stp: true).")
    lines += [f"name: {name}", "nodes:"]
    for k, host in enumerate(g.hosts, 1):
        lines.append(f"  {host}: {{interfaces: {{eth0: {{addresses: [{_address(k)}]}}}}}}")
    switch = "{kind: switch, interfaces: {br0: {stp: true}}}" if g.stp else "{kind: switch}"
    lines += [f"  {s}: {switch}" for s in g.switches]
    lines.append("links:")
    for a, b in g.links:
        lines.append(f"  - [{a}:eth0, {b}]" if a in g.hosts else f"  - [{a}, {b}]")
    if len(g.hosts) > 1:
        lines.append("checks:")
        lines += [f"  - {{from: {a}, to: {b}}}" for a, b in pairs(g.hosts)]
    return "\n".join(lines) + "\n"
