"""From a command's findings to delivered notifications: record, route, deliver (or only show).

The run is recorded and routed in one transaction, then the outbox is delivered — or, for ``--dry-run-alerts``, what
would be sent is shown and nothing is changed.

Every command that produces findings (drift, canary, gate, check) ends with :func:`record_and_notify`.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from ..config.alerts import AlertmanagerSinkConfig, AlertsConfig, GitHubSinkConfig, SinkConfig, SlackSinkConfig
from ..core.faults import crash_point
from ..core.findings import Finding
from ..core.redact import mask
from ..core.text import json_text, printable
from ..store.records import MetricRecord, RunRecord, finding_records
from .model import AlertMode

if TYPE_CHECKING:
    from ..store import Store
    from ..store.alerts import AlertTx, OutboxRecord
    from .delivery import DeliveryOutcome
    from .router import Routed

__all__ = ["AlertMode", "Notified", "preview", "record_and_notify"]


@dataclass
class Notified:
    """What notifying did in one run."""

    routed: Routed | None = None
    outcomes: list[DeliveryOutcome] = field(default_factory=list)


def _stderr(line: str) -> None:
    print(f"deploywatch: {mask(line)}", file=sys.stderr, flush=True)


def record_and_notify(store: Store, run: RunRecord, findings: Sequence[Finding], metrics: Sequence[MetricRecord],
                      alerts: AlertsConfig, mode: AlertMode, *, now: datetime,
                      log: Callable[[str], None] = _stderr) -> Notified:
    """Store the run; route its findings to the configured sinks in the same transaction; deliver the outbox."""
    records = finding_records(run.id, findings)
    sinks = list(alerts.sinks())
    if not sinks or not mode.enabled:
        store.record_run(run, records, metrics)
        return Notified()
    from .delivery import deliver_pending
    from .router import route

    if mode.dry_run:
        store.record_run(run, records, metrics)
        states, silences = store.alert_view([n for n, _ in sinks], now)
        routed = route(findings, sinks, states, silences, now=now, run_id=run.id)
        show_preview(routed, alerts, log)
        return Notified(routed)

    def decide(tx: AlertTx) -> Routed:
        decided = route(findings, sinks, tx.states(n for n, _ in sinks), tx.silences(now), now=now, run_id=run.id)
        tx.save_states(decided.states)
        tx.enqueue(decided.messages)
        return decided

    decided = store.record_run(run, records, metrics, route=decide)
    crash_point("after-outbox-write")
    outcomes = deliver_pending(store, alerts, log=log)
    return Notified(decided, outcomes)


def preview(row: OutboxRecord, config: SinkConfig, alerts: AlertsConfig) -> Any:
    """What a sink would send for an outbox row: Slack's Block Kit body, the Alertmanager alerts, the webhook
    body, or for GitHub the issue actions. Never a URL, token or header."""
    from .delivery import message_of

    message = message_of(row, alerts)
    if isinstance(config, SlackSinkConfig):
        from .slack import slack_body

        return slack_body(message)
    if isinstance(config, AlertmanagerSinkConfig):
        from .alertmanager import alertmanager_alerts

        return alertmanager_alerts(message, config)
    if isinstance(config, GitHubSinkConfig):
        return [{"fingerprint": n.fingerprint, "subject": n.subject, "event": n.event.value,
                 "status": n.status.value} for n in message.notifications]
    from .webhook import webhook_body

    return webhook_body(message)


def show_preview(routed: Routed, alerts: AlertsConfig, log: Callable[[str], None]) -> None:
    """Print, for ``--dry-run-alerts``, every message that would be sent and every silenced finding."""
    if not routed.messages:
        log("dry run: no notifications are due")
    for row in routed.messages:
        config = alerts.sink(row.sink)
        assert config is not None
        log(printable(f"dry run: would send to {config.type} sink {row.sink!r} ({config.target()}): {row.summary}"))
        print(json_text(mask(json.dumps(preview(row, config, alerts), indent=2, ensure_ascii=False))), file=sys.stderr)
    for sink, finding, silence in routed.silenced:
        log(printable(f"dry run: {finding.kind} {finding.subject} is silenced for {sink!r} by silence {silence}"))
