"""Shaping without root: tc values into the kernel's numbers, bad values refused with their
line, the planner's qdiscs (both directions, or one), the tc messages byte for byte against
pyroute2's encoding of the same request, and netem refused or accepted by the kernel probe's
answer (a fake one here)."""

from __future__ import annotations

import struct
import types
from pathlib import Path

import pytest

from netlab.errors import EXIT_INPUT, EXIT_UNSUPPORTED, TopologyError
from netlab.kernel import features, tcmsg
from netlab.kernel.rtnl import Reply
from netlab.lab.link_control import parse_assignments, seconds
from netlab.lab.preflight import refuse_unsupported
from netlab.lab.status_links import matches
from netlab.plan import ops as o
from netlab.plan import shaping
from netlab.plan.planner import plan
from netlab.plan.shaping import qdisc_uses
from netlab.spec import load_text, tc_check
from netlab.ui.cli import main
from netlab.values import tc
from netlab.values.tc import U32, Qdisc

ROOT = Path(__file__).resolve().parents[3]
WITH_NETEM = features.Support(frozenset({"tbf", "netem"}))
WITHOUT_NETEM = features.Support(frozenset({"tbf"}))

TOPO = """\
name: tcl
nodes:
  a: {interfaces: {eth0: {addresses: [10.0.0.1/24]}}}
  b: {interfaces: {eth0: {addresses: [10.0.0.2/24]}}}
  sw1: {kind: switch}
links:
  - endpoints: [a:eth0, b:eth0]
    rate: 10mbit
  - endpoints:
      - {node: a, interface: eth1, rate: 1mbit, burst: 16kb}
      - sw1
  - endpoints: [b:eth1, {node: sw1, delay: 10ms, loss: 1% 25%}]
    rate: 2mbit
"""


# --- values into numbers ----------------------------------------------------------------
@pytest.mark.parametrize("text, value", [
    ("10mbit", 1_250_000), ("100mbit", 12_500_000), ("1gbit", 125_000_000),
    ("1.5kbit", 187), ("500kbit", 62_500), ("1mibit", 131_072), ("1Kibit", 128),
    ("1mbps", 1_000_000), ("8bit", 1), ("40gbit", 5_000_000_000), ("1MBPS", 1_000_000),
])
def test_rates_are_bytes_per_second(text: str, value: int) -> None:
    assert tc.parse_rate(text) == value


@pytest.mark.parametrize("text, value", [
    ("50ms", 50_000), ("1s", 1_000_000), ("250us", 250), ("1.5ms", 1500), ("2secs", 2_000_000),
    ("10usec", 10), ("0.5msec", 500),
])
def test_times_are_microseconds(text: str, value: int) -> None:
    assert tc.parse_time(text) == value


@pytest.mark.parametrize("text, value", [
    ("32kb", 32_768), ("1500", 1500), ("1mb", 1_048_576), ("32k", 32_768), ("10kbit", 1280),
    ("2kib", 2048), ("100b", 100),
])
def test_sizes_are_bytes_as_tc_reads_them(text: str, value: int) -> None:
    assert tc.parse_size(text) == value


def test_percentages_are_the_kernels_probability() -> None:
    # tc: rint(percent / 100 * UINT32_MAX); Python's round() rounds half to even, like rint.
    assert tc.parse_percent("1%") == (42_949_673, None)
    assert tc.parse_percent("25% 50%") == (1_073_741_824, 2_147_483_648)
    assert tc.parse_percent("100%") == (U32, None)
    assert tc.parse_percent("0%") == (0, None)
    assert tc.parse_percent("0.1%") == (4_294_967, None)
    assert tc.percent_of(42_949_673) == 1.0


