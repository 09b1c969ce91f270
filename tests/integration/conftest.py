"""Fixtures of the reliability tests (faults, signals, concurrency, cleanup, hostile input)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from netlab.pytest_plugin import unique_name

from .hostcheck import force_down


@pytest.fixture
def fresh_lab(request: pytest.FixtureRequest) -> Iterator[str]:
    """A lab name of its own; whatever the test leaves under it is removed afterwards, even
    when the test fails (down from the journal, then cleanup of what carries its mark)."""
    stem = request.node.name.split("[")[0].removeprefix("test_")[:10].strip("_")
    name = unique_name(stem.replace("_", "-") or "lab")
    try:
        yield name
    finally:
        force_down(name)
