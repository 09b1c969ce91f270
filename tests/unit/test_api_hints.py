"""The commands hints offer (`'netlab up --recreate FILE --name LAB'`) work when pasted."""

from __future__ import annotations

import subprocess

import pytest

from netlab.api import _shell_word


@pytest.mark.parametrize("path", ["/tmp/a.yaml", "/tmp/ünï.yaml", "/tmp/my labs/lab.yaml",
                                  "/tmp/a$b \"q\" `x`.yaml", "/tmp/it's.yaml"])
def test_a_path_in_a_hint_reads_back_as_itself(path: str) -> None:
    word = _shell_word(path)
    said = subprocess.run(["sh", "-c", f"printf %s {word}"], capture_output=True, text=True,
                          check=True).stdout
    assert said == path
    assert "'" not in word or "'" in path  # the hint itself is in single quotes
    if " " not in path and "$" not in path and "'" not in path:
        assert word == path  # plain paths, Unicode too, stay as they are
