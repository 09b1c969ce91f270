"""The screenshot of docs/web.md: the page of a lab that is up, a node selected and a
terminal open in it, taken with Debian's chromium (headless).

    netlab up topologies/hello.yaml
    netlab web -l hello &            # prints the URL
    .venv/bin/python scripts/web_screenshot.py URL docs/web.png
"""

from __future__ import annotations

import sys
import tempfile

from playwright.sync_api import expect, sync_playwright

FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run"]


def main(url: str, out: str, node: str = "r1", terminal: str = "h1") -> None:
    with tempfile.TemporaryDirectory() as profile, sync_playwright() as playwright:
        browser = playwright.chromium.launch_persistent_context(
            profile, executable_path="/usr/bin/chromium", args=FLAGS,
            viewport={"width": 1400, "height": 860}, device_scale_factor=1,
        )
        page = browser.new_page()
        page.goto(url)
        expect(page.locator("#live")).to_have_text("live")
        page.locator(f'[data-node="{terminal}"]').click()
        page.get_by_role("button", name="terminal").click()
        page.locator(f'[data-terminal="{terminal}"] .xterm-helper-textarea').focus()
        page.keyboard.type("ip -br a; ip route\n")
        expect(page.locator(f'[data-terminal="{terminal}"] .xterm-rows')).to_contain_text(
            "default via", timeout=15_000)
        page.locator(f'[data-node="{node}"]').click()
        page.wait_for_timeout(1000)  # a live update or two: the counters move
        page.screenshot(path=out)
        browser.close()


if __name__ == "__main__":
    main(*sys.argv[1:])