@pytest.mark.parametrize("values, key, words", [
    ({"rate": "fast"}, "rate", "rate 'fast' is not understood"),
    ({"rate": "100"}, "rate", "rate '100' needs a unit"),
    ({"rate": "0kbit"}, "rate", "less than 1 byte per second"),
    ({"delay": "-1ms"}, "delay", "delay '-1ms' is negative"),
    ({"loss": "120%"}, "loss", "loss '120%' is more than 100%"),
    ({"loss": "5% 101%"}, "loss", "more than 100%"),
    ({"delay": "10ms", "jitter": "1ms", "reorder": "5"}, "reorder", "needs a unit"),
    ({"jitter": "1ms"}, "jitter", "jitter needs a delay as well"),
    ({"rate": "1mbit", "limit": "0"}, "limit", "give 1 or more"),
    ({"rate": "1mbit", "limit": "3000", "latency": "10ms"}, "latency", "not both"),
    ({"burst": "32kb"}, "burst", "give the rate as well"),
    ({"rate": "1mbit", "burst": "1kb"}, "burst", "less than one full frame (1514 bytes"),
    ({"delay": "5ms", "burst": "32kb"}, "burst", "shaped by netem"),
    ({"loss": "1%", "latency": "5ms"}, "latency", "limit gives its queue in packets"),
    ({"rate": "1mbit", "limit": "100"}, "limit", "holds no full frame"),
])
def test_bad_values_are_told_in_words(values: dict[str, str], key: str, words: str) -> None:
    problems = tc_check.check(values)
    assert [k for k, _ in problems] == [key], problems
    assert words in problems[0][1]
    with pytest.raises(ValueError, match=key):
        shaping.build(values)


def test_a_rate_alone_is_tbf_with_defaults_that_fit_the_mtu() -> None:
    q = shaping.build({"rate": "10mbit"})
    # 4 ms of traffic for the bucket, a 50 ms queue on top of it
    assert q == Qdisc("tbf", rate=1_250_000, burst=5000, limit=62_500 + 5000)
    assert shaping.build({"rate": "1mbit"}, mtu=9000) == Qdisc(
        "tbf", rate=125_000, burst=2 * 9014, limit=6250 + 2 * 9014)
    q = shaping.build({"rate": "1mbit", "burst": "16kb", "latency": "20ms"})
    assert q == Qdisc("tbf", rate=125_000, burst=16_384, limit=2500 + 16_384)
    assert shaping.build({"rate": "1mbit", "limit": "30000"}) == Qdisc(
        "tbf", rate=125_000, burst=3028, limit=30_000)
    assert q.describe() == "tbf rate 1mbit burst 16kb limit 18884b"
    assert shaping.build({}) is None


def test_anything_else_is_netem_with_the_rate_folded_in() -> None:
    q = shaping.build({"rate": "2mbit", "delay": "10ms", "jitter": "1ms", "loss": "1% 25%",
                  "reorder": "5%", "limit": "200"})
    assert q == Qdisc("netem", rate=250_000, limit=200, delay=10_000, jitter=1000,
                      loss=42_949_673, loss_corr=1_073_741_824, reorder=214_748_365)
    assert q.describe() == ("netem rate 2mbit limit 200 delay 10ms jitter 1ms loss 1% 25% "
                            "reorder 5%")
    assert shaping.build({"corrupt": "0.1%"}) == Qdisc("netem", limit=1000, corrupt=4_294_967)


# --- the topology -----------------------------------------------------------------------
def test_link_shapes_both_ends_and_an_endpoint_its_own_egress() -> None:
    loaded = load_text(TOPO, "tcl.yaml")
    p = plan(loaded.topology)
    qdiscs = {(op.ns, op.ifname): op.qdisc for op in p.ops if isinstance(op, o.SetQdisc)}
    ten = shaping.build({"rate": "10mbit"})
    assert qdiscs[("netlab-tcl-a", "eth0")] == qdiscs[("netlab-tcl-b", "eth0")] == ten
    assert qdiscs[("netlab-tcl-a", "eth1")] == shaping.build({"rate": "1mbit", "burst": "16kb"})
    assert ("netlab-tcl-sw1", "a-eth1") not in qdiscs  # that direction is not shaped
    # the link's rate on both ends; the switch end adds netem over it
    assert qdiscs[("netlab-tcl-b", "eth1")] == shaping.build({"rate": "2mbit"})
    assert qdiscs[("netlab-tcl-sw1", "b-eth1")] == shaping.build(
        {"rate": "2mbit", "delay": "10ms", "loss": "1% 25%"})
    # after every link is up, and gone with the namespaces at teardown
    last_up = max(i for i, op in enumerate(p.ops) if isinstance(op, o.SetLinkUp))
    first_qdisc = min(i for i, op in enumerate(p.ops) if isinstance(op, o.SetQdisc))
    assert last_up < first_qdisc
    undo = [(u, c) for u, c in p.teardown() if isinstance(u, o.DeleteQdisc)]
    assert len(undo) == 5 and not any(c for _, c in undo)
    uses = qdisc_uses(loaded.topology)
    assert [(u.path, u.kind, loaded.line_of(u.path)) for u in uses] == [
        ("links[0].rate", "tbf", 8), ("links[1].endpoints[0].rate", "tbf", 10),
        ("links[2].rate", "tbf", 13), ("links[2].endpoints[1].delay", "netem", 12),
    ]


