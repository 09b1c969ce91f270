"""cli.main as a library call: it turns the garbage collector off for a command (as the
program it keeps it off to the end), and must hand an in-process caller its collector back."""

from __future__ import annotations

import gc
from pathlib import Path

import pytest

from netlab.ui.cli import main

HELLO = str(Path(__file__).resolve().parents[3] / "topologies" / "hello.yaml")


@pytest.mark.parametrize("argv", [["validate", HELLO], ["validate", "/nonexistent.yaml"],
                                  ["no-such-command"]])
def test_an_in_process_call_leaves_the_collector_as_it_was(argv: list[str]) -> None:
    assert gc.isenabled()
    main(argv)
    assert gc.isenabled()
    gc.disable()
    try:
        main(argv)
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_a_reader_that_goes_away_ends_the_command_quietly(tmp_path: Path) -> None:
    """`netlab plan --json | head`: no "internal error", no Python noise; 141 as SIGPIPE."""
    import subprocess
    import sys

    lines = ["name: big", "nodes:", "  sw: {kind: switch}"]
    lines += [f"  h{i}: {{interfaces: {{eth0: {{addresses: [10.9.{i // 250}.{i % 250 + 1}/16]}}}}}}"
              for i in range(400)]
    lines += ["links:"] + [f"  - [h{i}:eth0, sw]" for i in range(400)]
    topo = tmp_path / "big.yaml"
    topo.write_text("\n".join(lines) + "\n")
    proc = subprocess.Popen([sys.executable, "-m", "netlab", "plan", str(topo), "--json"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert proc.stdout is not None and proc.stderr is not None
    assert proc.stdout.read(10) == b'{"schema":'
    proc.stdout.close()  # as `head` does once it has what it wants
    stderr = proc.stderr.read().decode()
    assert proc.wait(timeout=60) == 141, stderr
    assert stderr == ""


@pytest.mark.parametrize("argv", [["validate", HELLO], ["plan", HELLO, "--json"], ["--help"]])
def test_output_to_a_full_device_is_said_in_one_line(argv: list[str]) -> None:
    """`netlab ... > /dev/full` (or a full disk): exit 1 with the device's answer, not an
    "internal error" or Python's traceback from the last flush."""
    import os
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED"}
    with open("/dev/full", "w") as full:
        done = subprocess.run([sys.executable, "-m", "netlab", *argv], stdout=full,
                              stderr=subprocess.PIPE, text=True, env=env, timeout=60)
    assert done.returncode == 1, done.stderr
    assert done.stderr.splitlines() == [
        "error: could not write: No space left on device",
        "hint: the output (or a file netlab writes) is on a full device"]


@pytest.mark.parametrize("delay", [0.12, 0.16, 0.2, 0.25, 0.3, 0.4])
def test_ctrl_c_at_any_moment_of_a_short_command_is_never_a_traceback(delay: float) -> None:
    """While Python loads netlab, while the command runs, and as it ends: 130 with one line,
    or the command's own exit if it was over; never a traceback or a death by SIGINT.
    (Python's own start, its first ~0.05 s, is Python's: a signal there is its to handle.)"""
    import signal
    import subprocess
    import sys
    import time

    proc = subprocess.Popen([sys.executable, "-m", "netlab", "validate", HELLO],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    time.sleep(delay)
    proc.send_signal(signal.SIGINT)
    _, stderr = proc.communicate(timeout=60)
    assert proc.returncode in (0, 130), (proc.returncode, stderr)
    assert "Traceback" not in stderr
    if proc.returncode == 130:
        # before the command began / while it ran
        assert stderr in ("error: interrupted\nhint: nothing was done\n",
                          "error: interrupted\n"), stderr


def test_a_ctrl_c_while_pydantic_loads_waits_until_it_has(tmp_path: Path) -> None:
    """pydantic made a KeyboardInterrupt raised while it built its validators into its own
    SchemaError ("internal error"), and pydantic_core's compiled part panicked: the modules
    named load whole, and the Ctrl-C is raised once they have."""
    import subprocess
    import sys

    (tmp_path / "slowmod.py").write_text(
        "import builtins, os, signal\n"
        "os.kill(os.getpid(), signal.SIGINT)\n"
        "builtins.reached_its_end = True\n"
    )
    script = (
        "import builtins, sys\n"
        f"sys.path.insert(0, {str(tmp_path)!r})\n"
        "from netlab.__main__ import _LoadedWhole\n"
        "if sys.argv[1] == 'guarded':\n"
        "    sys.meta_path.insert(0, _LoadedWhole(frozenset({'slowmod'})))\n"
        "try:\n"
        "    import slowmod\n"
        "except KeyboardInterrupt:\n"
        "    print('interrupted', getattr(builtins, 'reached_its_end', False))\n"
    )
    for how, seen in (("guarded", "interrupted True"), ("bare", "interrupted False")):
        run = subprocess.run([sys.executable, "-c", script, how], capture_output=True,
                             text=True, timeout=60)
        assert (run.returncode, run.stdout.strip()) == (0, seen), (how, run.stderr)


def test_validate_reads_stdin_as_up_does() -> None:
    """`netlab import lab.clab.yml | netlab validate -`: '-' is stdin for validate too (it was
    "-: no such file" while up, plan and graph read it)."""
    import subprocess
    import sys

    good = subprocess.run([sys.executable, "-m", "netlab", "validate", "-"], text=True,
                          input=Path(HELLO).read_text(), capture_output=True, timeout=60)
    assert (good.returncode, good.stdout) == (0, "<stdin>: ok: lab 'hello', 5 nodes, 4 links\n")
    bad = subprocess.run([sys.executable, "-m", "netlab", "validate", "-"], text=True,
                         input="name: x\nnodes: {a: {knd: router}}\n", capture_output=True,
                         timeout=60)
    assert bad.returncode == 2
    assert bad.stderr == "<stdin>:2: nodes.a: unknown key 'knd' (did you mean 'kind'?)\n"


def test_a_topology_from_stdin_without_checks_is_named_as_stdin() -> None:
    import subprocess
    import sys

    run = subprocess.run([sys.executable, "-m", "netlab", "test", "-"], text=True,
                         input="name: x\nnodes: {a: {}}\n", capture_output=True, timeout=60)
    assert run.returncode == 2
    assert run.stderr.startswith("error: <stdin> has no checks;"), run.stderr


def test_validate_json_is_the_size_or_every_problem(tmp_path: Path) -> None:
    """For CI: `netlab validate --json` says ok with the lab's size, or gives each problem
    with its file, line and path (the netlab.error/1 document), exit 2."""
    import json
    import subprocess
    import sys

    def validate(path: str) -> tuple[int, dict[str, object]]:
        run = subprocess.run([sys.executable, "-m", "netlab", "validate", path, "--json"],
                             capture_output=True, text=True, timeout=60)
        return run.returncode, json.loads(run.stdout)

    assert validate(HELLO) == (0, {"schema": "netlab.validate/1", "file": HELLO, "ok": True,
                                   "lab": "hello", "nodes": 5, "links": 4})
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: x\nnodes:\n  a: {knd: router}\n  b: {kind: ruoter}\n")
    code, doc = validate(str(bad))
    assert code == 2 and doc["schema"] == "netlab.error/1" and doc["exit_code"] == 2
    problems = doc["problems"]
    assert isinstance(problems, list)
    assert [(p["line"], p["path"]) for p in problems] == [(3, "nodes.a"), (4, "nodes.b.kind")]


def test_a_junit_file_that_cannot_be_written_is_said_before_any_check_runs(
    tmp_path: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    """(It was said after the lab had been brought up and every check had run.)"""
    out = tmp_path / "no-such-folder" / "results.xml"
    assert main(["test", HELLO, "--junit", str(out)]) == 2
    assert capsys.readouterr().err == f"error: cannot write {out}: its folder does not exist\n"


def test_plan_json_names_its_shape() -> None:
    """Every --json document starts with its schema's name and version (netlab.plan/1
    here; a script checks it before it reads on)."""
    import json
    import subprocess
    import sys

    run = subprocess.run([sys.executable, "-m", "netlab", "plan", HELLO, "--json"],
                         capture_output=True, text=True, timeout=60)
    doc = json.loads(run.stdout)
    assert run.returncode == 0 and list(doc)[:2] == ["schema", "lab"], doc
    assert doc["schema"] == "netlab.plan/1" and doc["ops"][0]["op"] == "create-namespace"
