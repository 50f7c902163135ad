"""Remediation as the daemon runs it (``[schedule] remediate``), and its decisions routed to the alert sinks."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from ..core.status import Status, worst
from ..notify.model import AlertMode
from .report import RemediationReport

if TYPE_CHECKING:
    from ..config import LoadedConfig
    from ..deploy.steps import Context

__all__ = ["DAEMON_ACTOR", "job_status", "notify_decisions", "run_scheduled", "unavailable"]

DAEMON_ACTOR = "deploywatch daemon"


def notify_decisions(context: Context, report: RemediationReport, mode: AlertMode, now: datetime) -> str | None:
    """Every decision (and the deploys' own findings) as the findings of one run (command ``remediate``), routed
    to the alert sinks through the outbox; the run's id (None when there was nothing to say)."""
    from ..notify.dispatch import record_and_notify
    from ..store.records import RunRecord

    found = report.findings()
    if not found:
        return None
    run = RunRecord(uuid.uuid4().hex, "remediate", now, context.clock(), None, str(worst(f.status for f in found)),
                    report.exit_code, details={"dry_run": report.dry_run})
    record_and_notify(context.store, run, found, (), context.workspace.loaded.config.alerts, mode,
                      now=context.clock())
    return run.id


def unavailable(loaded: LoadedConfig) -> str | None:
    """Why the ``remediate`` job has nothing to run, or None."""
    config = loaded.config
    if not config.remediate.rules and not any(s.deploy for s in config.services.values()):
        return "no service has a deploy command and no [[remediate.rules]] are configured"
    return None


def run_scheduled(loaded: LoadedConfig, *, now: datetime, mode: AlertMode) -> tuple[RemediationReport, str | None]:
    """``deploywatch remediate --apply`` without a selector (so never every service at once), quietly."""
    from ..checks.runner import open_store
    from ..deploy.steps import Context, QuietProgress
    from ..drift.workspace import workspace_for
    from .run import RemediateRequest, remediate

    workspace = workspace_for(loaded)
    with open_store(loaded) as store:
        store.reap_deployments(datetime.now(UTC))
        context = Context(workspace, store, QuietProgress(), lambda: datetime.now(UTC), DAEMON_ACTOR,
                          float(loaded.config.deploy.lease))
        report = remediate(context, RemediateRequest(apply=True), now=now)
        return report, notify_decisions(context, report, mode, now)


def job_status(report: RemediationReport) -> Status:
    """How the daemon's job run counts: failed or tripped critical, refused or skipped a warning."""
    return {0: Status.OK, 1: Status.WARNING, 2: Status.CRITICAL}.get(report.exit_code, Status.WARNING)
