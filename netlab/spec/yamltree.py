"""YAML into plain Python values, remembering the line of every key and item.

PyYAML composes a node tree (every node has its position); we build the values ourselves
from it so that each one gets a data path and a line, duplicate keys are refused instead
of silently overwritten, and alias loops or alias bombs cannot hang the loader.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import yaml

from netlab.errors import Problem
from netlab.spec.loaded import join

MAX_VALUES = 200_000  # after expanding aliases; a large lab has a few thousand
_STR_TAG = "tag:yaml.org,2002:str"
_MERGE_TAG = "tag:yaml.org,2002:merge"
_COLLECTION_TAGS = {"tag:yaml.org,2002:seq", "tag:yaml.org,2002:map"}

LineMap = Callable[[int], int]  # line in the parsed text -> line in the user's file


class TooManyValues(Exception):
    pass


@dataclass
class Tree:
    """The values of one YAML document, with where each one was written."""

    data: Any = None
    lines: dict[str, int] = field(default_factory=dict)
    # The text as written of scalars YAML did not read as strings (`no`, `12:30`, `1e3`),
    # so that a message can show them and say to quote them.
    raw: dict[str, str] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)


# libyaml composes ~10x faster than PyYAML's pure-Python parser (a 500-node lab: 0.1 s
# instead of 1.3 s). Its error texts differ, so a text it refuses is parsed again by the
# Python parser, whose messages the rest of the loader knows how to word.
_FAST_LOADER: type[yaml.SafeLoader] | None = getattr(yaml, "CSafeLoader", None)


@functools.lru_cache(maxsize=4)
def compose(text: str) -> yaml.Node | None:
    """The node tree of a single-document YAML text (None when it holds no document).

    Cached: a file without template tags renders to itself, and `vars:` is read from the
    same text before rendering; the trees are only read, never changed."""
    if _FAST_LOADER is not None:
        fast = _FAST_LOADER(text)
        try:
            return fast.get_single_node()
        except yaml.YAMLError:
            pass
        finally:
            fast.dispose()
    loader = yaml.SafeLoader(text)
    try:
        return loader.get_single_node()
    finally:
        loader.dispose()


def parse(text: str, filename: str, line_map: LineMap) -> Tree:
    """Parse `text`; syntax errors and duplicate keys come back as problems, never raised."""
    tree = Tree()
    try:
        node = compose(text)
    except yaml.YAMLError as e:
        tree.problems.append(syntax_problem(e, text, filename, line_map))
        return tree
    except RecursionError:
        tree.problems.append(Problem(filename, None, "", "the YAML nests too deeply"))
        return tree
    if node is None:
        return tree
    Builder(tree, filename, line_map).build_root(node)
    return tree


class Builder:
    def __init__(self, tree: Tree, filename: str, line_map: LineMap) -> None:
        self.tree = tree
        self.filename = filename
        self.line_map = line_map
        self.count = 0
        self.active: set[int] = set()  # ids of collections being built: an alias loop shows here
        self.constructor = yaml.SafeLoader("")

    def build_root(self, node: yaml.Node, path: str = "") -> Any:
        try:
            self.tree.data = self.build(node, path)
        except TooManyValues:
            self.tree.data = None
            self.problem(
                node,
                path,
                f"the file expands to more than {MAX_VALUES} values (through YAML aliases?)",
            )
        except RecursionError:
            self.tree.data = None
            self.problem(node, path, "the YAML nests too deeply")
        return self.tree.data

    def line(self, node: yaml.Node) -> int:
        return self.line_map(node.start_mark.line + 1)

    def problem(self, node: yaml.Node, path: str, message: str) -> None:
        self.tree.problems.append(Problem(self.filename, self.line(node), path, message))

    def build(self, node: yaml.Node, path: str) -> Any:
        self.count += 1
        if self.count > MAX_VALUES:
            raise TooManyValues
        self.tree.lines.setdefault(path, self.line(node))
        if isinstance(node, yaml.ScalarNode):
            return self.scalar(node, path)
        if id(node) in self.active:
            self.problem(node, path, "a YAML alias refers to a value that contains it (a loop)")
            return None
        if node.tag not in _COLLECTION_TAGS:
            self.problem(node, path, f"unknown YAML tag '{_tag_text(node.tag)}'; leave it out")
            return None
        self.active.add(id(node))
        try:
            if isinstance(node, yaml.SequenceNode):
                return [self.build(item, join(path, i)) for i, item in enumerate(node.value)]
            if isinstance(node, yaml.MappingNode):
                return self.mapping(node, path)
            return None
        finally:
            self.active.discard(id(node))

    def scalar(self, node: yaml.ScalarNode, path: str, key: bool = False) -> Any:
        if node.tag == _STR_TAG:  # most of a topology: what the constructor would return
            value = node.value
        else:
            try:
                value = self.constructor.construct_object(node, deep=True)
            except yaml.YAMLError:
                self.problem(node, path, f"unknown YAML tag '{_tag_text(node.tag)}'; leave it out")
                return None
        if node.tag != _STR_TAG and isinstance(node.value, str):
            # A key's spelling (`on:`, read as true) is kept apart from its mapping's.
            where = join(path, key_text(value)) + KEY if key else path
            self.tree.raw[where] = node.value
        if isinstance(value, str) and "\x00" in value:
            # ("\0" in a quoted YAML string.) No command line, environment, name or path
            # can hold one: the kernel would cut the text there.
            self.problem(node, path, "a NUL character ('\\0') cannot be used anywhere in a "
                         "topology; leave it out")
            return None
        return value

    def key(self, node: yaml.Node, path: str) -> tuple[bool, Any]:
        if not isinstance(node, yaml.ScalarNode):
            kind = "list" if isinstance(node, yaml.SequenceNode) else "mapping"
            self.problem(node, path, f"a key must be a plain name, not a {kind}")
            return False, None
        return True, self.scalar(node, path, key=True)

    def mapping(self, node: yaml.MappingNode, path: str) -> dict[Any, Any]:
        result: dict[Any, Any] = {}
        first: dict[Any, int] = {}
        merges: list[tuple[yaml.Node, yaml.Node]] = []
        for key_node, value_node in node.value:
            if key_node.tag == _MERGE_TAG:
                merges.append((key_node, value_node))
                continue
            ok, key = self.key(key_node, path)
            if not ok:
                continue
            line = self.line(key_node)
            if key in first:
                self.problem(
                    key_node, path, f"duplicate key '{key_text(key)}' (first at line {first[key]})"
                )
                continue
            first[key] = line
            child = join(path, key_text(key))
            self.tree.lines.setdefault(child, line)  # a merged key keeps the line written here
            result[key] = self.build(value_node, child)
        for key_node, value_node in merges:
            self.merge(result, key_node, value_node, path)
        return result

    def merge(
        self, result: dict[Any, Any], key_node: yaml.Node, value: yaml.Node, path: str
    ) -> None:
        # `<<: *defaults` (or a list of them): keys written here win over merged ones, and an
        # earlier merged mapping wins over a later one, as YAML's merge key says.
        sources = value.value if isinstance(value, yaml.SequenceNode) else [value]
        for source in sources:
            if not isinstance(source, yaml.MappingNode):
                self.problem(key_node, path, "'<<' merges a mapping (such as *defaults) only")
                continue
            merged = self.build(source, path)
            if not isinstance(merged, dict):
                continue  # a loop (`&v {<<: *v}`), said where it was found
            for key, item in merged.items():
                result.setdefault(key, item)


def _tag_text(tag: str) -> str:
    return "!!" + tag.removeprefix("tag:yaml.org,2002:") if tag.startswith("tag:yaml") else tag


KEY = "{key}"  # after a path in LoadedTree.raw: how the key itself was written


def key_text(key: Any) -> str:
    """A key as it reads in a data path: YAML's spelling for booleans and null."""
    if key is None:
        return "null"
    if isinstance(key, bool):
        return "true" if key else "false"
    return str(key)


