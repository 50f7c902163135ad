"""The generic webhook sink against a receiver on 127.0.0.1, with real httpx clients."""

from __future__ import annotations

import email.utils
import itertools
import logging
import time
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import httpx
import pytest

from deploywatch import load_config
from deploywatch.config.alerts import WebhookSinkConfig
from deploywatch.core.errors import ConfigError
from deploywatch.core.findings import fingerprint
from deploywatch.core.status import Status
from deploywatch.notify.base import Sink
from deploywatch.notify.model import Delivery, Event, Message, Notification
from deploywatch.notify.webhook import SCHEMA, WebhookSink, json_safe, webhook_body
from notify.samples import drift_details, freshness_details
from testing.http import closed_port
from testing.webhook_api import FakeWebhook

T0 = datetime(2026, 5, 4, 8, 0, tzinfo=UTC)
HEADER_SECRET = "hdrMARKER-5f1c0e9b7a"  # matches none of redact.mask's patterns: a leak shows as itself
PATH_SECRET = "pathMARKER-81b2d6c4e0"
_ids = itertools.count(1)


def drift(subject: str = "prediction-worker", status: Status = Status.CRITICAL, event: Event = Event.FIRING,
          previous: Status | None = None, **details: Any) -> Notification:
    """A drift notification with the details the drift collector reports."""
    return Notification(fingerprint("drift", subject), "drift", subject, event, status, previous,
                        f"{subject} {status}: 3 relevant commits behind, oldest 26h", T0, T0 - timedelta(hours=26),
                        drift_details(subject, status, **details), {"service": subject, "group": "predictions"})


def check(status: Status = Status.WARNING, **details: Any) -> Notification:
    """A check notification with the details a check result reports."""
    return Notification(fingerprint("check", "orders_fresh"), "check", "orders_fresh", Event.FIRING, status, None,
                        "orders_fresh warning: 14h is above the warn threshold 12h", T0, T0,
                        freshness_details(status, **details))


def message(*notifications: Notification, id: str | None = None) -> Message:
    return Message(id or f"msg-{next(_ids)}", "webhook", T0, notifications, "run-42",
                   "https://dw.example.com/runs/42")


def sink_for(url: str, *, timeout: float = 2.0, headers: dict[str, str] | None = None) -> WebhookSink:
    config = WebhookSinkConfig(url=url, headers={"Authorization": f"Bearer {HEADER_SECRET}"}
                               if headers is None else headers)
    # the config takes whole seconds; the tests want shorter deadlines than a config can say
    return WebhookSink("webhook", config.model_copy(update={"timeout": timeout}))


def test_body_is_the_documented_schema(fake_webhook: FakeWebhook, client: httpx.Client) -> None:
    notifications = (drift(), check(), drift("billing", Status.OK, Event.RESOLVED, Status.WARNING))
    msg = message(*notifications, id="outbox-17")
    headers = {"Authorization": f"Bearer {HEADER_SECRET}", "X-Team": "data-platform"}
    assert sink_for(fake_webhook.url, headers=headers).deliver(msg, client) == Delivery.delivered(status=200)
    assert fake_webhook.received == [{
        "schema": "deploywatch.notification/v1", "id": "outbox-17", "sink": "webhook", "run_id": "run-42",
        "created_at": "2026-05-04T08:00:00Z", "generator_url": "https://dw.example.com/runs/42",
        "notifications": [n.to_json() for n in notifications],
    }]
    assert SCHEMA == "deploywatch.notification/v1"
    sent = fake_webhook.requests[0]
    assert (sent.method, sent.path) == ("POST", "/hooks/deploywatch")
    assert sent.headers["authorization"] == f"Bearer {HEADER_SECRET}"
    assert sent.headers["x-team"] == "data-platform"
    assert sent.headers["content-type"] == "application/json"
    assert [Notification.from_json(n) for n in fake_webhook.received[0]["notifications"]] == list(notifications)


def test_created_at_is_utc_with_z() -> None:
    cest = timezone(timedelta(hours=2))
    msg = Message("m", "webhook", datetime(2026, 5, 4, 10, 0, 0, 250000, tzinfo=cest), ())
    assert webhook_body(msg)["created_at"] == "2026-05-04T08:00:00.250000Z"
    naive = Message("m", "webhook", datetime(2026, 5, 4, 8, 0), ())
    assert webhook_body(naive)["created_at"] == "2026-05-04T08:00:00Z"


def test_values_json_cannot_carry_are_made_safe(fake_webhook: FakeWebhook, client: httpx.Client) -> None:
    n = check(value=float("nan"), anomaly={"mean": float("inf"), "stddev": 0.0, "z": float("-inf")},
              reason="bad \udcff byte")
    assert sink_for(fake_webhook.url).deliver(message(n), client).ok
    details = fake_webhook.received[0]["notifications"][0]["details"]
    assert details["value"] is None
    assert details["anomaly"] == {"mean": None, "stddev": 0.0, "z": None}
    assert details["reason"] == "bad ? byte"
    assert json_safe({1: (1, 2), "s": {3}, "d": T0}) == {"1": [1, 2], "s": [3], "d": "2026-05-04T08:00:00Z"}


@pytest.mark.parametrize("status", [200, 201, 202, 204])
def test_any_2xx_confirms(status: int, client: httpx.Client) -> None:
    with FakeWebhook(status=status) as hook:
        assert sink_for(hook.url).deliver(message(drift()), client) == Delivery.delivered(status=status)


