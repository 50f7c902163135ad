"""The report's alerts and phases sections against oracles computed here: notifications per sink and kind from outbox
rows the real router wrote (some then delivered, one dead), and phase completion on time from completions recorded
with ``Store.record_completion``."""

from __future__ import annotations

import json
import uuid
from collections import Counter
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import pytest

from deploywatch.cli import main
from deploywatch.config.alerts import AlertsConfig
from deploywatch.core.durations import format_timestamp
from deploywatch.core.findings import Finding
from deploywatch.core.status import Status
from deploywatch.notify.router import Routed, route
from deploywatch.store import Store
from deploywatch.store.alerts import AlertTx, OutboxRecord
from deploywatch.store.records import RunRecord, finding_records
from testing.reportscene import ReportScene

SINKS = AlertsConfig.model_validate({
    "slack": [{"webhook": "https://hooks.slack.invalid/services/T0/B0/secret"}],
    "webhook": [{"url": "https://hooks.invalid/dw", "match": {"kind": ["drift"]}}],
})


def report(capsys: pytest.CaptureFixture[str], scene: ReportScene, since: datetime,
           until: datetime) -> dict[str, Any]:
    capsys.readouterr()
    code = main(["report", "--config", str(scene.config), "--format", "json", "--now", format_timestamp(until),
                 "--since", format_timestamp(since), "--until", format_timestamp(until)])
    out = capsys.readouterr()
    assert code == 0, out.err
    result: dict[str, Any] = json.loads(out.out)
    return result


def routed_run(store: Store, findings: list[Finding], now: datetime) -> list[OutboxRecord]:
    """Record a run and route its findings through the real router, as ``record_and_notify`` does (no delivery)."""
    run = RunRecord(uuid.uuid4().hex, "check", now, now, None, "ok", 0)
    sinks = list(SINKS.sinks())

    def decide(tx: AlertTx) -> Routed:
        decided = route(findings, sinks, tx.states(n for n, _ in sinks), tx.silences(now), now=now, run_id=run.id)
        tx.save_states(decided.states)
        tx.enqueue(decided.messages)
        return decided

    decided = store.record_run(run, finding_records(run.id, findings), route=decide)
    assert decided is not None
    return list(decided.messages)


def test_alerts_count_each_notification_by_sink_kind_and_delivery_state(
        scene: ReportScene, capsys: pytest.CaptureFixture[str]) -> None:
    drift_bad = Finding("drift", "api", Status.CRITICAL, "api is 3 behind", labels={"service": "api"})
    check_bad = Finding("check", "coverage[b]", Status.WARNING, "coverage low", labels={"check": "coverage"})
    since = datetime.now(UTC) - timedelta(seconds=1)  # the router stamps its rows with the wall clock
    with Store.open(scene.url) as store:
        first = routed_run(store, [drift_bad, check_bad, Finding("gate", "release", Status.CRITICAL, "closed")],
                           since)
        second = routed_run(store, [Finding("drift", "api", Status.OK, "api is live"),
                                    Finding("check", "coverage[b]", Status.OK, "coverage back"),
                                    Finding("gate", "release", Status.CRITICAL, "closed")], since)
        until = datetime.now(UTC) + timedelta(seconds=1)
        rows = first + second
        assert len(first) == 2 and len(second) == 2  # Slack and the webhook each time
        # rows created just before and at the window's end are not counted
        outside = [OutboxRecord(id=f"outside-{k}", sink="slack", target=0, created_at=moment, summary="outside",
                                payload=first[0].payload) for k, moment in enumerate([since - timedelta(minutes=1),
                                                                                      until])]
        assert len(store.enqueue_outbox(outside)) == 2
        # deliver the first run's rows (the webhook's one dies), leave the second's pending
        for row in first:
            claimed = store.claim_outbox(sinks=[row.sink], me="test", now=until, lease=60, ids=[row.id])
            assert [r.id for r in claimed] == [row.id]
            state = "dead" if row.sink == "webhook" else "delivered"
            assert store.finish_outbox(row.id, "test", state=state, attempts=1, next_attempt_at=until,
                                       delivered_at=until if state == "delivered" else None)

    expected: Counter[tuple[str, str, str]] = Counter()
    for row in rows:
        state = ("dead" if row.sink == "webhook" else "sent") if row in first else "waiting"
        for notification in row.payload["notifications"]:
            expected[(row.sink, notification["kind"], state)] += 1
    # the webhook's match takes drift only; Slack hears all three kinds, resolved ones included
    assert {(sink, kind) for sink, kind, _ in expected} == {("slack", "drift"), ("slack", "check"),
                                                           ("slack", "gate"), ("webhook", "drift")}
    alerts = report(capsys, scene, since, until)["alerts"]
    got = Counter({(a["sink"], a["kind"], state): a[state] for a in alerts for state in ("sent", "waiting", "dead")})
    assert +got == +expected
    assert [(a["sink"], a["kind"]) for a in alerts] == sorted({(s, k) for s, k, _ in expected})


