"""The daemon's HTTP API (Starlette): the handlers of the endpoints in :mod:`.endpoints`.

The endpoints, their parameters and who may call them are the table in :mod:`.endpoints`; requests are validated with it
and the OpenAPI document is generated from it.

Authentication: ``Authorization: Bearer <[server] token>``, compared in constant time. Write endpoints always
need it, and answer 403 when no token is configured (never open); read endpoints need it when
``protect_reads`` is set (``/healthz`` then answers only ``{"status": …}`` without it). A missing or wrong token
is a 401 with ``WWW-Authenticate: Bearer``. After 10 wrong tokens within a minute a client address is answered
429 (with ``Retry-After``) until the oldest of them is a minute old, its tokens not even compared.

No request input gives a 500: a bad parameter or body is a 400 with a one-line reason, a body over 1 MiB a 413
(by its ``Content-Length`` before reading, or as soon as a chunked body passes the limit). ``on_complete``
actions run off the request path (:mod:`.actions`).

No answer carries a secret: every string in a JSON answer goes through :func:`deploywatch.core.redact.mask`
(registered secrets — sink URLs, tokens, header values, the heartbeat URL, the server token — and anything
credential-shaped), and errors are one masked line.
"""

from __future__ import annotations

import hmac
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Any

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from ..core.errors import DeploywatchError, UsageError
from ..daemon.jobs import unavailable
from ..daemon.scheduler import JobBusy, one_line
from ..health.completion import Recorded, default_run_date, record_completion
from .actions import ActionQueue, QueueFull
from .bodies import completion_fields
from .cache import PageCache
from .endpoints import ENDPOINTS, MAX_BODY, BadRequest, Endpoint
from .guards import AuthThrottle, BodyTooLarge, read_body
from .ledger_api import deployments, ledger, remediation, rollout, rollouts
from .openapi import openapi_document
from .pages import page_routes
from .replies import answer, error, safe

if TYPE_CHECKING:
    from ..config import LoadedConfig
    from ..daemon.scheduler import Scheduler
    from ..store import Store
    from ..store.records import FindingRecord, RunRecord
    from .metrics import DaemonMetrics

__all__ = ["DaemonContext", "create_app", "safe"]

log = logging.getLogger("deploywatch.web")

Params = Mapping[str, Any]
Handler = Callable[["DaemonContext", Request, Params], Awaitable[Response]]


@dataclass
class DaemonContext:
    """What the endpoints need."""

    loaded: LoadedConfig
    store: Store
    scheduler: Scheduler
    metrics: DaemonMetrics
    now: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))
    started_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    throttle: AuthThrottle = field(default_factory=AuthThrottle)
    actions: ActionQueue = field(default_factory=ActionQueue)
    pages: PageCache = field(init=False)

    def __post_init__(self) -> None:
        self.pages = PageCache(self.store.generation, self.now)

    @property
    def token(self) -> str | None:
        """The ``[server]`` token, if any."""
        return self.loaded.config.server.token

    @property
    def protect_reads(self) -> bool:
        """Read endpoints need the token too."""
        return self.loaded.config.server.protect_reads


def _run_json(run: RunRecord) -> dict[str, Any]:
    return {"id": run.id, "command": run.command, "started_at": run.started_at, "finished_at": run.finished_at,
            "run_date": run.run_date, "status": run.status, "exit_code": run.exit_code, "score": run.score,
            "details": dict(run.details)}


def _finding_json(finding: FindingRecord) -> dict[str, Any]:
    return {"kind": finding.kind, "subject": finding.subject, "status": finding.status, "summary": finding.summary,
            "fingerprint": finding.fingerprint, "details": dict(finding.details)}


# ---------------------------------------------------------------- authentication


def _bearer(request: Request, *, allow_query: bool) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    if allow_query:
        return request.query_params.get("token") or None
    return None


def _address(request: Request) -> str:
    return request.client.host if request.client is not None else "unknown"


def refused(ctx: DaemonContext, request: Request, *, write: bool, allow_query: bool = False) -> Response | None:
    """None when the request may go on; the 401/403/429 answer otherwise."""
    token = ctx.token
    if not write and not ctx.protect_reads:
        return None
    if token is None:
        return error(403, "no token configured: set [server] token to enable this endpoint")
    address = _address(request)
    wait = ctx.throttle.retry_after(address)
    if wait is not None:
        return error(429, f"too many failed authentications from {address}: try again in {wait}s",
                     {"Retry-After": str(wait)})
    given = _bearer(request, allow_query=allow_query)
    if given is None:
        return error(401, "missing bearer token", {"WWW-Authenticate": 'Bearer realm="deploywatch"'})
    if not hmac.compare_digest(given.encode(), token.encode()):
        ctx.throttle.failed(address)
        return error(401, "invalid token", {"WWW-Authenticate": 'Bearer realm="deploywatch", error="invalid_token"'})
    return None


