"""The dashboard's browser session: signing in with the ``[server]`` token, and CSRF protection of its forms.

Signing in posts the token once; the answer sets ``dw_session``, an HttpOnly, SameSite=Strict cookie holding an HMAC of
the token (never the token itself), so changing the token signs every browser out. A bearer header works too.

Every form carries ``csrf``, a random value also kept in the ``dw_csrf`` cookie (SameSite=Strict); a write is refused
unless the two are equal and the request's ``Origin`` (or, without one, ``Referer``) is this server.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Mapping
from urllib.parse import parse_qs, urlsplit

from starlette.requests import Request
from starlette.responses import Response

from .endpoints import BadRequest
from .guards import read_body

__all__ = ["CSRF_COOKIE", "SESSION_COOKIE", "Form", "csrf_token", "read_form", "safe_next", "session_value",
           "set_cookies", "signed_in", "write_refusal"]

SESSION_COOKIE = "dw_session"
CSRF_COOKIE = "dw_csrf"
FORM_LIMIT = 64 * 1024
Form = Mapping[str, str]


def session_value(token: str) -> str:
    """What the session cookie holds for ``token``."""
    return hmac.new(token.encode(), b"deploywatch dashboard session v1", hashlib.sha256).hexdigest()


def _bearer(request: Request) -> str | None:
    scheme, _, value = request.headers.get("authorization", "").partition(" ")
    return value.strip() if scheme.lower() == "bearer" and value.strip() else None


def signed_in(token: str | None, request: Request) -> bool:
    """True when the request carries the session cookie of ``token`` or the token as a bearer header."""
    if token is None:
        return False
    given = _bearer(request)
    if given is not None:
        return hmac.compare_digest(given.encode(), token.encode())
    cookie = request.cookies.get(SESSION_COOKIE, "")
    return hmac.compare_digest(cookie.encode(), session_value(token).encode())


def csrf_token(request: Request) -> str:
    """The request's CSRF value: its cookie's, or a new one (set by :func:`set_cookies`)."""
    existing = request.cookies.get(CSRF_COOKIE, "")
    return existing if 20 <= len(existing) <= 100 and existing.isascii() else secrets.token_urlsafe(32)


def set_cookies(response: Response, request: Request, csrf: str) -> Response:
    """Keep ``csrf`` in its cookie when the request did not already carry it."""
    if request.cookies.get(CSRF_COOKIE) != csrf:
        response.set_cookie(CSRF_COOKIE, csrf, httponly=True, samesite="strict", path="/")
    return response


async def read_form(request: Request) -> dict[str, str]:
    """An ``application/x-www-form-urlencoded`` body (at most 64 KiB), each field given once."""
    if request.headers.get("content-type", "").split(";")[0].strip() != "application/x-www-form-urlencoded":
        raise BadRequest("expected a form (application/x-www-form-urlencoded)")
    body = await read_body(request, FORM_LIMIT)
    try:
        fields = parse_qs(body.decode("utf-8"), keep_blank_values=True, strict_parsing=False, max_num_fields=50)
    except (UnicodeDecodeError, ValueError):
        raise BadRequest("the form is not valid UTF-8 form data") from None
    if any(len(values) > 1 for values in fields.values()):
        raise BadRequest("a form field is given more than once")
    return {name: values[0] for name, values in fields.items()}


def _same_origin(request: Request) -> bool:
    origin = request.headers.get("origin") or request.headers.get("referer")
    if not origin or origin == "null":
        return False
    parts = urlsplit(origin)
    return parts.scheme in ("http", "https") and parts.netloc == request.headers.get("host", "")


def write_refusal(token: str | None, request: Request, form: Form, *, sign_in: bool = False) -> tuple[int, str] | None:
    """None when a form post may write; else the status and one-line reason. ``sign_in``: the sign-in form itself
    (its token is checked by the caller)."""
    if not _same_origin(request):
        return 403, "refused: the form was not sent from this dashboard (Origin does not match)"
    cookie = request.cookies.get(CSRF_COOKIE, "")
    field = form.get("csrf", "")
    if not cookie or not hmac.compare_digest(cookie.encode(), field.encode()):
        return 403, "refused: the form's CSRF token is missing or stale; reload the page and try again"
    if token is None:
        return 403, "no token configured: set [server] token to enable changes from the dashboard"
    if not sign_in and not signed_in(token, request):
        return 401, "sign in with the server token first"
    return None


def safe_next(value: str | None, default: str = "/") -> str:
    """A local path to return to after a form (never another site)."""
    if not value or not value.startswith("/") or value.startswith("//") or "\\" in value:
        return default
    return value
