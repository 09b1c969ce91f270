"""Checks without root: the checks: section's validation, probes resolved from it, the
JSON and JUnit documents, the table, and the retry logic of a command check (a fake lab)."""

from __future__ import annotations

import json
import subprocess
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from typing import Any

import pytest
from rich.console import Console

from netlab.checks import (
    CheckReport,
    CheckResult,
    Probe,
    address_of,
    every_pair,
    parse_check,
    resolve,
    to_junit,
)
from netlab.checks.resolve import DEFAULT_TIMEOUT, UNREACHABLE_WINDOW
from netlab.checks.run import run_checks, run_probe
from netlab.errors import InputError, TopologyError
from netlab.spec import json_schema, load_text
from netlab.spec.model import Topology
from netlab.ui.cmd_ping import statistics
from netlab.ui.cmd_test import checks_table, summary_line

TOPO = """\
name: school
nodes:
  alice:
    interfaces:
      eth0: {addresses: [10.0.0.1/24, "fd00:50::1/64"]}
  srv:
    interfaces:
      eth0: {addresses: [10.0.0.2/24, "fd00:50::2/64"]}
      lo: {addresses: [192.0.2.9/32]}
  gw:
    kind: router
links:
  - [alice:eth0, srv:eth0]
  - [alice:eth1, gw:eth0]
checks:
  - {from: alice, to: srv}
  - {from: alice, to: "fd00:50::2", timeout: 4}
  - {from: alice, to: 10.66.0.1, expect: unreachable}
  - {from: alice, to: srv:lo, tcp: 7000, name: web}
  - {node: gw, run: "ip route", expect_output: "172.20.0.0/30"}
  - {node: gw, run: "false", expect_exit: 1}
"""


def load(text: str = TOPO) -> Topology:
    return load_text(text, "school.yaml").topology


def errors_of(checks: str) -> list[str]:
    text = TOPO.split("checks:")[0] + "checks:\n" + checks
    with pytest.raises(TopologyError) as info:
        load_text(text, "t.yaml")
    return str(info.value).splitlines()


# --- the model and its validation -------------------------------------------------------


def test_checks_load_with_their_lines() -> None:
    loaded = load_text(TOPO, "school.yaml")
    checks = loaded.topology.checks
    assert [c.from_ for c in checks[:4]] == ["alice"] * 4
    assert checks[3].tcp == 7000 and checks[3].name == "web"
    assert checks[2].expect == "unreachable"
    assert loaded.line_of("checks[0]") == 16


def test_a_topology_without_checks_has_none() -> None:
    assert load(TOPO.split("checks:")[0]).checks == []


def test_checks_survive_the_saved_state() -> None:
    # A lab that is up is attached from its saved JSON: `from` must come back as `from`.
    topo = load()
    saved = topo.model_dump(mode="json")
    assert saved["checks"][0]["from"] == "alice"
    assert Topology.model_validate(saved) == topo


def test_the_schema_knows_checks() -> None:
    check = json_schema()["$defs"]["Check"]
    assert "from" in check["properties"] and "from_" not in check["properties"]
    assert check["additionalProperties"] is False