def test_set_qdisc_survives_the_journal() -> None:
    qdisc = shaping.build({"delay": "5ms", "loss": "2%"}) or Qdisc("")
    op = o.SetQdisc("netlab-x-a", "eth0", qdisc)
    again = o.op_from_json(op.to_json())
    assert again == op and isinstance(again, o.SetQdisc) and isinstance(again.qdisc, Qdisc)
    assert op.to_json()["qdisc"] == {"kind": "netem", "limit": 1000, "delay": 5000,
                                     "loss": 85_899_346}
    assert o.op_from_json(o.DeleteQdisc("netlab-x-a", "eth0").to_json()).undo() is None


BAD = """\
name: bad
nodes:
  a: {}
  b: {}
links:
  - endpoints: [{node: a, interface: eth0, rate: fast}, b:eth0]
    loss: 120%
  - endpoints: [a:eth1, b:eth1]
    delay: -1ms
  - endpoints: [{node: a, interface: eth2, iface: x}, b:eth2]
"""


def test_bad_values_in_a_file_are_refused_with_their_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(BAD)
    assert main(["validate", str(path)]) == EXIT_INPUT
    err = capsys.readouterr().err
    assert "bad.yaml:10: links[2].endpoints[0]: unknown key 'iface'" in err
    path.write_text(BAD.rsplit("  - endpoints: [{node: a, interface: eth2", 1)[0])
    assert main(["plan", str(path)]) == EXIT_INPUT
    lines = capsys.readouterr().err.splitlines()
    assert lines == [
        f"{path}:6: links[0].endpoints[0].rate: rate 'fast' is not understood; give a rate "
        "such as 100mbit, 1gbit or 500kbit",
        f"{path}:7: links[0].loss: loss '120%' is more than 100%",
        f"{path}:9: links[1].delay: delay '-1ms' is negative; give a time such as 10ms",
    ]


# --- netem: the probe decides -----------------------------------------------------------
def test_netem_refused_before_anything_when_the_kernel_lacks_it() -> None:
    loaded = load_text(TOPO, "tcl.yaml")
    with features.assumed(WITHOUT_NETEM), pytest.raises(TopologyError) as info:
        refuse_unsupported(loaded.topology, loaded)
    error = info.value
    assert error.exit_code == EXIT_UNSUPPORTED
    assert str(error) == ("tcl.yaml:12: links[2].endpoints[1].delay: b:eth1 -- sw1: delay, "
                          "loss need netem, which this kernel lacks (CONFIG_NET_SCH_NETEM)")
    assert error.hint and "modprobe sch_netem" in error.hint
    # a rate alone needs only tbf, which it has
    only_tbf = load_text(TOPO.split("  - endpoints: [b:eth1")[0], "tcl.yaml")
    with features.assumed(WITHOUT_NETEM):
        refuse_unsupported(only_tbf.topology, only_tbf)