# --- syntax errors ------------------------------------------------------------------------

_CLOSE_OR_COMMA = re.compile(r"expected ',' or '(\]|\})', but got '(.*)'")
_BAD_START = re.compile(r"found character '(.*)' that cannot start any token")


def _explain(e: yaml.MarkedYAMLError, line_map: LineMap) -> tuple[int | None, str]:
    """PyYAML's problem, told in a few words, and the 1-based line it is best shown at."""
    context, problem = e.context or "", e.problem or ""
    at = line_map(e.problem_mark.line + 1) if e.problem_mark else None
    opened = line_map(e.context_mark.line + 1) if e.context_mark else None
    if "single document" in context:
        return at, "a second YAML document ('---'); a topology is a single document"
    if "end of stream" in problem or "<stream end>" in problem:
        if "quoted scalar" in context:
            return opened, "a quoted text that starts on this line is never closed"
        if "flow" in context:
            return opened, "a '[' or '{' on this line is never closed"
        return at, "the file ends too early (a quote or a bracket left open?)"
    m = _CLOSE_OR_COMMA.search(problem)
    if m:
        close, found = m.group(1), m.group(2)
        bracket = "[" if close == "]" else "{"
        where = f" opened on line {opened}" if opened and opened != at else ""
        if found in ("]", "}"):
            return at, f"the '{bracket}'{where} is closed with '{found}'; use '{close}'"
        return at, (
            f"found '{found}' inside the '{bracket}'{where}: "
            f"separate its items with ',' and close it with '{close}'"
        )
    if "\\t" in problem or "tab character" in problem:
        return at, "a tab character; YAML indents with spaces only"
    if "mapping values are not allowed" in problem:
        return at, "a ':' where none can be (is the indentation right? quote a text with ': ')"
    if "expected <block end>" in problem:
        return at, "the indentation does not line up with the lines above"
    if "could not find expected ':'" in problem:
        return at, "a line without ':' inside a mapping (a key without a value? a quote left open?)"
    m = re.search(r"found undefined alias '(.*)'", problem)
    if m:
        return at, f"'*{m.group(1)}' refers to no anchor '&{m.group(1)}' defined above it"
    quoted = _colon_value(e.problem_mark) if "found ':'" in problem else None
    if quoted is not None:
        return at, f"a value starting with ':' (IPv6) needs quotes inside [ ] or {{ }}: {quoted}"
    m = _BAD_START.search(problem)
    if m:
        return at, f"'{m.group(1)}' cannot start a value here; put the value in quotes"
    text = problem or context or "invalid YAML"
    return at, " ".join(text.split())


