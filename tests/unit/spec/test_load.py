"""Loading topology files: good ones load with the right lines, bad ones say what is wrong.

The corpus tests/bad/NN-name.yaml pairs each bad file with NN-name.err, the exact text a
learner sees. To rewrite the .err files after changing a message:

    NETLAB_REGEN_GOLDEN=1 pytest tests/unit/spec/test_load.py

and then read every changed one (git diff tests/bad): they are the product's face.
"""

from __future__ import annotations

import os
import string
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from netlab.errors import InputError, TopologyError
from netlab.spec import LoadedTopology, json_schema, load_text, load_topology, parse_endpoint
from netlab.spec.model import MAX_LAB_NAME, MAX_NAME
from netlab.state.store import LabState

HERE = Path(__file__).resolve().parents[1]  # tests/unit
BAD = HERE.parent / "bad"
EXAMPLE = HERE / "data" / "format-example.yaml"
REGEN = os.environ.get("NETLAB_REGEN_GOLDEN") == "1"
CORPUS = sorted(BAD.glob("*.yaml"))

SMALL = """\
name: small
vars:
  subnet: 10.0.1
  mtu: 1500
nodes:
  h1:
    interfaces:
      eth0: {addresses: ["{{ subnet }}.1/24"], mtu: {{ mtu }}}
    routes:
      - {to: default, via: "{{ subnet }}.254"}
  r1:
    kind: router
    interfaces:
      eth0: {addresses: ["{{ subnet }}.254/24"]}
links:
  - [h1:eth0, r1:eth0]
"""


def errors_of(text: str, name: str = "t.yaml", **overrides: str) -> list[str]:
    with pytest.raises(TopologyError) as info:
        load_text(text, name, overrides)
    return str(info.value).splitlines()


# --- the corpus of bad files --------------------------------------------------------------


def test_the_corpus_is_large_enough() -> None:
    assert len(CORPUS) >= 45


