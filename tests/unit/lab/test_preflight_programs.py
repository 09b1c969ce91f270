"""A program a lab's commands run and this machine lacks is refused before anything is
made (exit 5), each command named by its file, line and key, with what to install."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from netlab.errors import EXIT_UNSUPPORTED, TopologyUnsupported
from netlab.lab.preflight import refuse_unsupported
from netlab.spec import load_text

MISSING = """\
name: progs
nodes:
  server:
    services:
      daemon: {run: "netlab-test-no-such-daemon --foreground"}
      fine: {run: "sleep 30"}
  client:
    exec:
      - echo starting
      - netlab-test-no-such-tool -v
  maker:
    prepare: [mkdir -p bin, netlab-test-no-such-maker]
    services:
      made: {run: "netlab-test-made-by-prepare"}
"""


def test_a_missing_program_is_refused_with_its_line() -> None:
    loaded = load_text(MISSING, "progs.yaml")
    with pytest.raises(TopologyUnsupported) as info:
        refuse_unsupported(loaded.topology, loaded)
    error = info.value
    assert error.exit_code == EXIT_UNSUPPORTED  # this machine cannot: not a bad file
    # The node with prepare: commands has only its first looked at: it may make the rest.
    assert str(error).splitlines() == [
        "progs.yaml:5: nodes.server.services.daemon.run: 'netlab-test-no-such-daemon' is "
        "not installed on this machine",
        "progs.yaml:10: nodes.client.exec[1]: 'netlab-test-no-such-tool' is not installed "
        "on this machine",
    ]
    assert error.hint == ("install netlab-test-no-such-daemon, netlab-test-no-such-tool on "
                          "this machine (a node runs this machine's programs)")


def test_a_program_on_the_nodes_own_path_is_found(tmp_path: Path) -> None:
    tool = tmp_path / "mytool"
    tool.write_text("#!/bin/sh\n")
    tool.chmod(0o755)
    text = f"""\
name: own
nodes:
  a:
    env: {{PATH: "{tmp_path}"}}
    exec: [mytool --go]
  b:
    private: [/opt/netlab-test-tools]
    env: {{PATH: "/opt/netlab-test-tools:/usr/bin"}}
    services: {{s: {{run: only-in-the-node}}}}
  c:
    exec: [sh -c true, "ip link"]
"""
    assert os.path.exists("/bin/sh")
    loaded = load_text(text, "own.yaml")
    refuse_unsupported(loaded.topology, loaded)  # a's in its PATH; b's in its own folder
    # The same tool, not on a's PATH: refused.
    loaded = load_text(text.replace(f'PATH: "{tmp_path}"', 'PATH: "/nonexistent"'), "own.yaml")
    with pytest.raises(TopologyUnsupported, match=r"own.yaml:5: nodes.a.exec\[0\]: 'mytool'"):
        refuse_unsupported(loaded.topology, loaded)
