"""``deploywatch alerts test|pending|flush``: try the sinks, look into the outbox, deliver what waits."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from ..checks.validate import load_config
from ..config import COMMAND_SECTIONS, LoadedConfig
from ..config.alerts import AlertsConfig, SinkConfig
from ..core.durations import format_age, format_timestamp
from ..core.errors import UsageError
from ..core.redact import mask
from ..core.render import console, emit_json, styled, table
from ..core.status import Status

if TYPE_CHECKING:
    from ..store.records import RunRecord

__all__ = ["flush", "pending", "test"]

PENDING_SCHEMA = "deploywatch.outbox/v1"


def _sinks(loaded: LoadedConfig, names: Sequence[str]) -> dict[str, SinkConfig]:
    """The sinks named (every configured one when none are), by name; an unknown name is an error."""
    configured = dict(loaded.config.alerts.sinks())
    if not configured:
        raise UsageError(f"no alert sinks are configured in {loaded.path} (add [[alerts.slack]], "
                         "[[alerts.github]], [[alerts.alertmanager]] or [[alerts.webhook]])")
    unknown = [n for n in names if n not in configured]
    if unknown:
        raise UsageError(f"unknown sink {unknown[0]!r} (sinks: {', '.join(configured)})")
    return {n: configured[n] for n in names or configured}


def test(names: Sequence[str], *, config_path: Path | None, output_format: str | None, now: datetime) -> int:
    """Send a test message to every sink (or those named) now, through the outbox; exit 0 when all confirmed."""
    from ..checks.runner import open_store
    from ..notify.delivery import deliver_pending
    from ..notify.model import Event, Notification
    from ..notify.router import outbox_rows

    loaded = load_config(config_path, sections=COMMAND_SECTIONS)
    sinks = _sinks(loaded, names)
    alerts = loaded.config.alerts
    notification = Notification(
        fingerprint="test", kind="test", subject="deploywatch alerts test", event=Event.TEST, status=Status.WARNING,
        previous_status=None, summary="This is a test notification from deploywatch: if you can read it, the sink "
        "works.", at=now, firing_since=now, labels={"kind": "test", "subject": "deploywatch alerts test"})
    rows = [row for name, config in sinks.items() for row in outbox_rows(name, config, [notification], run_id=None)]
    with open_store(loaded) as store:
        store.record_run(_test_run(now), route=lambda tx: tx.enqueue(rows))
        outcomes = deliver_pending(store, alerts, ids=[r.id for r in rows])
    results = [{"sink": o.sink, "target": sinks[o.sink].target(), "delivered": o.state == "delivered",
                "state": o.state, "attempts": o.attempts, "error": o.error, "result": o.result} for o in outcomes]
    if (output_format or "table") == "json":
        emit_json({"schema": "deploywatch.alerts-test/v1", "results": results})
    else:
        out = console()
        for r in results:
            mark = styled("delivered", "green") if r["delivered"] else styled(str(r["state"]), "bold red")
            out.print(f"{r['sink']} ({r['target']}): ", mark, f" — {r['error']}" if r["error"] else "")
    return 0 if results and all(r["delivered"] for r in results) else 2


def _test_run(now: datetime) -> RunRecord:
    from ..store.records import RunRecord

    return RunRecord(id=uuid.uuid4().hex, command="alerts test", started_at=now, finished_at=datetime.now(UTC),
                     run_date=None, status="ok", exit_code=0, score=None, details={})


def pending(*, config_path: Path | None, output_format: str | None, now: datetime, delivered: bool,
            limit: int) -> int:
    """List the outbox rows not delivered (pending and dead letters); exit 0 when empty, 1 pending, 2 dead."""
    from ..checks.runner import open_store

    loaded = load_config(config_path, sections=COMMAND_SECTIONS)
    states = ("pending", "dead", "delivered") if delivered else ("pending", "dead")
    with open_store(loaded) as store:
        rows = store.outbox(states=states, limit=limit)
    configured = dict(loaded.config.alerts.sinks())
    clock = datetime.now(UTC)  # the outbox runs on wall-clock time
    items = [{"id": r.id, "sink": r.sink, "configured": r.sink in configured, "state": r.state,
              "created_at": format_timestamp(r.created_at), "attempts": r.attempts,
              "next_attempt_at": format_timestamp(r.next_attempt_at) if r.state == "pending" and r.next_attempt_at
              else None, "last_error": r.last_error, "summary": r.summary,
              "delivered_at": format_timestamp(r.delivered_at) if r.delivered_at else None} for r in rows]
    if (output_format or "table") == "json":
        emit_json({"schema": PENDING_SCHEMA, "items": items})
    elif not items:
        console().print("the outbox is empty: every notification was delivered")
    else:
        columns = [("ID", "left"), ("SINK", "left"), ("STATE", "left"), ("AGE", "right"), ("ATTEMPTS", "right"),
                   ("NEXT", "left"), ("WHAT", "left"), ("LAST ERROR", "left")]
        body = []
        for item, r in zip(items, rows, strict=True):
            style = {"dead": "bold red", "pending": "yellow"}.get(r.state, "green")
            sink = r.sink if item["configured"] else f"{r.sink} (no longer configured)"
            body.append([r.id[:12], sink, styled(r.state, style),
                         format_age((clock - r.created_at).total_seconds()), str(r.attempts),
                         item["next_attempt_at"] or "-", r.summary, mask(r.last_error or "")])
        console().print(table(columns, body, title="Outbox"))
    if any(i["state"] == "dead" for i in items):
        return 2
    return 1 if any(i["state"] == "pending" for i in items) else 0


def flush(*, config_path: Path | None, output_format: str | None, retry_dead: bool, wait: bool) -> int:
    """Deliver every pending row now (ignoring backoff; dead letters too with ``retry_dead``)."""
    from ..checks.runner import open_store
    from ..notify.delivery import deliver_pending

    loaded = load_config(config_path, sections=COMMAND_SECTIONS)
    alerts: AlertsConfig = loaded.config.alerts
    _sinks(loaded, ())
    with open_store(loaded) as store:
        outcomes = deliver_pending(store, alerts, ignore_backoff=True, include_dead=retry_dead,
                                   budget=float(alerts.retry_for) if wait else 0.0)
    items = [{"id": o.id, "sink": o.sink, "state": o.state, "attempts": o.attempts, "error": o.error,
              "summary": o.summary} for o in outcomes]
    if (output_format or "table") == "json":
        emit_json({"schema": "deploywatch.flush/v1", "items": items})
    else:
        out = console()
        if not items:
            out.print("nothing to deliver")
        for o in outcomes:
            style = {"delivered": "green", "dead": "bold red"}.get(o.state, "yellow")
            out.print(f"{o.id[:12]} {o.sink}: ", styled(o.state, style), f" {o.summary}",
                      f" — {o.error}" if o.error else "")
    if any(o.state == "dead" for o in outcomes):
        return 2
    return 1 if any(o.state == "pending" for o in outcomes) else 0
