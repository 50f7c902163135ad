"""The Alertmanager sink: the alerts it builds, and its posts to fake Alertmanager v2 instances on 127.0.0.1."""

from __future__ import annotations

import itertools
import json
import logging
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from deploywatch.config.alerts import AlertmanagerSinkConfig
from deploywatch.core.findings import fingerprint
from deploywatch.core.status import Status
from deploywatch.notify.alertmanager import AlertmanagerSink, alertmanager_alerts, alerts_url, label_name
from deploywatch.notify.base import Sink
from deploywatch.notify.model import Delivery, Event, Message, Notification
from notify.samples import drift_details, freshness_details
from testing.alertmanager_api import FakeAlertmanager, parse_rfc3339

T0 = datetime(2026, 5, 4, 8, 0, tzinfo=UTC)
SINCE = T0 - timedelta(hours=26)
SECRET = "amMARKER-3c9e1f7a2b"  # matches none of redact.mask's patterns: a leak shows as itself
DASHBOARD = "https://dw.example.com/runs/42"
_ids = itertools.count(1)


def drift(subject: str = "prediction-worker", status: Status = Status.CRITICAL, event: Event = Event.FIRING,
          previous: Status | None = None, *, at: datetime = T0, since: datetime | None = SINCE,
          labels: dict[str, str] | None = None, **details: Any) -> Notification:
    """A drift notification with the details the drift collector reports."""
    return Notification(fingerprint("drift", subject), "drift", subject, event, status, previous,
                        f"{subject} {status}: 3 relevant commits behind, oldest 26h", at, since,
                        drift_details(subject, status, **details),
                        {"service": subject, "group": "predictions"} if labels is None else labels)


def check(status: Status = Status.WARNING, event: Event = Event.FIRING, *, at: datetime = T0) -> Notification:
    """A freshness check notification with the details a check result reports."""
    return Notification(fingerprint("check", "orders_fresh"), "check", "orders_fresh", event, status, None,
                        f"orders_fresh {status}: 14h is above the warn threshold 12h", at, at,
                        freshness_details(status))


def message(*notifications: Notification, generator_url: str | None = DASHBOARD) -> Message:
    return Message(f"msg-{next(_ids)}", "alertmanager", T0, notifications, "run-42", generator_url)


def config(*urls: str, **options: Any) -> AlertmanagerSinkConfig:
    timeout = options.pop("timeout", 2)
    # the config takes whole seconds; the tests want shorter deadlines than a config can say
    return AlertmanagerSinkConfig(urls=list(urls) or ["http://am.example.com:9093"], **options).model_copy(
        update={"timeout": timeout})


class Clock:
    """A settable "now" for the fake Alertmanager."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock(T0 + timedelta(minutes=1))


@pytest.fixture
def am(clock: Clock) -> Iterator[FakeAlertmanager]:
    """A fake Alertmanager whose "now" is the test's clock (a minute after the notifications)."""
    with FakeAlertmanager(clock=clock) as instance:
        yield instance


# ---------------------------------------------------------------- the alerts


def test_firing_drift_alert_is_exact() -> None:
    alerts = alertmanager_alerts(message(drift()), config())
    assert alerts == [{
        "labels": {"alertname": "DeploywatchFinding", "kind": "drift", "subject": "prediction-worker",
                   "status": "critical", "severity": "critical", "group": "predictions",
                   "service": "prediction-worker"},
        "annotations": {
            "summary": "prediction-worker critical: 3 relevant commits behind, oldest 26h",
            "description": "deployed a1b2c3d4 · tip ffeeddcc\n"
                           "3 relevant commits behind (14 total), oldest 26h\n"
                           "• 9f2c1e7a predictions: retry timeouts — Ada Lovelace\n"
                           "• …and 2 more\n"
                           "Deploy: kubectl rollout restart deploy/prediction-worker",
        },
        "startsAt": "2026-05-03T06:00:00Z",
        "endsAt": "2026-05-04T14:00:00Z",  # at + ends_after (6h)
        "generatorURL": DASHBOARD,
    }]


