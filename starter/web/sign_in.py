"""Back where one was after signing in: a page that needs a session sends the signed-out reader
to ``/login?next=<the page>``, and the login returns there. Only a path of this site is
followed, so a link cannot make the login send anyone elsewhere (no open redirect)."""

from __future__ import annotations

from urllib.parse import urlencode, urlsplit

from fastapi import Request
from fastapi.responses import RedirectResponse

NEXT_MAX = 2000


class SignInFirst(Exception):
    """Raised by a page for a signed-out reader: the app answers with a redirect to sign in."""

    def __init__(self, request: Request) -> None:
        super().__init__("sign in first")
        self.url = sign_in_url(request)


def safe_next(value: str | None) -> str | None:
    """``value`` if it is a relative path of this site (one ``/`` first, no scheme, no host),
    else None. ``//host`` and ``/\\host`` are another site to a browser."""
    if not value or len(value) > NEXT_MAX or not value.startswith("/"):
        return None
    if value.startswith("//") or "\\" in value or any(ord(c) < 32 or c == "\x7f" for c in value):
        return None
    parts = urlsplit(value)
    if parts.scheme or parts.netloc:
        return None
    return value


def sign_in_url(request: Request) -> str:
    """The login page, told to come back to this page."""
    here = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return f"/login?{urlencode({'next': here})}" if safe_next(here) else "/login"


def to_sign_in(request: Request) -> RedirectResponse:
    return RedirectResponse(sign_in_url(request), status_code=303)
