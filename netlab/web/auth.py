"""Who may talk to `netlab web`: whoever holds the random token printed with the URL, as
Jupyter does. It comes in the query (`?token=`, the printed URL), a cookie (set on the first
visit, so that the page's own requests and websockets carry it), or a header (scripts:
`Authorization: Bearer TOKEN` or `X-Netlab-Token: TOKEN`). Pure: no aiohttp here."""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Mapping
from urllib.parse import urlsplit

COOKIE = "netlab_token"
HEADER = "X-Netlab-Token"

OK = 200
UNAUTHORIZED = 401  # no token at all
FORBIDDEN = 403  # a wrong token, or a request from another site's page


def new_token() -> str:
    return secrets.token_urlsafe(24)


def presented(query: Mapping[str, str], cookies: Mapping[str, str],
              headers: Mapping[str, str]) -> str | None:
    """The token a request carries, if any (query first: a fresh URL beats an old cookie)."""
    bearer = headers.get("Authorization", "")
    scheme, _, value = bearer.partition(" ")
    for token in (query.get("token"), headers.get(HEADER),
                  value.strip() if scheme.lower() == "bearer" else None, cookies.get(COOKIE)):
        if token:
            return token
    return None


def verdict(expected: str, given: str | None) -> int:
    if not given:
        return UNAUTHORIZED
    return OK if hmac.compare_digest(expected.encode(), given.encode()) else FORBIDDEN


def same_origin(origin: str | None, host: str) -> bool:
    """A browser names the page that sent a request in Origin (websockets always): only
    the page we serve may use the API. A request without Origin (a script, a plain GET)
    is judged by its token alone."""
    if origin is None:
        return True
    return urlsplit(origin).netloc.lower() == host.lower()
