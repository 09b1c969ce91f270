"""Interface kinds some kernels lack, on a real kernel: made and carrying packets where the
kernel has them (the stock-kernel VM: tests/stockvm.py), refused before anything is made
(exit 2, naming the kernel option) where it lacks them."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from netlab.kernel import probe
from netlab.pytest_plugin import LabFactory, unique_name

from ..conftest import netlab_namespaces
from .hostcheck import netlab
from .test_shaping import iface

DUMMY = """\
name: {name}
nodes:
  h1:
    interfaces: {{eth0: {{addresses: [10.0.0.1/24]}}}}
    routes: [{{to: 192.0.2.1/32, via: 10.0.0.2}}]
  r1:
    interfaces:
      eth0: {{addresses: [10.0.0.2/24]}}
      lo0: {{kind: dummy, addresses: [192.0.2.1/32]}}
links:
  - [h1:eth0, r1:eth0]
"""


def test_dummy_refused_before_anything_is_made(tmp_path: Path) -> None:
    if probe.qdiscs().missing_links().get("dummy") is None:
        pytest.skip("this kernel has dummy devices (CONFIG_DUMMY): nothing to refuse")
    name = unique_name("dummy")
    path = tmp_path / "dummy.yaml"
    path.write_text(DUMMY.format(name=name))
    result = netlab("up", str(path), check=2)
    assert (f"{path}:9: nodes.r1.interfaces.lo0.kind: r1:lo0 is a dummy device, which this "
            "kernel lacks (CONFIG_DUMMY)") in result.stderr
    assert "modprobe dummy" in result.stderr
    assert netlab_namespaces(f"netlab-{name}-") == set()


@pytest.mark.stock_kernel
def test_a_dummy_address_is_reached_through_its_node(netlab_lab: LabFactory,
                                                     tmp_path: Path) -> None:
    path = tmp_path / "dummy.yaml"
    path.write_text(DUMMY.format(name="dummy"))
    lab = netlab_lab(path)
    assert lab.ping("h1", "192.0.2.1")
    doc = lab.status()
    assert doc["drift"] == []
    lo0 = iface(doc, "r1", "lo0")
    assert lo0["kind"] == "dummy" and "192.0.2.1/32" in lo0["addresses"]
    shown = subprocess.run(["ip", "-n", lab.namespace("r1"), "-d", "link", "show", "lo0"],
                           capture_output=True, text=True, check=True).stdout
    assert "dummy" in shown and f"alias netlab:{lab.name}" in shown