@pytest.mark.parametrize(
    ("checks", "expected"),
    [
        ("  - {from: alice, to: nobody}\n",
         "t.yaml:16: checks[0].to: node 'nobody' is not defined (nodes: alice, srv, gw)"),
        ("  - {from: alice, to: srv:eth9}\n",
         "t.yaml:16: checks[0].to: node 'srv' has no interface 'eth9' (its interfaces: "
         "eth0, lo)"),
        ("  - {from: alice, to: gw:eth0}\n",
         "t.yaml:16: checks[0].to: gw:eth0 has no address; give it one, or write the address "
         "to probe here (to: 10.0.0.1)"),
        ("  - {from: alice, to: 'fe80::1'}\n",
         "t.yaml:16: checks[0].to: fe80::1 is link-local, which needs an interface; use a "
         "global address"),
        ("  - {from: alice, to: 224.0.0.1}\n",
         "t.yaml:16: checks[0].to: 224.0.0.1 is a multicast address; name a node or a host "
         "address"),
        ("  - {from: alice, to: srv, tcp: 0}\n",
         "t.yaml:16: checks[0].tcp: tcp 0 is out of range (1..65535)"),
        ("  - {node: gw, expect_output: x}\n",
         "t.yaml:16: checks[0]: missing key 'run' (the command to run in the node)"),
        ("  - {node: gw, run: ls, expect: unreachable}\n",
         "t.yaml:16: checks[0]: a check is one of {from: h1, to: h2} (ping), {from, to, tcp: "
         "PORT} (TCP connect), {node, run} (command); this one mixes expect with node, run"),
        ("  - {source: alice, to: srv}\n",
         "t.yaml:16: checks[0]: unknown key 'source' (did you mean 'from'?)"),
        ("  - {from: alice, to: srv, timeout: 0}\n",
         "t.yaml:16: checks[0].timeout: timeout 0 is out of range (0.1..3600)"),
        ("  - {node: gw, run: ls, expect_exit: 256}\n",
         "t.yaml:16: checks[0].expect_exit: expect_exit 256 is out of range (0..255)"),
    ],
)
def test_bad_checks(checks: str, expected: str) -> None:
    assert errors_of(checks) == [expected]


def test_every_bad_check_is_reported_at_once() -> None:
    lines = errors_of("  - {from: bob, to: srv}\n  - {from: alice}\n  - {name: x}\n")
    assert [line.split(": ")[1] for line in lines] == ["checks[0].from", "checks[1]", "checks[2]"]


# --- probes resolved from the checks ----------------------------------------------------


def test_resolve_names_addresses_and_timeouts() -> None:
    probes = resolve(load())
    ping, ping6, unreachable, tcp, run, exits = probes
    assert (ping.kind, ping.node, ping.address, ping.timeout) == ("ping", "alice", "10.0.0.2",
                                                                 DEFAULT_TIMEOUT)
    assert ping.name == "alice reaches srv (10.0.0.2)"  # srv's first address written
    assert (ping6.address, ping6.timeout, ping6.name) == ("fd00:50::2", 4, "alice reaches "
                                                          "fd00:50::2")
    assert not unreachable.expect_reachable and unreachable.timeout == UNREACHABLE_WINDOW
    assert unreachable.name == "alice cannot reach 10.66.0.1"
    assert (tcp.kind, tcp.address, tcp.port, tcp.name) == ("tcp", "192.0.2.9", 7000, "web")
    assert (run.kind, run.node, run.command) == ("run", "gw", "ip route")
    assert run.name == "gw: ip route shows '172.20.0.0/30'"
    assert exits.expect_exit == 1 and exits.name == "gw: false exits 1"


def test_resolve_timeout_given_on_the_command_line() -> None:
    probes = resolve(load(), None, 2.5)
    assert [p.timeout for p in probes] == [2.5, 4, UNREACHABLE_WINDOW, 2.5, 2.5, 2.5]


def test_resolve_keeps_lines() -> None:
    loaded = load_text(TOPO, "school.yaml")
    assert [p.line for p in resolve(loaded.topology, loaded.lines)] == list(range(16, 22))


def test_every_pair_pings_between_the_nodes_that_have_an_address() -> None:
    """gw (a router) has none written, so it is left out; each pair once, in file order."""
    probes = every_pair(load())
    assert [(p.node, p.target, p.address, p.kind) for p in probes] == [
        ("alice", "srv", "10.0.0.2", "ping")]
    assert probes[0].name == "alice reaches srv (10.0.0.2)"
    assert probes[0].timeout == DEFAULT_TIMEOUT and probes[0].expect_reachable
    assert [p.timeout for p in every_pair(load(), 2.5)] == [2.5]


