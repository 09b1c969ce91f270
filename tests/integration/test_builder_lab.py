"""A lab made with netlab.build() comes up, answers pings and goes down like a file's."""

from __future__ import annotations

import netlab
from netlab.checks import resolve
from netlab.checks.run import run_checks


def test_built_lab_routes_between_two_subnets(fresh_lab: str) -> None:
    t = netlab.build("built")
    t.router("r1")
    t.switch("s1")
    for k in (1, 2):
        t.host(f"h{k}", f"10.81.1.{k}/24", routes=[{"to": "default", "via": "10.81.1.254"}])
        t.link(f"h{k}", "s1")
    t.host("far", routes=[{"to": "default", "via": "10.81.2.254"}])
    t.link("r1", "s1", addresses=("10.81.1.254/24", None))
    t.link("r1", "far", addresses=("10.81.2.254/24", "10.81.2.1/24"))
    t.check("h1", "far")
    t.check("far", "h2")
    lab = t.lab(fresh_lab)
    lab.up()
    try:
        assert lab.ping("h1", "h2")
        assert lab.ping("h2", "far")
        assert lab.ping("far", "r1:eth0")
        assert not lab.ping("h1", "10.81.3.1", count=1, timeout=0.3)
        report = run_checks(lab, resolve(lab.topology))
        assert report.ok, report.results
    finally:
        lab.down()
