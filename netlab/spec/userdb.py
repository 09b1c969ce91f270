"""The host's user and group database, the one thing besides the file that loading,
checking and planning a topology consult (tun/tap and file owners, services' users).

Every answer goes through here so that the plan cache (lab/plancache.py) can record the
lookups a miss made and ask them again on a hit: a user who has since gone, or changed
uid, makes the cached plan stale."""

from __future__ import annotations

import grp
import pwd

# (function, argument, answer) of each lookup since recording() began; None: not recording.
_recorded: list[tuple[str, str | int, int | None]] | None = None


def user_id(name: str) -> int | None:
    """The uid of user `name`, None when there is no such user."""
    try:
        answer: int | None = pwd.getpwnam(name).pw_uid
    except KeyError:
        answer = None
    _note("user", name, answer)
    return answer


def group_id(name: str) -> int | None:
    """The gid of group `name`, None when there is no such group."""
    try:
        answer: int | None = grp.getgrnam(name).gr_gid
    except KeyError:
        answer = None
    _note("group", name, answer)
    return answer


def primary_group(uid: int) -> int | None:
    """The gid of user `uid`'s own group, None when no user has that uid."""
    try:
        answer: int | None = int(pwd.getpwuid(uid).pw_gid)
    except KeyError:
        answer = None
    _note("primary", uid, answer)
    return answer


ASK = {"user": user_id, "group": group_id, "primary": primary_group}


def _note(function: str, argument: str | int, answer: int | None) -> None:
    if _recorded is not None:
        _recorded.append((function, argument, answer))


def start_recording() -> None:
    global _recorded
    _recorded = []


def stop_recording() -> list[tuple[str, str | int, int | None]]:
    """The lookups made since start_recording(), each once, in the order first made."""
    global _recorded
    made, _recorded = _recorded or [], None
    return list(dict.fromkeys(made))


def same_answers(lookups: list[tuple[str, str | int, int | None]]) -> bool:
    """Whether each lookup gets the answer it got when recorded."""
    return all(ASK[function](argument) == answer  # type: ignore[operator]
               for function, argument, answer in lookups)
