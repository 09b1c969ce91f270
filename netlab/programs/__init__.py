"""Userspace programs that sit in a lab's packet path on TUN/TAP devices.

They run inside a node (a service, or `netlab exec NODE -- python -m netlab.programs.X`),
and show what TUN and TAP exist for: a VPN daemon reading IP packets from a TUN fd, a
hypervisor-side switch reading Ethernet frames from TAP fds.
"""

import signal
import threading


def stop_on_signals() -> threading.Event:
    """An event set by SIGTERM or SIGINT: the programs' loops check it between reads, so
    they end cleanly (and print their counters) when netlab stops the service."""
    stop = threading.Event()

    def on_signal(signum: int, frame: object) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    return stop


def say(program: str, message: str) -> None:
    """One line of the program's own account (its log, when it runs as a service)."""
    print(f"{program}: {message}", flush=True)


class RateLimit:
    """Lets a message about the same thing through at most once per `interval` seconds, and
    counts the ones held back: a program that meets an error on every packet logs a line,
    not a flood."""

    def __init__(self, interval: float = 10.0) -> None:
        self.interval = interval
        self.last: dict[str, float] = {}
        self.held: dict[str, int] = {}

    def allow(self, key: str, now: float) -> int | None:
        """None if the message is held back; else how many were held back since the last."""
        last = self.last.get(key)
        if last is not None and now - last < self.interval:
            self.held[key] = self.held.get(key, 0) + 1
            return None
        self.last[key] = now
        return self.held.pop(key, 0)

    def forget(self, prefix: str) -> None:
        """The condition behind these keys is over: the next message about it is news."""
        for key in [k for k in self.last if k.startswith(prefix)]:
            del self.last[key]
            self.held.pop(key, None)
