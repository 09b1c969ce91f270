"""cli.main as a library call: it turns the garbage collector off for a command (as the
program it keeps it off to the end), and must hand an in-process caller its collector back."""

from __future__ import annotations

import gc
from pathlib import Path

import pytest

from netlab.ui.cli import main

HELLO = str(Path(__file__).resolve().parents[2] / "topologies" / "hello.yaml")


@pytest.mark.parametrize("argv", [["validate", HELLO], ["validate", "/nonexistent.yaml"],
                                  ["no-such-command"]])
def test_an_in_process_call_leaves_the_collector_as_it_was(argv: list[str]) -> None:
    assert gc.isenabled()
    main(argv)
    assert gc.isenabled()
    gc.disable()
    try:
        main(argv)
        assert not gc.isenabled()
    finally:
        gc.enable()
