"""The plan cache (lab/plancache.py) as `netlab up` uses it: a second `up` of an unchanged
file runs from the entry the first one kept, without pydantic, YAML, the model or its
checks, and builds the same lab (record, journal, status; packets cross); an edit is a miss
and gives the new plan; the kernel's refusals (lab/preflight.py) still come on a hit; an
entry not root's is a miss. Whether an `up` hit is read from its imports (-X importtime)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

from netlab.api import Lab
from netlab.kernel import features
from netlab.lab import plancache
from netlab.state.store import LabState, state_root

from .hostcheck import netlab

TOPOLOGY = """\
name: {name}
nodes:
  sw: {{kind: switch}}
  h1: {{interfaces: {{eth0: {{addresses: [10.0.0.1/24]}}}}}}
  h2:
    services: {{idle: "sleep 300"}}
    interfaces: {{eth0: {{addresses: [{address}/24]}}}}
links:
  - endpoints: [h1:eth0, sw]
    rate: 10mbit
  - [h2:eth0, sw]
"""
HEAVY = ("pydantic", "pydantic_core", "yaml", "jinja2", "netlab.spec.model",
         "netlab.spec.validate")


def _up(file: str, env: dict[str, str] | None = None) -> tuple[int, str, str, bool]:
    """`netlab up FILE`: its exit status, stdout (the time taken left out), stderr, and
    whether it ran from the cache (imported none of HEAVY)."""
    done = subprocess.run([sys.executable, "-X", "importtime", "-m", "netlab", "up", file],
                          capture_output=True, text=True, timeout=120,
                          env={**os.environ, **(env or {})})
    lines = done.stderr.splitlines()
    imported = {line.rsplit("|", 1)[-1].strip() for line in lines
                if line.startswith("import time:")}
    said = "\n".join(line for line in lines if not line.startswith("import time:"))
    assert "Traceback" not in said, said
    hit = not imported & set(HEAVY)
    assert hit or {"pydantic", "netlab.spec.model"} <= imported  # the guard sees them
    return done.returncode, re.sub(r"in \d+\.\d+ s", "in T s", done.stdout), said, hit


def _record(lab: str) -> dict[str, object]:
    meta = LabState(lab).read_meta()
    return {k: v for k, v in meta.items() if k not in ("created", "pid")}


def _journal(lab: str) -> str:
    return (state_root() / lab / "journal.jsonl").read_text()


# What differs between two builds of one lab whatever built them: random MACs, carrier
# changes, traffic counters, processes' ids, and the operational state (a switch's bridge
# comes up last; the kernel's linkwatch says it is up up to a second later).
LIVE = {"mac", "carrier_changes", "carrier_up_count", "carrier_down_count", "rx_bytes",
        "tx_bytes", "rx_packets", "tx_packets", "pid", "oper"}


def _status(lab: str) -> object:
    return _steady(json.loads(netlab("status", "-l", lab, "--json").stdout))


def _steady(value: object) -> object:
    if isinstance(value, dict):
        return {k: _steady(v) for k, v in value.items() if k not in LIVE}
    if isinstance(value, list):
        return [_steady(v) for v in value]
    return value


def _entry(file: Path) -> Path:
    """The cache's entry of `file` (its key names the file)."""
    found = [p for p in (state_root() / plancache.FOLDER).glob("*.json")
             if json.loads(p.read_text())["key"]["resolved"] == str(file.resolve())]
    assert len(found) == 1, found
    return found[0]


def test_up_from_the_cache_builds_the_same_lab(fresh_lab: str, tmp_path: Path) -> None:
    file = tmp_path / "lab.yaml"
    file.write_text(TOPOLOGY.format(name=fresh_lab, address="10.0.0.2"))
    code, said, warned, hit = _up(str(file))
    assert (code, warned, hit) == (0, "", False), warned
    record, journal, status = _record(fresh_lab), _journal(fresh_lab), _status(fresh_lab)
    assert Lab.attach(fresh_lab).ping("h1", "h2")
    netlab("down", "-l", fresh_lab)

    again = _up(str(file))
    assert again == (0, said, "", True)
    assert _record(fresh_lab) == record
    assert _journal(fresh_lab) == journal
    assert _status(fresh_lab) == status
    assert Lab.attach(fresh_lab).ping("h1", "h2")
    code, said, warned, hit = _up(str(file))  # up already: said as without the cache
    assert (code, said.strip(), hit) == (0, f"lab {fresh_lab} is already up and unchanged; "
                                            "nothing to do", True)
    netlab("down", "-l", fresh_lab)


def test_an_edit_between_two_ups_is_a_miss_and_the_new_plan(
        fresh_lab: str, tmp_path: Path) -> None:
    file = tmp_path / "lab.yaml"
    file.write_text(TOPOLOGY.format(name=fresh_lab, address="10.0.0.2"))
    assert _up(str(file))[0] == 0
    netlab("down", "-l", fresh_lab)
    file.write_text(TOPOLOGY.format(name=fresh_lab, address="10.0.0.3"))
    code, _, _, hit = _up(str(file))
    assert (code, hit) == (0, False)
    lab = Lab.attach(fresh_lab)
    assert lab.topology.nodes["h2"].interfaces["eth0"].addresses == ["10.0.0.3/24"]
    assert lab.ping("h1", "10.0.0.3")
    netlab("down", "-l", fresh_lab)
    assert _up(str(file))[3]  # and the edited file is the one kept now
    netlab("down", "-l", fresh_lab)


def test_a_hit_still_asks_the_kernel_what_the_lab_needs(fresh_lab: str, tmp_path: Path) -> None:
    """netem (`delay:`): this kernel lacks it (docs: KERNEL.md), a stock one has it; either
    way a hit says and does what an `up` without the cache does."""
    file = tmp_path / "lab.yaml"
    file.write_text(TOPOLOGY.format(name=fresh_lab, address="10.0.0.2").replace(
        "rate: 10mbit", "delay: 5ms"))
    runs = []
    for env in ({"NETLAB_PLAN_CACHE": "off"}, {}, {}):
        runs.append(_up(str(file), env))
        netlab("down", "-l", fresh_lab)
    assert [hit for *_, hit in runs] == [False, False, True]
    assert len({tuple(run[:3]) for run in runs}) == 1, runs
    if "netem" in features.qdiscs().missing():
        code, _, said, _ = runs[-1]
        assert code == 5  # this machine cannot, not a bad file
        assert said.startswith(f"{file}:10: links[0].delay: h1:eth0 -- sw: delay needs "
                               "netem, which this kernel lacks"), said
        assert not LabState(fresh_lab).exists()


def test_an_entry_not_roots_is_a_miss(fresh_lab: str, tmp_path: Path) -> None:
    file = tmp_path / "lab.yaml"
    file.write_text(TOPOLOGY.format(name=fresh_lab, address="10.0.0.2"))
    assert _up(str(file))[0] == 0
    netlab("down", "-l", fresh_lab)
    os.chown(_entry(file), 65534, -1)
    code, _, _, hit = _up(str(file))
    assert (code, hit) == (0, False)
    assert _entry(file).stat().st_uid == 0  # written anew, root's
    netlab("down", "-l", fresh_lab)
    assert _up(str(file))[3]
    netlab("down", "-l", fresh_lab)
