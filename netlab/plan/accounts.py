"""User and group names -> ids, for tun/tap owners and services. Reads the user database."""

from __future__ import annotations

from netlab.errors import InputError
from netlab.spec import userdb


def uid(owner: int | str | None) -> int | None:
    if owner is None or isinstance(owner, int):
        return owner
    found = userdb.user_id(owner)
    if found is None:  # validation saw it; it has gone since (a lab's stored topology)
        raise InputError(f"user '{owner}' does not exist on this machine")
    return found


def gid(group: int | str | None) -> int | None:
    if group is None or isinstance(group, int):
        return group
    found = userdb.group_id(group)
    if found is None:
        raise InputError(f"group '{group}' does not exist on this machine")
    return found


def primary_gid(user: int) -> int:
    """The user's own group (a file owned by `owner:` alone gets it); the uid if unknown."""
    found = userdb.primary_group(user)
    return user if found is None else found
