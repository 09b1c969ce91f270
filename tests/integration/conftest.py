"""Fixtures of the reliability tests (faults, signals, concurrency, cleanup, hostile input)."""

from __future__ import annotations

import pwd
import secrets
import subprocess
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


@pytest.fixture
def lab_user() -> Iterator[pwd.struct_passwd]:
    """An unprivileged user of its own (and its group), for services run as a user;
    removed afterwards. It has no home: nothing it runs may need to read the checkout."""
    name = f"nlp{secrets.token_hex(4)}"
    subprocess.run(["useradd", "--system", "--no-create-home", "--home-dir", "/nonexistent",
                    "--shell", "/bin/sh", name], check=True, capture_output=True)
    try:
        yield pwd.getpwnam(name)
    finally:
        subprocess.run(["userdel", name], check=False, capture_output=True)
