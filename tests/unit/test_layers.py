"""Imports point one way (DESIGN.md): errors <- spec <- plan <- (kernel, state) <- engine
<- api and friends <- ui. Pure layers never reach the kernel; pyroute2 stays in kernel/."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "netlab"

# layer -> the netlab layers it may import (besides itself)
ALLOWED: dict[str, set[str]] = {
    "errors": set(),
    "tc": {"errors"},
    "pcap": {"errors"},
    "spec": {"errors", "tc"},
    "plan": {"errors", "tc", "spec"},
    "state": {"errors", "plan", "kernel"},  # kernel.safefs: files opened without links
    "kernel": {"errors", "tc", "pcap", "plan", "pyroute2"},
    "programs": {"kernel"},
    "engine": {"errors", "plan", "kernel", "state"},
}
NOBODY_IMPORTS = {"ui"}  # but ui itself and __main__


def _imports() -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    for path in PACKAGE.rglob("*.py"):
        rel = path.relative_to(PACKAGE).with_suffix("")
        layer = rel.parts[0]
        names = found.setdefault(layer, set())
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                modules = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                modules = [node.module]
                if node.module == "netlab":  # from netlab import tc
                    modules = [f"netlab.{alias.name}" for alias in node.names]
            else:
                continue
            for module in modules:
                parts = module.split(".")
                if parts[0] == "netlab" and len(parts) > 1:
                    names.add(parts[1])
                elif parts[0] == "pyroute2":
                    names.add("pyroute2")
    return found


def test_layers_import_only_what_is_below_them() -> None:
    imports = _imports()
    wrong = {
        layer: sorted(imports.get(layer, set()) - allowed - {layer})
        for layer, allowed in ALLOWED.items()
        if imports.get(layer, set()) - allowed - {layer}
    }
    assert not wrong, f"imports pointing the wrong way: {wrong}"


def test_only_the_command_line_imports_the_command_line() -> None:
    users = sorted(layer for layer, names in _imports().items()
                   if names & NOBODY_IMPORTS and layer not in ("ui", "__main__"))
    assert not users, f"these import netlab.ui: {users}"


def test_pyroute2_only_in_the_kernel_package() -> None:
    users = sorted(layer for layer, names in _imports().items()
                   if "pyroute2" in names and layer != "kernel")
    assert not users, f"pyroute2 imported outside netlab/kernel: {users}"
