"""A line with rich markup, printed where rich shows no styles (a pipe, a file), is written
without importing rich (ui/common.plain_markup): the same characters rich writes, checked
against rich itself for every markup line netlab's source prints (its values filled in
several ways) and for a few thousand random ones; rich's refusals stay rich's."""

from __future__ import annotations

import ast
import io
import random
from pathlib import Path

import pytest
from rich.console import Console
from rich.errors import MarkupError

from netlab.ui import common
from netlab.ui.common import plain_markup

NETLAB = Path(common.__file__).resolve().parents[1]
# Values put where netlab's messages have a {placeholder}: plain, and what markup makes of
# brackets and backslashes (most values are escaped, but not all).
VALUES = ("lab-1", "a b", "[bold]x[/]", "x\\", "\\[red]y", "[", "]", "é中", "[/]", "")


def rich_writes(text: str, stderr: bool = False) -> str | MarkupError:
    """What rich writes for `text` to a stream that is no terminal, as netlab's consoles
    are made (common._LazyConsole._made), or the error it raises."""
    buffer = io.StringIO()
    console = Console(file=buffer, highlight=False, emoji=False, soft_wrap=True,
                      width=None if stderr else 160)
    try:
        console.print(text)
    except MarkupError as error:
        return error
    return buffer.getvalue()


def _same(text: str) -> None:
    plain = plain_markup(text)
    for stderr in (False, True):
        expected = rich_writes(text, stderr)
        if isinstance(expected, MarkupError):
            assert plain is None, (text, expected)
        elif plain is not None:
            assert plain + "\n" == expected, text


def _printed_markup() -> list[str]:
    """The literal lines netlab prints with markup (f-strings with their values filled)."""
    lines: set[str] = set()
    for path in NETLAB.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                    and node.func.attr == "print" and node.args):
                continue
            first = node.args[0]
            if isinstance(first, ast.Constant) and isinstance(first.value, str):
                lines.add(first.value)
            elif isinstance(first, ast.JoinedStr):
                for value in VALUES:
                    lines.add("".join(
                        str(part.value) if isinstance(part, ast.Constant) else value
                        for part in first.values))
    return sorted(line for line in lines if "[" in line)


def test_netlabs_own_markup_lines_read_as_rich_reads_them() -> None:
    lines = _printed_markup()
    assert any(line.startswith("lab [bold]lab-1[/] is down") for line in lines)
    assert len(lines) > 50
    for line in lines:
        _same(line)
    assert plain_markup("lab [bold]lab-1[/] is down (3 operations undone)") == (
        "lab lab-1 is down (3 operations undone)")
    assert plain_markup("[bold red]error:[/] no \\[such] lab") == "error: no [such] lab"


PIECES = ("[", "]", "/", "\\", "=", " ", "x", "é", "中", "[bold]", "[/]", "[/bold]",
          "[red]", "[b]", "[/b]", "[bold red]", "[/bold red]", "[link=http://a.b/c]",
          "[/link]", "[@click]", "[#ff0000]", "[dim]", "\\[", "\\\\[", "[not a tag",
          ":smile:", "\n", "\t", "\r", "\x1b[1m")


def test_random_markup_reads_as_rich_reads_it() -> None:
    rng = random.Random(14)
    for _ in range(3000):
        _same("".join(rng.choice(PIECES) for _ in range(rng.randint(0, 12))))


def test_long_and_multiline_lines_are_not_wrapped() -> None:
    for text in ("[bold]" + "word " * 100 + "[/]", "a [b]b[/b]\n  c [dim]d[/]", "x" * 400,
                 "trailing  ", "  leading", ""):
        assert plain_markup(text) is not None
        _same(text)


def test_what_rich_changes_or_may_refuse_is_left_to_rich() -> None:
    for text in ("a\tb", "bell\a", "cr\r", "[/]", "[/bold] x", "[@click]x[/]",
                 "[b]x[/bold]"):
        assert plain_markup(text) is None, text


@pytest.fixture
def unstyled(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("FORCE_COLOR", "TTY_COMPATIBLE"):
        monkeypatch.delenv(name, raising=False)


def test_a_pipe_gets_the_line_without_rich(unstyled: None,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    console = common._LazyConsole(stderr=False)
    console.print("lab [bold]t[/] is down (202 operations undone)")
    console.print("plain")
    assert capsys.readouterr().out == "lab t is down (202 operations undone)\nplain\n"
    assert console._console is None  # rich was not needed


def test_rich_prints_what_it_styles(monkeypatch: pytest.MonkeyPatch,
                                    capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("FORCE_COLOR", "1")
    monkeypatch.delenv("TTY_COMPATIBLE", raising=False)
    console = common._LazyConsole(stderr=True)
    console.print("[bold]t[/] is down")
    assert console._console is not None
    assert "\x1b[1mt\x1b[0m is down" in capsys.readouterr().err


def test_a_tab_goes_through_rich(unstyled: None, capsys: pytest.CaptureFixture[str]) -> None:
    console = common._LazyConsole(stderr=False)
    console.print("a\tb")
    assert capsys.readouterr().out == rich_writes("a\tb")