def _colon_value(mark: yaml.Mark | None) -> str | None:
    """The IPv6 address at `mark` that starts with '::' (`{to: ::/0}`), quoted, if any."""
    if mark is None or not isinstance(mark.buffer, str):
        return None
    lines = mark.buffer.split("\n")
    line = lines[mark.line] if mark.line < len(lines) else ""
    m = re.match(r"::[0-9A-Fa-f:./]*", line[mark.column:])
    if m is None:
        return None
    key = re.search(r"([\w-]+):\s*$", line[: mark.column])
    return f"{key.group(1)}: '{m.group(0)}'" if key else f"'{m.group(0)}'"


def syntax_problem(e: yaml.YAMLError, text: str, filename: str, line_map: LineMap) -> Problem:
    """One line saying where the YAML is broken and how, in a few words."""
    if isinstance(e, yaml.reader.ReaderError):
        line = text.count("\n", 0, e.position) + 1
        char = e.character if isinstance(e.character, str) else chr(e.character)
        return Problem(
            filename,
            line_map(line),
            "",
            f"YAML does not allow the control character {ord(char):#04x} in a file",
        )
    if isinstance(e, yaml.MarkedYAMLError):
        where, message = _explain(e, line_map)
        return Problem(filename, where, "", f"YAML syntax error: {message}")
    return Problem(filename, None, "", f"YAML syntax error: {' '.join(str(e).split())}")