def test_every_pair_leaves_switches_out_and_numbers_the_pings() -> None:
    hosts = "".join(f"  h{i}: {{interfaces: {{eth0: {{addresses: [10.1.0.{i}/24]}}}}}}\n"
                    for i in range(1, 5))
    text = "name: p\nnodes:\n  sw: {kind: switch}\n" + hosts + "links:\n" + "".join(
        f"  - [h{i}:eth0, sw]\n" for i in range(1, 5))
    probes = every_pair(load(text))
    assert [(p.node, p.target) for p in probes] == [
        ("h1", "h2"), ("h1", "h3"), ("h1", "h4"), ("h2", "h3"), ("h2", "h4"), ("h3", "h4")]
    assert [p.index for p in probes] == list(range(6))


def test_every_pair_takes_a_node_whose_commands_make_its_address() -> None:
    """As an imported containerlab lab's exec: does; a node with nothing is left out."""
    text = """\
name: p
nodes:
  c1: {exec: ["ip addr add 192.168.0.1/24 dev eth1"]}
  c2: {services: {dhcp: "dhclient -d eth1"}}
  idle: {}
  br: {kind: switch}
links:
  - [c1:eth1, br]
  - [c2:eth1, br]
  - [idle:eth1, br]
"""
    probes = every_pair(load(text))
    assert [(p.node, p.target, p.address) for p in probes] == [("c1", "c2", None)]
    assert probes[0].name == "c1 reaches c2"


def test_every_pair_of_many_nodes_is_each_to_the_first_and_to_the_next() -> None:
    text = "name: p\nnodes:\n" + "".join(
        f"  h{i}: {{interfaces: {{lo: {{addresses: [10.2.{i // 250}.{i % 250 + 1}/32]}}}}}}\n"
        for i in range(100))
    pairs = [(p.node, p.target) for p in every_pair(load(text))]
    assert len(pairs) == 99 + 98  # not 4950
    assert pairs[:2] == [("h0", "h1"), ("h0", "h2")] and pairs[-1] == ("h98", "h99")


def test_address_of() -> None:
    topo = load()
    assert address_of(topo, "srv") == "10.0.0.2"
    assert address_of(topo, "srv", 6) == "fd00:50::2"
    assert address_of(topo, "alice:eth0", 6) == "fd00:50::1"
    assert address_of(topo, "srv:lo") == "192.0.2.9"
    assert address_of(topo, "10.9.9.9") == "10.9.9.9"
    with pytest.raises(InputError, match="node 'gw' has no address"):
        address_of(topo, "gw")
    with pytest.raises(InputError, match="no node 'bob'"):
        address_of(topo, "bob")
    with pytest.raises(InputError, match="has no IPv6 address"):
        address_of(topo, "srv:lo", 6)
    with pytest.raises(InputError, match="leave out the prefix length"):
        address_of(topo, "10.0.0.2/24")


def test_parse_check_for_the_plugin() -> None:
    topo = load()
    check = parse_check(topo, {"from": "alice", "to": "srv", "tcp": 80})
    assert (check.from_, check.to, check.tcp) == ("alice", "srv", 80)
    with pytest.raises(InputError) as info:
        parse_check(topo, {"from": "alice", "to": "bob"})
    assert str(info.value) == (
        "check {'from': 'alice', 'to': 'bob'}: to: node 'bob' is not defined "
        "(nodes: alice, srv, gw)"
    )
    with pytest.raises(InputError, match="tcp 99999 is out of range"):
        parse_check(topo, {"from": "alice", "to": "srv", "tcp": 99999})
    with pytest.raises(InputError, match="a check needs from and to"):
        parse_check(topo, {"name": "x"})


# --- reports ------------------------------------------------------------------------------


def _report() -> CheckReport:
    probes = resolve(load())
    results = (
        CheckResult(probes[0], True, "reply from 10.0.0.2 in 0.10 ms", 0.01),
        CheckResult(probes[3], False, "192.0.2.9:7000 refused the connection", 2.0, 11),
        CheckResult(probes[4], False, "the output has no '172.20.0.0/30'", 1.0, 3,
                    output="default via 10.0.0.1\x1b[0m <&>\n"),
    )
    return CheckReport("school", results, 2.5)


