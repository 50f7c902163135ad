"""The dashboard's pages and forms: the HTML routes ``create_app`` adds beside the JSON API.

Reads follow ``[server] protect_reads``: when set, a browser signs in once with the token (:mod:`.session`) and is
sent to ``/login`` until it has. Every write (sign in, silence add and expire, trigger a run, record a deploy) is a
CSRF-protected form post that also needs the token. Pages are rendered by :mod:`.render` (masked, strict CSP) from
:mod:`.views` data.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Awaitable, Callable, Hashable
from datetime import timedelta
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from ..core.errors import DeploywatchError, UsageError
from ..core.redact import mask
from .cache import PLACEHOLDER
from .endpoints import BadRequest
from .guards import BodyTooLarge
from .render import HTML_HEADERS, STATIC_DIR, html, render_text
from .session import (
    SESSION_COOKIE,
    csrf_token,
    read_form,
    safe_next,
    session_value,
    set_cookies,
    signed_in,
    write_refusal,
)
from .views import Page, overview, runs_page
from .views_detail import check_page, compare_link, live_page, service_page

if TYPE_CHECKING:
    from .app import DaemonContext

__all__ = ["page_routes"]

log = logging.getLogger("deploywatch.web")
PageHandler = Callable[["DaemonContext", Request, Page], Awaitable[Response]]


def _render(ctx: DaemonContext, request: Request, template: str, context: dict[str, Any],
            status: int = 200) -> Response:
    csrf = csrf_token(request)
    base = {"csrf": csrf, "path": request.url.path, "signed_in": signed_in(ctx.token, request),
            "can_write": ctx.token is not None, "now": ctx.now()}
    return set_cookies(html(template, {**base, **context}, status), request, csrf)


async def _cached(ctx: DaemonContext, request: Request, template: str, key: Hashable,
                  data: Callable[[], dict[str, Any] | None]) -> Response | None:
    """``template`` with ``data()`` from the page cache (:mod:`.cache`), this request's CSRF value written in; None
    when ``data()`` is None (no such page)."""
    signed = signed_in(ctx.token, request)
    path = request.url.path

    def render() -> bytes | None:
        context = data()
        if context is None:
            return None
        base = {"csrf": PLACEHOLDER, "path": path, "signed_in": signed, "can_write": ctx.token is not None,
                "now": ctx.now()}
        return render_text(template, {**base, **context}).encode()

    body = await ctx.pages.page((template, key, path, signed), render)
    if body is None:
        return None
    csrf = csrf_token(request)
    response = Response(body.replace(PLACEHOLDER.encode(), csrf.encode()), media_type="text/html",
                        headers=HTML_HEADERS)
    return set_cookies(response, request, csrf)


def _message(ctx: DaemonContext, request: Request, status: int, title: str, message: str) -> Response:
    return _render(ctx, request, "message.html", {"title": title, "message": message}, status)


def _page(ctx: DaemonContext, handler: PageHandler, *,
          fragment: bool = False) -> Callable[[Request], Awaitable[Response]]:
    """A page: reads guarded, errors as one line on an HTML page, never a traceback."""

    async def endpoint(request: Request) -> Response:
        try:
            if ctx.protect_reads and not signed_in(ctx.token, request):
                if fragment:
                    return _message(ctx, request, 401, "Sign in", "sign in to read the dashboard")
                return RedirectResponse(f"/login?next={quote(request.url.path)}", 303)
            return await handler(ctx, request, Page(ctx.loaded, ctx.store, ctx.now()))
        except BadRequest as exc:
            return _message(ctx, request, 400, "Bad request", str(exc))
        except BodyTooLarge:
            return _message(ctx, request, 413, "Too large", "the form is too large")
        except DeploywatchError as exc:
            return _message(ctx, request, 503, "Unavailable", mask(str(exc).splitlines()[0] if str(exc) else ""))
        except Exception as exc:
            log.error("%s %s: %s", request.method, request.url.path, mask(f"{type(exc).__name__}: {exc}"))
            return _message(ctx, request, 500, "Internal error", f"internal error ({type(exc).__name__})")

    return endpoint


async def home(ctx: DaemonContext, request: Request, page: Page) -> Response:
    """``GET /``: the overview (``?refresh=SECONDS`` changes how often it updates itself, 2 to 3600; default 30)."""
    every = request.query_params.get("refresh", "30")
    seconds = min(3600, max(2, int(every))) if every.isascii() and every.isdigit() and len(every) < 6 else 30
    response = await _cached(ctx, request, "overview.html", seconds, lambda: {**overview(page), "every": seconds})
    assert response is not None
    return response


async def home_fragment(ctx: DaemonContext, request: Request, page: Page) -> Response:
    """``GET /fragments/overview``: the overview's body, swapped in every 30 s."""
    response = await _cached(ctx, request, "_overview.html", None, lambda: overview(page))
    assert response is not None
    return response