def test_check_alert_describes_value_and_thresholds() -> None:
    [alert] = alertmanager_alerts(message(check(), generator_url=None), config(ends_after="2h"))
    assert alert == {
        "labels": {"alertname": "DeploywatchFinding", "kind": "check", "subject": "orders_fresh",
                   "status": "warning", "severity": "warning"},
        "annotations": {"summary": "orders_fresh warning: 14h is above the warn threshold 12h",
                        "description": "value 14h (warn > 12h, critical > 24h)\n14h is above the warn threshold 12h"},
        "startsAt": "2026-05-04T08:00:00Z",
        "endsAt": "2026-05-04T10:00:00Z",
    }


@pytest.mark.parametrize(("status", "severity"), [
    (Status.CRITICAL, "critical"), (Status.UNKNOWN, "critical"), (Status.WARNING, "warning")])
def test_severity_never_makes_missing_data_look_mild(status: Status, severity: str) -> None:
    [alert] = alertmanager_alerts(message(drift(status=status)), config())
    assert (alert["labels"]["status"], alert["labels"]["severity"]) == (status.value, severity)


def test_resolved_alert_has_the_labels_it_fired_with_and_ends_now() -> None:
    resolved = drift(status=Status.OK, event=Event.RESOLVED, previous=Status.UNKNOWN)
    [alert] = alertmanager_alerts(message(resolved), config())
    assert alert["labels"]["status"] == "unknown"
    assert alert["labels"]["severity"] == "critical"
    assert (alert["startsAt"], alert["endsAt"]) == ("2026-05-03T06:00:00Z", "2026-05-04T08:00:00Z")
    assert alert["annotations"]["description"] == (
        "Resolved after 26h.\nprediction-worker ok: 3 relevant commits behind, oldest 26h")


def test_resolved_without_a_known_previous_status_resolves_every_one() -> None:
    alerts = alertmanager_alerts(message(drift(status=Status.OK, event=Event.RESOLVED)), config())
    assert [(a["labels"]["status"], a["endsAt"]) for a in alerts] == [
        ("critical", "2026-05-04T08:00:00Z"), ("unknown", "2026-05-04T08:00:00Z"), ("warning", "2026-05-04T08:00:00Z")]


def test_a_changed_status_also_resolves_the_previous_alert() -> None:
    changed = drift(status=Status.CRITICAL, event=Event.CHANGED, previous=Status.WARNING)
    alerts = alertmanager_alerts(message(changed), config())
    assert [(a["labels"]["status"], a["labels"]["severity"], a["endsAt"]) for a in alerts] == [
        ("critical", "critical", "2026-05-04T14:00:00Z"), ("warning", "warning", "2026-05-04T08:00:00Z")]
    assert alerts[0]["annotations"]["description"].startswith("Changed from warning to critical.\n")
    # unknown -> critical keeps the severity but not the status label: still two alerts
    changed = drift(status=Status.CRITICAL, event=Event.CHANGED, previous=Status.UNKNOWN)
    assert len(alertmanager_alerts(message(changed), config())) == 2


def test_repeat_and_test_events() -> None:
    repeat = drift(event=Event.REPEAT, since=T0 - timedelta(hours=6))
    test = Notification("t", "test", "deploywatch", Event.TEST, Status.WARNING, None, "deploywatch test", T0)
    alerts = alertmanager_alerts(message(repeat, test), config())
    assert alerts[0]["annotations"]["description"].startswith("Still critical, firing for 6h.\ndeployed a1b2c3d4")
    assert alerts[1] == {
        "labels": {"alertname": "DeploywatchTest", "kind": "test", "subject": "deploywatch", "status": "warning",
                   "severity": "warning"},
        "annotations": {"summary": "deploywatch test",
                        "description": "A test notification from deploywatch: if it arrived, the sink works."},
        "startsAt": "2026-05-04T08:00:00Z", "endsAt": "2026-05-04T08:05:00Z", "generatorURL": DASHBOARD,
    }


