"""The scheduled report: the report since the previous ``[schedule] report`` slot, sent to the sinks once per slot.

A report is an event, not a finding's state, so it bypasses the alert router: it becomes one outbox row per sink
that takes reports, with the report document as its payload and an id derived from the slot and the sink. The row
is added only when that id is new, so a slot is reported once whatever runs it (the daemon's job, a retriggered job,
``deploywatch report --send`` from cron); the outbox then gives it retries, dead letters and ``alerts pending``.

Which sinks take reports: Slack (a summary, :mod:`deploywatch.notify.report_text`) and webhooks (the
``deploywatch.report/v1`` document), unless their ``match.kind`` leaves ``report`` out. GitHub issues track one
finding each and Alertmanager takes alerts: neither gets reports.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from ..config.alerts import AlertsConfig, SlackSinkConfig, WebhookSinkConfig
from ..core.cron import latest_at_or_before
from ..core.errors import UsageError
from ..core.text import plural
from ..store.alerts import OutboxRecord

if TYPE_CHECKING:
    from ..config import LoadedConfig
    from ..notify.delivery import DeliveryOutcome

__all__ = ["KIND", "SentReport", "report_sinks", "report_window", "row_id", "send_report", "unsendable"]

KIND = "report"  # the kind of a report's outbox rows (the report's alerts section counts them under it)
_NAMESPACE = uuid.UUID("5d0c2b55-7c1e-4f8e-9a59-2f1f0e0d6a10")


def report_sinks(alerts: AlertsConfig) -> list[str]:
    """The sinks that take reports: Slack and webhooks whose ``match.kind`` (when set) lists ``report``."""
    return [name for name, sink in alerts.sinks() if isinstance(sink, SlackSinkConfig | WebhookSinkConfig)
            and (sink.match is None or sink.match.kind is None or KIND in sink.match.kind)]


def report_window(cron: str, timezone: str, now: datetime) -> tuple[datetime, datetime]:
    """The window of the slot of ``cron`` at or before ``now``: from the previous slot to that slot (UTC)."""
    slot = latest_at_or_before(cron, timezone, now)
    if slot is None:
        raise UsageError(f"[schedule] report {cron!r} has no time at or before now")
    previous = latest_at_or_before(cron, timezone, slot - timedelta(seconds=1))
    return (previous if previous is not None else slot - timedelta(days=7)), slot


def unsendable(loaded: LoadedConfig) -> str | None:
    """Why the report cannot be sent with ``loaded``'s config (one line), or None when it can."""
    if loaded.config.schedule.report is None:
        return "no [schedule] report is set (a cron expression such as \"0 9 * * MON\")"
    if not report_sinks(loaded.config.alerts):
        return "no alert sink takes reports (add [[alerts.slack]] or [[alerts.webhook]])"
    return None


@dataclass(frozen=True)
class SentReport:
    """What sending one slot's report did."""

    since: datetime
    until: datetime
    queued: list[str]  # sinks whose row was added now (the others had it already: the slot was reported)
    outcomes: list[DeliveryOutcome]

    @property
    def summary(self) -> str:
        """One line: the window, and per sink whether it was delivered, left pending, dead or already sent."""
        if not self.queued:
            return f"report {_stamp(self.since)} to {_stamp(self.until)} already sent"
        states = ", ".join(f"{o.sink} {o.state}" for o in self.outcomes) or "not delivered yet"
        return f"report {_stamp(self.since)} to {_stamp(self.until)} to {plural(len(self.queued), 'sink')}: {states}"

    @property
    def failed(self) -> bool:
        """True when a row of this run became a dead letter."""
        return any(o.state == "dead" for o in self.outcomes)


def send_report(loaded: LoadedConfig, *, now: datetime) -> SentReport:
    """Build the report of the latest slot's window and send it to every sink that takes reports and has not had it;
    raise :class:`UsageError` when it cannot be sent (:func:`unsendable`)."""
    from ..checks.runner import open_store
    from ..drift.workspace import workspace_for
    from ..notify.delivery import deliver_pending
    from .document import ReportInput, build_report

    reason = unsendable(loaded)
    if reason is not None:
        raise UsageError(f"the report cannot be sent: {reason}")
    schedule = loaded.config.schedule
    assert schedule.report is not None
    since, until = report_window(schedule.report, schedule.timezone, now)
    sinks = report_sinks(loaded.config.alerts)
    with open_store(loaded) as store:
        workspace = workspace_for(loaded)
        stored = store.window(since, until)
        document = build_report(ReportInput(loaded, workspace.repo, workspace.tip(), list(loaded.config.services),
                                            since, until, stored), now=now)
        added = store.enqueue_outbox([_row(sink, document, since, until, now) for sink in sinks])
        outcomes = deliver_pending(store, loaded.config.alerts, sinks=[r.sink for r in added],
                                   ids=[r.id for r in added]) if added else []
    return SentReport(since, until, [r.sink for r in added], outcomes)


def row_id(sink: str, since: datetime, until: datetime) -> str:
    """The outbox id of the report of ``since`` to ``until`` to ``sink``: the same whoever builds it."""
    return uuid.uuid5(_NAMESPACE, f"{sink}\n{since.isoformat()}\n{until.isoformat()}").hex


def _row(sink: str, document: dict[str, Any], since: datetime, until: datetime, now: datetime) -> OutboxRecord:
    summary = f"{KIND} {_stamp(since)} to {_stamp(until)}"
    return OutboxRecord(id=row_id(sink, since, until), sink=sink, target=0, created_at=now, summary=summary,
                        payload={"kind": KIND, "report": document}, next_attempt_at=now)


def _stamp(moment: datetime) -> str:
    from ..core.durations import format_timestamp

    return format_timestamp(moment)