async def service(ctx: DaemonContext, request: Request, page: Page) -> Response:
    """``GET /services/NAME`` (``?recorded=ID`` after the "Record a deploy" form)."""
    return await _service(ctx, request, page, request.path_params["name"])


async def _service(ctx: DaemonContext, request: Request, page: Page, name: str, *, form: dict[str, str] | None = None,
                   error: str | None = None) -> Response:
    text = request.query_params.get("recorded", "")
    recorded = int(text) if text.isascii() and text.isdigit() and len(text) < 12 else None
    if form is None:  # a plain read: from the page cache
        def data() -> dict[str, Any] | None:
            found = service_page(page, name)
            return None if found is None else {**found, "record_form": {}, "record_error": None, "recorded": recorded}

        response = await _cached(ctx, request, "service.html", recorded, data)
        if response is None:
            return _message(ctx, request, 404, "Not found", f"no service {name!r} in the configuration")
        return response
    found = await run_in_threadpool(service_page, page, name)
    if found is None:
        return _message(ctx, request, 404, "Not found", f"no service {name!r} in the configuration")
    context = {**found, "record_form": form, "record_error": error, "recorded": recorded}
    return _render(ctx, request, "service.html", context, 400 if error else 200)


async def compare(ctx: DaemonContext, request: Request, page: Page) -> Response:
    """``GET /services/NAME/compare?a=ID&b=ID``: to the code host's comparison of two ledger entries."""
    try:
        first, second = int(request.query_params.get("a", "")), int(request.query_params.get("b", ""))
    except ValueError:
        raise BadRequest("choose two ledger entries to compare") from None
    link = await run_in_threadpool(compare_link, page, request.path_params["name"], first, second)
    if link is None:
        return _message(ctx, request, 404, "Not found", "no such ledger entries, or [web] compare_url is not set")
    return RedirectResponse(link, 303)


async def check(ctx: DaemonContext, request: Request, page: Page) -> Response:
    """``GET /checks/NAME``."""
    name = request.path_params["name"]
    response = await _cached(ctx, request, "check.html", name, lambda: check_page(page, name))
    if response is None:
        return _message(ctx, request, 404, "Not found", f"no check {name!r} in the configuration")
    return response


async def live(ctx: DaemonContext, request: Request, page: Page) -> Response:
    """``GET /live?rev=…``: is it live?"""
    data = await run_in_threadpool(live_page, page, request.query_params.get("rev", ""))
    return _render(ctx, request, "live.html", data, 404 if data["error"] else 200)


async def runs(ctx: DaemonContext, request: Request, page: Page) -> Response:
    """``GET /runs``: runs, jobs and the outbox."""
    data = await run_in_threadpool(runs_page, page, ctx.scheduler.status(), ctx.scheduler.allowed)
    return _render(ctx, request, "runs.html", data)


# ---------------------------------------------------------------- sign in and the forms that write


async def login_form(request: Request, ctx: DaemonContext) -> Response:
    """``GET /login``."""
    return _render(ctx, request, "login.html", {"next": safe_next(request.query_params.get("next")), "error": None})