def test_report_truth_and_summary() -> None:
    report = _report()
    assert not report and not report.ok
    assert [r.name for r in report.failed] == ["web", "gw: ip route shows '172.20.0.0/30'"]
    assert report["web"].why.startswith("192.0.2.9")
    assert bool(report.results[0]) and not report.results[1]
    assert report.summary().startswith("2 of 3 checks failed: web: 192.0.2.9:7000 refused")
    assert repr(report.results[1]) == "<FAIL 'web': 192.0.2.9:7000 refused the connection>"
    assert CheckReport("x", report.results[:1], 0.1).summary() == "the check passed"


def test_report_is_a_sequence_of_its_results() -> None:
    report = _report()
    assert list(report) == list(report.results) and len(report) == 3
    assert [r.name for r in report if not r] == [r.name for r in report.failed]
    with pytest.raises(KeyError):
        report["no such check"]


def test_json_document() -> None:
    doc = json.loads(json.dumps(_report().to_json()))
    assert doc["schema"] == "netlab.checks/1"
    assert (doc["lab"], doc["ok"], doc["total"], doc["passed"], doc["failed"]) == (
        "school", False, 3, 1, 2)
    first = doc["checks"][0]
    assert first == {
        "index": 0, "name": "alice reaches srv (10.0.0.2)", "kind": "ping", "node": "alice",
        "target": "srv", "address": "10.0.0.2", "port": None, "command": None,
        "expect": "reachable", "expect_output": None, "expect_exit": None, "line": None,
        "passed": True, "why": "reply from 10.0.0.2 in 0.10 ms", "seconds": 0.01,
        "attempts": 1, "output": None,
    }
    run = doc["checks"][2]
    assert (run["kind"], run["command"], run["expect"], run["expect_exit"]) == (
        "run", "ip route", None, 0)


def test_junit_document() -> None:
    text = to_junit(_report())
    root = ET.fromstring(text.encode())
    assert root.tag == "testsuites" and root.get("tests") == "3" and root.get("failures") == "2"
    suite = root.find("testsuite")
    assert suite is not None and suite.get("name") == "netlab.school"
    cases = suite.findall("testcase")
    assert [c.get("name") for c in cases] == [
        "alice reaches srv (10.0.0.2)", "web", "gw: ip route shows '172.20.0.0/30'"]
    assert cases[0].find("failure") is None
    failure = cases[1].find("failure")
    assert failure is not None
    assert failure.get("message") == "192.0.2.9:7000 refused the connection"
    assert "target: srv:lo (192.0.2.9) port 7000, expected reachable" in (failure.text or "")
    out = cases[2].find("system-out")
    assert out is not None and out.text == "default via 10.0.0.1\\x1b[0m <&>\n"


def test_table_and_summary_line() -> None:
    console = Console(record=True, width=200)
    console.print(checks_table(_report()))
    console.print(summary_line(_report()))
    text = console.export_text()
    assert "checks of lab school" in text
    assert "FAIL" in text and "pass" in text and "refused" in text
    assert "2 of 3 checks failed" in text


def test_ping_statistics() -> None:
    assert statistics("srv", 3, [0.001, 0.002]).splitlines() == [
        "--- srv ping statistics ---",
        "3 packets transmitted, 2 received, 33% packet loss",
        "rtt min/avg/max = 1.000/1.500/2.000 ms",
    ]
    assert statistics("srv", 2, []).splitlines()[1].endswith("100% packet loss")


# --- retries, with a fake lab (command checks need no namespace to be tested) ------------


class FakeLab:
    """Answers `exec` from a script of (exit status, output) pairs, one per call."""

    name = "fake"

    def __init__(self, answers: Sequence[tuple[int, str]]) -> None:
        self.answers = list(answers)
        self.calls = 0

    def exec(self, node: str, cmd: str, timeout: float | None = None) -> Any:
        self.calls += 1
        code, output = self.answers[min(self.calls, len(self.answers)) - 1]
        if code < 0:
            raise subprocess.TimeoutExpired(cmd, timeout or 0)
        return subprocess.CompletedProcess(["sh", "-c", cmd], code, output, "")