# ---------------------------------------------------------------- the endpoints (see endpoints.ENDPOINTS)


async def healthz(ctx: DaemonContext, request: Request, params: Params) -> Response:
    """``GET /healthz``."""
    if ctx.protect_reads and refused(ctx, request, write=False) is not None:
        return answer({"status": "stopping" if ctx.scheduler.stopping else "ok"})
    return await run_in_threadpool(_health, ctx)


def _health(ctx: DaemonContext) -> Response:
    from ..core.version import __version__

    scheduler = ctx.scheduler
    now = ctx.now()
    store: dict[str, Any] = {"ok": True}
    try:
        last = ctx.store.latest_job_runs()
    except DeploywatchError as exc:
        last, store = {}, {"ok": False, "error": one_line(exc)}
    statuses = scheduler.status()
    jobs = [{"job": job.job, "cron": job.cron, "next_run_at": job.next_run_at, "running": job.running,
             "last": last[job.job].as_json() if job.job in last else None} for job in statuses]
    jobs += [{"job": name, "cron": None, "next_run_at": None, "running": False, "last": last[name].as_json()}
             for name in sorted(last.keys() - {job.job for job in statuses})]
    alive = scheduler.running or not scheduler.stopping
    status = "stopping" if scheduler.stopping else ("ok" if store["ok"] else "degraded")
    body = {"status": status, "version": __version__, "started_at": ctx.started_at,
            "uptime_seconds": round((now - ctx.started_at).total_seconds(), 3),
            "scheduler": {"running": scheduler.running, "timezone": scheduler.timezone,
                          "timeout_seconds": scheduler.timeout, "catch_up": scheduler.catch_up},
            "store": store, "jobs": jobs}
    return answer(body, 200 if alive else 503)


async def _newest(ctx: DaemonContext, command: str,
                  body: Callable[[RunRecord, list[FindingRecord]], dict[str, Any]]) -> Response:
    """The answer built by ``body`` from the newest run of ``command`` and its findings, or a 404 when none is
    stored (read in a worker thread: the store blocks)."""
    def read() -> Response:
        found = ctx.store.newest_runs_with_findings([command])
        if not found:
            return error(404, f"no {command} run is stored yet (the {command} job has not run)")
        return answer(body(*found[0]))

    return await run_in_threadpool(read)


async def check_latest(ctx: DaemonContext, request: Request, params: Params) -> Response:
    """``GET /api/check/latest``."""
    return await _newest(ctx, "check", lambda run, findings: {
        "run": _run_json(run), "findings": [_finding_json(f) for f in findings]})


async def drift(ctx: DaemonContext, request: Request, params: Params) -> Response:
    """``GET /api/drift``."""
    return await _newest(ctx, "drift", lambda run, findings: {"run": _run_json(run), "services": [
        {"service": f.subject, "status": f.status, "summary": f.summary, "details": dict(f.details)}
        for f in findings if f.kind == "drift"]})


async def runs(ctx: DaemonContext, request: Request, params: Params) -> Response:
    """``GET /api/runs``."""
    found = await run_in_threadpool(ctx.store.runs, command=params["kind"], limit=params["limit"])
    return answer({"runs": [_run_json(r) for r in found]})


async def job_runs(ctx: DaemonContext, request: Request, params: Params) -> Response:
    """``GET /api/jobs``."""
    found = await run_in_threadpool(ctx.store.job_runs, params["job"], limit=params["limit"])
    return answer({"job_runs": [r.as_json() for r in found]})


async def trigger(ctx: DaemonContext, request: Request, params: Params) -> Response:
    """``POST /api/runs/{kind}``."""
    kind = params["kind"]
    if kind not in ctx.scheduler.allowed:
        return error(404, f"unknown job {kind!r} (jobs: {', '.join(ctx.scheduler.allowed)})")
    reason = unavailable(kind, ctx.loaded)
    if reason is not None:
        return error(409, f"{kind} cannot run: {reason}")
    try:
        job_run_id = await run_in_threadpool(ctx.scheduler.trigger, kind)
    except JobBusy as exc:
        return error(409, str(exc))
    return answer({"job_run_id": job_run_id, "job": kind, "state": "running"}, 202,
                  {"Location": f"/api/jobs?job={kind}"})


