"""Hostile input: whatever a file, an option or the environment says, netlab answers in
one line per problem, exit 2, no traceback, and the host is as it was.

- every file of the golden corpus tests/bad/ through `up` (in-process);
- a 10 MB file, binary junk, lab names with '/', '..', spaces;
- sysctl keys outside net. or with '..', even when they reach the kernel in a forged plan
  or a forged journal entry;
- not root: an unprivileged user, and root without CAP_NET_ADMIN/CAP_SYS_ADMIN.
"""

from __future__ import annotations

import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from netlab.api import Lab
from netlab.engine import apply
from netlab.kernel.base import OpFailed
from netlab.lab.faults import FaultInjectingKernel
from netlab.plan import ops as o
from netlab.plan.naming import mark, namespace
from netlab.pytest_plugin import unique_name
from netlab.state.store import LabState, state_root
from netlab.ui.cli import main

from .hostcheck import HELLO, ROOT, Host, netlab

BAD = ROOT / "tests" / "bad"
CORPUS = sorted(BAD.glob("*.yaml"))


@pytest.fixture
def nothing_touched(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fail at once if bad input gets as far as the lock, the state or the kernel."""

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("bad input reached the lab's lock, state or the kernel")

    monkeypatch.setattr(LabState, "locked", refuse)
    monkeypatch.setattr(LabState, "write_meta", refuse)
    monkeypatch.setattr(FaultInjectingKernel, "__init__", refuse)


def _declared_name(path: Path) -> str | None:
    found = re.search(rb"^name:\s*([a-z0-9-]+)\s*$", path.read_bytes(), re.MULTILINE)
    return found.group(1).decode() if found else None


def _clean(stderr: str) -> None:
    assert "Traceback" not in stderr and "internal error" not in stderr, stderr


@pytest.mark.parametrize("path", CORPUS, ids=[p.stem for p in CORPUS])
def test_every_bad_file_is_refused_before_anything_is_touched(
    path: Path, nothing_touched: None, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    name = _declared_name(path)
    before = Host.of(name) if name else None
    monkeypatch.chdir(BAD)  # messages then name the file as the golden ones do
    code = main(["up", path.name])
    stderr = capsys.readouterr().err
    assert code == 2, stderr
    _clean(stderr)
    # One line per problem, exactly the golden text.
    assert stderr == path.with_suffix(".err").read_text()
    if name:
        assert Host.of(name) == before


def _run_up(path: Path | str, capsys: pytest.CaptureFixture[str], *extra: str) -> str:
    code = main(["up", str(path), *extra])
    stderr = capsys.readouterr().err
    assert code == 2, stderr
    _clean(stderr)
    return stderr


def test_ten_megabytes(tmp_path: Path, nothing_touched: None,
                       capsys: pytest.CaptureFixture[str]) -> None:
    big = tmp_path / "big.yaml"
    with big.open("w") as f:
        f.write("name: big\nnodes:\n")
        for i in range(250_000):
            f.write(f"  h{i}: {{interfaces: {{eth0: {{mtu: 1500}}}}}}\n")
    assert big.stat().st_size > 10_000_000
    started = time.monotonic()
    stderr = _run_up(big, capsys)
    assert stderr == f"{big}: the file is too large (over 1 MB); not parsing it\n"
    assert time.monotonic() - started < 5
    one_line = tmp_path / "one-line.yaml"
    one_line.write_text("name: " + "x" * 10_000_000)
    assert _run_up(one_line, capsys).count("\n") == 1


@pytest.mark.parametrize("seed", range(12))
def test_binary_junk(seed: int, tmp_path: Path, nothing_touched: None,
                     capsys: pytest.CaptureFixture[str]) -> None:
    rng = random.Random(seed)
    junk = tmp_path / "junk.yaml"
    size = rng.choice([1, 7, 100, 4096, 65536])
    data = bytes(rng.getrandbits(8) for _ in range(size))
    if seed % 3 == 0:
        data = data.replace(b"\0", b"")  # no NUL: the decoder and the parser get it
    junk.write_bytes(data)
    stderr = _run_up(junk, capsys)
    assert len(stderr.splitlines()) <= 20  # a line per problem, never a dump
    assert all(line.startswith(str(junk)) for line in stderr.splitlines()), stderr


@pytest.mark.parametrize("name", [
    "../etc", "a/b", "a b", "", ".", "..", "UPPER", "-x", "x-", "a\0b", "a\nb",
    "x" * 200, "netlab:x", "é",
])
def test_hostile_lab_names(name: str, nothing_touched: None,
                           capsys: pytest.CaptureFixture[str]) -> None:
    outside = Path("/run/etc"), state_root().parent / "etc" / "journal.jsonl"
    existed = [p.exists() for p in outside]
    stderr = _run_up(HELLO, capsys, f"--name={name}")
    assert stderr.startswith("error: "), stderr
    assert len([line for line in stderr.splitlines() if line.startswith("error:")]) == 1
    assert [p.exists() for p in outside] == existed


@pytest.mark.parametrize("command", [["down", "-l"], ["status", "-l"], ["cleanup", "-l"],
                                     ["exec", "-l"]])
def test_hostile_lab_names_elsewhere(command: list[str], capsys: pytest.CaptureFixture[str],
                                     nothing_touched: None) -> None:
    extra = ["h1", "--", "true"] if command[0] == "exec" else []
    code = main([*command, "../../etc", *extra])
    stderr = capsys.readouterr().err
    assert code == 2, stderr
    _clean(stderr)
    assert stderr.splitlines()[0] == "error: '../../etc' is not a valid lab name"


def test_hostile_overrides(nothing_touched: None, capsys: pytest.CaptureFixture[str]) -> None:
    for value in ['10.0.1"]}, "evil": {"x', "{{ ''.__class__.__mro__ }}", "1\nname: pwned",
                  "{% for x in range(10**9) %}{% endfor %}"]:
        _run_up(HELLO, capsys, "--set", f"lan={value}")


# --- sysctls, past the validation ---------------------------------------------------------

HOSTILE_SYSCTLS = [
    "kernel.hostname", "net/../kernel/hostname", "net.ipv4..ip_forward",
    "net.ipv4.conf.all.forwarding/../../../../kernel/hostname", "net.", ".net.ipv4.ip_forward",
    "net.ipv4.ip_forward\n", "net.ipv4.ip forward", "vm.drop_caches", "../../etc/passwd",
]


@pytest.fixture
def forged_lab() -> Iterator[str]:
    from .hostcheck import force_down

    name = unique_name("forged")
    try:
        yield name
    finally:
        force_down(name)


@pytest.mark.parametrize("key", HOSTILE_SYSCTLS)
def test_sysctl_outside_net_is_refused_by_the_kernel_too(key: str, forged_lab: str) -> None:
    """A forged plan (as if validation had been skipped) still cannot write outside net."""
    hostname = Path("/proc/sys/kernel/hostname").read_text()
    ns = namespace(forged_lab, "a")
    ops: list[o.Op] = [o.CreateNamespace(ns, alias=mark(forged_lab)),
                       o.SetSysctl(ns, key, "pwned")]
    before = Host.of(forged_lab)
    kernel = FaultInjectingKernel()
    try:
        with pytest.raises(OpFailed) as failure:
            apply(ops, kernel, LabState(forged_lab))
    finally:
        kernel.close()
    assert "refusing sysctl" in failure.value.reason or "invalid" in failure.value.reason
    assert "rolled back" in (failure.value.hint or "")
    assert Path("/proc/sys/kernel/hostname").read_text() == hostname
    assert Host.of(forged_lab) == before


def test_forged_journal_cannot_delete_a_foreign_namespace(forged_lab: str) -> None:
    """A journal that claims someone else's namespace: down refuses to delete it."""
    foreign = f"not-netlab-{forged_lab}"
    subprocess.run(["ip", "netns", "add", foreign], check=True)
    state = LabState(forged_lab)
    try:
        state.write_meta({"lab": forged_lab, "complete": True})
        state.begin(0, [o.CreateNamespace(foreign)])
        state.done(0)
        state.close()
        result = netlab("down", "-l", forged_lab, check=1)
        assert "not a netlab namespace" in result.stderr
        assert os.path.exists(f"/run/netns/{foreign}")
    finally:
        subprocess.run(["ip", "netns", "del", foreign], check=False)
        state.remove()


# --- not root -----------------------------------------------------------------------------

Run = Callable[..., subprocess.CompletedProcess[str]]


def _interpreter(env: dict[str, str]) -> str:
    """A Python of this version that user nobody may run (this one may live under /root)."""
    want = f"{sys.version_info.major}.{sys.version_info.minor}"
    for candidate in (sys.executable, shutil.which(f"python{want}"), f"/usr/bin/python{want}"):
        if not candidate:
            continue
        probe = subprocess.run(
            ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "--", candidate,
             "-c", "import sys; print(f'{sys.version_info.major}.{sys.version_info.minor}')"],
            capture_output=True, text=True, env=env, check=False,
        )
        if probe.returncode == 0 and probe.stdout.strip() == want:
            return candidate
    pytest.fail(f"no Python {want} that user nobody can run (needed for this test)")


