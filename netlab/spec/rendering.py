"""The text the YAML parser gets, and whether Jinja2 is needed to make it.

Jinja2 (netlab.spec.template, ~15 ms to import) is loaded only for a file that uses it:
one with a `{{`, `{%` or `{#`, or a "\r" (Jinja2's lexer turns every line ending into
"\n"), or given `--set`. Any other file Jinja2 would give back line for line, after parsing,
compiling and running it (and reading `vars:`, which needs the whole YAML composed: 0.3 s
for a 1000-node file); tests/unit/spec/test_load.py checks that on every file in the repo.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from netlab.errors import Problem

# What makes Jinja2 change a text: its three opening delimiters, and "\r".
_JINJA_SYNTAX = ("{{", "{%", "{#", "\r")


class TemplateProblems(Exception):
    def __init__(self, problems: list[Problem]) -> None:
        super().__init__("; ".join(str(p) for p in problems))
        self.problems = problems


@dataclass(frozen=True)
class Rendered:
    text: str
    source_lines: tuple[int, ...]  # source_lines[i]: the template line of rendered line i + 1

    def line_map(self, line: int) -> int:
        if 1 <= line <= len(self.source_lines):
            return self.source_lines[line - 1]
        return self.source_lines[-1] if self.source_lines else line


def as_is(text: str) -> Rendered:
    """The text as it is, line for line (nothing to render)."""
    return Rendered(text, tuple(range(1, text.count("\n") + 2)))


def is_template(text: str, overrides: Mapping[str, str] = {}) -> bool:
    """Whether Jinja2 has anything to do with the text (--set always goes through it: an
    override must name a variable of the file)."""
    return bool(overrides) or any(s in text for s in _JINJA_SYNTAX)