def test_the_same_message_keeps_its_id_across_retries(fake_webhook: FakeWebhook, client: httpx.Client) -> None:
    fake_webhook.fail_next(503)
    sink = sink_for(fake_webhook.url)
    msg = message(drift())
    assert not sink.deliver(msg, client).ok
    assert sink.deliver(msg, client).ok
    assert [r.json["id"] for r in fake_webhook.requests] == [msg.id, msg.id]


@pytest.mark.parametrize(("status", "body", "expected"), [
    (500, "boom", Delivery.retry("webhook: HTTP 500 (boom)")),
    (503, "", Delivery.retry("webhook: HTTP 503")),
    (400, '{"error": "missing field"}', Delivery.dead('webhook: HTTP 400 ({"error": "missing field"})')),
    (401, "unauthorized", Delivery.dead("webhook: HTTP 401 (unauthorized)")),
    (404, "not found", Delivery.dead("webhook: HTTP 404 (not found)")),
    (301, "", Delivery.dead("webhook: HTTP 301")),
])
def test_status_rules(fake_webhook: FakeWebhook, client: httpx.Client, status: int, body: str,
                      expected: Delivery) -> None:
    fake_webhook.fail_next(status, body=body, headers={"Location": "https://elsewhere.example.com/"})
    assert sink_for(fake_webhook.url).deliver(message(drift()), client) == expected
    assert len(fake_webhook.requests) == 1  # a redirect is not followed


def test_429_and_503_honour_retry_after(fake_webhook: FakeWebhook, client: httpx.Client) -> None:
    sink = sink_for(fake_webhook.url)
    fake_webhook.fail_next(429, body="slow down", retry_after=30)
    assert sink.deliver(message(drift()), client) == Delivery.retry("webhook: HTTP 429 rate limited (slow down)", 30.0)
    fake_webhook.fail_next(503, retry_after=5)
    assert sink.deliver(message(drift()), client) == Delivery.retry("webhook: HTTP 503", 5.0)
    when = email.utils.format_datetime(datetime.now(UTC) + timedelta(seconds=120), usegmt=True)
    fake_webhook.fail_next(429, retry_after=when)
    delivery = sink.deliver(message(drift()), client)
    assert delivery.retry_after is not None
    assert 115 <= delivery.retry_after <= 120


def test_a_hanging_receiver_times_out(fake_webhook: FakeWebhook, client: httpx.Client) -> None:
    fake_webhook.hang_next(5)
    started = time.monotonic()
    delivery = sink_for(fake_webhook.url, timeout=0.3).deliver(message(drift()), client)
    assert time.monotonic() - started < 1.0
    assert delivery == Delivery.retry("webhook: POST timed out after 0.3s")


def test_headers_and_the_url_never_leak(fake_webhook: FakeWebhook, client: httpx.Client,
                                        caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    url = fake_webhook.url_with(f"/hooks/{PATH_SECRET}?key={PATH_SECRET}")
    sink = sink_for(url, timeout=0.3, headers={"X-Api-Key": HEADER_SECRET})
    echo = f"bad key {HEADER_SECRET} for /hooks/{PATH_SECRET}"
    errors = []
    for status in (400, 401, 429, 500):
        fake_webhook.fail_next(status, body=echo)
        errors.append(sink.deliver(message(drift()), client).error)
    fake_webhook.hang_next(2)
    errors.append(sink.deliver(message(drift()), client).error)
    refused = f"http://127.0.0.1:{closed_port()}/hooks/{PATH_SECRET}?key={PATH_SECRET}"
    errors.append(sink_for(refused, headers={"X-Api-Key": HEADER_SECRET}).deliver(message(drift()), client).error)
    assert all(errors)
    assert errors[0] == "webhook: HTTP 400 (bad key *** for ***)"  # the path is scrubbed as a whole
    for text in [*errors, repr(sink), sink.rate_key, *(r.getMessage() for r in caplog.records)]:
        assert text is not None
        assert HEADER_SECRET not in text and PATH_SECRET not in text, text
    assert fake_webhook.requests[0].headers["x-api-key"] == HEADER_SECRET


def test_a_header_value_that_cannot_be_sent_is_a_dead_letter(fake_webhook: FakeWebhook,
                                                            client: httpx.Client) -> None:
    # the config refuses such a value (see the next test); model_copy skips validation: whatever a sink cannot
    # encode must still be a dead letter, not a crash
    config = WebhookSinkConfig(url=fake_webhook.url).model_copy(update={"headers": {"X-Token": "sécret-value"}})
    delivery = WebhookSink("webhook", config).deliver(message(drift()), client)
    assert delivery == Delivery.dead("webhook: POST not sent: the URL, a header or the body cannot be encoded "
                                     "(UnicodeEncodeError)")
    assert fake_webhook.requests == []


def test_a_header_value_that_is_not_ascii_is_a_config_error(tmp_path: Path) -> None:
    config = tmp_path / "deploywatch.toml"
    config.write_text('[repo]\npath = "."\n\n[services.web]\npaths = ["web/**"]\n'
                      'deployed = { file = "web.sha" }\n\n[[alerts.webhook]]\nurl = "https://hooks.example.com/x"\n'
                      f'headers = {{ X-Token = "sécret-{HEADER_SECRET}" }}\n', encoding="utf-8")
    with pytest.raises(ConfigError) as failed:
        load_config(config)
    assert str(failed.value) == f"{config}:10: alerts.webhook[0].headers: the value of header 'X-Token' must be ASCII"
    assert HEADER_SECRET not in str(failed.value)


def test_it_is_a_sink() -> None:
    sink: Sink = sink_for("https://hooks.example.com/x")
    assert (sink.name, sink.per_finding, sink.min_interval) == ("webhook", False, 0.0)
    assert sink.rate_key == sink_for("https://hooks.example.com/x").rate_key != sink_for("https://h.example/y").rate_key
