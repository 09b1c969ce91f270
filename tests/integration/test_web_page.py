"""The page of `netlab web` in a real browser (Debian's chromium, headless, driven by
Playwright; it never downloads a browser of its own) against the hello lab: every node
drawn, a click on a link takes the kernel's link down (and up again), a node's terminal
runs a command in the node, and the page logs no error. One browser for the module."""

from __future__ import annotations

import json
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import BrowserContext, ConsoleMessage, Page, expect, sync_playwright

from netlab.kernel.processes import pids_in
from netlab.pytest_plugin import LabFactory, LabHandle

from .webserver import Server, web_server

HELLO = Path(__file__).parents[2] / "topologies" / "hello.yaml"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu",
                  "--disable-background-networking", "--disable-component-update",
                  "--disable-sync", "--no-first-run"]


@pytest.fixture(scope="module")
def lab(netlab_lab_module: LabFactory) -> LabHandle:
    """The hello lab, with its checks to run from the page."""
    return netlab_lab_module(HELLO)


@pytest.fixture(scope="module")
def server(lab: LabHandle) -> Iterator[Server]:
    with web_server("-l", lab.name) as running:
        yield running


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BrowserContext]:
    """One chromium for the module, with a fresh profile (--user-data-dir)."""
    profile = tmp_path_factory.mktemp("chromium-profile")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch_persistent_context(
            str(profile), executable_path=CHROMIUM, args=CHROMIUM_FLAGS,
            viewport={"width": 1400, "height": 900},
        )
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture
def page(browser: BrowserContext, server: Server) -> Iterator[Page]:
    """The lab's page, open; at the end, the page must have logged no error."""
    tab = browser.new_page()
    errors: list[str] = []

    def on_console(message: ConsoleMessage) -> None:
        if message.type == "error":
            errors.append(message.text)
    tab.on("console", on_console)
    tab.on("pageerror", lambda error: errors.append(str(error)))
    tab.goto(server.url)
    try:
        yield tab
    finally:
        tab.close()
    assert errors == []


def admin_state(lab: LabHandle, node: str, ifname: str) -> str:
    out = subprocess.run(["ip", "-n", lab.namespace(node), "-j", "link", "show", ifname],
                         capture_output=True, text=True, check=True).stdout
    return "UP" if "UP" in json.loads(out)[0]["flags"] else "DOWN"


def wait_for(what: str, condition: object, seconds: float = 15) -> None:
    """Poll the kernel until `condition()` holds (bounded, not a measure of time)."""
    deadline = time.monotonic() + seconds
    while not condition():  # type: ignore[operator]
        assert time.monotonic() < deadline, f"never happened: {what}"
        time.sleep(0.05)


def test_every_node_is_drawn(page: Page, lab: LabHandle) -> None:
    nodes = page.locator("svg#graph [data-node]")
    expect(nodes).to_have_count(len(lab.lab.topology.nodes))
    drawn = {nodes.nth(i).get_attribute("data-node") for i in range(nodes.count())}
    assert drawn == set(lab.lab.topology.nodes)
    expect(page.locator('[data-node="sw1"]')).to_have_attribute("data-kind", "switch")
    expect(page.locator("svg#graph g.link")).to_have_count(len(lab.lab.topology.links))
    expect(page.locator("#live")).to_have_text("live")
    # The token left the address bar once its cookie was set.
    assert "token" not in page.url


def test_a_click_on_a_link_takes_it_down_and_up(page: Page, lab: LabHandle) -> None:
    link = page.locator('g.link[data-link="r1:eth1 h3:eth0"]')
    expect(link).to_have_attribute("data-state", "up")
    try:
        link.click()
        wait_for("r1:eth1 down in the kernel", lambda: admin_state(lab, "r1", "eth1") == "DOWN")
        expect(link).to_have_attribute("data-state", "down")
        # A link down that the topology has up is drift: counted, listed, the node ringed.
        expect(page.locator("#drift")).to_contain_text("r1: eth1 is administratively down")
        expect(page.locator("#drift-count")).to_be_visible()
        expect(page.locator('[data-node="r1"]')).to_have_class("node kind-router drift")
        link.click()
        wait_for("r1:eth1 up in the kernel", lambda: admin_state(lab, "r1", "eth1") == "UP")
        expect(link).to_have_attribute("data-state", "up")
        expect(page.locator("#drift-count")).to_be_hidden()
    finally:
        lab.link("r1:eth1").up()


def test_a_terminal_runs_a_command_in_the_node(page: Page, lab: LabHandle) -> None:
    ns = lab.namespace("h1")
    before = set(pids_in(ns))
    page.locator('[data-node="h1"]').click()
    expect(page.locator("#details h2")).to_contain_text("h1")
    page.get_by_role("button", name="terminal").click()
    screen = page.locator('[data-terminal="h1"] .xterm-rows')
    expect(screen).to_be_visible()
    page.locator('[data-terminal="h1"] .xterm-helper-textarea').focus()
    page.keyboard.type("ip -br a show eth0\n")
    expect(screen).to_contain_text("10.0.1.1/24", timeout=15_000)
    shells = set(pids_in(ns)) - before
    assert shells, "no shell ran in the node"
    page.locator("#terminal-tabs .close").click()
    wait_for("the shell ended with its terminal", lambda: not set(pids_in(ns)) & shells)


def test_a_nodes_details(page: Page, lab: LabHandle) -> None:
    page.locator('[data-node="r1"]').click()
    details = page.locator("#details")
    expect(details.locator('tr[data-iface="tun0"]')).to_contain_text("10.8.0.1/24")
    pcap = details.locator('tr[data-iface="eth1"] a', has_text="pcap")
    assert "/api/capture/r1%3Aeth1" in (pcap.get_attribute("href") or "")


def test_the_checks_run_from_the_page(page: Page, lab: LabHandle) -> None:
    total = len(lab.lab.topology.checks)
    assert total >= 2
    page.get_by_role("button", name="run checks").click()
    checks = page.locator("#checks")
    expect(checks).to_contain_text(f"all {total} checks passed", timeout=30_000)
    expect(checks.locator("td.pass")).to_have_count(total)


def test_ping_all_from_the_page(page: Page, lab: LabHandle) -> None:
    """hello's four nodes with addresses: six pairs, each one answers."""
    page.get_by_role("button", name="ping all").click()
    checks = page.locator("#checks")
    expect(checks).to_contain_text("all 6 checks passed", timeout=30_000)
    expect(checks.locator("td.pass")).to_have_count(6)
    expect(checks).to_contain_text("h1 reaches h3 (10.0.2.1)")
