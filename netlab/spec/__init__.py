"""The topology file: load it (YAML + Jinja2), type it, check it. Pure; never the kernel.

`load_topology("hello.yaml", {"lan": "10.9.1"})` gives a LoadedTopology: `.topology` is the
validated model, `.line_of("links[2]")` where a value was written, for messages made later.

The names below are imported on first use: a command that reads only the model
(netlab.spec.model, for a lab's record) does not pay for the loader, YAML and the messages.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from netlab.spec.load import load_text, load_topology
    from netlab.spec.loaded import LoadedTopology
    from netlab.spec.schema import json_schema
    from netlab.spec.validate import parse_endpoint

__all__ = ["LoadedTopology", "json_schema", "load_text", "load_topology", "parse_endpoint"]

_HOME = {"load_text": "load", "load_topology": "load", "LoadedTopology": "loaded",
         "json_schema": "schema", "parse_endpoint": "validate"}


def __getattr__(name: str) -> Any:
    if name in _HOME:
        return getattr(importlib.import_module(f"netlab.spec.{_HOME[name]}"), name)
    raise AttributeError(f"module 'netlab.spec' has no attribute {name!r}")
