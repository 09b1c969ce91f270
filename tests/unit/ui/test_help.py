"""What `--help` and a usage mistake show: every option says what it is, every command has
its summary on its own line, a mistake in a command shows that command's usage."""

from __future__ import annotations

import argparse

import pytest

from netlab.ui import cli


def _commands(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return dict(sub.choices)


@pytest.mark.parametrize("command", [*cli.CORE_COMMANDS, *cli.COMMAND_MODULES])
def test_every_option_says_what_it_is(command: str) -> None:
    parser = _commands(cli.build_parser(command))[command]
    bare = [a.option_strings for a in parser._actions if a.option_strings and not a.help]
    assert bare == []


def test_every_command_has_its_summary_beside_it() -> None:
    text = cli.build_parser().format_help()
    sub = next(a for a in cli.build_parser()._actions
               if isinstance(a, argparse._SubParsersAction))
    for choice in sub._choices_actions:
        summary = str(choice.help).split()[0]
        assert any(line.split()[:2] == [choice.dest, summary] for line in text.splitlines()), \
            choice.dest


def test_netlab_alone_prints_the_help(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main([]) == 2  # a usage mistake, as docs/cli.md says of them all
    said = capsys.readouterr().err
    assert said.startswith("usage: netlab [-h]") and "completion  print shell completion" in said


def test_an_unknown_option_shows_the_commands_usage(capsys: pytest.CaptureFixture[str]
                                                    ) -> None:
    assert cli.main(["status", "--bogus"]) == 2
    said = capsys.readouterr().err
    assert said.startswith("usage: netlab status ")
    assert said.splitlines()[-1] == "netlab status: error: unrecognized arguments: --bogus"


@pytest.mark.parametrize("command", ["status", "down"])
def test_print_is_offered_only_where_a_topology_is_used(command: str) -> None:
    # `down --topo ring,4` names the lab by the topology; printing it there does nothing.
    options = {o for a in _commands(cli.build_parser(command))[command]._actions
               for o in a.option_strings}
    assert "--topo" in options and "--print" not in options
    validate = _commands(cli.build_parser("validate"))["validate"]
    assert any("--print" in a.option_strings for a in validate._actions)
