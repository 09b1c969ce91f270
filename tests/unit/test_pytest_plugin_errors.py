"""The pytest plugin's factory: a mistake shows as the test's own line and netlab's message
(and hint), not as a traceback through netlab's frames; pytest.raises still catches it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

TESTS = '''
import pytest
from netlab.errors import TopologyError

def test_bad_topology(netlab_lab):
    netlab_lab("bad.yaml")

def test_bad_name(netlab_lab):
    netlab_lab("good.yaml", name="Bad_Name")

def test_caught(netlab_lab):
    with pytest.raises(TopologyError, match="already given"):
        netlab_lab("bad.yaml")
'''

BAD = """name: dup
nodes:
  a: {interfaces: {eth0: {addresses: [10.0.0.1/24]}}}
  b: {interfaces: {eth0: {addresses: [10.0.0.1/24]}}}
links: [[a:eth0, b:eth0]]
"""


def test_a_bad_topology_fails_the_test_with_netlabs_line(tmp_path: Path) -> None:
    (tmp_path / "test_lab.py").write_text(TESTS)
    (tmp_path / "bad.yaml").write_text(BAD)
    (tmp_path / "good.yaml").write_text("name: good\nnodes: {a: {}}\n")
    run = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                          "test_lab.py"], cwd=tmp_path, capture_output=True, text=True,
                         timeout=120)
    out = run.stdout
    assert "2 failed, 1 passed" in out, out
    assert ("E       netlab.errors.TopologyError: bad.yaml:4: nodes.b.interfaces.eth0."
            "addresses[0]: address 10.0.0.1 is already given to a:eth0 (line 3)") in out, out
    assert "E       hint: use lowercase letters, digits and '-'" in out, out
    # netlab's own frames are not walked through
    assert "netlab/api.py" not in out and "spec/load.py" not in out, out