def test_labels_are_made_valid_prometheus_label_names() -> None:
    labels = {"team-name": "data", "1st": "yes", "ok_name": "fine", "région.code": "eu", "alertname": "Evil",
              "severity": "info", "": "dropped", "empty": ""}
    [alert] = alertmanager_alerts(message(drift(labels=labels)), config())
    assert alert["labels"] == {
        "alertname": "DeploywatchFinding", "kind": "drift", "subject": "prediction-worker", "status": "critical",
        "severity": "critical", "_1st": "yes", "ok_name": "fine", "r_gion_code": "eu", "team_name": "data"}
    assert [label_name(n) for n in ("a", "_x", "9", "a b", "")] == ["a", "_x", "_9", "a_b", ""]


def test_starts_at_never_after_the_observation() -> None:
    [alert] = alertmanager_alerts(message(drift(since=T0 + timedelta(hours=1))), config())
    assert alert["startsAt"] == "2026-05-04T08:00:00Z"
    [alert] = alertmanager_alerts(message(drift(since=None)), config())
    assert alert["startsAt"] == "2026-05-04T08:00:00Z"


@pytest.mark.parametrize(("base", "url"), [
    ("http://am:9093", "http://am:9093/api/v2/alerts"),
    ("http://am:9093/", "http://am:9093/api/v2/alerts"),
    ("https://ops.example.com/alertmanager", "https://ops.example.com/alertmanager/api/v2/alerts"),
    ("https://ops.example.com/alertmanager/", "https://ops.example.com/alertmanager/api/v2/alerts"),
    ("https://ops.example.com/am?tenant=a", "https://ops.example.com/am/api/v2/alerts?tenant=a"),
])
def test_alerts_url_keeps_the_prefix(base: str, url: str) -> None:
    assert alerts_url(base) == url


# ---------------------------------------------------------------- against the fake


def test_a_firing_alert_is_active_then_resolved(am: FakeAlertmanager, clock: Clock, client: httpx.Client) -> None:
    sink = AlertmanagerSink("alertmanager", config(am.url), 0)
    assert sink.deliver(message(drift()), client) == Delivery.delivered(status=200, alerts=1)
    [active] = am.active()
    assert active.labels["subject"] == "prediction-worker"
    assert (active.starts_at, active.ends_at) == (SINCE, T0 + timedelta(hours=6))
    listed = client.get(f"{am.url}/api/v2/alerts").json()
    assert [a["labels"] for a in listed] == [dict(active.labels)]
    assert listed[0]["status"]["state"] == "active"
    assert am.requests[0].headers["content-type"] == "application/json"
    assert am.requests[0].response == ""

    clock.now = T0 + timedelta(hours=1, minutes=1)
    resolved = drift(status=Status.OK, event=Event.RESOLVED, previous=Status.CRITICAL, at=T0 + timedelta(hours=1))
    assert sink.deliver(message(resolved), client).ok
    assert am.active() == []
    stored = am.alert(subject="prediction-worker")
    assert stored is not None
    assert (stored.starts_at, stored.ends_at) == (SINCE, T0 + timedelta(hours=1))
    assert client.get(f"{am.url}/api/v2/alerts").json() == []


def test_a_status_change_leaves_one_active_alert(am: FakeAlertmanager, client: httpx.Client) -> None:
    sink = AlertmanagerSink("alertmanager", config(am.url), 0)
    assert sink.deliver(message(drift(status=Status.WARNING)), client).ok
    changed = drift(status=Status.CRITICAL, event=Event.CHANGED, previous=Status.WARNING)
    assert sink.deliver(message(changed), client).ok
    assert [(a.labels["status"], a.labels["severity"]) for a in am.active()] == [("critical", "critical")]


