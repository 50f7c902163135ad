"""The ledger's endpoints: ``/api/deployments``, ``/api/rollouts``, and ``GET /api/remediate``.

``GET``/``POST /api/deployments`` read and record ledger entries, ``GET /api/rollouts[/SERVICE]`` answers each
progressive rollout's ``deploywatch.rollout/v1``, ``GET /api/remediate`` remediation's switches and breaker."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from ..core.errors import UsageError
from ..daemon.scheduler import one_line
from .bodies import deployment_fields
from .endpoints import MAX_BODY
from .guards import BodyTooLarge, read_body
from .replies import answer, error

if TYPE_CHECKING:
    from .app import DaemonContext

__all__ = ["deployments", "ledger", "remediation", "rollout", "rollouts"]

Params = Mapping[str, Any]


async def ledger(ctx: DaemonContext, request: Request, params: Params) -> Response:
    """``GET /api/deployments``: the ledger, newest first, with the live deploy locks."""
    from ..deploy.ledger import deployments_document, lock_json

    service = params["service"]
    wanted = [str(service)] if service else []

    def read() -> dict[str, Any]:
        now = datetime.now(UTC)
        ctx.store.reap_deployments(now)
        entries = ctx.store.deployments(wanted, limit=int(params["limit"] or 20))
        locks = [lock_json(lock) for lock in ctx.store.deploy_locks(wanted) if lock.live(now)]
        return {**deployments_document(entries), "locks": locks}

    return answer(await run_in_threadpool(read))


async def deployments(ctx: DaemonContext, request: Request, params: Params) -> Response:
    """``POST /api/deployments``: record a deploy done elsewhere in the ledger, as ``deploywatch record`` does."""
    from ..deploy.ledger import deployments_document, record_deployment
    from ..drift.workspace import workspace_for

    try:
        fields = deployment_fields(await read_body(request))
    except BodyTooLarge:
        return error(413, f"the body is larger than {MAX_BODY} bytes", {"Connection": "close"})
    now = ctx.now()

    def record() -> dict[str, Any]:
        repo = workspace_for(ctx.loaded).repo
        entry = record_deployment(ctx.loaded, ctx.store, repo, fields["service"], fields["commit"], now=now,
                                  status=fields.get("status", "succeeded"), url=fields.get("url"),
                                  by=fields.get("by", "api"), reason=fields.get("reason"))
        return deployments_document([entry])

    try:
        document = await run_in_threadpool(record)
    except UsageError as exc:
        return error(400, one_line(exc))
    return answer(document, 201)


async def remediation(ctx: DaemonContext, request: Request, params: Params) -> Response:
    """``GET /api/remediate``: ``deploywatch.remediate-status/v1``, as ``deploywatch remediate status`` prints it."""
    from ..remediate.switches import status

    def read() -> dict[str, Any]:
        return status(ctx.store, ctx.loaded.config.remediate, now=ctx.now())

    return answer(await run_in_threadpool(read))


def _rollout_steps(ctx: DaemonContext) -> dict[str, list[int]]:
    """The configured steps of each service with a rollout, by service name."""
    services = ctx.loaded.config.services
    return {name: list(config.rollout.steps) for name, config in sorted(services.items())
            if config.rollout is not None}


async def rollouts(ctx: DaemonContext, request: Request, params: Params) -> Response:
    """``GET /api/rollouts``: one ``deploywatch.rollout/v1`` document per service with a rollout configured."""
    from ..deploy.rollout_control import rollout_document

    steps = _rollout_steps(ctx)

    def read() -> dict[str, Any]:
        now = datetime.now(UTC)
        ctx.store.reap_deployments(now)  # a rollout whose process died shows as abandoned, as the CLI shows it
        return {"rollouts": [rollout_document(ctx.store, name, weights, now) for name, weights in steps.items()]}

    return answer(await run_in_threadpool(read))


async def rollout(ctx: DaemonContext, request: Request, params: Params) -> Response:
    """``GET /api/rollouts/{service}``: the service's ``deploywatch.rollout/v1`` (``rollout status`` as JSON)."""
    from ..deploy.rollout_control import rollout_document

    service = str(params["service"])
    steps = _rollout_steps(ctx)
    if service not in steps:
        known = "no service" if service not in ctx.loaded.config.services else "no rollout configured for"
        return error(404, f"{known} {service}: services with a rollout: {', '.join(steps) or 'none'}")

    def read() -> dict[str, Any]:
        now = datetime.now(UTC)
        ctx.store.reap_deployments(now)
        return rollout_document(ctx.store, service, steps[service], now)

    return answer(await run_in_threadpool(read))