@pytest.mark.parametrize("path", CORPUS, ids=[p.stem for p in CORPUS])
def test_bad_file(path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(BAD)  # so that messages name the file as a learner would: its basename
    with pytest.raises(TopologyError) as info:
        load_topology(path.name)
    got = str(info.value) + "\n"
    golden = path.with_suffix(".err")
    if REGEN:
        golden.write_text(got)
    assert golden.exists(), f"no {golden.name}; make it with NETLAB_REGEN_GOLDEN=1"
    assert got == golden.read_text()


def test_every_golden_has_its_file() -> None:
    stray = [p.name for p in BAD.glob("*.err") if not p.with_suffix(".yaml").exists()]
    assert not stray


@pytest.mark.parametrize("path", CORPUS, ids=[p.stem for p in CORPUS])
def test_golden_lines_have_the_shape(path: Path) -> None:
    # One line per problem: "file:line: path: message", or "file: message" for the file.
    for line in path.with_suffix(".err").read_text().splitlines():
        assert line.startswith(path.name + ":"), line
        assert len(line) < 240, line


# --- reading the file ---------------------------------------------------------------------


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(TopologyError, match="no such file"):
        load_topology(tmp_path / "nope.yaml")


def test_directory(tmp_path: Path) -> None:
    with pytest.raises(TopologyError, match="this is a directory; give the path"):
        load_topology(tmp_path)
    (tmp_path / "topology.yaml").write_text("name: t\nnodes: {h1: {}}\n")
    with pytest.raises(TopologyError) as info:
        load_topology(str(tmp_path) + "/")
    assert str(info.value) == (
        f"{tmp_path}/: this is a directory; did you mean {tmp_path}/topology.yaml?"
    )


def test_too_large_is_not_parsed(tmp_path: Path) -> None:
    big = tmp_path / "big.yaml"
    big.write_text("name: big\nnodes:\n" + "  # padding\n" * 100_000)
    with pytest.raises(TopologyError) as info:
        load_topology(big)
    assert str(info.value) == f"{big}: the file is too large (over 1 MB); not parsing it"


def test_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / "latin1.yaml"
    path.write_bytes("name: caf\xe9\nnodes: {}\n".encode("latin-1"))
    with pytest.raises(TopologyError) as info:
        load_topology(path)
    assert str(info.value) == f"{path}:1: not UTF-8 text (byte 0xe9); save it as UTF-8"


def test_utf16(tmp_path: Path) -> None:
    path = tmp_path / "utf16.yaml"
    path.write_text("name: x\n", encoding="utf-16")
    with pytest.raises(TopologyError, match="UTF-16"):
        load_topology(path)


def test_utf8_bom_is_fine(tmp_path: Path) -> None:
    path = tmp_path / "bom.yaml"
    path.write_bytes(b"\xef\xbb\xbfname: bom\nnodes: {h1: {}}\n")
    assert load_topology(path).topology.name == "bom"


def test_unreadable(tmp_path: Path) -> None:
    path = tmp_path / "secret.yaml"
    path.write_text("name: x\n")
    path.chmod(0)
    if os.access(path, os.R_OK):
        pytest.skip("root reads everything")
    with pytest.raises(TopologyError, match="permission denied"):
        load_topology(path)


def test_whitespace_only_is_empty() -> None:
    assert errors_of("\n  \n# just a comment\n") == [
        "t.yaml: the file is empty; a topology needs at least 'name' and 'nodes'"
    ]


# --- good files ---------------------------------------------------------------------------


def test_format_example_loads() -> None:
    loaded = load_topology(EXAMPLE)
    topo = loaded.topology
    assert list(topo.nodes) == ["h1", "h2", "r1", "h3", "sw1"]
    assert topo.nodes["h1"].interfaces["eth0"].addresses == ["10.0.1.1/24", "fd00:1::1/64"]
    assert topo.nodes["h1"].routes[0].via == "10.0.1.254"
    assert topo.links[3].mtu == 9000 and topo.links[3].rate == "100mbit"
    assert topo.links[0].endpoints == ["h1:eth0", "sw1"]  # the short form
    assert topo.vars == {"subnet": "10.0.1"}


def test_example_lines() -> None:
    loaded = load_topology(EXAMPLE)
    text = EXAMPLE.read_text().splitlines()

    def line(path: str) -> str:
        n = loaded.line_of(path)
        assert n is not None, path
        return text[n - 1]

    assert line("name").startswith("name: hello")
    assert line("nodes.h2.interfaces.eth0.mtu").strip().startswith("eth0:")
    assert line("nodes.r1.kind").strip().startswith("kind: router")
    assert line("links[2]").strip() == "- [r1:eth0, sw1]"
    assert line("links[3].mtu").strip() == "mtu: 9000"
    assert line("nodes.h3.sysctls.net.ipv6.conf.all.forwarding").strip().startswith("sysctls:")
    # Paths that were never written fall back to the nearest parent.
    assert loaded.line_of("nodes.h3.interfaces.eth0.mtu") == loaded.line_of(
        "nodes.h3.interfaces.eth0"
    )
    assert loaded.line_of("nodes.nope") == loaded.line_of("nodes")
    problem = loaded.problem("links[4]", "a message")
    assert str(problem) == f"{EXAMPLE}:{loaded.line_of('links[4]')}: links[4]: a message"


def test_every_shipped_topology_loads() -> None:
    shipped = sorted((HERE.parent.parent / "topologies").glob("*.yaml"))
    for path in shipped:
        assert isinstance(load_topology(path), LoadedTopology)


def test_vars_and_overrides() -> None:
    topo = load_text(SMALL, "s.yaml").topology
    assert topo.nodes["h1"].interfaces["eth0"].addresses == ["10.0.1.1/24"]
    assert topo.nodes["h1"].interfaces["eth0"].mtu == 1500
    topo = load_text(SMALL, "s.yaml", {"subnet": "10.7.7", "mtu": "9000"}).topology
    assert topo.nodes["r1"].interfaces["eth0"].addresses == ["10.7.7.254/24"]
    assert topo.nodes["h1"].interfaces["eth0"].mtu == 9000
    assert topo.vars == {"subnet": "10.7.7", "mtu": 9000}  # --set n=3 is the int 3


def test_override_for_an_unknown_variable() -> None:
    assert errors_of(SMALL, subnett="10.7.7") == [
        "t.yaml: --set subnett: the file uses no variable 'subnett' (vars: mtu, subnet)"
    ]
    assert errors_of(SMALL, **{"a-b": "1"}) == [
        "t.yaml: --set a-b: 'a-b' is not a variable name; use letters, digits and '_' (not first)"
    ]


def test_a_bad_value_from_set_names_the_set() -> None:
    # The bad text is not in the file: say where it came from (a line using no --set
    # variable keeps its message as it is).
    text = SMALL.replace("  mtu: 1500\n", "  mtu: 1500\nbogus: 1\n")
    unknown, bad_address, *rest = errors_of(text, subnet="foo", mtu="9000")
    assert unknown.startswith("t.yaml:5: unknown key 'bogus' (") and "--set" not in unknown
    assert [bad_address, *rest] == [
        "t.yaml:9: nodes.h1.interfaces.eth0.addresses[0]: 'foo.1/24' is not an address with "
        "a prefix length, e.g. 10.0.0.1/24 or fd00::1/64 (from --set subnet=foo)",
        "t.yaml:11: nodes.h1.routes[0].via: 'foo.254' is not an IP address "
        "(from --set subnet=foo)",
        "t.yaml:15: nodes.r1.interfaces.eth0.addresses[0]: 'foo.254/24' is not an address "
        "with a prefix length, e.g. 10.0.0.1/24 or fd00::1/64 (from --set subnet=foo)",
    ]


def test_override_for_an_unknown_variable_tells_vars_from_variables_without_a_value() -> None:
    text = SMALL.replace("  mtu: 1500\n", "")  # used in the file, but not in its vars
    assert errors_of(text, unknown="1") == [
        "t.yaml: --set unknown: the file uses no variable 'unknown' "
        "(vars: subnet; used but not in vars: mtu)"
    ]


def test_a_lab_name_follows_one_rule_in_a_file_and_on_the_command_line() -> None:
    # The same 64 characters as `--name` (LabState); node names stay at most 24.
    longest = "l" * MAX_LAB_NAME
    assert load_text(f"name: {longest}\nnodes: {{h1: {{}}}}\n", "t.yaml").topology.name
    assert LabState(longest).lab == longest
    assert errors_of(f"name: {longest}x\nnodes: {{h1: {{}}}}\n") == [
        f"t.yaml:1: name: '{longest}x' is too long (65 characters, at most 64)"
    ]
    with pytest.raises(InputError):
        LabState(longest + "x")
    # the kernel's limit: a namespace name is a file name (255 bytes)
    assert len(f"netlab-{longest}-{'n' * MAX_NAME}") <= 255


def test_override_for_a_variable_without_default() -> None:
    text = SMALL.replace("  mtu: 1500\n", "")
    assert (
        load_text(text, "s.yaml", {"mtu": "1400"}).topology.nodes["h1"].interfaces["eth0"].mtu
        == 1400
    )
    assert errors_of(text) == [
        "t.yaml:7: undefined variable 'mtu' (vars: subnet)",
    ]


def test_override_values_are_yaml_scalars() -> None:
    from netlab.spec.template import parse_override

    assert parse_override("3") == 3
    assert parse_override("true") is True
    assert parse_override("10.0.1") == "10.0.1"
    assert parse_override("") == ""
    assert parse_override("[1, 2]") == "[1, 2]"
    assert parse_override("a: b") == "a: b"
    assert parse_override("'quoted'") == "quoted"


def test_loops_keep_the_template_lines() -> None:
    text = """\
name: loop
vars: {n: 3}
nodes:
{% for i in range(n) %}
  h{{ i }}:
    interfaces:
      eth0: {addresses: ["10.0.0.{{ i + 1 }}/24"]}
{% endfor %}
  sw1: {kind: switch}
links:
{% for i in range(n) %}
  - [h{{ i }}:eth0, sw1]
{% endfor %}
"""
    loaded = load_text(text, "loop.yaml")
    assert list(loaded.topology.nodes) == ["h0", "h1", "h2", "sw1"]
    assert loaded.line_of("nodes.h2") == 5
    assert loaded.line_of("nodes.h2.interfaces.eth0") == 7
    assert loaded.line_of("nodes.sw1") == 9
    assert loaded.line_of("links[2]") == 12
    assert "h2:" in loaded.rendered


def test_a_problem_inside_a_loop_points_at_the_template_line() -> None:
    text = """\
name: loop
nodes:
{% for i in range(3) %}
  h{{ i }}:
    kind: {{ 'rooter' if i == 2 else 'host' }}
{% endfor %}
"""
    assert errors_of(text) == [
        "t.yaml:5: nodes.h2.kind: kind 'rooter' is not one of: host, router, switch "
        "(did you mean 'router'?)"
    ]


def test_jinja_tags_that_break_raw_yaml_still_find_vars() -> None:
    text = """\
name: raw
vars:
  ip: 10.0.0
nodes:
  h1:
    interfaces:
      tap0: {kind: tap, addresses: [{{ ip }}.1/24]}
"""
    assert load_text(text, "t.yaml").topology.nodes["h1"].interfaces["tap0"].addresses == [
        "10.0.0.1/24"
    ]


def test_the_sandbox_refuses_attribute_tricks() -> None:
    text = "name: x\nnodes: {h1: {exec: [\"{{ ''.__class__.__mro__ }}\"]}}\n"
    [message] = errors_of(text)
    assert message.startswith("t.yaml:2: ")
    assert "__class__" in message or "not allowed" in message or "undefined" in message


def test_the_sandbox_refuses_huge_output() -> None:
    [message] = errors_of("name: x\nnodes: {h1: {exec: [\"{{ 'x' * 10**9 }}\"]}}\n")
    assert message == "t.yaml:2: the template is refused: a value over 4 MB"


def test_yaml_anchors_and_merge_keys() -> None:
    text = """\
name: anchors
defaults: &router {kind: router}
nodes:
  r1: {<<: *router, interfaces: {tap0: {kind: tap}}}
  r2: {<<: *router, kind: host}
"""
    [message] = errors_of(text)  # 'defaults' is not a key of a topology...
    assert message.startswith("t.yaml:2: unknown key 'defaults'")
    text = text.replace("defaults: &router {kind: router}\n", "").replace(
        "  r1: {<<: *router,", "  r1: {<<: &router {kind: router},"
    )
    topo = load_text(text, "t.yaml").topology  # ...but an anchor in place is fine
    assert topo.nodes["r1"].kind == "router" and topo.nodes["r2"].kind == "host"


def test_alias_bomb_is_refused_quickly() -> None:
    lines = ["name: bomb", "a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    for i in range(1, 9):
        lines.append(f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 10) + "]")
    lines.append("nodes: {h1: {}}")
    [message] = errors_of("\n".join(lines) + "\n")
    assert "more than" in message


def test_alias_loop_is_refused() -> None:
    [message] = errors_of("name: loop\nnodes: &n {h1: *n}\n")
    assert "loop" in message


def test_deep_nesting_is_refused() -> None:
    [message] = errors_of("name: deep\nnodes: " + "[" * 5000 + "]" * 5000 + "\n")
    assert "nests too deeply" in message


def test_short_link_form_is_the_long_one() -> None:
    text = """\
name: short
nodes:
  a: {}
  sw1: {kind: switch}
links:
  - [a:eth0, sw1]
  - endpoints: [a:eth1, sw1]
"""
    links = load_text(text, "t.yaml").topology.links
    assert [link.endpoints for link in links] == [["a:eth0", "sw1"], ["a:eth1", "sw1"]]


def test_empty_node_and_interface_are_defaults() -> None:
    text = "name: empty\nnodes:\n  h1:\n  h2:\n    interfaces:\n      eth0:\n"
    text += "links: [[h1:eth0, h2:eth0]]\n"
    topo = load_text(text, "t.yaml").topology
    assert topo.nodes["h1"].kind == "host" and topo.nodes["h2"].interfaces["eth0"].mtu is None


def test_loopback_may_have_addresses() -> None:
    text = "name: lo\nnodes:\n  r1:\n    interfaces:\n      lo: {addresses: [10.255.0.1/32]}\n"
    assert load_text(text, "t.yaml").topology.nodes["r1"].interfaces["lo"].addresses == [
        "10.255.0.1/32"
    ]


def test_vxlan_kind_may_be_implied_by_its_settings() -> None:
    text = """\
name: vx
nodes:
  h1:
    interfaces:
      eth0: {addresses: [192.0.2.1/24]}
      vx0: {vxlan: {id: 42, remote: 192.0.2.2, dev: eth0}}
  h2:
    interfaces:
      eth0: {addresses: [192.0.2.2/24]}
links:
  - [h1:eth0, h2:eth0]
"""
    assert load_text(text, "t.yaml").topology.nodes["h1"].interfaces["vx0"].vxlan is not None


def test_problems_are_sorted_by_line() -> None:
    lines = errors_of((BAD / "57-several-problems.yaml").read_text())
    numbers = [int(line.split(":")[1]) for line in lines]
    assert numbers == sorted(numbers) and len(lines) >= 4


# --- endpoints and schema -----------------------------------------------------------------


def test_parse_endpoint() -> None:
    assert parse_endpoint("h1:eth0") == ("h1", "eth0")
    assert parse_endpoint("sw1") == ("sw1", None)
    for bad in ("", ":eth0", "h1:", "h1 eth0", "H1:eth0", "h1:eth0:1", "h1:a-very-long-name0"):
        with pytest.raises(ValueError):
            parse_endpoint(bad)


def test_json_schema() -> None:
    schema = json_schema()
    assert schema["$schema"].startswith("https://json-schema.org/")
    assert schema["title"]
    assert set(schema["required"]) == {"name", "nodes"}
    link_item = schema["properties"]["links"]["items"]
    assert any(s.get("type") == "array" for s in link_item["anyOf"])
    import json

    json.dumps(schema)  # serialisable as it is


# --- robustness: any text gives a topology or a TopologyError, nothing else ---------------

VALID = EXAMPLE.read_text()
VALID_LINES = VALID.splitlines(keepends=True)


@st.composite
def mutated(draw: st.DrawFn) -> str:
    lines = list(VALID_LINES)
    for _ in range(draw(st.integers(1, 4))):
        op = draw(st.sampled_from(["delete", "duplicate", "swap", "replace", "insert"]))
        i = draw(st.integers(0, len(lines) - 1))
        if op == "delete" and len(lines) > 1:
            del lines[i]
        elif op == "duplicate":
            lines.insert(i, lines[i])
        elif op in ("swap", "replace", "insert") and lines[i].strip():
            text = lines[i]
            j = draw(st.integers(0, len(text) - 1))
            if op == "swap" and j + 1 < len(text):
                text = text[:j] + text[j + 1] + text[j] + text[j + 2 :]
            else:
                char = draw(st.sampled_from(string.printable + "\x00\x07é{}%#&*!|>:-[]'\""))
                text = text[:j] + char + text[j + (op == "replace") :]
            lines[i] = text
    return "".join(lines)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated())
