"""The import discipline of the commands a class runs most (bench/startup.py measures
what it buys): `exec`, `ls` and `status` read a lab's record as plain data and load none
of the model (pydantic), the template engine (jinja2), YAML, or (for `exec`, and `ls --json`)
rich; `exec` and `status` none of the ops; `down` none of the model, templates or YAML;
`up` of a plain file (no template) not Jinja2, nor the words for pydantic's errors, nor
--topo's generator, nor the modules of the other commands.
Checked in a fresh interpreter, on a lab record written here; no root needed."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

HEAVY = ("pydantic", "jinja2", "yaml", "rich")
# netlab's own heavy part for `exec`: the ops (25 dataclasses) and the engine that runs them.
OPS = ("netlab.plan.ops", "netlab.kernel.services", "netlab.engine")

# The exec command's own path, short of entering the namespace: parse, find the node's
# namespace in the record, load what enters it.
EXEC_PATH = """
import sys
from netlab.ui import cli
args = cli.build_parser().parse_args(["exec", "-l", "t", "h1", "--", "true"])
from netlab.kernel import enter, privileges, processes
from netlab.lab import record
assert record.resolve(args.lab).namespace(args.node) == "netlab-t-h1"
from netlab.errors import NodeMissing
try:  # no such lab here: refused before anything is made, all that enters it loaded
    enter.node_argv("netlab-t-h1", "/nonexistent", ["true"])
except NodeMissing:
    pass
print(" ".join(m for m in (*HEAVY, *OPS) if m in sys.modules))
"""

LS = """
import sys
from netlab.ui import cli
assert cli.main(["ls", "--json"]) == 0
print(" ".join(m for m in HEAVY if m in sys.modules), file=sys.stderr)
"""

# ... and its table (as `status`'s): rich, but none of the ops.
LS_TABLE = """
import sys
from netlab.ui import cli, render
assert cli.main(["ls"]) == 0
print(" ".join(m for m in OPS if m in sys.modules), file=sys.stderr)
"""


# The status command's own path, short of the root check: the record's skeleton, the
# document (its namespaces are not there: read as missing), printed as JSON.
STATUS = """
import sys
from netlab.lab.status_skeleton import recorded_lab
from netlab.ui.common import print_json
lab = recorded_lab("t")
assert lab is not None and lab.is_up()
doc = lab.status()
assert doc["drift"] == ["h1: namespace netlab-t-h1 is missing"], doc["drift"]
print_json(doc)
print(" ".join(m for m in (*HEAVY, *OPS) if m != "rich" and m in sys.modules), file=sys.stderr)
"""


# The down command's path, short of the root check: what tears a lab down from its journal
# (the kernel layer's tables included) needs no model, templates or YAML; and its last line,
# printed to a pipe, no rich. Nor a pool of threads from concurrent.futures (and logging).
DOWN = """
import sys
from netlab.ui import cli
args = cli.build_parser("down").parse_args(["down", "-l", "t"])
from netlab import api
from netlab.engine import TeardownReport
from netlab.lab import teardown_journal
from netlab.state.store import LabState
assert LabState("t").entries() == []
cli._down_result(args, "t", True, TeardownReport(sent=3))
print(" ".join(m for m in (*HEAVY, *POOLS) if m in sys.modules), file=sys.stderr)
"""
POOLS = ("concurrent.futures", "logging")


# The up command's own path, short of the root check and the kernel: parse, load, check
# and plan a plain file; then a template, which does need Jinja2.
UP = """
import sys
from netlab.ui import cli
args = cli.build_parser("up").parse_args(["up", PLAIN])
from netlab.api import Lab
lab = Lab.from_file(args.file)
assert len(lab.plan.ops) > 0
print(" ".join(m for m in sys.modules if m in ("jinja2", "netlab.spec.template",
      "netlab.spec.messages", "netlab.spec.generate") or m.startswith("netlab.ui.cmd_")
      or m == "netlab.ui.completion"))
