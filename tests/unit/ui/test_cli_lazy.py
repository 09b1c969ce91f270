"""A run builds the parser of the command it names only (cli.build_parser(command)): the
same parser of that command as the whole one's, so the same arguments, defaults, errors
and help. The whole parser (no command, an unknown one, --help, completion, docs/cli.md)
has every command, in the order of the tables."""

from __future__ import annotations

import argparse

import pytest

from netlab.ui import cli

ALL = [*cli.CORE_COMMANDS, *cli.COMMAND_MODULES]


def _commands(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return dict(sub.choices)


def test_the_tables_name_every_command_of_the_whole_parser_in_its_order() -> None:
    assert list(_commands(cli.build_parser())) == ALL
    assert not set(cli.CORE_COMMANDS) & set(cli.COMMAND_MODULES)


@pytest.mark.parametrize("command", ALL)
def test_the_parser_of_one_command_is_that_of_the_whole(command: str) -> None:
    alone = cli.build_parser(command)
    assert list(_commands(alone)) == [command]
    one, whole = _commands(alone)[command], _commands(cli.build_parser())[command]
    assert one.format_help() == whole.format_help()
    assert one.format_usage() == whole.format_usage()
    assert [(a.dest, a.option_strings, a.default, a.nargs, a.required)
            for a in one._actions] == [(a.dest, a.option_strings, a.default, a.nargs,
                                        a.required) for a in whole._actions]


@pytest.mark.parametrize("line", [
    ["up", "lab.yaml", "--set", "a=1", "--name", "x", "--json"],
    ["down", "-l", "x"],
    ["exec", "-l", "x", "h1", "--", "ip", "-br", "a"],
    ["status", "--check", "lab.yaml"],
    ["plan", "--down", "lab.yaml"],
    ["link", "-l", "x", "h1:eth0", "set", "delay=10ms"],
    ["service", "-l", "x", "h1", "web", "restart"],
    ["completion", "bash"],
    ["test", "lab.yaml"],
])
def test_a_line_parses_the_same_with_its_commands_parser_alone(line: list[str]) -> None:
    assert vars(cli.build_parser(line[0]).parse_args(line)) == vars(
        cli.build_parser().parse_args(line))


@pytest.mark.parametrize("line", [
    ["up", "--nope", "f.yaml"], ["link", "-l", "x"], ["exec", "--all", "--nodes", "a"]])
def test_a_bad_line_is_refused_alike(line: list[str], capsys: pytest.CaptureFixture[str]
                                     ) -> None:
    said = []
    for parser in (cli.build_parser(line[0]), cli.build_parser()):
        with pytest.raises(SystemExit) as exit_:
            parser.parse_args(line)
        said.append((exit_.value.code, capsys.readouterr().err))
    assert said[0] == said[1]
    assert said[0][0] == 2 and "error:" in said[0][1]


def test_an_unknown_command_lists_them_all(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["nope"]) == 2
    said = capsys.readouterr().err
    assert "invalid choice: 'nope'" in said
    assert all(f"'{c}'" in said for c in ALL)
