"""``deploywatch rollout status|resume|abort|promote``: steer a progressive rollout and print what it did."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..core.redact import mask
from ..core.render import emit_json, emit_text, short
from .deploy import emit_deploy_report, notify_outcomes, open_context

if TYPE_CHECKING:
    from ..notify.model import AlertMode

__all__ = ["render_status", "run_abort", "run_promote", "run_resume", "run_status"]


def run_status(service: str, *, config_path: Path | None, output_format: str | None, now: datetime) -> int:
    """Print the rollout's state; 0 when none is paused or failed, 1 paused, 2 failed or rolled back."""
    from ..deploy.rollout_control import rollout_status

    context = open_context(config_path, output_format, None)
    with context.store:
        document = rollout_status(context, service)
    if output_format == "json":
        emit_json(document)
    else:
        emit_text(render_status(document))
    state = (document["rollout"] or {}).get("state")
    return 2 if state in ("failed", "rolled_back", "abandoned") else 1 if state == "paused" else 0


def render_status(document: dict[str, Any]) -> str:
    """The status for people: one line of state, then the events, newest last."""
    found = document["rollout"]
    steps = ", ".join(f"{w}%" for w in document["steps"])
    if found is None:
        return f"{document['service']}: no rollout yet (steps {steps})"
    lines = [f"{document['service']}: rollout #{found['entry_id']} {short(found['from_commit'])} → "
             f"{short(found['to_commit'])}: {found['state']}, step {found['step'] or '-'} of {len(document['steps'])}"
             f" ({steps}), weight {found['weight']}%"]
    if found["reason"]:
        lines.append(f"  why: {found['reason']}")
    if found["request"]:
        lines.append(f"  requested: {found['request']} ({found['request_reason']})")
    if document["lock"]:
        lines.append(f"  lock: {document['lock']['holder']} until {document['lock']['expires_at']}")
    for event in found["events"]:
        what = event.get("event")
        detail = event.get("why") or event.get("detail") or event.get("reason") or ""
        where = f" step {event['step']}" if event.get("step") else ""
        weight = f" {event['weight']}%" if event.get("weight") is not None else ""
        lines.append(f"  - {what}{where}{weight}" + (f": {detail}" if detail else ""))
    return mask("\n".join(lines))


def run_resume(service: str, *, by: str | None, config_path: Path | None, output_format: str | None,
               now: datetime, alerts: AlertMode) -> int:
    """Resume a paused rollout; its report's exit code."""
    from ..deploy.rollout_control import resume

    context = open_context(config_path, output_format, by)
    with context.store:
        report = resume(context, service, now=now)
        notify_outcomes(context, report, alerts)
    emit_deploy_report(report, output_format)
    return report.exit_code


def run_abort(service: str, *, reason: str | None, by: str | None, config_path: Path | None,
              output_format: str | None, now: datetime, alerts: AlertMode) -> int:
    """Abort a rollout; the rollback's exit code."""
    from ..deploy.rollout_control import abort

    context = open_context(config_path, output_format, by)
    with context.store:
        report = abort(context, service, reason=reason, now=now)
        notify_outcomes(context, report, alerts)
    emit_deploy_report(report, output_format)
    return report.exit_code


def run_promote(service: str, *, reason: str, by: str | None, config_path: Path | None,
                output_format: str | None, now: datetime, alerts: AlertMode) -> int:
    """Promote a rollout; the report's exit code (0 when a running rollout was asked to)."""
    from ..deploy.rollout_control import promote, rollout_status

    context = open_context(config_path, output_format, by)
    with context.store:
        report, message = promote(context, service, reason=reason, now=now)
        if report is not None:
            notify_outcomes(context, report, alerts)
        document = rollout_status(context, service) if report is None else None
    if document is not None:  # a running rollout was asked: its status shows the request
        if output_format == "json":
            emit_json(document)
        else:
            emit_text(mask(message) + "\n" + render_status(document))
        return 0
    assert report is not None
    emit_deploy_report(report, output_format)
    return report.exit_code
