"""The JSON Schema of the topology file, for editors (yaml-language-server) and docs.

Pydantic's schema, plus what the loader accepts beyond it: the short link form
`[a:eth0, b:eth0]`, and a node or interface written with nothing after it.
"""

from __future__ import annotations

from typing import Any

from netlab.spec.model import Topology

SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"

_DESCRIPTIONS = {
    "name": "The lab's name: lowercase letters, digits and '-'.",
    "version": "The format version of this file (1).",
    "vars": "Variables of the file; it is a Jinja2 template over them (and --set k=v).",
    "nodes": "The nodes of the lab, by name; each is a network namespace.",
    "links": "Cables (veth pairs): [a:eth0, b:eth0], or {endpoints: [...], mtu, rate, ...}.",
}


def json_schema() -> dict[str, Any]:
    schema = Topology.model_json_schema()
    schema["$schema"] = SCHEMA_DIALECT
    schema["title"] = "netlab topology (version 1)"
    schema["description"] = "A Linux network lab: nodes (namespaces), interfaces and links."
    props = schema["properties"]
    for key, text in _DESCRIPTIONS.items():
        props.get(key, {}).setdefault("description", text)
    short_link = {
        "type": "array",
        "items": {"type": "string"},
        "minItems": 2,
        "maxItems": 2,
        "description": "Two endpoints, such as [h1:eth0, sw1].",
    }
    props["links"]["items"] = {"anyOf": [short_link, props["links"]["items"]]}
    defs = schema["$defs"]
    _nullable(props["nodes"], "additionalProperties")
    _nullable(defs["Node"]["properties"]["interfaces"], "additionalProperties")
    return schema


def _nullable(container: dict[str, Any], key: str) -> None:
    # `h1:` with nothing under it is a node with all defaults; the loader accepts null.
    container[key] = {"anyOf": [container[key], {"type": "null"}]}
