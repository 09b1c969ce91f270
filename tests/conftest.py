"""Suite-wide guards: integration tests need root; nothing netlab makes may outlive the suite."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

# The stock-kernel VM: tests marked stock_kernel run there (tests/stockvm.py).
pytest_plugins = ["tests.stockvm"]

ROOT = Path(__file__).resolve().parent.parent
TOPOLOGIES = sorted((ROOT / "topologies").glob("*.yaml"))


# Local runs beside a benchmark or another developer's suite may list those runs' prefixes
# here (comma-separated, e.g. "netlab-kb") so the leak check does not blame this suite.
# CI sets nothing: there, every netlab namespace counts.
_IGNORED = tuple(p for p in os.environ.get("NETLAB_LEAKCHECK_IGNORE", "").split(",") if p)


def netlab_namespaces(prefix: str = "netlab-", folder: str = "/run/netns") -> set[str]:
    """Named network namespaces with that prefix; with folder /run/netlab-ns, the pins of
    nodes' mount and UTS namespaces (NAME.mnt, NAME.uts: kernel/nodehost.py)."""
    try:
        names = os.listdir(folder)
    except FileNotFoundError:
        return set()
    return {n for n in names if n.startswith(prefix) and not (_IGNORED and n.startswith(_IGNORED))}


def marked_host_links() -> set[str]:
    """Interfaces in the host namespace that carry a netlab mark (alias netlab:<lab>)."""
    out = subprocess.run(
        ["ip", "-o", "link", "show"], capture_output=True, text=True, check=False
    ).stdout
    return {line.split(":")[1].strip() for line in out.splitlines() if "alias netlab:" in line}


def host_links() -> set[str]:
    out = subprocess.run(
        ["ip", "-o", "link", "show"], capture_output=True, text=True, check=False
    ).stdout
    return {line.split(":")[1].strip().split("@")[0] for line in out.splitlines()}


@pytest.fixture(scope="session", autouse=True)
def nothing_left_behind() -> Iterator[None]:
    """Whatever the suite made, the suite removed: no netlab namespace or marked link."""
    pins = "/run/netlab-ns"
    before_ns, before_links = netlab_namespaces(), marked_host_links()
    before_pins = netlab_namespaces(folder=pins)
    yield
    leaked_pins = netlab_namespaces(folder=pins) - before_pins
    assert not leaked_pins, f"{len(leaked_pins)} mount/uts pins left: {sorted(leaked_pins)[:8]}"
    leaked_ns = netlab_namespaces() - before_ns
    leaked_links = marked_host_links() - before_links
    assert not leaked_ns, f"{len(leaked_ns)} namespaces left behind: {sorted(leaked_ns)[:8]}"
    assert not leaked_links, f"host interfaces left behind: {sorted(leaked_links)[:8]}"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    # Integration tests build real namespaces. Without root they cannot run at all; in CI
    # (always root) that would be a broken setup, so there they fail instead of skipping.
    if os.geteuid() == 0:
        return
    if os.environ.get("CI"):
        raise pytest.UsageError("the integration tests need root, and CI runs as root")
    skip = pytest.mark.skip(reason="needs root: real namespaces (run the suite with sudo)")
    for item in items:
        if "integration" in str(item.fspath):
            item.add_marker(skip)