async def completions(ctx: DaemonContext, request: Request, params: Params) -> Response:
    """``POST /api/completions``: record the report now; a fired ``on_complete`` goes to the action queue."""
    try:
        fields = completion_fields(await read_body(request))
    except BodyTooLarge:  # the rest of the body is not read: the connection cannot carry another request
        return error(413, f"the body is larger than {MAX_BODY} bytes", {"Connection": "close"})
    now = ctx.now()
    try:
        run_date = date.fromisoformat(fields["date"]) if fields.get("date") else default_run_date(ctx.loaded, now)
    except ValueError:
        return error(400, f"invalid date {fields['date']!r}: expected YYYY-MM-DD")
    try:
        ctx.actions.reserve()  # before recording: a full queue refuses the report, and the reporter retries
    except QueueFull as exc:
        return error(503, str(exc), {"Retry-After": "5"})
    queued = False

    def defer(action: Callable[[], object]) -> None:
        nonlocal queued
        ctx.actions.submit(action)
        queued = True

    def record() -> Recorded:
        return record_completion(ctx.loaded, ctx.store, fields["phase"], fields["processor"], run_date,
                                 source="api", now=now, defer=defer)

    try:
        recorded = await run_in_threadpool(record)
    except UsageError as exc:
        return error(400, one_line(exc))
    finally:
        if not queued:
            ctx.actions.release()
    return answer(recorded.as_json(), 200 if recorded.duplicate else 201)


async def metrics(ctx: DaemonContext, request: Request, params: Params) -> Response:
    """``GET /metrics``."""
    from prometheus_client.exposition import choose_encoder

    encoder, content_type = choose_encoder(request.headers.get("accept", ""))
    try:
        text = await run_in_threadpool(encoder, ctx.metrics.registry)
    except DeploywatchError as exc:
        return Response(f"# store unavailable: {one_line(exc)}\n", 503, media_type="text/plain")
    return Response(text, headers={"Content-Type": content_type})


async def openapi(ctx: DaemonContext, request: Request, params: Params) -> Response:
    """``GET /openapi.json``: the document of this daemon (its reads protected or not)."""
    from ..core.version import __version__

    return JSONResponse(openapi_document(__version__, protect_reads=ctx.protect_reads))


HANDLERS: dict[str, Handler] = {"healthz": healthz, "check_latest": check_latest, "drift": drift, "runs": runs,
                                "job_runs": job_runs, "trigger": trigger, "completions": completions,
                                "ledger": ledger, "deployments": deployments, "remediation": remediation,
                                "rollouts": rollouts, "rollout": rollout, "metrics": metrics, "openapi": openapi}


def _endpoint(ctx: DaemonContext, spec: Endpoint, handler: Handler) -> Callable[[Request], Awaitable[Response]]:
    """The Starlette endpoint of ``spec``: authentication, then parameters, then ``handler``; whatever goes wrong is
    one line in the log and in the answer, never a traceback."""

    async def endpoint(request: Request) -> Response:
        try:
            if spec.access != "open":
                denied = refused(ctx, request, write=spec.access == "write", allow_query=spec.token_in_query)
                if denied is not None:
                    return denied
            try:
                params = spec.parse(request.query_params.multi_items(), request.path_params)
            except BadRequest as exc:
                return error(404 if spec.name == "trigger" else 400, str(exc))
            return await handler(ctx, request, params)
        except BadRequest as exc:
            return error(400, str(exc))
        except DeploywatchError as exc:
            return error(503, one_line(exc))
        except Exception as exc:
            log.error("%s %s: %s", request.method, request.url.path, one_line(exc))
            return error(500, f"internal error ({type(exc).__name__})")

    return endpoint


def _by_method(handlers: dict[str, Callable[[Request], Awaitable[Response]]]
               ) -> Callable[[Request], Awaitable[Response]]:
    if len(handlers) == 1:
        return next(iter(handlers.values()))

    async def endpoint(request: Request) -> Response:
        return await handlers[request.method](request)

    return endpoint


def create_app(ctx: DaemonContext) -> Starlette:
    """The Starlette application of one daemon."""

    async def not_found(request: Request, exc: Exception) -> Response:
        status = exc.status_code if isinstance(exc, HTTPException) else 404
        message = {404: "not found", 405: "method not allowed"}.get(status, "request failed")
        headers = exc.headers if isinstance(exc, HTTPException) else None
        return error(status, message, headers)  # 405 keeps its Allow header

    async def crashed(request: Request, exc: Exception) -> Response:
        log.error("%s %s: %s", request.method, request.url.path, one_line(exc))
        return error(500, f"internal error ({type(exc).__name__})")

    by_path: dict[str, dict[str, Callable[[Request], Awaitable[Response]]]] = {}
    for spec in ENDPOINTS:  # one route per path, so a 405 lists every method the path has in Allow
        by_path.setdefault(spec.path, {})[spec.method] = _endpoint(ctx, spec, HANDLERS[spec.name])
    routes: list[BaseRoute] = [Route(path, _by_method(methods), methods=list(methods))
                               for path, methods in by_path.items()]
    routes += page_routes(ctx)  # the dashboard (HTML) beside the API
    return Starlette(routes=routes, exception_handlers={404: not_found, 405: not_found, Exception: crashed})