def test_every_run_reposts_and_the_start_is_kept(am: FakeAlertmanager, clock: Clock, client: httpx.Client) -> None:
    sink = AlertmanagerSink("alertmanager", config(am.url), 0)
    assert sink.deliver(message(drift(since=None)), client).ok
    clock.now = T0 + timedelta(minutes=31)
    later = drift(event=Event.REPEAT, since=None, at=T0 + timedelta(minutes=30))
    assert sink.deliver(message(later), client).ok
    [active] = am.active()
    assert (active.starts_at, active.ends_at) == (T0, T0 + timedelta(hours=6, minutes=30))


def test_ha_pair_each_instance_confirms_on_its_own(fake_alertmanager_pair: tuple[FakeAlertmanager, FakeAlertmanager],
                                                   client: httpx.Client) -> None:
    first, second = fake_alertmanager_pair
    now = datetime.now(UTC)
    cfg = config(first.url, second.url, headers={"Authorization": f"Bearer {SECRET}"})
    sinks = [AlertmanagerSink("alertmanager", cfg, 0), AlertmanagerSink("alertmanager", cfg, 1)]
    assert sinks[0].rate_key != sinks[1].rate_key
    msg = message(drift(at=now, since=now - timedelta(hours=2)), check(at=now))
    first.fail_next(503)
    assert sinks[0].deliver(msg, client) == Delivery.retry(
        'Alertmanager: HTTP 503 ("HTTP 503 from the fake Alertmanager")')
    assert sinks[1].deliver(msg, client) == Delivery.delivered(status=200, alerts=2)
    assert first.active() == [] and len(second.active()) == 2
    assert sinks[0].deliver(msg, client).ok
    assert [a.labels for a in first.active()] == [a.labels for a in second.active()]
    assert second.requests[0].headers["authorization"] == f"Bearer {SECRET}"


def test_a_400_is_a_dead_letter_with_alertmanagers_error(am: FakeAlertmanager, client: httpx.Client) -> None:
    sink = AlertmanagerSink("alertmanager", config(am.url), 0)
    am.fail_next(400, body=json.dumps('invalid label set: invalid name "team-name"'))
    assert sink.deliver(message(drift()), client) == Delivery.dead(
        'Alertmanager: HTTP 400: invalid label set: invalid name "team-name"')
    schema_error = {"code": 400, "message": "validation failure list:\n0.labels in body is required"}
    am.fail_next(400, body=json.dumps(schema_error))
    assert sink.deliver(message(drift()), client) == Delivery.dead(
        "Alertmanager: HTTP 400: validation failure list: 0.labels in body is required")
    am.fail_next(400, body="")
    assert sink.deliver(message(drift()), client) == Delivery.dead("Alertmanager: HTTP 400: bad request")


@pytest.mark.parametrize(("status", "permanent"), [(500, False), (503, False), (429, False), (401, True), (404, True)])
def test_other_statuses_follow_the_common_rules(am: FakeAlertmanager, client: httpx.Client, status: int,
                                                permanent: bool) -> None:
    am.fail_next(status)
    delivery = AlertmanagerSink("alertmanager", config(am.url), 0).deliver(message(drift()), client)
    assert (delivery.ok, delivery.permanent) == (False, permanent)
    assert delivery.error == f'Alertmanager: HTTP {status}{" rate limited" if status == 429 else ""} ' \
                             f'("HTTP {status} from the fake Alertmanager")'


def test_a_wrong_prefix_is_a_dead_letter(client: httpx.Client) -> None:
    with FakeAlertmanager(prefix="/alertmanager") as am:
        sink = AlertmanagerSink("alertmanager", config(am.base_url), 0)
        assert sink.deliver(message(drift()), client) == Delivery.dead("Alertmanager: HTTP 404 (404 page not found)")
        assert AlertmanagerSink("alertmanager", config(am.url + "/"), 0).deliver(message(drift()), client).ok
        assert [r.path for r in am.requests] == ["/api/v2/alerts", "/alertmanager/api/v2/alerts"]


def test_a_hanging_instance_times_out(am: FakeAlertmanager, client: httpx.Client) -> None:
    am.hang_next(5)
    started = time.monotonic()
    delivery = AlertmanagerSink("alertmanager", config(am.url, timeout=0.3), 0).deliver(message(drift()), client)
    assert time.monotonic() - started < 1.0
    assert delivery == Delivery.retry("Alertmanager: POST timed out after 0.3s")