def test_a_scheduled_reports_message_counts_once_as_kind_report(
        scene: ReportScene, capsys: pytest.CaptureFixture[str]) -> None:
    since = scene.end + timedelta(days=1)
    until = since + timedelta(days=1)
    document = report(capsys, scene, scene.start, scene.end)
    with Store.open(scene.url) as store:
        added = store.enqueue_outbox([OutboxRecord(id="r1", sink="slack", target=0, created_at=since, summary="report",
                                                   payload={"kind": "report", "report": document})])
        again = store.enqueue_outbox([OutboxRecord(id="r1", sink="slack", target=0, created_at=since,
                                                   summary="report", payload={"kind": "report", "report": {}})])
    assert [r.id for r in added] == ["r1"] and again == []  # the same id is never queued twice
    alerts = report(capsys, scene, since, until)["alerts"]
    assert alerts == [{"sink": "slack", "kind": "report", "sent": 0, "waiting": 1, "dead": 0}]


def at(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), UTC)


def test_phases_count_a_date_on_time_when_every_processor_reported_by_the_end_of_the_next_day(
        scene: ReportScene, capsys: pytest.CaptureFixture[str]) -> None:
    scene.config.write_text(scene.config.read_text(encoding="utf-8")
                            + '\n[phases.nightly]\nprocessors = ["load", "score"]\n', encoding="utf-8")
    d = [scene.end.date() + timedelta(days=10 + k) for k in range(7)]
    since, until = at(d[0], 0), at(d[6], 0)
    reports = [  # (run date, processor, when it reported)
        (d[0], "load", at(d[0], 20)), (d[0], "score", at(d[0], 22)), (d[0], "load", at(d[1], 3)),  # a repeat
        (d[1], "load", at(d[1], 10)), (d[1], "score", at(d[2], 23, 59)),  # the last minute of the next day
        (d[2], "load", at(d[2], 9)), (d[2], "score", at(d[4], 0, 30)),  # half an hour late
        (d[3], "load", at(d[3], 8)), (d[3], "extra", at(d[3], 9)),  # score never reported; extra is not expected
        (d[5], "score", at(d[5], 11)), (d[5], "load", at(d[5], 12)),  # its deadline is after the window: done anyway
    ]
    with Store.open(scene.url) as store:
        for run_date, processor, moment in reports:
            store.record_completion("nightly", processor, run_date, expected=["load", "score"], source="test",
                                    now=moment, action=None)
    # The oracle, by hand: a date counts when complete, or when its deadline (00:00 UTC two days on) is in the
    # window; complete = the later first report of load and score; on time = complete before the deadline.
    expected_days = [
        {"date": d[0].isoformat(), "completed_at": format_timestamp(at(d[0], 22)), "on_time": True},
        {"date": d[1].isoformat(), "completed_at": format_timestamp(at(d[2], 23, 59)), "on_time": True},
        {"date": d[2].isoformat(), "completed_at": format_timestamp(at(d[4], 0, 30)), "on_time": False},
        {"date": d[3].isoformat(), "completed_at": None, "on_time": False},
        {"date": d[4].isoformat(), "completed_at": None, "on_time": False},  # nothing reported, deadline passed
        {"date": d[5].isoformat(), "completed_at": format_timestamp(at(d[5], 12)), "on_time": True},
    ]
    phases = report(capsys, scene, since, until)["data"]["phases"]
    assert phases == [{"phase": "nightly", "dates": 6, "on_time": 3, "on_time_share": 0.5, "days": expected_days}]
