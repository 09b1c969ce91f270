"""The stock kernel: tests marked `stock_kernel` need what this machine's kernel lacks (netem,
802.1Q, VRF, bonding: KERNEL.md). On the host they run inside a stock Debian kernel booted
once under QEMU with virtme-ng, which shares this machine's files (the checkout, its .venv)
with the VM; each such test on the host then reports the VM's verdict for itself (passed,
failed with the VM's traceback, or skipped with the VM's reason).

The VM runs after the rest of the suite, in one boot, for all the stock_kernel tests this
session selected. Where no VM can start (no QEMU, no Debian kernel image, no vng), each of
them is skipped with that reason, and the summary says so in one line.

NETLAB_STOCK_KERNEL=here runs them on this kernel instead (inside the VM, or on a machine
whose own kernel is a stock one)."""

from __future__ import annotations

import contextlib
import glob
import json
import os
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

MARK = "stock_kernel"
HERE_ENV = "NETLAB_STOCK_KERNEL"  # "here": run the stock_kernel tests on this kernel
REPORT_ENV = "NETLAB_VM_REPORT"  # inside the VM: the file each test's verdict goes to
VM_BUDGET = 900  # seconds for boot and tests together; a hung VM fails, it does not hang CI
VM_MEMORY = "1G"
TEST_TIMEOUT = 600  # seconds per test inside the VM


def _debian_kernel() -> str | None:
    """The newest Debian stock kernel image installed (linux-image-amd64 puts it in /boot)."""
    images = sorted(glob.glob("/boot/vmlinuz-*-amd64"))
    return images[-1] if images else None


def _vm_missing() -> str | None:
    """Why no VM can start here, or None."""
    if shutil.which("qemu-system-x86_64") is None:
        return "no QEMU (qemu-system-x86_64; Debian qemu-system-x86)"
    if _debian_kernel() is None:
        return "no stock kernel image (/boot/vmlinuz-*-amd64; Debian linux-image-amd64)"
    if shutil.which("busybox") is None:
        return "no busybox (Debian busybox-static), which virtme-ng's VM needs"
    if not (Path(sys.executable).parent / "vng").exists():
        return "no virtme-ng (vng) beside this Python (pip install virtme-ng)"
    return None


@dataclass
class Verdict:
    outcome: str  # passed, failed, skipped
    text: str = ""  # the failure's traceback or the skip's reason


@dataclass
class VMRun:
    """The one VM run of this session: started by the first verdict asked for."""

    nodeids: list[str]
    root: Path
    verdicts: dict[str, Verdict] | None = None
    problem: str | None = None  # why the VM gave no verdicts at all
    summary: str = ""
    log_tail: list[str] = field(default_factory=list)

    def verdict(self, nodeid: str) -> Verdict:
        if self.verdicts is None and self.problem is None:
            self._run()
        if self.problem is not None:
            return Verdict("failed", self.problem)
        assert self.verdicts is not None
        return self.verdicts.get(nodeid) or Verdict(
            "failed", "the VM ran no such test\n" + "\n".join(self.log_tail))

    def _run(self) -> None:
        kernel = _debian_kernel()
        assert kernel is not None
        work = Path(tempfile.mkdtemp(prefix="netlab-vm-"))
        report, log = work / "report.json", work / "pytest.log"
        # A script in a folder the VM may write: no command line grows with the tests, and
        # every path is absolute (the checkout may be anywhere; the VM sees the same files).
        script = work / "run.sh"
        script.write_text("\n".join([
            f"cd {shlex.quote(str(self.root))}",
            f"export {HERE_ENV}=here {REPORT_ENV}={shlex.quote(str(report))}",
            # The checkout is read-only in the VM: no cache, no bytecode written.
            "export PYTHONDONTWRITEBYTECODE=1",
            # Emulation is 5-10x slower: each test gets 5x the suite's time (the VM's budget
            # still bounds them all).
            f"{shlex.quote(sys.executable)} -m pytest -p no:cacheprovider -q -m {MARK} "
            f"-o timeout={TEST_TIMEOUT} "
            + " ".join(shlex.quote(n) for n in self.nodeids)
            + f" >{shlex.quote(str(log))} 2>&1",
            "",
        ]))
        env = dict(os.environ)
        env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
        # /dev/kvm exists on these nested machines but QEMU with KVM hangs at boot:
        # software emulation is slower (5-10x) and works everywhere.
        command = [str(Path(sys.executable).parent / "vng"), "--disable-kvm", "-r", kernel,
                   "--user", "root", "--memory", VM_MEMORY, "--rwdir", str(work),
                   "--exec", f"sh {shlex.quote(str(script))}"]
        started = time.monotonic()
        vm_output = _run_in_own_group(command, env)
        took = time.monotonic() - started
        lines = log.read_text(errors="replace").splitlines() if log.exists() else vm_output
        self.log_tail = lines[-30:]
        if not report.exists():
            self.problem = (f"the stock-kernel VM ({Path(kernel).name}) gave no verdicts "
                            f"after {took:.0f} s:\n" + "\n".join(self.log_tail))
        else:
            raw: dict[str, Any] = json.loads(report.read_text())
            self.verdicts = {k: Verdict(**v) for k, v in raw["verdicts"].items()}
            self.summary = (f"stock kernel {raw['kernel']} (one VM boot, {took:.0f} s): "
                            f"{lines[-1].strip('= ') if lines else ''}")
        shutil.rmtree(work, ignore_errors=True)