def test_headers_and_url_secrets_never_leak(am: FakeAlertmanager, client: httpx.Client,
                                            caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    cfg = config(f"{am.url}/?token={SECRET}", headers={"X-Scope-OrgID": SECRET}, timeout=0.3)
    sink = AlertmanagerSink("alertmanager", cfg, 0)
    errors = []
    for status in (400, 401, 500):
        am.fail_next(status, body=json.dumps(f"tenant {SECRET} unknown"))
        errors.append(sink.deliver(message(drift()), client).error)
    am.hang_next(2)
    errors.append(sink.deliver(message(drift()), client).error)
    assert errors[0] == "Alertmanager: HTTP 400: tenant *** unknown"
    for text in [*errors, repr(sink), sink.rate_key, *(r.getMessage() for r in caplog.records)]:
        assert text is not None
        assert SECRET not in text, text
    assert am.requests[0].query == f"token={SECRET}"


def test_url_index_must_name_a_configured_url() -> None:
    with pytest.raises(IndexError, match="has 1 Alertmanager URL"):
        AlertmanagerSink("alertmanager", config(), 1)


def test_it_is_a_sink() -> None:
    sink: Sink = AlertmanagerSink("alertmanager", config("http://a:9093", "http://b:9093"), 1)
    assert (sink.name, sink.per_finding, sink.min_interval) == ("alertmanager", False, 0.0)
    assert repr(sink) == "AlertmanagerSink(name='alertmanager', url_index=1, target='http://b:9093')"


# ---------------------------------------------------------------- the fake validates as Alertmanager does


def test_the_fake_rejects_what_alertmanager_rejects(am: FakeAlertmanager, client: httpx.Client) -> None:
    url = f"{am.url}/api/v2/alerts"
    ok = {"labels": {"alertname": "A"}, "startsAt": "2026-05-04T08:00:00Z", "endsAt": "2026-05-04T09:00:00Z"}
    cases: list[tuple[Any, str]] = [
        ({"labels": {}}, "validation failure list:\nalerts in body must be of type array"),
        ([{"annotations": {}}], "validation failure list:\n0.labels in body is required"),
        ([{"labels": {"a": 1}}], "validation failure list:\n0.labels in body must be a map of strings"),
        ([{**ok, "startsAt": "yesterday"}], 'validation failure list:\n0.startsAt in body must be of type date-time: '
                                            '"yesterday"'),
    ]
    for body, error in cases:
        response = client.post(url, json=body)
        assert response.status_code == 400
        assert response.json() == {"code": 400, "message": error}
    response = client.post(url, json=[
        ok, {**ok, "labels": {"team-name": "x"}}, {**ok, "labels": {"a": ""}},
        {**ok, "labels": {"b": "y"}, "endsAt": "2026-05-04T07:00:00Z"},
        {**ok, "labels": {"c": "z"}, "annotations": {"bad key": "v"}},
    ])
    assert response.status_code == 400
    assert response.json() == ('invalid label set: invalid name "team-name"; at least one label pair required; '
                               'start time must be before end time; invalid annotations: invalid name "bad key"')
    assert [a.labels for a in am.alerts.values()] == [{"alertname": "A"}]  # best effort: the valid one is kept


def test_the_fake_fills_in_missing_times(am: FakeAlertmanager, clock: Clock, client: httpx.Client) -> None:
    assert client.post(f"{am.url}/api/v2/alerts", json=[{"labels": {"alertname": "A"}}]).status_code == 200
    stored = am.alert(alertname="A")
    assert stored is not None
    assert (stored.starts_at, stored.ends_at, stored.timeout) == (clock.now, clock.now + timedelta(minutes=5), True)
    assert parse_rfc3339("2026-05-04T10:00:00.123456789+02:00") == datetime(2026, 5, 4, 8, 0, 0, 123456, tzinfo=UTC)
