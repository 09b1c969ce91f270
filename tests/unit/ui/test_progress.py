"""Progress bars: on a terminal only, and only for work that lasts more than a second."""

from __future__ import annotations

import io
import time

import pytest
from rich.console import Console

from netlab.ui import common


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def terminal(monkeypatch: pytest.MonkeyPatch) -> io.StringIO:
    screen = io.StringIO()
    console = Console(file=screen, force_terminal=True, width=80)
    monkeypatch.setattr(common, "err", console)
    return screen


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    fake = Clock()
    monkeypatch.setattr(time, "monotonic", fake)
    return fake


def test_no_bar_for_work_shorter_than_a_second(terminal: io.StringIO, clock: Clock) -> None:
    with common.progress(100, "up lab", True) as advance:
        assert advance is not None
        for n in range(1, 101):
            clock.now += 0.005
            advance(n)
    assert terminal.getvalue() == ""


def test_a_bar_once_work_lasts_a_second(terminal: io.StringIO, clock: Clock) -> None:
    with common.progress(100, "up lab", True) as advance:
        assert advance is not None
        for n in range(1, 101):
            clock.now += 0.05
            advance(n)
    assert "up lab" in terminal.getvalue()


def test_a_total_told_on_the_way(terminal: io.StringIO, clock: Clock) -> None:
    with common.progress(0, "down lab", True) as advance:
        assert advance is not None
        clock.now += 2
        advance(1, 40)
        advance(40, 40)
    assert "down lab" in terminal.getvalue()


def test_none_when_disabled_or_not_a_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    with common.progress(100, "up lab", False) as advance:
        assert advance is None
    monkeypatch.setattr(common, "err", Console(file=io.StringIO(), force_terminal=False))
    with common.progress(100, "up lab", True) as advance:
        assert advance is None