@pytest.fixture
def fake_commands(monkeypatch: pytest.MonkeyPatch) -> None:
    """Commands of run: checks go to the FakeLab's exec, not into a namespace."""
    monkeypatch.setattr("netlab.checks.run.node_command",
                        lambda lab, node, command, timeout, stop=None:
                        lab.exec(node, command, timeout))


def _run_probe(expect_output: str | None = None, expect_exit: int = 0,
               timeout: float = 2.0) -> Probe:
    return Probe(0, "t", "run", "gw", timeout, command="ip route",
                 expect_output=expect_output, expect_exit=expect_exit)


@pytest.mark.usefixtures("fake_commands")
def test_a_command_check_is_tried_again_until_it_passes(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("netlab.checks.run.RUN_PAUSE", 0.01)
    lab = FakeLab([(0, "nothing yet\n"), (1, "oops\n"), (0, "10.9.0.0/24 via 10.0.0.1\n")])
    result = run_probe(lab, _run_probe("10.9.0.0/24"))  # type: ignore[arg-type]
    assert result.passed and result.attempts == 3
    assert result.why == "exit status 0, the output has '10.9.0.0/24'"


@pytest.mark.usefixtures("fake_commands")
def test_a_command_check_fails_with_the_last_reason(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("netlab.checks.run.RUN_PAUSE", 0.01)
    result = run_probe(FakeLab([(0, "default via 10.0.0.1\n")]),  # type: ignore[arg-type]
                       _run_probe("10.9.0.0/24", timeout=0.2))
    assert not result.passed and result.attempts > 1
    assert result.why.startswith(
        "the output has no '10.9.0.0/24' (it begins: default via 10.0.0.1) (for 0.2 s, ")
    assert result.output == "default via 10.0.0.1\n"


@pytest.mark.usefixtures("fake_commands")
def test_a_command_check_with_another_exit_status(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("netlab.checks.run.RUN_PAUSE", 0.01)
    failed = run_probe(FakeLab([(2, "no such file\n")]),  # type: ignore[arg-type]
                       _run_probe(timeout=0.1))
    assert failed.why.startswith("exit status 2, not 0: no such file")
    passed = run_probe(FakeLab([(2, "")]), _run_probe(expect_exit=2))  # type: ignore[arg-type]
    assert passed.passed and passed.why == "exit status 2"
    hung = run_probe(FakeLab([(-1, "")]), _run_probe(timeout=0.1))  # type: ignore[arg-type]
    assert not hung.passed and "did not finish" in hung.why


@pytest.mark.usefixtures("fake_commands")
def test_a_command_cut_short_by_the_checks_time_reports_the_whole_run_before_it(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """A slow command (vtysh) whose last try the deadline cuts: the reason is the last whole
    run's output, not 'did not finish in 0.1 s'."""
    monkeypatch.setattr("netlab.checks.run.RUN_PAUSE", 0.01)
    lab = FakeLab([(0, "% Network not in table\n"), (-1, "")])
    result = run_probe(lab, _run_probe("Known via", timeout=0.2))  # type: ignore[arg-type]
    assert not result.passed and result.attempts > 1
    assert result.why.startswith("the output has no 'Known via' (it begins: % Network not in")
    assert result.output == "% Network not in table\n"


@pytest.mark.usefixtures("fake_commands")
def test_checks_run_side_by_side_and_keep_their_order(monkeypatch: pytest.MonkeyPatch) -> None:
    lab = FakeLab([(0, "ok\n")])
    probes = [Probe(i, f"c{i}", "run", "gw", 1.0, command="true") for i in range(5)]
    report = run_checks(lab, probes)  # type: ignore[arg-type]
    assert [r.name for r in report.results] == ["c0", "c1", "c2", "c3", "c4"]
    assert report.ok and report.lab == "fake"
