"""A switch past the kernel's bridge limit, as a tree of bridges. Pure.

A Linux bridge holds at most 1023 ports (BR_MAX_PORTS is 1024 and port number 0 is never
given out): the 1024th attach fails with EXFULL. A switch with more ports keeps its first
ones on its bridge br0 and spreads the rest over leaf bridges br1, br2..., each joined to
br0 by a veth pair inside the switch's namespace. A tree has no loops and is one broadcast
domain, so the switch still behaves (and is shown) as one switch; a frame between two
leaves crosses three bridges instead of one.
"""

from __future__ import annotations

from dataclasses import dataclass

from netlab.errors import InputError

MAX_PORTS = 1023  # ports of one Linux bridge (net/bridge/br_private.h: BR_MAX_PORTS - 1)
# A broadcast is queued at once for every port it floods to, on the CPU's backlog, which
# holds net.core.netdev_max_backlog frames (1000 unless the host's owner changed it; netlab
# does not): past this many ports a switch's cables hand frames over through each
# receiver's own queue instead (ops.SetOffload).
FLOOD_PORTS = 900
ROOT = "br0"


@dataclass(frozen=True)
class Trunk:
    """The veth pair joining leaf bridge `leaf` to the root: `up` is the leaf's port on
    the root bridge, `down` the root's port on the leaf bridge."""

    leaf: str
    up: str
    down: str


@dataclass(frozen=True)
class Tree:
    master: dict[str, str]  # each port -> the bridge it is attached to
    trunks: tuple[Trunk, ...]  # one per leaf bridge, in order


def leaves_needed(ports: int) -> int:
    """How many leaf bridges a switch of `ports` ports needs (0: one bridge is enough).
    The root gives one port to each leaf's trunk, a leaf one port to its trunk."""
    if ports <= MAX_PORTS:
        return 0
    extra = ports - MAX_PORTS
    return -(-extra // (MAX_PORTS - 2))  # each leaf adds MAX_PORTS - 1 ports, less 1 on root


def plan_tree(ports: list[str], taken: set[str]) -> Tree:
    """Which bridge each of `ports` (in order) joins, and the trunks to make.
    `taken` holds the names already used in the switch's namespace."""
    leaves = leaves_needed(len(ports))
    if leaves == 0:
        return Tree({p: ROOT for p in ports}, ())
    if leaves > MAX_PORTS:
        raise InputError(
            f"a switch of {len(ports)} ports is too large: a tree of Linux bridges two levels "
            f"deep holds at most {MAX_PORTS * (MAX_PORTS - 1)} ports",
            hint="split it into several switches linked together",
        )
    used = set(taken)

    def fresh(name: str) -> str:
        n = 2
        unique = name
        while unique in used:
            unique = f"{name}-{n}"
            n += 1
        used.add(unique)
        return unique

    on_root = MAX_PORTS - leaves
    master = {p: ROOT for p in ports[:on_root]}
    trunks = []
    per_leaf = MAX_PORTS - 1
    rest = ports[on_root:]
    for j in range(leaves):
        leaf = fresh(f"br{j + 1}")
        trunks.append(Trunk(leaf, fresh(f"{ROOT}-{leaf}"), fresh(f"{leaf}-{ROOT}")))
        for p in rest[j * per_leaf:(j + 1) * per_leaf]:
            master[p] = leaf
    return Tree(master, tuple(trunks))