Lab.from_file(TEMPLATE, {"n": "2"})
print(" ".join(m for m in ("jinja2", "netlab.spec.template") if m in sys.modules))
"""


def _run(code: str, state: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", f"HEAVY = {HEAVY!r}\nOPS = {OPS!r}\nPOOLS = {POOLS!r}\n{code}"],
        capture_output=True, text=True,
        env={"NETLAB_STATE_DIR": str(state), "PATH": "/usr/bin:/bin"}, check=False,
        cwd=Path(__file__).resolve().parents[3],
    )


def _record(tmp_path: Path) -> Path:
    lab = tmp_path / "t"
    lab.mkdir()
    (lab / "journal.jsonl").write_text("")
    topology = {"name": "t", "nodes": {"h1": {}, "h2": {}}, "links": [["h1:eth0", "h2:eth0"]]}
    (lab / "lab.json").write_text(json.dumps({"topology": topology, "file": "t.yaml"}))
    return tmp_path


def test_status_json_from_the_records_skeleton_loads_no_model_template_yaml_or_ops(
        tmp_path: Path) -> None:
    state = _record(tmp_path)
    meta = json.loads((state / "t" / "lab.json").read_text())
    meta["status"] = {"version": 1, "links": [], "nodes": [{
        "name": "h1", "kind": "host", "host": None, "namespace": "netlab-t-h1",
        "limits": False, "vlans": False, "services": [], "qdiscs": {}, "interfaces": [{
            "name": "eth0", "kind": "veth", "peer": "h2:eth0", "master": None,
            "addresses": [], "up": True, "vrf": None, "settings": None, "mtu": None,
            "vlans": None}]}]}
    (state / "t" / "lab.json").write_text(json.dumps(meta))
    done = _run(STATUS, state)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["nodes"][0]["interfaces"][0]["peer"] == "h2:eth0"
    assert done.stderr.strip() == ""


def test_exec_loads_no_model_template_yaml_rich_or_ops(tmp_path: Path) -> None:
    done = _run(EXEC_PATH, _record(tmp_path))
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == ""


def test_ls_json_loads_no_model_template_yaml_or_rich(tmp_path: Path) -> None:
    done = _run(LS, _record(tmp_path))
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["labs"][0] == {
        "lab": "t", "nodes": 2, "file": "t.yaml", "state": "up"}
    assert done.stderr.strip() == ""


def test_the_tables_of_ls_and_status_load_no_ops(tmp_path: Path) -> None:
    done = _run(LS_TABLE, _record(tmp_path))
    assert done.returncode == 0, done.stderr
    assert "t.yaml" in done.stdout
    assert done.stderr.strip() == ""


def test_down_loads_no_model_template_yaml_rich_or_thread_pool(tmp_path: Path) -> None:
    done = _run(DOWN, _record(tmp_path))
    assert done.returncode == 0, done.stderr
    assert done.stdout == "lab t is down (3 operations undone)\n"
    assert done.stderr.strip() == ""


def test_up_of_a_plain_file_loads_no_jinja2_error_words_or_other_commands(
        tmp_path: Path) -> None:
    (tmp_path / "plain.yaml").write_text(
        "name: t\nnodes: {h1: {}, h2: {}, sw: {kind: switch}}\n"
        "links: [[h1:eth0, sw], [h2:eth0, sw]]\n")
    (tmp_path / "template.yaml").write_text(
        "name: t\nvars: {n: 1}\nnodes:\n{% for i in range(n) %}\n  h{{ i }}: {}\n"
        "{% endfor %}\n")
    files = {"PLAIN": str(tmp_path / "plain.yaml"), "TEMPLATE": str(tmp_path / "template.yaml")}
    done = _run("".join(f"{k} = {v!r}\n" for k, v in files.items()) + UP, tmp_path / "state")
    assert done.returncode == 0, done.stderr
    plain, template = done.stdout.splitlines()
    assert plain == ""
    assert template == "jinja2 netlab.spec.template"  # the guard above can see them


# `up` of a plain file the plan cache holds (lab/plancache.py), short of the root check and
# the kernel: the lab from the cache, what up() imports, the preflight from the entry's
# needs, the record's data; none of the model, its checks, pydantic, YAML or Jinja2.
CACHED_UP = """
import sys
from netlab.ui import cli
args = cli.build_parser("up").parse_args(["up", PLAIN])
from netlab.api import checked_lab
from netlab.lab import faults, preflight, teardown_journal
lab = checked_lab(args.file, {}, None, None)
checked = lab.checked
preflight.refuse(checked.needs)
assert len(checked.ops) > 0 and checked.skeleton["nodes"] and checked.topology["nodes"]
print("hit" if lab._topology is None else "miss", " ".join(
    m for m in sys.modules if m.split(".")[0] in ("pydantic", "pydantic_core", "yaml",
    "jinja2") or m in ("netlab.spec.model", "netlab.spec.validate", "netlab.spec.load",
    "netlab.plan.planner")))
"""


def test_up_of_a_file_the_plan_cache_holds_loads_no_model_checks_pydantic_or_yaml(
        tmp_path: Path) -> None:
    (tmp_path / "plain.yaml").write_text(
        "name: t\nnodes: {h1: {interfaces: {eth0: {addresses: [10.0.0.1/24]}}}, h2: {}, "
        "sw: {kind: switch}}\nlinks: [[h1:eth0, sw], {endpoints: [h2:eth0, sw], rate: 1mbit}]\n")
    code = f"PLAIN = {str(tmp_path / 'plain.yaml')!r}\n" + CACHED_UP
    miss = _run(code, tmp_path / "state")
    assert miss.returncode == 0, miss.stderr
    assert miss.stdout.startswith("miss ") and "pydantic" in miss.stdout  # the guard sees
    hit = _run(code, tmp_path / "state")
    assert hit.returncode == 0, hit.stderr
    assert hit.stdout.strip() == "hit"


def test_the_models_defaults_are_not_builtin_factories() -> None:
    """pydantic reads a builtin's signature by tokenizing its text (model.py, _no_items):
    an empty default comes from one of the model's own functions."""
    from pydantic import BaseModel

    from netlab.spec import model

    classes = [c for c in vars(model).values()
               if isinstance(c, type) and issubclass(c, BaseModel) and c is not BaseModel]
    builtin = [f"{c.__name__}.{name}" for c in classes for name, f in c.model_fields.items()
               if f.default_factory in (dict, list, set, tuple)]
    assert len(classes) > 15
    assert not builtin
