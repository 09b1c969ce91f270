"""An echo request whose time to live runs out on the way (ICMP time exceeded, IPv4 type
11 / ICMPv6 type 3) is told as such, with the router that dropped it: by `netlab ping`
and by a ping check. Two routers in a chain, and a routing loop between them."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from netlab.api import Lab

from .hostcheck import netlab

CHAIN = """\
name: ttl
nodes:
  h:
    interfaces: {eth0: {addresses: [10.81.0.1/24, "fd00:81::1/64"]}}
    routes: [{to: default, via: 10.81.0.2}, {to: "::/0", via: "fd00:81::2"}]
  r1:
    kind: router
    interfaces:
      eth0: {addresses: [10.81.0.2/24, "fd00:81::2/64"]}
      eth1: {addresses: [10.81.1.1/24, "fd00:81:1::1/64"]}
    routes: [{to: 10.99.0.0/24, via: 10.81.1.2}]
  r2:
    kind: router
    interfaces:
      eth0: {addresses: [10.81.1.2/24, "fd00:81:1::2/64"]}
    # Back to h through r1; and 10.99.0.0/24 back to r1 too: a loop.
    routes: [{to: 10.81.0.0/24, via: 10.81.1.1}, {to: 10.99.0.0/24, via: 10.81.1.1},
             {to: "fd00:81::/64", via: "fd00:81:1::1"}]
links:
  - [h:eth0, r1:eth0]
  - [r1:eth1, r2:eth0]
checks:
  - {name: looped, from: h, to: 10.99.0.5, timeout: 1.5}
  - {name: far enough, from: h, to: 10.81.1.2}
"""


@pytest.fixture
def lab(tmp_path: Path, fresh_lab: str) -> Iterator[Lab]:
    path = tmp_path / "ttl.yaml"
    path.write_text(CHAIN)
    lab = Lab.from_file(path, name=fresh_lab)
    lab.up()
    try:
        yield lab
    finally:
        lab.down()


def test_ping_names_the_router_where_the_ttl_ran_out(lab: Lab) -> None:
    short = netlab("ping", "-l", lab.name, "h", "r2", "-4", "-c", "2", "-i", "0.1",
                   "--ttl", "1", check=1)
    assert ("time to live exceeded at 10.81.0.2 on the way to 10.81.1.2 "
            "(a routing loop, or more hops than the TTL): seq=2") in short.stdout
    assert "no reply" not in short.stdout
    assert "2 packets transmitted, 0 received, +2 errors, 100% packet loss" in short.stdout

    six = netlab("ping", "-l", lab.name, "h", "fd00:81:1::2", "-c", "1", "--ttl", "1",
                 check=1)
    assert "time to live exceeded at fd00:81::2 on the way to fd00:81:1::2" in six.stdout

    enough = netlab("ping", "-l", lab.name, "h", "10.81.1.2", "-c", "1", "--ttl", "2")
    assert "reply from 10.81.1.2: seq=1" in enough.stdout

    looped = netlab("ping", "-l", lab.name, "h", "10.99.0.5", "-c", "1", check=1)
    assert re.search(r"time to live exceeded at 10\.81\.1\.[12] on the way to 10\.99\.0\.5",
                     looped.stdout), looped.stdout

    assert "--ttl 0: give a time to live between 1 and 255" in netlab(
        "ping", "-l", lab.name, "h", "r2", "--ttl", "0", check=2).stderr


def test_a_ping_check_fails_with_the_ttl_and_the_router(lab: Lab) -> None:
    report = json.loads(netlab("test", "-l", lab.name, "--json", check=1).stdout)
    looped, far = report["checks"]
    assert not looped["passed"]
    assert re.match(r"time to live exceeded at 10\.81\.1\.[12] on the way to 10\.99\.0\.5 "
                    r"\(a routing loop, or more hops than the TTL\) \(for 1\.5 s, ",
                    looped["why"]), looped["why"]
    assert far["passed"], far
