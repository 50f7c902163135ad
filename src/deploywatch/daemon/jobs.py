"""The jobs the daemon schedules (``drift``, ``canary``, ``check``, ``report``, ``remediate``), run in-process.

Each job is the command of the same name without its output: it measures, stores its run and routes its
findings through the alerting layer, and returns a :class:`JobResult`. ``report`` sends the report of the time since
the previous ``[schedule] report`` slot to the alert sinks, once per slot (:mod:`deploywatch.report.scheduled`).
``remediate`` is ``deploywatch remediate --apply`` with its guardrails (:mod:`deploywatch.remediate.scheduled`).
A job with nothing to run (a canary without ``[[checks]]``, a report without a sink that takes it) does not
run: :func:`unavailable` says why, and :func:`run_job` raises with that reason.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from ..core.errors import UsageError
from ..core.status import Status
from ..core.text import plural
from ..notify.model import AlertMode

if TYPE_CHECKING:
    from ..config import LoadedConfig

__all__ = ["JOBS", "JobResult", "prepare_jobs", "run_job", "unavailable"]

JOBS = ("drift", "canary", "check", "report", "remediate")


@dataclass(frozen=True)
class JobResult:
    """What one job run concluded."""

    job: str
    status: Status
    exit_code: int
    run_id: str | None
    summary: str
    seconds: float


def unavailable(job: str, loaded: LoadedConfig) -> str | None:
    """Why ``job`` has nothing to run with ``loaded``'s config (one line), or None when it can run."""
    config = loaded.config
    if job == "drift" and not config.services:
        return "no services are configured (add [services.NAME] to the config)"
    if job == "canary" and not config.checks:
        return "no checks are configured (add [[checks]] to the config)"
    if job == "check":
        from ..health import collectors_for

        if not collectors_for(loaded):
            return "nothing to check (configure services, [[checks]], [phases.NAME] or [[probes]])"
    if job == "report":
        from ..report.scheduled import unsendable

        return unsendable(loaded)
    if job == "remediate":
        from ..remediate.scheduled import unavailable as nothing_to_remediate

        return nothing_to_remediate(loaded)
    return None


# What the jobs import on first use beyond the collectors of a check (their store, alert routing and sinks).
_JOB_IMPORTS = ("deploywatch.health.score", "deploywatch.drift.workspace", "deploywatch.drift.engine",
                "deploywatch.checks.runner", "deploywatch.store.database", "deploywatch.notify.dispatch",
                "deploywatch.report.scheduled", "deploywatch.report.document", "deploywatch.notify.delivery",
                "deploywatch.remediate.scheduled", "deploywatch.remediate.run", "deploywatch.deploy.engine")


def prepare_jobs(loaded: LoadedConfig) -> None:
    """Import, in this thread, everything the jobs would import for the first time in their worker threads.

    The daemon runs drift, canary and check at once when their slots coincide; two threads importing SQLAlchemy,
    httpx or sqlglot's dialects for the first time together fail (see :func:`deploywatch.core.lazy.import_now`).
    """
    from ..core.lazy import import_now
    from ..health import collectors_for, prepare_collectors

    import_now(_JOB_IMPORTS)
    prepare_collectors(collectors_for(loaded), loaded)


def run_job(job: str, loaded: LoadedConfig, *, now: datetime | None = None,
            alert_mode: AlertMode | None = None) -> JobResult:
    """Run ``job`` on ``loaded``; raise :class:`ValueError` for an unknown job, :class:`UsageError` for a job with
    nothing to run (and whatever the job raises)."""
    if job in JOBS and (reason := unavailable(job, loaded)) is not None:
        raise UsageError(f"{job} cannot run: {reason}")
    moment = now or datetime.now(UTC)
    mode = alert_mode or AlertMode()
    started = time.perf_counter()
    if job == "drift":
        from ..checks.runner import open_store
        from ..drift import record_drift
        from ..drift.workspace import workspace_for

        report = workspace_for(loaded).drift((), now=moment)
        with open_store(loaded) as store:
            run_id = record_drift(store, report, loaded.config.alerts, mode, started_at=moment, now=moment)
        behind = [s for s in report.services if s.status is not Status.OK]
        summary = f"{plural(len(report.services), 'service')}, {len(behind)} not ok"
        return JobResult(job, report.status, report.status.exit_code, run_id, summary,
                         time.perf_counter() - started)
    if job == "canary":
        from ..checks.runner import run_checks

        checks = run_checks(loaded, loaded.config.checks, now=moment, alert_mode=mode)
        bad = [r for r in checks.results if r.status is not Status.OK]
        return JobResult(job, checks.status, checks.status.exit_code, checks.run_id,
                         f"{plural(len(checks.results), 'result')}, {len(bad)} not ok", time.perf_counter() - started)
    if job == "check":
        from ..health import run_health

        health = run_health(loaded, now=moment, alert_mode=mode)
        return JobResult(job, health.status, health.exit_code, health.run_id,
                         f"score {health.score:g}, {health.verdict}", time.perf_counter() - started)
    if job == "report":
        from ..report.scheduled import send_report

        sent = send_report(loaded, now=moment)
        status = Status.WARNING if sent.failed else Status.OK
        return JobResult(job, status, status.exit_code, None, sent.summary, time.perf_counter() - started)
    if job == "remediate":
        from ..remediate.scheduled import job_status, run_scheduled

        remediated, remediate_run = run_scheduled(loaded, now=moment, mode=mode)
        acted = [a for a in remediated.actions if a.outcome is not None]
        refused = remediated.refused
        summary = (refused if refused is not None and not remediated.actions
                   else f"{plural(len(remediated.actions), 'decision')}, {len(acted)} acted")
        status = job_status(remediated)
        return JobResult(job, status, status.exit_code, remediate_run, summary, time.perf_counter() - started)
    raise ValueError(f"unknown job {job!r} (jobs: {', '.join(JOBS)})")
