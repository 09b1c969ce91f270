"""The exercises in topologies/exercises/: each one's checks fail as shipped and pass once
it is solved. The solution is applied as a student would: the `netlab exec NODE -- ...` and
`netlab service NODE SERVICE ACTION` lines of its solution.md are run in the lab (so
solution.md cannot go stale); the TUN exercise runs its program inside the node, and its
checks pass only while it runs. An exercise whose folder has a `needs-kernel` file (the
kernel options it needs, such as CONFIG_BRIDGE_VLAN_FILTERING) runs in the stock-kernel
VM (tests/stockvm.py), not here."""

from __future__ import annotations

import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from netlab.pytest_plugin import LabFactory, LabHandle

from .hostcheck import netlab

EXERCISES = Path(__file__).resolve().parents[2] / "topologies" / "exercises"
NAMES = sorted(d.name for d in EXERCISES.iterdir() if (d / "topology.yaml").is_file())
BY_COMMANDS = [n for n in NAMES if n != "tun-program"]
NEEDS_KERNEL = "needs-kernel"  # in an exercise's folder: the kernel options it needs
NEEDY = [n for n in BY_COMMANDS if (EXERCISES / n / NEEDS_KERNEL).is_file()]
# Exercises on what this kernel lacks run in the stock-kernel VM (tests/stockvm.py).
STOCK_KERNEL = {"vrf-customers", *NEEDY}
FAILING_RUN = 2.0  # seconds a check may try before the shipped lab counts as failing it


def solution_commands(path: Path) -> list[list[str]]:
    """The `netlab exec NODE -- CMD...` and `netlab service ...` lines of the ```sh blocks
    of a solution.md, as netlab's arguments (`exec NODE -- CMD...`)."""
    commands = []
    for block in re.findall(r"```sh\n(.*?)```", path.read_text(), re.S):
        for line in block.splitlines():
            words = shlex.split(line, comments=True)
            if words[:2] == ["netlab", "exec"]:
                assert words[3] == "--", line
            if words[:2] in (["netlab", "exec"], ["netlab", "service"]):
                commands.append(words[1:])
    return commands


def apply(lab: LabHandle, command: list[str]) -> None:
    if command[0] == "exec":
        done = lab.exec(command[1], command[3:])
        assert done.returncode == 0, (command, done.stderr)
    else:
        netlab(command[0], "-l", lab.name, *command[1:])


def test_there_are_five_exercises_each_with_a_readme() -> None:
    assert len(NAMES) >= 5
    for name in NAMES:
        readme = (EXERCISES / name / "README.md").read_text()
        assert "netlab test topology.yaml" in readme, name
        assert (EXERCISES / name / "solution.md").is_file(), name
    for name in BY_COMMANDS:
        assert solution_commands(EXERCISES / name / "solution.md"), name


def kernel_options(name: str) -> list[str]:
    """The kernel options an exercise's needs-kernel file names (its non-comment lines)."""
    text = (EXERCISES / name / NEEDS_KERNEL).read_text()
    return [w for line in text.splitlines() if (w := line.split("#")[0].strip())]


def test_a_kernel_needy_exercise_names_what_it_needs() -> None:
    assert "vlan-trunk" in NEEDY
    for name in NEEDY:
        options = kernel_options(name)
        assert options and all(o.startswith("CONFIG_") for o in options), name
        readme = (EXERCISES / name / "README.md").read_text()
        assert all(o in readme for o in options), f"{name}: its README names what it needs"


@pytest.mark.parametrize("name", [
    pytest.param(n, marks=pytest.mark.stock_kernel) if n in STOCK_KERNEL else n
    for n in BY_COMMANDS])
def test_exercise_fails_as_shipped_and_passes_when_solved(
    netlab_lab: LabFactory, name: str
) -> None:
    lab = solve_exercise(netlab_lab, name)
    if name == "vlan-trunk":  # solved by hand: the status tells the lab from the file
        drift = lab.status()["drift"]
        assert [d.split(" is ")[0] for d in drift] == ["floor1: port uplink",
                                                        "floor2: port uplink"], drift


def solve_exercise(netlab_lab: LabFactory, name: str) -> LabHandle:
    lab = netlab_lab(EXERCISES / name / "topology.yaml")
    shipped = lab.run_checks(timeout=FAILING_RUN)
    assert not shipped.ok, f"{name}: the checks pass before it is solved"
    for command in solution_commands(EXERCISES / name / "solution.md"):
        apply(lab, command)
    solved = lab.run_checks()
    assert solved.ok, solved.summary()
    return lab


def test_tun_exercise_passes_only_while_its_program_runs(netlab_lab: LabFactory) -> None:
    folder = EXERCISES / "tun-program"
    lab = netlab_lab(folder / "topology.yaml")
    assert not lab.run_checks(timeout=FAILING_RUN).ok
    # As README.md and solution.md say: netlab exec gw -- python3 "$PWD/tun_echo.py" (a
    # node's commands run in the node's folder, so the path is the exercise folder's).
    program = subprocess.Popen(
        [sys.executable, "-m", "netlab", "exec", "-l", lab.name, "gw", "--", "python3",
         str(folder / "tun_echo.py"), "tun0", "-q"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=folder,
    )
    try:
        assert program.stdout is not None
        first = program.stdout.readline()
        assert first.startswith("attached to tun0"), (first, program.stderr)
        running = lab.run_checks()
        assert running.ok, running.summary()
    finally:
        program.terminate()
        program.wait(timeout=10)
    stopped = lab.run_checks(timeout=FAILING_RUN)
    assert not stopped.ok
    assert {r.name for r in stopped.failed} == {r.name for r in stopped.results}