def test_with_netem_the_planner_and_encoder_make_the_exact_request() -> None:
    loaded = load_text(TOPO, "tcl.yaml")
    with features.assumed(WITH_NETEM):
        refuse_unsupported(loaded.topology, loaded)  # nothing to refuse
    p = plan(loaded.topology)
    [op] = [op for op in p.ops if isinstance(op, o.SetQdisc) and op.qdisc.kind == "netem"]
    assert (op.ns, op.ifname) == ("netlab-tcl-sw1", "b-eth1")
    got = bytes(tcmsg.new_qdisc(42, 7, op.qdisc))
    # What the kernel must receive, written out field by field (linux/pkt_sched.h).
    def attr(kind: int, payload: bytes) -> bytes:
        return struct.pack("=HH", 4 + len(payload), kind) + payload + b"\0" * (-len(payload) % 4)
    qopt = struct.pack("=6I", 10_000_000 // 64, 1000, 42_949_673, 0, 0, 0)
    options = (qopt + attr(1, struct.pack("=3I", 0, 1_073_741_824, 0))  # CORR
               + attr(6, struct.pack("=IiIi", 250_000, 0, 0, 0))  # RATE
               + attr(10, struct.pack("=q", 10_000_000)))  # LATENCY64, ns
    body = (struct.pack("=BBHiIII", 0, 0, 0, 7, 0, 0xFFFFFFFF, 0)
            + attr(1, b"netem\0") + attr(2, options))
    header = struct.pack("=IHHII", 16 + len(body), 36, 0x1 | 0x400 | 0x100, 42, 0)
    assert got == header + body


# --- bytes against pyroute2 -------------------------------------------------------------
def _pyroute2_request(kind: str, options: object, attrs: object) -> bytes:
    from pyroute2.netlink.rtnl import tcmsg as pr

    saved = pr.plugins[kind]
    pr.plugins[kind] = types.SimpleNamespace(options=options)
    try:
        m = pr.tcmsg()
        m["header"].update(type=36, flags=0x501, sequence_number=9, pid=0)
        m.update(family=0, index=3, handle=0, parent=0xFFFFFFFF, info=0)
        m["attrs"] = [["TCA_KIND", kind], ["TCA_OPTIONS", attrs]]
        m.encode()
        return bytes(m.data)
    finally:
        pr.plugins[kind] = saved


@pytest.mark.parametrize("values", [
    {"rate": "10mbit"},
    {"rate": "40gbit", "burst": "1mb", "latency": "10ms"},  # TCA_TBF_RATE64
])
def test_tbf_bytes_equal_pyroute2s(values: dict[str, str]) -> None:
    from pyroute2.netlink import nla
    from pyroute2.netlink.rtnl.tcmsg import sched_tbf
    from pyroute2.netlink.rtnl.tcmsg import tcmsg as pr_tcmsg

    # pyroute2's own layout of tc_tbf_qopt; its map extended with what it lacks (BURST,
    # RATE64), and no rate table (the link layer is given, as tc gives it).
    class options(nla):  # type: ignore[misc]
        nla_map = (("TCA_TBF_UNSPEC", "none"), ("TCA_TBF_PARMS", "tbf_parms"),
                   ("TCA_TBF_RTAB", "hex"), ("TCA_TBF_PTAB", "hex"),
                   ("TCA_TBF_RATE64", "uint64"), ("TCA_TBF_PRATE64", "uint64"),
                   ("TCA_TBF_BURST", "uint32"))

        class tbf_parms(nla):  # type: ignore[misc]
            fields = sched_tbf.options.tbf_parms.fields

    q = shaping.build(values)
    assert q is not None and q.rate and q.burst
    parms: dict[str, int | None] = {name: 0 for name, _ in sched_tbf.options.tbf_parms.fields}
    parms.update(rate___reserved=1, rate=min(q.rate, U32), limit=q.limit,
                 buffer=q.burst * 10**9 // q.rate // 64)
    attrs: list[object] = [["TCA_TBF_PARMS", parms], ["TCA_TBF_BURST", q.burst]]
    if q.rate > U32:
        attrs.append(["TCA_TBF_RATE64", q.rate])
    mine = bytes(tcmsg.new_qdisc(9, 3, q))
    assert mine == _pyroute2_request("tbf", options, {"attrs": attrs})
    # and pyroute2's unmodified decoder reads the values back
    msg = pr_tcmsg(mine)
    msg.decode()
    got = msg.get_attr("TCA_OPTIONS").get_attr("TCA_TBF_PARMS")
    assert msg.get_attr("TCA_KIND") == "tbf" and msg["parent"] == 0xFFFFFFFF
    assert (got["rate"], got["limit"]) == (min(q.rate, U32), q.limit)


def test_netem_bytes_equal_pyroute2s() -> None:
    from pyroute2.netlink.rtnl.tcmsg import sched_netem

    class options(sched_netem.options):  # type: ignore[misc]  # its map stops at RATE
        nla_map = (*sched_netem.options.nla_map, ("TCA_NETEM_ECN", "uint32"),
                   ("TCA_NETEM_RATE64", "uint64"), ("TCA_NETEM_PAD", "hex"),
                   ("TCA_NETEM_LATENCY64", "int64"), ("TCA_NETEM_JITTER64", "int64"))

    q = shaping.build({"delay": "10ms", "jitter": "2ms", "loss": "1% 25%", "duplicate": "0.5%",
                  "corrupt": "0.1% 10%", "reorder": "25% 50%", "rate": "10mbit",
                  "limit": "500"})
    assert q is not None
    opts = {
        "delay": 10_000_000 // 64, "limit": 500, "loss": q.loss, "gap": 1,
        "duplicate": q.duplicate, "jitter": 2_000_000 // 64,
        "attrs": [
            ["TCA_NETEM_CORR", {"delay_corr": 0, "loss_corr": q.loss_corr, "dup_corr": 0}],
            ["TCA_NETEM_REORDER", {"prob_reorder": q.reorder, "corr_reorder": q.reorder_corr}],
            ["TCA_NETEM_CORRUPT", {"prob_corrupt": q.corrupt, "corr_corrupt": q.corrupt_corr}],
            ["TCA_NETEM_RATE", {"rate": q.rate, "packet_overhead": 0, "cell_size": 0,
                                "cell_overhead": 0}],
            ["TCA_NETEM_LATENCY64", 10_000_000],
            ["TCA_NETEM_JITTER64", 2_000_000],
        ],
    }
    assert bytes(tcmsg.new_qdisc(9, 3, q)) == _pyroute2_request("netem", options, opts)


def test_netem_rate_over_32_bits_goes_in_rate64() -> None:
    q = shaping.build({"delay": "1ms", "rate": "40gbit"})
    assert q is not None
    options = tcmsg.attributes(tcmsg.netem_options(q), 24)
    assert struct.unpack("=IiIi", options[tcmsg.TCA_NETEM_RATE])[0] == U32
    assert struct.unpack("=Q", options[tcmsg.TCA_NETEM_RATE64])[0] == 5_000_000_000


def test_delete_and_dump_requests_equal_pyroute2s() -> None:
    from pyroute2.netlink.rtnl.tcmsg import tcmsg as pr_tcmsg

    for ours, kind, flags, parent in ((tcmsg.del_qdisc(5, 4), 37, 0x1, 0xFFFFFFFF),
                                      (tcmsg.get_qdiscs(6), 38, 0x301, 0)):
        m = pr_tcmsg()
        m["header"].update(type=kind, flags=flags, sequence_number=5 if kind == 37 else 6,
                           pid=0)
        m.update(family=0, index=4 if kind == 37 else 0, handle=0, parent=parent, info=0)
        m.encode()
        assert bytes(ours) == bytes(m.data)


@pytest.mark.parametrize("values", [
    {"rate": "10mbit"}, {"rate": "40gbit", "burst": "1mb"},
    {"delay": "10ms", "jitter": "2ms", "loss": "1% 25%", "duplicate": "0.5% 5%",
     "corrupt": "0.1% 10%", "reorder": "25% 50%", "rate": "10mbit", "limit": "500"},
])
def test_what_we_send_decodes_back_to_the_same_values(values: dict[str, str]) -> None:
    q = shaping.build(values)
    assert q is not None
    data = bytes(tcmsg.new_qdisc(1, 3, q))
    info = tcmsg.decode_qdisc(Reply(1, 36, 0, 0, "", data))
    assert (info.index, info.kind, info.is_root) == (3, q.kind, True)
    assert info.qdisc == q and matches(q, info.qdisc)


def test_matching_allows_the_bucket_its_rounding_only() -> None:
    q = Qdisc("tbf", rate=1_250_000, burst=5000, limit=67_500)
    assert matches(q, Qdisc("tbf", rate=1_250_000, burst=4990, limit=67_500))
    assert not matches(q, Qdisc("tbf", rate=1_250_000, burst=4000, limit=67_500))
    assert not matches(q, Qdisc("tbf", rate=125_000, burst=5000, limit=67_500))
    assert not matches(q, None) and not matches(None, q) and matches(None, None)


# --- netlab link arguments --------------------------------------------------------------
def test_assignments_and_times() -> None:
    assert parse_assignments(["rate=1mbit", "loss=5%"]) == {"rate": "1mbit", "loss": "5%"}
    for bad in (["rate"], ["speed=1mbit"], ["rate=1mbit", "rate=2mbit"], ["rate="]):
        with pytest.raises(Exception) as info:
            parse_assignments(bad)
        assert getattr(info.value, "exit_code", None) == EXIT_INPUT
    assert seconds("2s", "--down") == 2.0 and seconds("500ms", "--up") == 0.5
    assert seconds(3, "--up") == 3.0 and seconds("1.5", "--up") == 1.5
    for bad_time in ("soon", "0s", "-1s", "2h"):
        with pytest.raises(Exception) as info:
            seconds(bad_time, "--down")
        assert getattr(info.value, "exit_code", None) == EXIT_INPUT


def test_the_example_topology_is_planned_as_documented() -> None:
    loaded = load_text((ROOT / "topologies" / "shaped.yaml").read_text(), "shaped.yaml")
    p = plan(loaded.topology)
    shaped = {(op.ns.rsplit("-", 1)[1], op.ifname): op.qdisc.describe()
              for op in p.ops if isinstance(op, o.SetQdisc)}
    assert shaped == {
        ("client", "eth0"): "tbf rate 10mbit burst 5000b limit 67500b",
        ("r1", "eth0"): "tbf rate 10mbit burst 5000b limit 67500b",
        ("r1", "eth1"): "tbf rate 1mbit burst 3028b limit 9278b",
        ("server", "eth0"): "tbf rate 8mbit burst 4000b limit 54000b",
    }


# --- what the kernel's tbf can hold -----------------------------------------------------
def test_a_bucket_longer_than_the_kernel_holds_is_refused_with_the_limit() -> None:
    # tbf reports its bucket as time in a u32 of 64 ns ticks: 274.878 s at most.
    [(key, message)] = tc_check.check({"rate": "1mbit", "burst": "100mb"})
    assert key == "burst"
    assert "838.861 s of traffic" in message and "at most 274.878 s" in message
    assert "(at this rate 32mb)" in message
    fits = tc.max_burst(125_000)
    assert fits * 10**9 // 125_000 // 64 <= U32 < (fits + 1000) * 10**9 // 125_000 // 64
    assert tc_check.check({"rate": "1mbit", "burst": f"{fits}b"}) == []
    assert tc_check.check({"rate": "1mbit", "burst": "32mb"}) == []


def test_a_rate_too_slow_for_one_frame_is_refused_with_the_slowest_that_works() -> None:
    [(key, message)] = tc_check.check({"rate": "8bit"})
    assert key == "rate"
    assert message == (
        "rate 8bit is too slow for tbf: one full frame (1514 bytes at mtu 1500) takes 1514 s "
        "to send, and the kernel's bucket holds at most 274.878 s of traffic; give at least "
        "48bit")
    assert tc_check.check({"rate": "48bit"}) == []
    assert [k for k, _ in tc_check.check({"rate": "48bit"}, mtu=9000)] == ["rate"]


def test_the_default_bucket_of_a_slow_rate_stays_within_what_the_kernel_holds() -> None:
    # Two full frames would be 3028 s at 1 byte/s: the bucket is what fits, at least a frame.
    for rate in (6, 10, 11, 12, 100):
        burst = tc.default_burst(rate)
        assert 1514 <= burst <= tc.max_burst(rate)
        assert burst * 10**9 // rate // 64 <= U32
    assert tc.default_burst(12) == 3028  # two frames fit: as before
    q = shaping.build({"rate": "48bit"})
    assert q is not None and q.burst == tc.max_burst(6)
