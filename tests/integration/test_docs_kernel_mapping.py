"""docs/kernel-mapping.md tells learners which iproute2 command shows each object netlab
makes; every one of them must work on a live lab, or the page is lying."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

from netlab.pytest_plugin import LabFactory

ROOT = Path(__file__).parents[2]
PAGE = ROOT / "docs" / "kernel-mapping.md"


def documented_commands() -> list[str]:
    text = PAGE.read_text()
    commands = [line for block in re.findall(r"```sh\n(.*?)```", text, re.S)
                for line in block.splitlines() if line.strip()]
    commands += re.findall(r"\| `((?:ip|bridge) [^`]*)` \|", text)  # the table's last column
    return commands


def test_the_page_has_commands() -> None:
    assert len(documented_commands()) > 20


def test_every_documented_command_works(netlab_lab: LabFactory) -> None:
    lab = netlab_lab(ROOT / "topologies" / "hello.yaml")
    failures = []
    for command in documented_commands():
        # The page is written for lab "hello"; this one has a unique name.
        ours = (command.replace("netlab-hello", f"netlab-{lab.name}")
                .replace("netlab:hello", f"netlab:{lab.name}")
                .replace("/run/netlab/hello/", f"/run/netlab/{lab.name}/"))
        done = subprocess.run(ours, shell=True, capture_output=True, text=True, timeout=30)
        # iproute2 6.1 says this of a namespace that goes away while it looks (other tests').
        noise = "Error: Peer netns reference is invalid."
        stderr = [line for line in done.stderr.splitlines() if line.strip() not in ("", noise)]
        if done.returncode != 0 or stderr:
            failures.append(f"{ours!r}: exit {done.returncode}, {done.stderr.strip()!r}")
    assert not failures, "\n".join(failures)
