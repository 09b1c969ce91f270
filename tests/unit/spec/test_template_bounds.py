"""validate/plan of a tiny untrusted file cannot hang or eat memory: template work is
bounded (steps, seconds, the size of every value and of all text written), and a file that
goes over is refused with one line naming it (exit 2). pytest-timeout guards the hang."""

from __future__ import annotations

import pytest

from netlab.errors import TopologyError
from netlab.spec import load_text


def _refusal(template_line: str) -> str:
    text = f"vars: {{n: 1}}\n{template_line}\nname: a\nnodes: {{a: {{}}}}\n"
    with pytest.raises(TopologyError) as info:
        load_text(text, "bomb.yaml")
    assert info.value.exit_code == 2
    message = str(info.value)
    assert message.startswith("bomb.yaml:2:"), message
    assert "\n" not in message.strip()
    return message


@pytest.mark.timeout(60)
@pytest.mark.parametrize(("line", "says"), [
    # The examples of issue 10.
    ("{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}",
     "steps"),
    ("{{ '%0999999999d' % 1 }}", "format width"),
    ("{{ 'x'|center(10**9) }}", "width or count"),
    # Their cousins: other widths, joins, replaces, doubling, text kept in a {% set %}.
    ("{{ '{:0999999999}'.format(1) }}", "format width"),
    ("{{ '%*d' % (999999999, 1) }}", "'*' width"),
    ("{{ '%s'|format('x')|indent(10**9) }}", "width or count"),
    ("{{ 'x'.ljust(10**9) }}", "width or count"),
    ("{{ 'x'.zfill(10**9) }}", "width or count"),
    ("{{ range(100000)|join('x' * 1000000) }}", "over 4 MB"),
    ("{{ ('x' * 1000000).replace('', 'yyyyyy') }}", "over 4 MB"),
    ("{{ ('x' * 1000000)|replace('x', 'yyyyyy') }}", "over 4 MB"),
    ("{% set s = namespace(v='xx') %}{% for i in range(60) %}{% set s.v = s.v ~ s.v %}"
     "{% endfor %}", "over 4 MB"),
    ("{% set s = namespace(v='xx') %}{% for i in range(60) %}{% set s.v = s.v + s.v %}"
     "{% endfor %}", "over 4 MB"),
    ("{% set x %}{% for i in range(100000) %}{{ 'x' * 4000000 }}{% endfor %}{% endset %}",
     "writes over"),
    ("{{ 9 ** 99999 }}", "exponent"),
])
def test_a_costly_template_is_refused_naming_the_file(line: str, says: str) -> None:
    assert says in _refusal(line)


def test_ordinary_templates_still_render() -> None:
    text = (
        "vars: {n: 3, w: 8}\n"
        "name: {{ '%s-%02d'|format('lab', 1) }}\n"
        "description: {{ '{}'.format(4294967294) }} {{ '%d'|format(4294967294) }}"
        " {{ 'a b'.split(' ', 10**6)|join(4294967294|string) }}\n"
        "nodes:\n"
        "{% for i in range(n) %}"
        "  {{ 'h%d' % i }}: {}\n"
        "{% endfor %}"
        "{% set names = range(n)|map('string')|map('replace', '', '')|join(',') %}"
    )
    loaded = load_text(text, "ok.yaml")
    assert list(loaded.topology.nodes) == ["h0", "h1", "h2"]
    assert loaded.topology.name == "lab-01"
    # Big numbers that are values, not widths, pass.
    assert loaded.topology.description == "4294967294 4294967294 a4294967294b"