def test_mutations_give_a_topology_or_a_topology_error(text: str) -> None:
    try:
        loaded = load_text(text, "m.yaml")
    except TopologyError as e:
        assert e.problems
        for p in e.problems:
            assert "\n" not in p.message and p.message
    else:
        assert isinstance(loaded, LoadedTopology)


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=300))
def test_any_text_gives_a_topology_or_a_topology_error(text: str) -> None:
    try:
        load_text(text, "r.yaml")
    except TopologyError as e:
        assert e.problems


def test_quoted_numeric_owner_is_a_uid() -> None:
    text = 'name: t\nnodes:\n  h1:\n    interfaces:\n      tap0: {kind: tap, owner: "1000"}\n'
    assert load_text(text, "t.yaml").topology.nodes["h1"].interfaces["tap0"].owner == 1000


def test_a_message_stays_on_one_line() -> None:
    [message] = errors_of('name: t\nnodes:\n  "h\\n1": {}\n')
    assert message == (
        "t.yaml:3: nodes.h\\n1: 'h\\n1' is not a valid name: use lowercase letters, digits "
        "and '-' (not at either end)"
    )


_EVERY_FILE = sorted(
    p for pattern in ("topologies/**/*.yaml", "tests/bad/*.yaml", "docs/**/*.yaml")
    for p in Path(__file__).resolve().parents[3].glob(pattern)
)


