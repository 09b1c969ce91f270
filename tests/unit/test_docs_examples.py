"""The documentation shows the example files as they are (no root needed)."""

from __future__ import annotations

from pathlib import Path

from netlab.spec import load_topology

ROOT = Path(__file__).resolve().parents[2]
DOC = (ROOT / "docs" / "pytest-plugin.md").read_text()


def test_the_doc_holds_the_example_files_verbatim() -> None:
    for path, language in (("examples/lab.yaml", "yaml"),
                           ("examples/test_example_lab.py", "python")):
        text = (ROOT / path).read_text()
        assert f"```{language}\n{text}```" in DOC, f"docs/pytest-plugin.md shows an old {path}"


def test_the_example_topology_and_the_exercises_are_valid() -> None:
    assert load_topology(ROOT / "examples" / "lab.yaml").topology.checks
    exercises = sorted((ROOT / "topologies" / "exercises").glob("*/topology.yaml"))
    assert len(exercises) >= 5
    for path in exercises:
        assert load_topology(path).topology.checks, path