def _run_in_own_group(command: list[str], env: dict[str, str]) -> list[str]:
    """Run vng (and the QEMU it starts) in a process group of its own, and end the whole
    group however the wait ends: done, over budget, Ctrl-C, pytest-timeout, or a SIGTERM
    to this pytest (which would otherwise leave QEMU running without it)."""
    vm = subprocess.Popen(command, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, text=True, start_new_session=True)

    def terminated(signum: int, frame: object) -> None:
        raise KeyboardInterrupt(f"signal {signum}")

    main = threading.current_thread() is threading.main_thread()
    before = signal.signal(signal.SIGTERM, terminated) if main else None
    try:
        out, _ = vm.communicate(timeout=VM_BUDGET)
        return out.splitlines()
    except subprocess.TimeoutExpired:
        return [f"the VM did not finish within {VM_BUDGET} s"]
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(vm.pid, signal.SIGKILL)
        vm.wait()
        if main:
            signal.signal(signal.SIGTERM, before)


class VMVerdict(pytest.Item):
    """A stock_kernel test as the host sees it: the VM's verdict on it."""

    def __init__(self, *, vm: VMRun, original: pytest.Item, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.vm = vm
        self.original = original
        self.own_markers.extend(original.own_markers)
        self.add_marker(pytest.mark.timeout(VM_BUDGET + 60))

    def runtest(self) -> None:
        verdict = self.vm.verdict(self.nodeid)
        if verdict.outcome == "skipped":
            pytest.skip(f"in the stock-kernel VM: {verdict.text}")
        if verdict.outcome == "failed":
            raise VMFailed(verdict.text)

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException],
                     style: Any = None) -> str:
        if isinstance(excinfo.value, VMFailed):
            return f"in the stock-kernel VM:\n{excinfo.value}"
        return str(super().repr_failure(excinfo, style))

    def reportinfo(self) -> tuple[Any, int | None, str]:
        return self.original.reportinfo()


class VMFailed(Exception):
    pass


_missing_key = pytest.StashKey[tuple[str, int]]()
_vm_key = pytest.StashKey[VMRun]()


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if os.environ.get(HERE_ENV) == "here":
        return  # they run for real, on this kernel
    stock = [item for item in items if item.get_closest_marker(MARK)]
    if not stock:
        return
    missing = _vm_missing()
    if missing is not None:
        config.stash[_missing_key] = (missing, len(stock))
        skip = pytest.mark.skip(reason=f"needs a stock kernel and no VM can start: {missing}")
        for item in stock:
            item.add_marker(skip)
        return
    vm = VMRun([item.nodeid for item in stock], config.rootpath)
    config.stash[_vm_key] = vm
    verdicts = [VMVerdict.from_parent(item.parent, name=item.name, vm=vm, original=item)
                for item in stock]
    # After the rest of the suite: the VM then has both cores of a machine gone quiet.
    items[:] = [item for item in items if not item.get_closest_marker(MARK)] + verdicts


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    if _missing_key in config.stash:
        missing, count = config.stash[_missing_key]
        terminalreporter.write_line(
            f"{count} stock_kernel tests skipped: no VM can start here: {missing}")
    elif _vm_key in config.stash and config.stash[_vm_key].summary:
        terminalreporter.write_line(config.stash[_vm_key].summary)


# --- inside the VM: each test's verdict, for the host ----------------------------------------
_verdicts: dict[str, Verdict] = {}


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if REPORT_ENV not in os.environ:
        return
    seen = _verdicts.get(report.nodeid)
    if report.failed:
        _verdicts[report.nodeid] = Verdict("failed", f"({report.when}) {report.longreprtext}")
    elif report.skipped and (seen is None or seen.outcome == "passed"):
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(
            report.longrepr)
        _verdicts[report.nodeid] = Verdict("skipped", reason.removeprefix("Skipped: "))
    elif seen is None:
        _verdicts[report.nodeid] = Verdict("passed")


def pytest_sessionfinish(session: pytest.Session) -> None:
    target = os.environ.get(REPORT_ENV)
    if target is None:
        return
    verdicts = {k: {"outcome": v.outcome, "text": v.text} for k, v in _verdicts.items()}
    Path(target).write_text(json.dumps({"kernel": os.uname().release, "verdicts": verdicts}))