@pytest.mark.parametrize("path", _EVERY_FILE, ids=lambda p: p.name)
def test_a_file_without_template_syntax_skips_jinja_to_the_same_text(path: Path) -> None:
    """render() hands a plain file back unrendered: the same text and line map as Jinja2's."""
    from netlab.spec.template import TemplateProblems, render, render_template

    text = path.read_text(errors="replace")
    try:
        slow = render_template(text, path.name)[0]
    except TemplateProblems as problems:
        with pytest.raises(TemplateProblems) as fast_problems:  # a bad template, both ways
            render(text, path.name)
        assert fast_problems.value.problems == problems.problems
        return
    fast = render(text, path.name)[0]
    assert (fast.text, fast.source_lines) == (slow.text, slow.source_lines)


def test_a_plain_file_with_vars_and_set_still_checks_the_name() -> None:
    text = "name: x\nvars: {n: 1}\nnodes: {h1: {}}\n"
    with pytest.raises(TopologyError, match="uses no variable 'm'"):
        load_text(text, "x.yaml", {"m": "2"})
    assert load_text(text, "x.yaml", {"n": "2"}).topology.vars == {"n": 2}


def test_a_bridge_of_more_ports_than_the_kernel_holds_is_refused() -> None:
    taps = "\n".join(f"      t{i}: {{kind: tap}}" for i in range(1024))
    ports = ", ".join(f"t{i}" for i in range(1024))
    text = (f"name: big\nnodes:\n  h1:\n    interfaces:\n"
            f"      br0: {{kind: bridge, ports: [{ports}]}}\n{taps}\n")
    [error] = errors_of(text)
    assert error.startswith("t.yaml:5: ") and "nodes.h1.interfaces.br0.ports" in error, error
    assert "lists 1024 ports; a Linux bridge holds at most 1023" in error, error