@pytest.fixture(scope="module")
def as_nobody() -> Iterator[Run]:
    """Run netlab as user nobody: netlab and its dependencies copied where nobody can read
    them (the installed ones may sit under /root)."""
    probe = ("import sys, netlab.ui.cli, netlab.api, netlab.spec, netlab.plan.planner, "
             "netlab.ui.render, netlab.kernel.dumps, netlab.kernel.netlink, netlab.lab.status_doc; "
             "print('\\n'.join(sorted({getattr(m, '__file__', None) or '' for m in "
             "list(sys.modules.values())})))")
    files = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                           check=True, cwd="/").stdout.split()
    top = tempfile.mkdtemp(prefix="netlab-nobody-")
    os.chmod(top, 0o755)
    lib = Path(top) / "lib"
    lib.mkdir()
    copied: set[Path] = set()
    for file in files:
        if "site-packages" not in file and "dist-packages" not in file:
            continue
        rel = Path(file).relative_to(file[: file.index("-packages/") + len("-packages/")])
        source = Path(file[: file.index("-packages/") + len("-packages/")]) / rel.parts[0]
        if source in copied:
            continue
        copied.add(source)
        if source.is_dir():
            shutil.copytree(source, lib / rel.parts[0],
                            ignore=shutil.ignore_patterns("__pycache__", "tests"))
        else:
            shutil.copy2(source, lib / rel.parts[0])
    shutil.copytree(ROOT / "netlab", lib / "netlab",
                    ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy2(HELLO, Path(top) / "hello.yaml")
    for dirpath, dirnames, filenames in os.walk(top):
        for d in dirnames:
            os.chmod(os.path.join(dirpath, d), 0o755)
        for f in filenames:
            os.chmod(os.path.join(dirpath, f), 0o644)
    env = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "PYTHONPATH": str(lib),
           "HOME": "/nonexistent", "PYTHONDONTWRITEBYTECODE": "1", "LANG": "C.UTF-8"}
    python = _interpreter(env)

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "--", python,
             "-m", "netlab", *args],
            capture_output=True, text=True, env=env, cwd=top, timeout=60, check=False,
        )

    try:
        yield run
    finally:
        shutil.rmtree(top, ignore_errors=True)


