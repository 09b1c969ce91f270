"""The topology file as a Jinja2 template over its own `vars:` (and `--set k=v`).

Rendering is sandboxed (no attribute tricks) and bounded in time and memory (steps, seconds,
the size of every value and of all text written: see _Environment), and traced:
every newline that comes out of the template is tagged with the template line it was
written on, so problems found in the rendered YAML point at the line the user wrote.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator, Mapping
from types import TracebackType
from typing import Any

import jinja2
import yaml
from jinja2 import meta, nodes
from jinja2.exceptions import SecurityError
from jinja2.sandbox import SandboxedEnvironment

from netlab.errors import Problem
from netlab.spec import yamltree
from netlab.spec.rendering import Rendered, TemplateProblems, as_is, is_template
from netlab.spec.source import MAX_BYTES

MAX_RENDERED = 4 * MAX_BYTES  # loops may make a file bigger than its template, within reason
VAR_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*\Z")
_TAG = "\x00"  # cannot occur in the text: NUL bytes are refused when the file is read
_TAGGED_NEWLINE = re.compile("\x00(\\d+)\x00\n|\n")
_VARS_LINE = re.compile(r"^vars[ \t]*:", re.MULTILINE)
_TOP_LEVEL = re.compile(r"^[^\s#]", re.MULTILINE)
# Blocks whose text is used as a value rather than written out; line tags stay out of them.
_VALUE_BLOCKS = (nodes.AssignBlock, nodes.Macro, nodes.CallBlock, nodes.FilterBlock)


# Bounds on the work a template may do (validate/plan of an untrusted file must end within
# seconds and in little memory): steps are loop iterations and calls.
MAX_STEPS = 2_000_000
MAX_SECONDS = 5.0
MAX_WIDTH = 100_000  # a width, count or indent given to a string operation
MAX_VALUE = MAX_RENDERED  # the length of any string or list a template makes
_PRINTF_SPEC = re.compile(r"%[^a-zA-Z%]*")
_FORMAT_SPEC = re.compile(r"\{[^{}]*\}")
_NUMBER = re.compile(r"\d+")
# Filters that take a width, a count or a size: their numbers are checked before they run.
_SIZED_FILTERS = ("center", "indent", "wordwrap", "truncate", "tojson", "slice", "batch",
                  "format", "join", "replace", "pprint")
# Those whose numbers are widths or counts (the others' numbers are values: '%s'|format(n)).
_WIDTH_FILTERS = ("center", "indent", "wordwrap", "truncate", "tojson", "slice", "batch")
_WIDTH_METHODS = ("center", "ljust", "rjust", "zfill", "expandtabs")
# What Jinja2 passes a filter before its value (pass_context and the like).
_PASSED = (jinja2.Environment, jinja2.runtime.Context, nodes.EvalContext)


class TemplateTooCostly(SecurityError):
    """The template went over one of the bounds above."""


def _check_format(fmt: str, printf: bool) -> None:
    """Refuse a format string that asks for a huge width or precision ('%0999999999d')."""
    for m in (_PRINTF_SPEC if printf else _FORMAT_SPEC).finditer(fmt):
        spec = m.group()
        if printf and "*" in spec:
            raise TemplateTooCostly("a '*' width in a % format is not allowed")
        if not printf:
            spec = spec.partition(":")[2]
        if any(int(n) > MAX_WIDTH for n in _NUMBER.findall(spec)):
            raise TemplateTooCostly(f"a format width over {MAX_WIDTH}")


def _check_length(length: int) -> None:
    if length > MAX_VALUE:
        raise TemplateTooCostly(f"a value over {MAX_VALUE // MAX_BYTES} MB")


def _check_size(value: Any) -> Any:
    if isinstance(value, (str, list, tuple, dict)):
        _check_length(len(value))
    return value


def _check_arguments(args: tuple[Any, ...], kwargs: Mapping[str, Any]) -> None:
    for arg in (*args, *kwargs.values()):
        if isinstance(arg, int) and not isinstance(arg, bool) and abs(arg) > MAX_WIDTH:
            raise TemplateTooCostly(f"a width or count over {MAX_WIDTH}")


def _joined_size(items: Any, separator: Any) -> int:
    """An upper bound on the length of separator.join(items)."""
    if not isinstance(items, (str, list, tuple, range)):
        return 0  # a generator or mapping: its result is checked after
    sep = len(separator) if isinstance(separator, str) else 0
    return sum(len(x) if isinstance(x, str) else 20 for x in items) + sep * len(items)


def _replaced_size(text: Any, old: Any, new: Any) -> int:
    if not (isinstance(text, str) and isinstance(old, str) and isinstance(new, str)):
        return 0
    count = len(text) + 1 if old == "" else text.count(old)
    return len(text) + count * len(new)


class _Environment(SandboxedEnvironment):
    """The sandbox, also bounding time and memory: every loop iteration and call is a step
    (MAX_STEPS, MAX_SECONDS), and no operation may make a string or list longer than
    MAX_VALUE or ask for a width over MAX_WIDTH ('x' * 10**9, 9 ** 99999, '%0999999999d' % 1,
    'x'|center(10**9), nested range(100000) loops)."""

    intercepted_binops = frozenset({"*", "**", "%", "+"})

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self.steps = 0
        self.emitted = 0
        self.deadline = time.monotonic() + MAX_SECONDS
        for name in _SIZED_FILTERS:
            self.filters[name] = self._sized_filter(name, self.filters[name])
        self.filters[_COUNTED] = self.counted
        self.filters[_SIZED] = _check_size
        self.filters[_EMITTED] = self.emit

    def step(self) -> None:
        self.steps += 1
        if self.steps > MAX_STEPS:
            raise TemplateTooCostly(f"the template takes over {MAX_STEPS} steps; check its loops")
        if self.steps % 1024 == 0 and time.monotonic() > self.deadline:
            raise TemplateTooCostly(f"the template runs over {MAX_SECONDS:g} s; check its loops")

    def counted(self, iterable: Any) -> Iterator[Any]:
        """What a {% for %} loop goes over, one step per item."""
        for item in iterable:
            self.step()
            yield item

    def emit(self, value: Any, size: int | None = None) -> str:
        """Text a template writes, counted wherever it goes (the output, a {% set %} block,
        a macro's result): all of it together stays under MAX_EMITTED."""
        text = "" if size is not None else str(value)
        self.emitted += len(text) if size is None else size
        if self.emitted > MAX_EMITTED:
            raise TemplateTooCostly(
                f"the template writes over {MAX_EMITTED // MAX_BYTES} MB; check its loops")
        return text

    def _sized_filter(self, name: str, function: Any) -> Any:
        def bounded(*args: Any, **kwargs: Any) -> Any:
            self.step()
            # A filter's own value is args[0] (or args[1] after the context/environment).
            values = [a for a in args if not isinstance(a, _PASSED)]
            if name in _WIDTH_FILTERS:
                _check_arguments(tuple(values[1:]), kwargs)
            if name == "format" and values and isinstance(values[0], str):
                _check_format(values[0], printf=True)
            if name == "join" and values:
                sep = values[1] if len(values) > 1 else kwargs.get("d", "")
                _check_length(_joined_size(values[0], sep))
            if name == "replace" and len(values) >= 3:
                _check_length(_replaced_size(values[0], values[1], values[2]))
            return _check_size(function(*args, **kwargs))

        if hasattr(function, "jinja_pass_arg"):  # pass_context/pass_environment, kept
            bounded.jinja_pass_arg = function.jinja_pass_arg  # type: ignore[attr-defined]
        return bounded

    def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
        self.step()
        if operator == "**" and isinstance(right, int) and right > 64 and left not in (0, 1, -1):
            raise SecurityError("the exponent is too large")
        if operator == "*":
            for seq, n in ((left, right), (right, left)):
                sized = isinstance(seq, (str, list, tuple)) and isinstance(n, int)
                if sized:
                    _check_length(len(seq) * n)
        if operator == "%" and isinstance(left, str):
            _check_format(left, printf=True)
        if operator == "+" and isinstance(left, (str, list, tuple)) and isinstance(
                right, (str, list, tuple)):
            _check_length(len(left) + len(right))
        return _check_size(super().call_binop(context, operator, left, right))

    def call(__self, __context: Any, __obj: Any, *args: Any, **kwargs: Any) -> Any:
        __self.step()
        owner = getattr(getattr(__obj, "__wrapped__", __obj), "__self__", None)
        if isinstance(owner, str):  # a string's method: 'x'.center(n), '{:09}'.format(1)
            name = getattr(__obj, "__name__", "")
            if name in _WIDTH_METHODS:
                _check_arguments(args, kwargs)
            if name in ("format", "format_map"):
                _check_format(owner, printf=False)
            if name == "join" and args:
                _check_length(_joined_size(args[0], owner))
            if name == "replace" and len(args) >= 2:
                _check_length(_replaced_size(owner, args[0], args[1]))
        return _check_size(super().call(__context, __obj, *args, **kwargs))


# Filters no template can name (their names hold a space), put in by _bound().
_COUNTED = "netlab counted"
_SIZED = "netlab sized"
_EMITTED = "netlab emitted"
MAX_EMITTED = 4 * MAX_RENDERED


def _bound(node: nodes.Node) -> None:
    """Every {% for %} goes over its items through the step counter, every '~' result is
    size-checked, and every piece of text written is counted (env.emit)."""
    for child in node.iter_child_nodes():
        _bound(child)
    if isinstance(node, nodes.For):
        node.iter = nodes.Filter(node.iter, _COUNTED, [], [], None, None, lineno=node.lineno)
    elif isinstance(node, nodes.Output):
        counted: list[nodes.Expr] = []
        for part in node.nodes:
            if isinstance(part, nodes.TemplateData):
                size = nodes.Const(len(part.data), lineno=part.lineno)
                counted.append(nodes.Filter(nodes.Const("", lineno=part.lineno), _EMITTED,
                                            [size], [], None, None, lineno=part.lineno))
                counted.append(part)
            else:
                counted.append(nodes.Filter(part, _EMITTED, [], [], None, None,
                                            lineno=part.lineno))
        node.nodes = counted
    for field in node.fields:
        value = getattr(node, field, None)
        if isinstance(value, nodes.Concat):
            setattr(node, field, nodes.Filter(value, _SIZED, [], [], None, None,
                                              lineno=value.lineno))
        elif isinstance(value, list):
            setattr(node, field, [
                nodes.Filter(v, _SIZED, [], [], None, None, lineno=v.lineno)
                if isinstance(v, nodes.Concat) else v for v in value])


def environment() -> _Environment:
    # optimized=False: no constant folding at compile time, where no bound would apply.
    return _Environment(undefined=jinja2.StrictUndefined, keep_trailing_newline=True,
                        optimized=False)


def render(
    text: str, filename: str, overrides: Mapping[str, str] = {}
) -> tuple[Rendered, dict[str, Any]]:
    """The rendered text and the variables it was rendered with; TemplateProblems if it fails."""
    if not is_template(text, overrides):
        return as_is(text), {}  # what Jinja2 would give back (rendering.py)
    return render_template(text, filename, overrides)


def _line_not_offset(line: int, message: str, text: str) -> tuple[int, str]:
    """Jinja2's lexer says where it stopped as an offset into the whole text ("unexpected
    char '\"' at 102"): say the line and column there instead, as other errors do."""
    m = re.search(r" at (\d+)$", message)
    if m is None or int(m.group(1)) > len(text):
        return line, message
    offset = int(m.group(1))
    column = offset - text.rfind("\n", 0, offset)
    return text.count("\n", 0, offset) + 1, f"{message[: m.start()]} (column {column})"


def render_template(
    text: str, filename: str, overrides: Mapping[str, str] = {}
) -> tuple[Rendered, dict[str, Any]]:
    """render() through Jinja2 whatever the text holds."""
    env = environment()
    try:
        ast = env.parse(text)
        used = meta.find_undeclared_variables(ast)
        _tag_newlines(ast)
        jinja = _uses_jinja(ast)
        _bound(ast)
        code = env.compile(ast)
    except jinja2.TemplateSyntaxError as e:  # also an unknown filter or test, when compiled
        message = " ".join((e.message or "invalid syntax").split()).rstrip(".")
        line, message = _line_not_offset(e.lineno, message[:1].lower() + message[1:], text)
        raise TemplateProblems(
            [Problem(filename, line, "", f"template syntax error: {message}")]
        ) from None
    variables, problems = file_vars(text, filename)
    if problems and jinja:
        raise TemplateProblems(problems)
    if not problems:
        # An override must name a variable of the file, or a typo would go unnoticed.
        variables.update(_check_overrides(overrides, variables, used, filename))
    # else: plain YAML that does not parse; the YAML parser will say where, better.
    template = env.template_class.from_code(env, code, env.make_globals(None), None)
    chunks: list[str] = []
    size = 0
    try:
        for chunk in template.generate(variables):
            size += len(chunk)
            if size > MAX_RENDERED:
                raise TemplateProblems(
                    [
                        Problem(
                            filename,
                            None,
                            "",
                            f"the rendered template is over {MAX_RENDERED // MAX_BYTES} MB; "
                            "check its loops",
                        )
                    ]
                )
            chunks.append(chunk)
    except TemplateProblems:
        raise
    except Exception as e:  # any failure inside the template is the file's fault
        raise TemplateProblems([_runtime_problem(e, filename, variables)]) from None
    return _untag("".join(chunks)), variables


def _uses_jinja(ast: nodes.Template) -> bool:
    return any(not isinstance(n, (nodes.Output, nodes.TemplateData)) for n in _walk(ast))


def _walk(node: nodes.Node) -> Iterator[nodes.Node]:
    for child in node.iter_child_nodes():
        yield child
        yield from _walk(child)


def _tag_newlines(node: nodes.Node) -> None:
    for child in node.iter_child_nodes():
        if isinstance(child, _VALUE_BLOCKS):
            continue
        if isinstance(child, nodes.TemplateData) and "\n" in child.data:
            parts = child.data.split("\n")
            tagged = [f"{part}{_TAG}{child.lineno + i}{_TAG}" for i, part in enumerate(parts[:-1])]
            child.data = "\n".join([*tagged, parts[-1]])
        _tag_newlines(child)


def _untag(output: str) -> Rendered:
    text: list[str] = []
    lines: list[int] = []
    pending = 0  # lines ended by a newline that came out of a {{ value }}: they belong to
    pos = 0  # the template line where the next tagged newline was written
    for m in _TAGGED_NEWLINE.finditer(output):
        text.append(output[pos : m.start()])
        text.append("\n")
        pos = m.end()
        if m.group(1) is None:
            pending += 1
            continue
        line = int(m.group(1))
        lines.extend([line] * (pending + 1))
        pending = 0
    text.append(output[pos:])
    last = lines[-1] + 1 if lines else 1
    lines.extend([last] * (pending + 1))
    return Rendered("".join(text), tuple(lines))


def _runtime_problem(e: Exception, filename: str, variables: Mapping[str, Any]) -> Problem:
    line = _template_line(e.__traceback__)
    text = " ".join(str(e).split()).rstrip(".")
    if isinstance(e, jinja2.UndefinedError):
        m = re.fullmatch(r"'([^']*)' is undefined", text)
        if m:
            names = ", ".join(sorted(variables)) or "none; add a 'vars:' mapping or --set"
            return Problem(filename, line, "", f"undefined variable '{m.group(1)}' (vars: {names})")
        return Problem(filename, line, "", f"undefined value in the template: {text}")
    if isinstance(e, TemplateTooCostly):
        return Problem(filename, line, "", f"the template is refused: {text}")
    if isinstance(e, SecurityError):
        return Problem(filename, line, "", f"the template is not allowed to do this: {text}")
    return Problem(filename, line, "", f"template error: {text or type(e).__name__}")


def _template_line(tb: TracebackType | None) -> int | None:
    line = None
    while tb is not None:
        if tb.tb_frame.f_code.co_filename == "<template>":
            line = tb.tb_lineno
        tb = tb.tb_next
    return line


# --- variables ---------------------------------------------------------------------------


def file_vars(text: str, filename: str) -> tuple[dict[str, Any], list[Problem]]:
    """The file's own `vars:` mapping, read before rendering.

    The whole text is tried as YAML first; when template tags make it invalid YAML, the
    top-level `vars:` block is cut out and read on its own (it must be plain YAML).
    """
    problems: list[Problem] = []
    node, first_line = _vars_node(text)
    if node is None:
        return {}, problems
    if isinstance(node, yaml.YAMLError):
        detail = yamltree.syntax_problem(node, text, filename, lambda n: n + first_line - 1)
        problems.append(
            Problem(
                filename,
                detail.line,
                "vars",
                "the vars block must be plain YAML, without template tags: "
                + detail.message.removeprefix("YAML syntax error: "),
            )
        )
        return {}, problems
    tree = yamltree.Tree()
    builder = yamltree.Builder(tree, filename, lambda n: n + first_line - 1)
    value = builder.build_root(node, "vars")
    if tree.problems:
        return {}, tree.problems
    if value is None:
        return {}, problems
    if not isinstance(value, dict):
        problems.append(
            Problem(
                filename,
                tree.lines.get("vars"),
                "vars",
                "expected a mapping of variable names to values, such as {subnet: 10.0.1}",
            )
        )
        return {}, problems
    for key in value:
        if not isinstance(key, str) or not VAR_NAME.match(key):
            problems.append(
                Problem(
                    filename,
                    tree.lines.get(f"vars.{yamltree.key_text(key)}"),
                    "vars",
                    f"'{yamltree.key_text(key)}' cannot be used as a template variable; "
                    "use letters, digits and '_' (not first)",
                )
            )
    return (value if not problems else {}), problems


def _vars_node(text: str) -> tuple[yaml.Node | yaml.YAMLError | None, int]:
    try:
        root = yamltree.compose(text)
    except (yaml.YAMLError, RecursionError):
        return _vars_block(text)
    if isinstance(root, yaml.MappingNode):
        for key, value in root.value:
            if isinstance(key, yaml.ScalarNode) and key.value == "vars":
                return value, 1
    return None, 1


def _vars_block(text: str) -> tuple[yaml.Node | yaml.YAMLError | None, int]:
    m = _VARS_LINE.search(text)
    if m is None:
        return None, 1
    end = _TOP_LEVEL.search(text, m.end())
    block = text[m.start() : end.start() if end else len(text)]
    first_line = text.count("\n", 0, m.start()) + 1
    try:
        root = yamltree.compose(block)
    except (yaml.YAMLError, RecursionError) as e:
        return (e if isinstance(e, yaml.YAMLError) else None), first_line
    if isinstance(root, yaml.MappingNode) and root.value:
        return root.value[0][1], first_line
    return None, first_line


def parse_override(value: str) -> Any:
    """`--set n=3` gives the int 3, `--set on=true` True; anything but a scalar stays text."""
    if not value.strip():
        return value
    try:
        parsed = yaml.safe_load(value)
    except yaml.YAMLError:
        return value
    return parsed if isinstance(parsed, (str, int, float, bool)) else value


def _check_overrides(
    overrides: Mapping[str, str],
    variables: Mapping[str, Any],
    used: set[str],
    filename: str,
) -> dict[str, Any]:
    problems = []
    result = {}
    for key, value in overrides.items():
        if not VAR_NAME.match(key):
            message = f"'{key}' is not a variable name; use letters, digits and '_' (not first)"
        elif key not in variables and key not in used:
            message = f"the file uses no variable '{key}' ({_known(variables, used)})"
        else:
            result[key] = parse_override(value)
            continue
        problems.append(Problem(filename, None, f"--set {key}", message))
    if problems:
        raise TemplateProblems(problems)
    return result


def _known(variables: Mapping[str, Any], used: set[str]) -> str:
    """The variables --set may give: the file's vars, and those it uses without a value."""
    known = f"vars: {', '.join(sorted(variables)) or 'none'}"
    unset = sorted(used - set(variables))
    return f"{known}; used but not in vars: {', '.join(unset)}" if unset else known
