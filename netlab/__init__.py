"""netlab: a YAML topology turned into a real Linux network lab of namespaces.

    import netlab
    t = netlab.build("demo")                # a topology made in Python (netlab.spec.builder)
    lab = netlab.Lab.from_file("lab.yaml")  # or read from a file
    netlab.InputError                       # what bad input raises (TopologyError is one)

The names are imported when first used, so that `import netlab` (and every command) stays
cheap.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from netlab.api import Builder, Lab
    from netlab.errors import InputError, NetlabError, TopologyError

__version__ = "0.1.0"

_HOMES = {
    "Builder": "netlab.api",
    "Lab": "netlab.api",
    "InputError": "netlab.errors",
    "NetlabError": "netlab.errors",
    "TopologyError": "netlab.errors",
}

__all__ = ["Builder", "InputError", "Lab", "NetlabError", "TopologyError", "build"]


def build(name: str, **keys: Any) -> Builder:
    """A topology made in Python: host(), router(), switch(), link(), check(), then lab()
    (a Lab, checked exactly as a file is). `keys`: description, vars."""
    from netlab.api import Builder

    return Builder(name, **keys)


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module 'netlab' has no attribute '{name}'")
    return getattr(importlib.import_module(home), name)
