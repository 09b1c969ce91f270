"""The topology file: load it (YAML + Jinja2), type it, check it. Pure; never the kernel.

`load_topology("hello.yaml", {"lan": "10.9.1"})` gives a LoadedTopology: `.topology` is the
validated model, `.line_of("links[2]")` where a value was written, for messages made later.
"""

from __future__ import annotations

from netlab.spec.endpoints import parse_endpoint
from netlab.spec.load import load_text, load_topology
from netlab.spec.loaded import LoadedTopology
from netlab.spec.schema import json_schema

__all__ = ["LoadedTopology", "json_schema", "load_text", "load_topology", "parse_endpoint"]