async def login(request: Request, ctx: DaemonContext) -> Response:
    """``POST /login``: the token once → the session cookie."""
    import hmac

    form = await read_form(request)
    refusal = write_refusal(ctx.token, request, form, sign_in=True)
    if refusal is not None:
        return _message(ctx, request, refusal[0], "Refused", refusal[1])
    address = request.client.host if request.client else "unknown"
    if ctx.throttle.retry_after(address) is not None:
        return _message(ctx, request, 429, "Too many attempts", "too many failed sign-ins: try again in a minute")
    assert ctx.token is not None
    if not hmac.compare_digest(form.get("token", "").encode(), ctx.token.encode()):
        ctx.throttle.failed(address)
        return _render(ctx, request, "login.html", {"next": safe_next(form.get("next")), "error": "wrong token"}, 401)
    response = RedirectResponse(safe_next(form.get("next")), 303)
    response.set_cookie(SESSION_COOKIE, session_value(ctx.token), httponly=True, samesite="strict", path="/")
    return response


async def logout(request: Request, ctx: DaemonContext) -> Response:
    """``POST /logout``."""
    form = await read_form(request)
    refusal = write_refusal(ctx.token, request, form, sign_in=True)
    if refusal is not None:
        return _message(ctx, request, refusal[0], "Refused", refusal[1])
    response = RedirectResponse("/", 303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


async def add_silence(request: Request, ctx: DaemonContext, form: dict[str, str]) -> Response:
    """``POST /silences``: matchers (one per line), a duration and a comment."""
    from ..core.durations import parse_duration
    from ..notify.matchers import parse_matcher
    from ..store.alerts import SilenceRecord

    try:
        matchers = [parse_matcher(line.strip()) for line in form.get("matchers", "").splitlines() if line.strip()]
        seconds = parse_duration(form.get("duration", "2h"))
    except (UsageError, ValueError) as exc:
        raise BadRequest(str(exc).splitlines()[0]) from None
    comment = form.get("comment", "").strip()
    if not matchers or not comment:
        raise BadRequest("a silence needs at least one matcher (NAME=VALUE) and a comment saying why")
    now = ctx.now()
    record = SilenceRecord(id=secrets.token_hex(4), matchers=[m.as_json() for m in matchers], comment=comment[:500],
                           created_by=(form.get("by") or "dashboard").strip()[:100], created_at=now, starts_at=now,
                           ends_at=now + timedelta(seconds=seconds))
    await run_in_threadpool(ctx.store.add_silence, record)
    return RedirectResponse(safe_next(form.get("next")), 303)


async def expire_silence(request: Request, ctx: DaemonContext, form: dict[str, str]) -> Response:
    """``POST /silences/ID/expire``."""
    found = await run_in_threadpool(ctx.store.expire_silence, request.path_params["id"], ctx.now())
    if found is None:
        return _message(ctx, request, 404, "Not found", "no such silence")
    return RedirectResponse(safe_next(form.get("next")), 303)


async def trigger_run(request: Request, ctx: DaemonContext, form: dict[str, str]) -> Response:
    """``POST /runs/KIND/trigger``: run a job now."""
    from ..daemon.jobs import unavailable
    from ..daemon.scheduler import JobBusy

    kind = request.path_params["kind"]
    if kind not in ctx.scheduler.allowed:
        return _message(ctx, request, 404, "Not found", f"unknown job {kind!r}")
    reason = unavailable(kind, ctx.loaded)
    if reason is not None:
        return _message(ctx, request, 409, "Cannot run", f"{kind} cannot run: {reason}")
    try:
        await run_in_threadpool(ctx.scheduler.trigger, kind)
    except JobBusy as exc:
        return _message(ctx, request, 409, "Busy", str(exc))
    return RedirectResponse("/runs", 303)


async def record_deploy(request: Request, ctx: DaemonContext, form: dict[str, str]) -> Response:
    """``POST /services/NAME/deployments``: record a deploy done elsewhere, as ``deploywatch record`` and ``POST
    /api/deployments`` do; a bad field or an unknown commit is a one-line error on the service page."""
    from ..deploy.ledger import record_deployment
    from ..drift.workspace import workspace_for
    from .bodies import deployment_form_fields

    name = request.path_params["name"]
    page = Page(ctx.loaded, ctx.store, ctx.now())
    if name not in ctx.loaded.config.services:
        return _message(ctx, request, 404, "Not found", f"no service {name!r} in the configuration")
    try:
        fields = deployment_form_fields(name, form)
    except BadRequest as exc:
        return await _service(ctx, request, page, name, form=form, error=str(exc))

    def record() -> int:
        entry = record_deployment(ctx.loaded, ctx.store, workspace_for(ctx.loaded).repo, name, fields["commit"],
                                  now=page.now, status=fields.get("status", "succeeded"), url=fields.get("url"),
                                  by=fields.get("by", "dashboard"), reason=fields.get("reason"))
        return entry.id

    try:
        entry_id = await run_in_threadpool(record)
    except DeploywatchError as exc:  # an unknown commit, or another deploy recorded meanwhile
        return await _service(ctx, request, page, name, form=form, error=mask(str(exc).splitlines()[0]))
    return RedirectResponse(f"/services/{quote(name, safe='')}?recorded={entry_id}#ledger", 303)


FormHandler = Callable[[Request, "DaemonContext", dict[str, str]], Awaitable[Response]]


def _write(ctx: DaemonContext, handler: FormHandler) -> Callable[[Request], Awaitable[Response]]:
    """A form that writes: same origin, its CSRF token, and signed in (checked here, whatever ``protect_reads``)."""

    async def checked(ctx: DaemonContext, request: Request, page: Page) -> Response:
        form = await read_form(request)
        refusal = write_refusal(ctx.token, request, form)
        if refusal is not None:
            return _message(ctx, request, refusal[0], "Refused", refusal[1])
        return await handler(request, ctx, form)

    return _unguarded(ctx, checked)


def _unguarded(ctx: DaemonContext, handler: PageHandler) -> Callable[[Request], Awaitable[Response]]:
    """Like :func:`_page` for forms: they check the session themselves (a 401 page, not a redirect)."""
    async def endpoint(request: Request) -> Response:
        try:
            return await handler(ctx, request, Page(ctx.loaded, ctx.store, ctx.now()))
        except BadRequest as exc:
            return _message(ctx, request, 400, "Bad request", str(exc))
        except BodyTooLarge:
            return _message(ctx, request, 413, "Too large", "the form is too large")
        except DeploywatchError as exc:
            return _message(ctx, request, 503, "Unavailable", mask(str(exc)))

    return endpoint


def _open(ctx: DaemonContext, handler: Callable[[Request, DaemonContext], Awaitable[Response]]
          ) -> Callable[[Request], Awaitable[Response]]:
    return _unguarded(ctx, lambda c, request, page: handler(request, c))


def page_routes(ctx: DaemonContext) -> list[BaseRoute]:
    """The dashboard's routes, for ``create_app``."""
    return [
        Route("/", _page(ctx, home)),
        Route("/fragments/overview", _page(ctx, home_fragment, fragment=True)),
        Route("/services/{name}", _page(ctx, service)),
        Route("/services/{name}/compare", _page(ctx, compare)),
        Route("/services/{name}/deployments", _write(ctx, record_deploy), methods=["POST"]),
        Route("/checks/{name}", _page(ctx, check)),
        Route("/live", _page(ctx, live)),
        Route("/runs", _page(ctx, runs)),
        Route("/login", _open(ctx, login_form)),
        Route("/login", _open(ctx, login), methods=["POST"]),
        Route("/logout", _open(ctx, logout), methods=["POST"]),
        Route("/silences", _write(ctx, add_silence), methods=["POST"]),
        Route("/silences/{id}/expire", _write(ctx, expire_silence), methods=["POST"]),
        Route("/runs/{kind}/trigger", _write(ctx, trigger_run), methods=["POST"]),
        Mount("/static", StaticFiles(directory=STATIC_DIR), name="static"),
    ]
