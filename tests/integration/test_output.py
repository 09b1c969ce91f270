"""What netlab prints and reports of a lab: stdout is netlab's own (JSON stays JSON when
`exec:` commands talk), the status document is what docs/status-json.md says, link-local
addresses the topology gives are not drift, the table says where a TAP is attached."""

from __future__ import annotations

import json
import re
import time
from pathlib import Path
from typing import Any

from netlab.pytest_plugin import LabFactory

from .hostcheck import ROOT, netlab

EXEC_LAB = """\
name: {name}
nodes:
  a:
    interfaces: {{eth0: {{addresses: [10.0.0.1/24]}}}}
    exec: ["echo said-by-exec", "echo complained-by-exec >&2"]
  b:
    interfaces: {{eth0: {{addresses: [10.0.0.2/24]}}}}
links: [[a:eth0, b:eth0]]
checks:
  - {{from: a, to: b}}
"""


def test_up_json_is_one_document_and_exec_output_goes_to_stderr(
    tmp_path: Path, fresh_lab: str
) -> None:
    path = tmp_path / "lab.yaml"
    path.write_text(EXEC_LAB.format(name="execjson"))
    up = netlab("up", str(path), "--json", "--name", fresh_lab)
    assert json.loads(up.stdout)["lab"] == fresh_lab  # nothing else on stdout
    assert "said-by-exec" in up.stderr and "complained-by-exec" in up.stderr
    netlab("down", "-l", fresh_lab)


def test_test_json_is_one_document_when_it_brings_the_lab_up(
    tmp_path: Path, fresh_lab: str
) -> None:
    path = tmp_path / "lab.yaml"
    path.write_text(EXEC_LAB.format(name="execjson"))
    result = netlab("test", str(path), "-l", fresh_lab, "--json")
    assert json.loads(result.stdout)["ok"] is True
    assert "said-by-exec" in result.stderr


# --- link-local addresses -----------------------------------------------------------------

LINK_LOCAL = """\
name: linklocal
nodes:
  h1:
    interfaces:
      eth0: {addresses: [10.0.0.1/24, 169.254.1.1/16, "fe80::1/64"]}
  h2:
    interfaces:
      eth0: {addresses: [10.0.0.2/24]}
links:
  - [h1:eth0, h2:eth0]
"""


def _iface(doc: dict[str, Any], node: str, name: str) -> dict[str, Any]:
    found = next(n for n in doc["nodes"] if n["name"] == node)
    return next(i for i in found["interfaces"] if i["name"] == name)


def test_link_local_addresses_of_the_topology_are_no_drift(
    tmp_path: Path, netlab_lab: LabFactory
) -> None:
    path = tmp_path / "lab.yaml"
    path.write_text(LINK_LOCAL)
    handle = netlab_lab(path)
    doc = handle.lab.status()
    assert doc["drift"] == []
    h1 = _iface(doc, "h1", "eth0")["addresses"]
    assert h1 == ["10.0.0.1/24", "169.254.1.1/16", "fe80::1/64"]  # not the kernel's own
    h2 = _iface(doc, "h2", "eth0")["addresses"]
    assert h2 == ["10.0.0.2/24"]  # the kernel's fe80:: from the MAC is left out
    assert "fe80::" in handle.exec("h2", "ip -6 addr show dev eth0").stdout  # yet it is there
    text = netlab("status", "-l", handle.name).stdout
    assert "lacks" not in text and "drift" not in text
    assert "169.254.1.1/16" in text and "fe80::1/64" in text


# --- the documented status document --------------------------------------------------------

# A lab with every part the document has: a route, shaping, a switch (bridge), TAPs in a
# bridge, a service that publishes a MAC table.
DOC_LAB = """\
name: statusdoc
nodes:
  h1:
    interfaces:
      eth0: {addresses: [10.0.1.1/24, "fd00:1::1/64"]}
    routes: [{to: default, via: 10.0.1.254}]
  sw1:
    kind: switch
  r1:
    kind: router
    interfaces:
      eth0: {addresses: [10.0.1.254/24]}
      tap0: {kind: tap, owner: 65534}
      tap1: {kind: tap}
      tap2: {kind: tap, owner: 65534}
      br1: {kind: bridge, ports: [tap2]}
    services:
      switch: {run: "netlab-tapswitch --tap tap0 --tap tap1", ready: "netlab-tapswitch: ports"}
links:
  - {endpoints: [h1:eth0, sw1], rate: 10mbit}
  - [r1:eth0, sw1]
"""


def _documented_example() -> dict[str, Any]:
    page = (ROOT / "docs" / "status-json.md").read_text()
    block = page.split("```json\n", 1)[1].split("```", 1)[0]
    # The page's comments are `//` to the end of a line; no string of it holds `//`.
    return json.loads(re.sub(r"\s*//.*$", "", block, flags=re.MULTILINE))


def _shape(value: Any, where: str, shapes: dict[str, set[str]]) -> None:
    """Collect, by where it sits (list items merged as `[]`), the keys of every object and
    the type of every value that is not null."""
    if isinstance(value, dict):
        shapes.setdefault(where, set()).update(f".{key}" for key in value)
        for key, inner in value.items():
            _shape(inner, f"{where}.{key}", shapes)
    elif isinstance(value, list):
        for item in value:
            _shape(item, f"{where}[]", shapes)
    elif value is not None:
        shapes.setdefault(where, set()).add(type(value).__name__)


def _shapes(doc: dict[str, Any]) -> dict[str, set[str]]:
    shapes: dict[str, set[str]] = {}
    _shape(doc, "$", shapes)
    return shapes


def test_the_documented_status_document_is_the_real_one(
    tmp_path: Path, netlab_lab: LabFactory
) -> None:
    path = tmp_path / "lab.yaml"
    path.write_text(DOC_LAB)
    handle = netlab_lab(path)
    deadline = time.monotonic() + 10
    doc = handle.lab.status()
    while not doc["nodes"][2]["services"][0].get("mac_table") and time.monotonic() < deadline:
        time.sleep(0.1)  # the switch writes its table within a second of starting
        doc = handle.lab.status()
    assert doc["drift"] == []
    real, documented = _shapes(doc), _shapes(_documented_example())
    # The page shows every object of the real document with exactly its keys, and each
    # value it gives has a type the real one has (a route is an object, not a string).
    assert {w for w, s in real.items() if any(k[0] == "." for k in s)} <= set(documented)
    for where, shown in documented.items():
        assert where in real, f"docs/status-json.md shows {where}, the real document has none"
        keys = {k for k in real[where] if k[0] == "."}
        assert {k for k in shown if k[0] == "."} == keys, where
        assert {t for t in shown if t[0] != "."} <= real[where], where


def test_the_status_table_says_which_bridge_a_tap_is_in(
    tmp_path: Path, netlab_lab: LabFactory
) -> None:
    path = tmp_path / "lab.yaml"
    path.write_text(DOC_LAB)
    handle = netlab_lab(path)
    text = netlab("status", "-l", handle.name).stdout
    tap2 = next(line for line in text.splitlines() if " tap2 " in line)
    assert "in br1, owner 65534" in tap2
    h1 = next(line for line in text.splitlines() if " h1-eth0 " in line)
    assert "to h1:eth0, in br0" in h1
