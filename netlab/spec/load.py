"""Load a topology file: read, render (Jinja2, a template only), parse (YAML), type
(pydantic), cross-check.

Pure: reads the one file it is given and nothing else (but the user and group names of
tun/tap owners, which are looked up). Every problem found is collected with its file, line
and data path; they are raised together, once, as a TopologyError sorted by line.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from netlab.errors import Problem, TopologyError
from netlab.spec import foreign, validate, yamltree
from netlab.spec.loaded import LoadedTopology, join, line_in, one_line
from netlab.spec.model import Topology
from netlab.spec.rendering import Rendered, TemplateProblems, as_is, is_template
from netlab.spec.source import MAX_BYTES, read_source

if TYPE_CHECKING:
    from netlab.spec.generate import Generated  # --topo's; not imported to load a file

_EMPTY = "the file is empty; a topology needs at least 'name' and 'nodes'"


def load_topology(
    path: str | Path | Generated, overrides: Mapping[str, str] = {}
) -> LoadedTopology:
    """Load and check the topology file at `path` (or the one --topo makes); `overrides`
    are `--set k=v` pairs.

    Problems are reported against `path` as given (so relative paths stay short).
    """
    shown = str(path)
    if not isinstance(path, (str, os.PathLike)):  # a Generated
        return load_text(path.text(), shown, overrides)
    return load_text(read_source(Path(path), shown), shown, overrides)


def load_text(
    text: str, filename: str, overrides: Mapping[str, str] = {}, rendered: bool = False,
) -> LoadedTopology:
    """Load and check a topology from its text; `filename` is only used in messages.
    rendered: the text is a topology already rendered (no Jinja2 over it again)."""
    try:
        return _load(text, filename, overrides, rendered)
    except TopologyError as e:
        if overrides:
            raise TopologyError(problems=_from_set(e.problems, text, overrides)) from None
        raise
    except RecursionError:
        raise _error([Problem(filename, None, "", "the file nests too deeply")]) from None


_TAG = re.compile(r"\{[{%](.*?)[%}]\}")
_NAME = re.compile(r"[A-Za-z_]\w*")


def _from_set(problems: list[Problem], text: str, overrides: Mapping[str, str]
              ) -> list[Problem]:
    """Problems on a line whose template uses a `--set` variable say so: the bad value
    may not be in the file at all (`--set lan=foo`)."""
    lines = text.split("\n")
    marked = []
    for p in problems:
        line = lines[p.line - 1] if p.line is not None and 0 < p.line <= len(lines) else ""
        used = {n for tag in _TAG.findall(line) for n in _NAME.findall(tag)}
        given = [f"--set {k}={v}" for k, v in overrides.items() if k in used]
        quoted = [g for g in given if g.partition("=")[2] in p.message]  # the one at fault
        given = quoted or given
        if given:
            p = replace(p, message=f"{p.message} (from {', '.join(given)})")
        marked.append(p)
    return marked


def _load(
    text: str, filename: str, overrides: Mapping[str, str], as_rendered: bool = False,
) -> LoadedTopology:
    if len(text.encode("utf-8", "surrogatepass")) > MAX_BYTES:
        raise _error([Problem(filename, None, "", "the file is too large (over 1 MB)")])
    if "\x00" in text:
        raise _error([Problem(filename, None, "", "the text holds NUL characters")])
    if not text.strip():
        raise _error([Problem(filename, None, "", _EMPTY)])
    tool = foreign.detect(text)
    if tool is not None:
        raise _error([Problem(filename, None, "", foreign.import_hint(tool, filename))])

    try:
        rendered, variables = _render(text, filename, overrides, as_rendered)
    except TemplateProblems as e:
        raise _error(e.problems) from None

    tree = yamltree.parse(rendered.text, filename, rendered.line_map)
    if tree.problems:
        raise _error(tree.problems)
    data = tree.data
    if data is None:
        raise _error([Problem(filename, None, "", _EMPTY)])
    if not isinstance(data, dict):
        kind = "a list" if isinstance(data, list) else f"just {_what(data)}"
        raise _error(
            [
                Problem(
                    filename,
                    tree.lines.get(""),
                    "",
                    f"the top level must be a mapping with 'name' and 'nodes', not {kind}",
                )
            ]
        )

    loaded = load_data(data, filename, tree.lines, tree.raw, rendered.text)
    topology = loaded.topology
    if variables and variables != topology.vars:
        # Record the values the file was rendered with (its vars after --set).
        topology = topology.model_copy(update={"vars": {**topology.vars, **variables}})
        loaded = LoadedTopology(topology, filename, tree.lines, rendered.text)
    return loaded


def _render(text: str, filename: str, overrides: Mapping[str, str], as_rendered: bool
            ) -> tuple[Rendered, dict[str, Any]]:
    """The text to parse, and the variables it was rendered with: Jinja2 is imported only
    for a file that is a template (rendering.py)."""
    if as_rendered or not is_template(text, overrides):
        return as_is(text), {}
    from netlab.spec import template

    return template.render_template(text, filename, overrides)


def load_data(
    data: dict[str, Any], filename: str, lines: dict[str, int],
    raw: Mapping[str, str] = {}, text: str = "",
) -> LoadedTopology:
    """Type and cross-check a topology given as data (parsed YAML, or made in Python by
    the builder), as a file is: the same problems, the same messages. `lines` maps data
    paths to the lines they were written on; `raw` the scalars as written (for wording)."""
    try:
        topology = Topology.model_validate(data)
    except ValidationError as e:
        from netlab.spec import messages  # pydantic's errors in words: only for a bad file

        raise _error(messages.problems_from(e, data, lines, raw, filename)) from None
    problems = _decimal_modes(topology, raw, filename, lines) or validate.check(
        topology, filename, lines)
    if problems:
        raise _error(problems)
    return LoadedTopology(topology, filename, lines, text)


def _decimal_modes(topology: Topology, raw: Mapping[str, str], filename: str,
                   lines: dict[str, int]) -> list[Problem]:
    """`mode: 644` is YAML's decimal 644 (octal 1204: no read for the owner, the sticky
    bit), never what was meant; `mode: 0644` and `mode: "0644"` are octal."""
    problems = []
    for name, node in topology.nodes.items():
        for fname, spec in node.files.items():
            path = join(join(join(f"nodes.{name}", "files"), fname), "mode")
            text = raw.get(path, "")
            if isinstance(spec, str) or not text[:1].isdigit() or text.startswith("0") \
                    or spec.mode < 8:  # 0..7 read the same either way
                continue
            fix = f'"0{text}"' if set(text) <= set("01234567") else 'such as "0640"'
            problems.append(Problem(filename, line_in(lines, path), path,
                                    f"mode {text} is a decimal number to YAML; write the mode "
                                    f"in octal, quoted: {fix}"))
    return problems


def _what(value: Any) -> str:
    if isinstance(value, str):
        return f"the text '{value[:30]}'"
    return f"the value {value!r}"


def _error(problems: list[Problem]) -> TopologyError:
    # One line per problem, even when a name or value quoted in it holds a newline.
    clean = [replace(p, path=one_line(p.path), message=one_line(p.message)) for p in problems]
    ordered = sorted(clean, key=lambda p: p.line or 0)  # stable: same line keeps its order
    return TopologyError(problems=ordered)
