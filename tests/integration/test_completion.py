"""Shell completion (`netlab completion bash|zsh`): commands, options, labs that are up and
the nodes of a lab, asked of the real shells with the script sourced."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from .hostcheck import netlab

LAB = """\
name: completes
nodes:
  alpha: {}
  beta: {}
"""
BIN = Path(sys.executable).parent


def complete(shell: str, words: list[str]) -> list[str]:
    """What Tab offers after `words` (the last one is being typed). zsh's compgen (of
    bashcompinit) leaves the matching of the typed prefix to zsh's compadd: done here."""
    setup = f'eval "$(netlab completion {shell})"'
    array = " ".join(f"'{w}'" for w in words)
    ask = f"COMP_WORDS=({array}); COMP_CWORD={len(words) - 1}; _netlab; "
    if shell == "zsh":
        ask = "setopt ksharrays; " + ask + 'print -l -- "${COMPREPLY[@]}"'
    else:
        ask += 'printf "%s\\n" "${COMPREPLY[@]}"'
    env = {**os.environ, "PATH": f"{BIN}:{os.environ['PATH']}", "HOME": "/nonexistent"}
    done = subprocess.run([shell, "-c", f"{setup}\n{ask}"], capture_output=True, text=True,
                          timeout=60, env=env, cwd="/")
    assert done.returncode == 0, done.stderr
    return [line for line in done.stdout.splitlines() if line and line.startswith(words[-1])]


@pytest.mark.parametrize("shell", ["bash", "zsh"])
def test_commands_options_labs_and_nodes(shell: str, tmp_path: Path, fresh_lab: str) -> None:
    path = tmp_path / "lab.yaml"
    path.write_text(LAB)
    netlab("up", str(path), "--name", fresh_lab)
    try:
        assert complete(shell, ["netlab", "te"]) == ["test"]
        assert "--nodes" in complete(shell, ["netlab", "exec", "--n"])
        assert fresh_lab in complete(shell, ["netlab", "status", "-l", fresh_lab[:6]])
        assert complete(shell, ["netlab", "exec", "-l", fresh_lab, ""]) == ["alpha", "beta"]
        assert complete(shell, ["netlab", "ping", "-l", fresh_lab, "alpha", "b"]) == ["beta"]
    finally:
        netlab("down", "-l", fresh_lab)
