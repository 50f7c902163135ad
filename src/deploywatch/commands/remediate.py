"""``deploywatch remediate`` (and ``status``, ``pause``, ``resume``, ``reset``) and ``deploywatch audit``."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..config import REMEDIATE_SECTIONS
from ..core.durations import format_timestamp, parse_duration, parse_instant
from ..core.errors import UsageError
from ..core.redact import mask
from ..core.render import emit_json, emit_text, markdown_table, short
from ..core.text import printable

if TYPE_CHECKING:
    from ..notify.model import AlertMode

__all__ = ["AUDIT_SCHEMA", "audit", "run", "status", "switch"]

AUDIT_SCHEMA = "deploywatch.audit/v1"


def run(services: Sequence[str], *, all_services: bool, apply: bool, by: str | None, config_path: Path | None,
        output_format: str | None, now: datetime, alerts: AlertMode) -> int:
    """Plan (or with ``apply`` run) the remediation; print it; its exit code (see ``RemediationReport``)."""
    from ..remediate.run import RemediateRequest, remediate
    from ..remediate.scheduled import notify_decisions
    from .deploy import open_context

    context = open_context(config_path, output_format, by, sections=REMEDIATE_SECTIONS)
    with context.store:
        report = remediate(context, RemediateRequest(tuple(services), all_services, apply), now=now)
        if apply:
            notify_decisions(context, report, alerts, now)
    if output_format == "json":
        emit_json(report.as_json())
    elif output_format == "markdown":
        emit_text(printable(report.markdown()))
    else:
        emit_text(printable(report.text()))
    return report.exit_code


def status(*, config_path: Path | None, output_format: str | None, now: datetime) -> int:
    """Print the switches and the breaker; exit 2 while the breaker is tripped, 1 paused or disabled, else 0."""
    from ..checks.runner import open_store
    from ..config import load_config
    from ..remediate.switches import status as read_status

    loaded = load_config(config_path, sections=REMEDIATE_SECTIONS)
    with open_store(loaded) as store:
        document = read_status(store, loaded.config.remediate, now=now)
    breaker = document["breaker"]
    code = 2 if breaker else 1 if document["paused"] or not document["enabled"] else 0
    if output_format == "json":
        emit_json(document)
        return code
    lines = [f"remediation: {'enabled' if document['enabled'] else 'disabled ([remediate] enabled = false)'}",
             f"paused: {'yes, by ' + str(document['paused_by']) if document['paused'] else 'no'}",
             f"breaker: {'TRIPPED at ' + breaker['tripped_at'] + ': ' + breaker['reason'] if breaker else 'closed'}",
             _running_line(document["running"])]
    for service, state in sorted(document["services"].items()):
        failed = state.get("failed_relevant")
        lines.append(f"{service}: last remediated {state.get('last_attempt_at', 'never')}, "
                     f"{state.get('failures', 0)} failure(s) in a row"
                     + (f", not retrying {str(failed)[:12]}" if failed else ""))
    for rule, state in sorted(document["rules"].items()):
        failing = "; ".join(f"{finding} ({memory.get('failures')} failure(s), the last at "
                            f"{memory.get('last_failed_at')})" for finding, memory in state.get("findings", {}).items())
        lines.append(f"rule {rule}: last ran {state.get('last_attempt_at', 'never')}"
                     + (f", failed for {failing}" if failing else ""))
    emit_text(printable(mask("\n".join(lines))))
    return code


def _running_line(lock: dict[str, Any] | None) -> str:
    if lock is None:
        return "running: no"
    if lock["lapsed"]:
        return (f"running: no (the run of {lock['holder']} stopped renewing its lock, which lapsed at "
                f"{lock['until']}; the next run takes it over and audits it as abandoned)")
    return f"running: {lock['holder']} since {lock['since']}; its lock lapses at {lock['until']} unless renewed"


def switch(name: str, *, reason: str, by: str | None, config_path: Path | None, now: datetime) -> int:
    """``pause``, ``resume`` or ``reset``: one audit row and the fleet's state in one transaction."""
    import getpass

    from ..checks.runner import open_store
    from ..config import load_config
    from ..remediate import switches

    loaded = load_config(config_path, sections=REMEDIATE_SECTIONS)
    actor = by or getpass.getuser()
    action = {"pause": switches.pause, "resume": switches.resume, "reset": switches.reset}[name]
    with open_store(loaded) as store:
        action(store, by=actor, reason=reason, now=now)
    emit_text({"pause": "remediation paused: nothing acts until deploywatch remediate resume",
               "resume": "remediation resumed", "reset": "the remediation breaker is reset"}[name])
    return 0


def _since(since: str | None, now: datetime) -> datetime | None:
    if since is None:
        return None
    try:
        return now - timedelta(seconds=parse_duration(since))
    except ValueError:
        pass
    try:
        return parse_instant(since)
    except ValueError:
        raise UsageError(f"--since {since!r}: expected an age ('7d', '12h') or an ISO8601 time") from None


def audit(*, since: str | None, limit: int, config_path: Path | None, output_format: str | None,
          now: datetime) -> int:
    """Print the audit log (oldest first); exit 0."""
    from ..checks.runner import open_store
    from ..config import load_config

    start = _since(since, now)
    loaded = load_config(config_path, sections=REMEDIATE_SECTIONS)
    with open_store(loaded) as store:
        entries = store.audit_log(since=start, limit=limit)
    if output_format == "json":
        emit_json({"schema": AUDIT_SCHEMA, "generated_at": format_timestamp(now),
                   "since": format_timestamp(start) if start else None, "entries": [e.to_json() for e in entries]})
        return 0
    rows = [[str(e.id), format_timestamp(e.at), e.kind, e.subject, e.decision + (" (dry run)" if e.dry_run else ""),
             e.guardrail or "-", f"{short(e.from_commit) if e.from_commit else '-'} → "
             f"{short(e.to_commit) if e.to_commit else '-'}", printable(" ".join(e.reason.split())), e.actor]
            for e in entries]
    headers = ["ID", "AT", "KIND", "SUBJECT", "DECISION", "GUARDRAIL", "FROM → TO", "REASON", "BY"]
    if not rows:
        emit_text("no audit entries" + (f" since {format_timestamp(start)}" if start else ""))
    elif output_format == "markdown":
        emit_text(markdown_table([h.title() for h in headers], rows))
    else:
        emit_text("\n".join("  ".join(row) for row in rows))
    return 0