def _privilege_line(result: subprocess.CompletedProcess[str]) -> None:
    assert result.returncode == 2, (result.returncode, result.stderr)
    _clean(result.stderr)
    lines = result.stderr.splitlines()
    assert len(lines) == 2, result.stderr  # what is wrong, and the hint
    assert lines[0].startswith("error: netlab needs root"), result.stderr
    assert "CAP_NET_ADMIN" in lines[0] and "CAP_SYS_ADMIN" in lines[0]
    assert lines[1] == "hint: run it with sudo, or grant CAP_NET_ADMIN and CAP_SYS_ADMIN"


def test_up_as_an_unprivileged_user(as_nobody: Run) -> None:
    lab = unique_name("nobody")
    before = Host.of(lab)
    _privilege_line(as_nobody("up", "hello.yaml", "--name", lab))
    assert Host.of(lab) == before
    # What needs no privilege still works.
    assert as_nobody("validate", "hello.yaml").returncode == 0
    assert as_nobody("plan", "hello.yaml").returncode == 0


@pytest.mark.parametrize("command", [["cleanup", "--dry-run"], ["status", "-l", "LAB"],
                                     ["down", "-l", "LAB"], ["exec", "-l", "LAB", "h1", "--",
                                                             "true"],
                                     ["ping", "-l", "LAB", "h1", "h2"], ["test", "-l", "LAB"]])
def test_other_commands_as_an_unprivileged_user(command: list[str], as_nobody: Run,
                                                fresh_lab: str) -> None:
    Lab.from_file(HELLO, name=fresh_lab).up()  # as root: something to look at or break
    result = as_nobody(*[fresh_lab if arg == "LAB" else arg for arg in command])
    _privilege_line(result)
    assert Lab.attach(fresh_lab).status()["drift"] == []  # untouched


def test_up_as_root_without_the_capabilities(fresh_lab: str) -> None:
    before = Host.of(fresh_lab)
    result = subprocess.run(
        ["setpriv", "--bounding-set=-net_admin,-sys_admin", "--inh-caps=-net_admin,-sys_admin",
         "--", sys.executable, "-m", "netlab", "up", str(HELLO), "--name", fresh_lab],
        capture_output=True, text=True, timeout=60, check=False,
    )
    _privilege_line(result)
    assert Host.of(fresh_lab) == before
