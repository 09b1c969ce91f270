"""The generated docs are in step with the code: docs/cli.md with the argparse parser,
docs/topology-reference.md with the JSON Schema. When one fails, run the script it names."""

from __future__ import annotations

import argparse
import importlib.util
import re
import sys
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).parents[2]
DOCS = ROOT / "docs"


def _script(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, ROOT / "scripts" / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


gen_cli = _script("gen_cli_docs")
gen_topology = _script("gen_topology_docs")


def test_cli_md_is_up_to_date() -> None:
    current = (DOCS / "cli.md").read_text()
    assert gen_cli.generate(current) == current, (
        "docs/cli.md is out of date with the parser: run python3 scripts/gen_cli_docs.py "
        "(and write examples for a new command)"
    )


def test_topology_reference_is_up_to_date() -> None:
    assert gen_topology.generate() == (DOCS / "topology-reference.md").read_text(), (
        "docs/topology-reference.md is out of date with the schema: run "
        "python3 scripts/gen_topology_docs.py"
    )


def test_every_command_has_an_example() -> None:
    text = (DOCS / "cli.md").read_text()
    names = re.findall(r"<!-- END netlab (\S+) -->", text)
    assert len(names) >= 10
    for name, after in zip(names, re.split(r"<!-- END netlab \S+ -->", text)[1:], strict=True):
        examples = after.split("<!-- BEGIN")[0]
        assert re.search(rf"```sh\n(.*\n)*?.*netlab {name}\b", examples), (
            f"docs/cli.md: no example of 'netlab {name}' after its reference block"
        )


def _tiny_parser(*commands: str) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="netlab")
    sub = parser.add_subparsers(dest="command")
    for name in commands:
        p = sub.add_parser(name, help=f"the {name} command")
        p.add_argument("--json", action="store_true")
        p.add_argument("-c", "--count", metavar="N", help="how many | at most")
    return parser


def test_render_keeps_prose_adds_and_drops_blocks() -> None:
    first = gen_cli.render(gen_cli.SKELETON, _tiny_parser("up", "down"))
    assert "## `netlab up`" in first and "## `netlab down`" in first
    assert "| `-c N, --count N` | how many \\| at most |" in first
    assert "| `--json` | print JSON (for scripts) instead of tables |" in first
    written = first.replace("No examples yet.", "Hand-written example.", 1)
    again = gen_cli.render(written, _tiny_parser("up", "down"))
    assert again == written  # stable, and the prose stays
    fewer = gen_cli.render(written, _tiny_parser("up", "graph"))
    assert "## `netlab down`" not in fewer and "## `netlab graph`" in fewer
    assert "Hand-written example." in fewer
    assert "[`netlab graph`](#netlab-graph)" in fewer


def test_type_text_of_schema_pieces() -> None:
    t = gen_topology.type_text
    assert t({"anyOf": [{"type": "integer", "minimum": 68, "maximum": 65535},
                        {"type": "null"}]}) == "integer (68–65535)"
    assert t({"$ref": "#/$defs/Route"}) == "[Route](#route)"
    assert t({"type": "array", "items": {"$ref": "#/$defs/Check"}}) == "list of [Check](#check)"
    assert t({"enum": ["a", "b"], "type": "string"}) == "one of `a`, `b`"


def test_links_between_docs_lead_somewhere() -> None:
    for page in [*DOCS.glob("*.md"), ROOT / "README.md"]:
        for target in re.findall(r"\]\(([^)#:]+)(?:#[^)]*)?\)", page.read_text()):
            assert (page.parent / target).exists(), f"{page.name}: broken link to {target}"


def test_getting_started_draws_the_default_lab_as_netlab_graph_does() -> None:
    text = (DOCS / "getting-started.md").read_text()
    drawn = re.search(r"```mermaid\n(.*?)```", text, re.S)
    assert drawn is not None
    golden = (Path(__file__).parent / "golden" / "hello.mmd").read_text()
    assert drawn.group(1) == golden, "docs/getting-started.md: paste tests/unit/golden/hello.mmd"


def test_getting_started_says_a_missing_node_as_exec_does() -> None:
    import pytest

    from netlab.errors import InputError
    from netlab.lab.record import Record
    from netlab.spec.load import load_topology

    topology = load_topology(ROOT / "topologies" / "hello.yaml").topology
    record = Record("hello", "", None, topology.model_dump(mode="json"))
    with pytest.raises(InputError) as said:
        record.namespace("h4")
    assert f"error: {said.value.message}\n" in (DOCS / "getting-started.md").read_text()


def test_the_ls_sample_has_the_columns_ls_prints() -> None:
    from netlab.ui.render import labs_table

    columns = [str(c.header) for c in labs_table([]).columns]
    assert re.search(r"\s*┃\s*".join(columns), (DOCS / "cli.md").read_text())


def test_docs_give_the_lab_of_exec_with_l() -> None:
    # `netlab exec LAB NODE -- CMD` reads LAB as the node: the lab goes with -l.
    for doc in [ROOT / "README.md", *DOCS.glob("**/*.md")]:
        assert not re.search(r"netlab exec [a-z][\w-]* [a-z][\w-]* --", doc.read_text()), doc
