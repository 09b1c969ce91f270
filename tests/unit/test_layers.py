"""Imports point one way (docs/architecture.md): errors, values <- spec <- plan <- (state,
kernel) <- engine <- lab <- api <- checks, pytest_plugin <- ui. Every module is placed in a
layer; pure layers never reach the kernel; pyroute2 stays in kernel/; no import cycle; no
two modules share a file name.

An import counts wherever it is written (module level or inside a function: both run).
Imports under `if TYPE_CHECKING:` never run: they name a type for annotations (lab/ and
checks/ annotate with api.Lab) and are left out of the layer and cycle checks.
"""

from __future__ import annotations

import ast
from collections import Counter
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "netlab"

# layer -> the netlab layers it may import at run time (besides itself). A layer is a
# package under netlab/, or one of the few modules that stand alone at the top level.
ALLOWED: dict[str, set[str]] = {
    "errors": set(),
    "values": set(),
    "spec": {"errors", "values"},
    "plan": {"errors", "values", "spec"},
    "state": {"errors", "plan", "kernel"},  # kernel.safefs: state files opened without links
    "kernel": {"errors", "values", "plan", "pyroute2"},
    "programs": {"errors", "kernel"},
    "engine": {"errors", "plan", "kernel", "state"},
    "lab": {"errors", "values", "spec", "plan", "state", "kernel", "engine"},
    "api": {"errors", "values", "spec", "plan", "state", "kernel", "engine", "lab"},
    "checks": {"errors", "values", "spec", "plan", "state", "kernel", "api"},
    "pytest_plugin": {"errors", "spec", "state", "kernel", "lab", "api", "checks"},
    "ui": {"errors", "values", "spec", "plan", "state", "kernel", "lab", "api", "checks",
           "web", "netlab"},  # netlab: the version in netlab/__init__.py
    # The browser view (`netlab web`): the library's services, and aiohttp, which only it
    # imports (an optional extra).
    "web": {"errors", "values", "state", "kernel", "lab", "api", "checks"},
    "__main__": {"ui"},
    # netlab/__init__.py: the version, and the facade (netlab.build, netlab.Lab,
    # netlab.InputError), imported when first used
    "netlab": {"errors", "api"},
}


def _modules() -> dict[str, Path]:
    """Dotted module name -> file, for every module of the package."""
    found: dict[str, Path] = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = ("netlab", *path.relative_to(PACKAGE).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        found[".".join(parts)] = path
    return found


def _layer(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "netlab"


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def _runtime_imports(tree: ast.AST) -> list[ast.Import | ast.ImportFrom]:
    """Every import statement that can run: at module level or in a function body, but
    not the body of `if TYPE_CHECKING:`."""
    found: list[ast.Import | ast.ImportFrom] = []
    stack = [tree]
    while stack:
        node = stack.pop()
        if isinstance(node, ast.If) and _is_type_checking(node):
            stack.extend(node.orelse)
            continue
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            found.append(node)
        stack.extend(ast.iter_child_nodes(node))
    return found


def _imports(modules: dict[str, Path]) -> dict[str, set[str]]:
    """Module -> the netlab modules (and "pyroute2") it imports at run time."""
    graph: dict[str, set[str]] = {}
    for module, path in modules.items():
        targets = graph.setdefault(module, set())
        for node in _runtime_imports(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif node.module and node.level == 0:
                # from netlab.kernel import nsfs: the module netlab.kernel.nsfs if there is
                # one, else the package (a name defined in its __init__).
                names = [f"{node.module}.{alias.name}" if f"{node.module}.{alias.name}"
                         in modules else node.module for alias in node.names]
            else:
                raise AssertionError(f"{path}: relative import; write netlab.… in full")
            for name in names:
                if name.split(".")[0] in ("pyroute2", "aiohttp"):
                    targets.add(name.split(".")[0])
                elif name.split(".")[0] == "netlab":
                    while name not in modules:  # import netlab.a.b names module netlab.a.b
                        name = name.rpartition(".")[0]
                    if name != module:
                        targets.add(name)
    return graph


MODULES = _modules()
IMPORTS = _imports(MODULES)


def test_every_module_is_placed_in_a_layer() -> None:
    unplaced = sorted(module for module in MODULES if _layer(module) not in ALLOWED)
    assert not unplaced, (f"modules in no layer (put them in a layer package, or add their "
                          f"layer to ALLOWED and docs/architecture.md): {unplaced}")


def test_layers_import_only_what_is_below_them() -> None:
    wrong = sorted(
        f"{module} -> {target}"
        for module, targets in IMPORTS.items()
        for target in targets
        if _layer(target) != _layer(module) and target not in ("pyroute2", "aiohttp")
        and _layer(target) not in ALLOWED.get(_layer(module), set())
    )
    assert not wrong, f"imports pointing the wrong way: {wrong}"


def test_pyroute2_only_in_the_kernel_package() -> None:
    users = sorted(module for module, targets in IMPORTS.items()
                   if "pyroute2" in targets and _layer(module) != "kernel")
    assert not users, f"pyroute2 imported outside netlab/kernel: {users}"


def test_aiohttp_only_in_the_web_package() -> None:
    users = sorted(module for module, targets in IMPORTS.items()
                   if "aiohttp" in targets and _layer(module) != "web")
    assert not users, f"aiohttp imported outside netlab/web: {users}"


def test_no_import_cycle() -> None:
    """Depth-first search over run-time imports; a back edge is a cycle."""
    done: set[str] = set()
    path: list[str] = []

    def visit(module: str) -> list[str] | None:
        if module in path:
            return [*path[path.index(module):], module]
        if module in done or module not in IMPORTS:
            return None
        path.append(module)
        for target in sorted(IMPORTS[module]):
            cycle = visit(target)
            if cycle:
                return cycle
        path.pop()
        done.add(module)
        return None

    for module in sorted(IMPORTS):
        cycle = visit(module)
        assert cycle is None, f"import cycle: {' -> '.join(cycle)}"


def test_no_two_modules_share_a_file_name() -> None:
    names = Counter(path.name for path in MODULES.values() if path.name != "__init__.py")
    shared = sorted(name for name, n in names.items() if n > 1)
    assert not shared, f"file names used by more than one module: {shared}"


def test_the_test_sees_function_level_and_type_checking_imports_apart() -> None:
    """The checks above rest on this: an import in a function counts, one under
    TYPE_CHECKING does not."""
    tree = ast.parse("from typing import TYPE_CHECKING\n"
                     "if TYPE_CHECKING:\n    import netlab.api\n"
                     "def f() -> None:\n    import netlab.ui\n")
    names = {alias.name for node in _runtime_imports(tree) if isinstance(node, ast.Import)
             for alias in node.names}
    assert names == {"netlab.ui"}
    assert IMPORTS["netlab.api"] >= {"netlab.lab.status_doc", "netlab.lab.link_control"}
