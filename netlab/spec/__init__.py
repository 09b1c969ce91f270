"""The topology file: load it (YAML + Jinja2), type it, check it. Pure; never the kernel.

`load_topology("hello.yaml", {"lan": "10.9.1"})` gives a LoadedTopology: `.topology` is the
validated model, `.line_of("links[2]")` where a value was written, for messages made later.

The names below are imported when first used: loading pydantic costs a command that needs
no topology (down, ls) a tenth of a second, and netlab.spec.builder is imported by the API.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from netlab.spec.endpoints import parse_endpoint
    from netlab.spec.load import load_data, load_text, load_topology
    from netlab.spec.loaded import LoadedTopology
    from netlab.spec.schema import json_schema

_HOMES = {
    "load_data": "netlab.spec.load",
    "load_text": "netlab.spec.load",
    "load_topology": "netlab.spec.load",
    "LoadedTopology": "netlab.spec.loaded",
    "json_schema": "netlab.spec.schema",
    "parse_endpoint": "netlab.spec.endpoints",
}

__all__ = [
    "LoadedTopology", "json_schema", "load_data", "load_text", "load_topology", "parse_endpoint",
]


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module 'netlab.spec' has no attribute '{name}'")
    return getattr(importlib.import_module(home), name)
