"""User and group names -> ids, for tun/tap owners and services. Reads the user database."""

from __future__ import annotations

import grp
import pwd

from netlab.errors import InputError


def uid(owner: int | str | None) -> int | None:
    if owner is None or isinstance(owner, int):
        return owner
    try:
        return pwd.getpwnam(owner).pw_uid
    except KeyError:  # validation saw it; it has gone since (a lab's stored topology)
        raise InputError(f"user '{owner}' does not exist on this machine") from None


def gid(group: int | str | None) -> int | None:
    if group is None or isinstance(group, int):
        return group
    try:
        return grp.getgrnam(group).gr_gid
    except KeyError:
        raise InputError(f"group '{group}' does not exist on this machine") from None


def primary_gid(user: int) -> int:
    """The user's own group (a file owned by `owner:` alone gets it); the uid if unknown."""
    try:
        return int(pwd.getpwuid(user).pw_gid)
    except KeyError:
        return user
