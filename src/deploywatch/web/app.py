"""The daemon's HTTP API (Starlette).

Authentication: ``Authorization: Bearer <[server] token>``, compared in constant time. Write endpoints always
need it, and answer 403 when no token is configured (never open); read endpoints need it when
``protect_reads`` is set (``/healthz`` then answers only ``{"status": …}`` without it). A missing or wrong token
is a 401 with ``WWW-Authenticate: Bearer``.

No answer carries a secret: every string in a JSON answer goes through :func:`deploywatch.redact.mask`
(registered secrets — sink URLs, tokens, header values, the heartbeat URL, the server token — and anything
credential-shaped), and errors are one masked line.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import json
import logging
import re
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Any

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from ..completion import Recorded, default_run_date, record_completion
from ..durations import format_timestamp
from ..errors import DeploywatchError, UsageError
from ..redact import mask
from ..scheduler import JobBusy, one_line
from .openapi import openapi_document

if TYPE_CHECKING:
    from ..config import LoadedConfig
    from ..scheduler import Scheduler
    from ..store import Store
    from ..store.records import FindingRecord, RunRecord
    from .metrics import DaemonMetrics

__all__ = ["DaemonContext", "create_app", "safe"]

log = logging.getLogger("deploywatch.web")

MAX_LIMIT = 500
MAX_BODY = 1 << 20
_KIND = re.compile(r"[A-Za-z0-9_.-]{1,64}")


@dataclass
class DaemonContext:
    """What the endpoints need."""

    loaded: LoadedConfig
    store: Store
    scheduler: Scheduler
    metrics: DaemonMetrics
    now: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))
    started_at: datetime = field(default_factory=lambda: datetime.now(UTC))

    @property
    def token(self) -> str | None:
        """The ``[server]`` token, if any."""
        return self.loaded.config.server.token

    @property
    def protect_reads(self) -> bool:
        """Read endpoints need the token too."""
        return self.loaded.config.server.protect_reads


def safe(value: Any) -> Any:
    """``value`` (JSON-able) with every string masked and dates as ISO 8601."""
    if isinstance(value, str):
        return mask(value)
    if isinstance(value, Mapping):
        return {mask(str(k)): safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [safe(v) for v in value]
    if isinstance(value, datetime):
        return format_timestamp(value)
    if isinstance(value, date):
        return value.isoformat()
    return value


def answer(payload: Any, status: int = 200, headers: Mapping[str, str] | None = None) -> JSONResponse:
    """A JSON answer, masked."""
    return JSONResponse(safe(payload), status_code=status, headers=dict(headers or {}))


def error(status: int, message: str, headers: Mapping[str, str] | None = None) -> JSONResponse:
    """``{"error": message}``."""
    return answer({"error": message}, status, headers)


def _run_json(run: RunRecord) -> dict[str, Any]:
    return {"id": run.id, "command": run.command, "started_at": run.started_at, "finished_at": run.finished_at,
            "run_date": run.run_date, "status": run.status, "exit_code": run.exit_code, "score": run.score,
            "details": dict(run.details)}


def _finding_json(finding: FindingRecord) -> dict[str, Any]:
    return {"kind": finding.kind, "subject": finding.subject, "status": finding.status, "summary": finding.summary,
            "fingerprint": finding.fingerprint, "details": dict(finding.details)}


Handler = Callable[[Request], Awaitable[Response]]


def create_app(ctx: DaemonContext) -> Starlette:
    """The Starlette application of one daemon."""

    def bearer(request: Request, *, allow_query: bool = False) -> str | None:
        header = request.headers.get("authorization", "")
        scheme, _, value = header.partition(" ")
        if scheme.lower() == "bearer" and value.strip():
            return value.strip()
        if allow_query:
            return request.query_params.get("token") or None
        return None

    def refused(request: Request, *, write: bool, allow_query: bool = False) -> Response | None:
        """None when the request may go on; the 401/403 answer otherwise."""
        token = ctx.token
        if not write and not ctx.protect_reads:
            return None
        if token is None:
            return error(403, "no token configured: set [server] token to enable this endpoint")
        given = bearer(request, allow_query=allow_query)
        if given is None:
            return error(401, "missing bearer token", {"WWW-Authenticate": 'Bearer realm="deploywatch"'})
        if not hmac.compare_digest(given.encode(), token.encode()):
            return error(401, "invalid token",
                         {"WWW-Authenticate": 'Bearer realm="deploywatch", error="invalid_token"'})
        return None

    def guarded(handler: Handler, *, write: bool = False, allow_query: bool = False) -> Handler:
        async def endpoint(request: Request) -> Response:
            denied = refused(request, write=write, allow_query=allow_query)
            if denied is not None:
                return denied
            try:
                return await handler(request)
            except DeploywatchError as exc:
                return error(503, one_line(exc))

        return endpoint

    async def healthz(request: Request) -> Response:
        if ctx.protect_reads and refused(request, write=False) is not None:
            return answer({"status": "stopping" if ctx.scheduler.stopping else "ok"})
        return await run_in_threadpool(_healthz)

    def _healthz() -> Response:
        from .. import __version__

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

    def newest(command: str) -> tuple[RunRecord, list[FindingRecord]] | Response:
        """The newest run of ``command`` with its findings, or the 404 answer."""
        found = ctx.store.newest_runs_with_findings([command])
        if not found:
            return error(404, f"no {command} run is stored yet (the {command} job has not run)")
        return found[0]

    async def check_latest(request: Request) -> Response:
        def read() -> Response:
            found = newest("check")
            if isinstance(found, Response):
                return found
            run, findings = found
            return answer({"run": _run_json(run), "findings": [_finding_json(f) for f in findings]})

        return await run_in_threadpool(read)

    async def drift(request: Request) -> Response:
        def read() -> Response:
            found = newest("drift")
            if isinstance(found, Response):
                return found
            run, findings = found
            services = [{"service": f.subject, "status": f.status, "summary": f.summary, "details": dict(f.details)}
                        for f in findings if f.kind == "drift"]
            return answer({"run": _run_json(run), "services": services})

        return await run_in_threadpool(read)

    def _limit(request: Request) -> int | Response:
        text = request.query_params.get("limit") or "20"
        if not text.isdigit() or not 1 <= int(text) <= MAX_LIMIT:
            return error(400, f"limit must be a whole number from 1 to {MAX_LIMIT}")
        return int(text)

    async def runs(request: Request) -> Response:
        limit = _limit(request)
        if isinstance(limit, Response):
            return limit
        kind = request.query_params.get("kind") or None
        if kind is not None and not _KIND.fullmatch(kind):
            return error(400, "kind must be a command name (letters, digits, '_', '.', '-'; at most 64)")
        found = await run_in_threadpool(ctx.store.runs, command=kind, limit=limit)
        return answer({"runs": [_run_json(r) for r in found]})

    async def job_runs(request: Request) -> Response:
        limit = _limit(request)
        if isinstance(limit, Response):
            return limit
        job = request.query_params.get("job") or None
        if job is not None and job not in ctx.scheduler.allowed:
            return error(400, f"job must be one of {', '.join(ctx.scheduler.allowed)}")
        found = await run_in_threadpool(ctx.store.job_runs, job, limit=limit)
        return answer({"job_runs": [r.as_json() for r in found]})

    async def trigger(request: Request) -> Response:
        kind = request.path_params["kind"]
        if kind not in ctx.scheduler.allowed:
            return error(404, f"unknown job {kind!r} (jobs: {', '.join(ctx.scheduler.allowed)})")
        try:
            job_run_id = await run_in_threadpool(ctx.scheduler.trigger, kind)
        except JobBusy as exc:
            return error(409, str(exc))
        return answer({"job_run_id": job_run_id, "job": kind, "state": "running"}, 202,
                      {"Location": f"/api/jobs?job={kind}"})

    async def completions(request: Request) -> Response:
        body = await request.body()
        if len(body) > MAX_BODY:
            return error(413, f"the body is larger than {MAX_BODY} bytes")
        fields = _completion_fields(body)
        if isinstance(fields, str):
            return error(400, fields)
        now = ctx.now()
        try:
            run_date = date.fromisoformat(fields["date"]) if fields.get("date") else default_run_date(ctx.loaded, now)
        except ValueError:
            return error(400, f"invalid date {fields['date']!r}: expected YYYY-MM-DD")

        def record() -> Recorded:
            return record_completion(ctx.loaded, ctx.store, fields["phase"], fields["processor"], run_date,
                                     source="api", now=now)

        try:
            recorded = await run_in_threadpool(record)
        except UsageError as exc:
            return error(400, one_line(exc))
        return answer(recorded.as_json(), 200 if recorded.duplicate else 201)

    async def metrics(request: Request) -> Response:
        from prometheus_client.exposition import choose_encoder

        encoder, content_type = choose_encoder(request.headers.get("accept", ""))
        try:
            text = await run_in_threadpool(encoder, ctx.metrics.registry)
        except DeploywatchError as exc:
            return Response(f"# store unavailable: {one_line(exc)}\n", 503, media_type="text/plain")
        return Response(text, headers={"Content-Type": content_type})

    async def openapi(request: Request) -> Response:
        from .. import __version__

        return JSONResponse(openapi_document(__version__))

    async def not_found(request: Request, exc: Exception) -> Response:
        status = exc.status_code if isinstance(exc, HTTPException) else 404
        message = {404: "not found", 405: "method not allowed"}.get(status, "request failed")
        return error(status, message)

    async def crashed(request: Request, exc: Exception) -> Response:
        log.error("%s %s: %s", request.method, request.url.path, one_line(exc))
        return error(500, f"internal error ({type(exc).__name__})")

    routes = [
        Route("/healthz", healthz, methods=["GET"]),
        Route("/api/check/latest", guarded(check_latest), methods=["GET"]),
        Route("/api/drift", guarded(drift), methods=["GET"]),
        Route("/api/runs", guarded(runs), methods=["GET"]),
        Route("/api/jobs", guarded(job_runs), methods=["GET"]),
        Route("/api/runs/{kind}", guarded(trigger, write=True), methods=["POST"]),
        Route("/api/completions", guarded(completions, write=True, allow_query=True), methods=["POST"]),
        Route("/metrics", guarded(metrics), methods=["GET"]),
        Route("/openapi.json", openapi, methods=["GET"]),
    ]
    return Starlette(routes=routes, exception_handlers={404: not_found, 405: not_found, Exception: crashed})


def _completion_fields(body: bytes) -> dict[str, str] | str:
    """``{"phase", "processor", "date"?}`` from a plain body or a Pub/Sub push envelope; a message when bad."""
    try:
        payload = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return "the body is not JSON"
    if not isinstance(payload, dict):
        return "the body must be a JSON object"
    if "message" in payload:  # Google Pub/Sub push: {"message": {"data": base64 JSON, "attributes": {…}}, …}
        message = payload["message"]
        if not isinstance(message, dict):
            return "message must be an object"
        data = message.get("data")
        if data:
            if not isinstance(data, str):
                return "message.data must be a base64 string"
            try:
                decoded = base64.b64decode(data + "=" * (-len(data) % 4), altchars=b"-_" if "-" in data or
                                           "_" in data else None, validate=True)
                payload = json.loads(decoded)
            except (binascii.Error, ValueError, UnicodeDecodeError):
                return "message.data is not base64-encoded JSON"
            if not isinstance(payload, dict):
                return "message.data must hold a JSON object"
        else:
            attributes = message.get("attributes")
            if not isinstance(attributes, dict):
                return "message has neither data nor attributes"
            payload = attributes
    fields: dict[str, str] = {}
    for key in ("phase", "processor", "date"):
        value = payload.get(key)
        if value is None and key == "date":
            continue
        if not isinstance(value, str) or not value.strip():
            return f"{key} must be a non-empty string"
        fields[key] = value.strip()
    return fields
