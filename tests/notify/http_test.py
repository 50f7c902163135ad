"""The HTTP layer every sink shares: Retry-After parsing, the status rules, deadlines, and errors without URLs."""

from __future__ import annotations

import email.utils
import logging
import time
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from deploywatch.notify.http import (
    MAX_RETRY_AFTER,
    SendFailed,
    classify,
    parse_retry_after,
    request,
    scrub,
    url_secrets,
)
from deploywatch.notify.model import Delivery
from testing.http import Reply, closed_port, serve
from testing.webhook_api import FakeWebhook

NOW = 1_800_000_000.0  # a fixed "now" (epoch seconds) for Retry-After arithmetic
SECRET = "urlMARKER-7e2a9c4d1b"  # matches none of redact.mask's patterns: a leak shows as itself


def response(status: int = 200, text: str = "", **headers: str) -> httpx.Response:
    """A response as it comes off the wire (header values are bytes, read as latin-1)."""
    raw = [(k.replace("_", "-").encode(), v.encode("latin-1")) for k, v in headers.items()]
    return httpx.Response(status, text=text, headers=raw)


def http_date(epoch: float) -> str:
    return email.utils.format_datetime(datetime.fromtimestamp(epoch, UTC), usegmt=True)


# ---------------------------------------------------------------- Retry-After


@pytest.mark.parametrize(("value", "seconds"), [
    ("0", 0.0), ("1", 1.0), (" 120 ", 120.0), ("86400", MAX_RETRY_AFTER), ("1" * 40, MAX_RETRY_AFTER),
    (http_date(NOW + 90), 90.0), (http_date(NOW - 600), 0.0), (http_date(NOW + 7200), MAX_RETRY_AFTER),
    ("Wed, 21 Oct 2015 07:28:00 -0000", 0.0),  # a date in the past, without a zone name
    ("soon", None), ("", None), ("-5", None), ("1.5", None), ("²", None),
])
def test_retry_after(value: str, seconds: float | None) -> None:
    assert parse_retry_after(response(429, retry_after=value), now=NOW) == seconds


def test_retry_after_from_githubs_rate_limit_reset() -> None:
    reset = str(int(NOW) + 42)
    assert parse_retry_after(response(403, x_ratelimit_remaining="0", x_ratelimit_reset=reset), now=NOW) == 42.0
    assert parse_retry_after(response(403, x_ratelimit_remaining="7", x_ratelimit_reset=reset), now=NOW) is None
    assert parse_retry_after(response(403, x_ratelimit_remaining="0", x_ratelimit_reset="later"), now=NOW) is None
    assert parse_retry_after(response(403, x_ratelimit_remaining="0", x_ratelimit_reset=str(int(NOW) - 5)),
                             now=NOW) == 0.0
    both = response(429, retry_after="3", x_ratelimit_remaining="0", x_ratelimit_reset=reset)
    assert parse_retry_after(both, now=NOW) == 3.0  # Retry-After wins
    assert parse_retry_after(response(429), now=NOW) is None


def test_retry_after_uses_the_wall_clock_by_default() -> None:
    value = parse_retry_after(response(429, retry_after=http_date(time.time() + 60)))
    assert value is not None
    assert 55 <= value <= 60


# ---------------------------------------------------------------- status rules


@pytest.mark.parametrize("status", [200, 201, 202, 204, 299])
def test_2xx_is_for_the_sink_to_judge(status: int) -> None:
    assert classify(response(status, "whatever"), "POST") is None


@pytest.mark.parametrize(("status", "text", "headers", "expected"), [
    (429, "slow down", {"retry_after": "12"}, Delivery.retry("hook: HTTP 429 rate limited (slow down)", 12.0)),
    (429, "", {}, Delivery.retry("hook: HTTP 429 rate limited")),
    (500, "boom\nstack", {}, Delivery.retry("hook: HTTP 500 (boom stack)")),
    (502, "", {}, Delivery.retry("hook: HTTP 502")),
    (503, "down", {"retry_after": "30"}, Delivery.retry("hook: HTTP 503 (down)", 30.0)),
    (400, "invalid_payload", {}, Delivery.dead("hook: HTTP 400 (invalid_payload)")),
    (403, "action_prohibited", {}, Delivery.dead("hook: HTTP 403 (action_prohibited)")),
    (404, "channel_not_found", {}, Delivery.dead("hook: HTTP 404 (channel_not_found)")),
    (410, "channel_is_archived", {}, Delivery.dead("hook: HTTP 410 (channel_is_archived)")),
    (302, "", {"location": "https://elsewhere.example.com"}, Delivery.dead("hook: HTTP 302")),
])
def test_classify(status: int, text: str, headers: dict[str, str], expected: Delivery) -> None:
    assert classify(response(status, text, **headers), "hook") == expected


def test_classify_shows_at_most_200_characters_of_the_body_masked() -> None:
    delivery = classify(response(400, "x" * 300), "hook")
    assert delivery is not None
    assert delivery.error == f"hook: HTTP 400 ({'x' * 200}…)"
    delivery = classify(response(401, "bad token=hunter2hunter2"), "hook")
    assert delivery is not None
    assert delivery.error == "hook: HTTP 401 (bad token=***)"


# ---------------------------------------------------------------- request()


def test_request_reads_the_whole_response(fake_webhook: FakeWebhook, client: httpx.Client) -> None:
    fake_webhook.body = "ok"
    answer = request(client, "POST", fake_webhook.url, timeout=2, json={"a": 1}, headers={"X-Trace": "t1"},
                     params={"q": "v"})
    assert (answer.status_code, answer.text) == (200, "ok")
    [seen] = fake_webhook.requests
    assert (seen.json, seen.query, seen.headers["x-trace"]) == ({"a": 1}, "q=v", "t1")
    assert seen.headers["user-agent"].startswith("deploywatch/")


def test_request_to_a_hanging_server_times_out(fake_webhook: FakeWebhook, client: httpx.Client) -> None:
    fake_webhook.hang_next(5)
    started = time.monotonic()
    with pytest.raises(SendFailed) as failed:
        request(client, "POST", fake_webhook.url_with(f"/hooks/{SECRET}?token={SECRET}"), timeout=0.3, json={})
    assert time.monotonic() - started < 1.0
    assert str(failed.value) == "POST timed out after 0.3s"
    assert failed.value.delivery == Delivery.retry("POST timed out after 0.3s")


def test_a_body_trickling_past_the_deadline_times_out(client: httpx.Client) -> None:
    # every byte comes within the read timeout; the whole body does not come within the deadline
    with serve({"/slow": Reply(200, b"x" * 40, trickle=0.02)}) as server:
        started = time.monotonic()
        with pytest.raises(SendFailed, match=r"^GET timed out after 0.3s$"):
            request(client, "GET", server.url("/slow"), timeout=0.3)
        assert time.monotonic() - started < 1.0


def test_a_huge_body_is_refused(client: httpx.Client) -> None:
    with serve({"/huge": Reply(200, stream_bytes=9 << 20)}) as server, \
            pytest.raises(SendFailed, match=r"^GET answered with more than 8 MiB$"):
        request(client, "GET", server.url("/huge"), timeout=5)


def test_a_refused_connection(client: httpx.Client) -> None:
    with pytest.raises(SendFailed) as failed:
        request(client, "POST", f"http://127.0.0.1:{closed_port()}/hooks/{SECRET}?token={SECRET}", timeout=1, json={})
    assert str(failed.value).startswith("POST failed: ")
    assert failed.value.delivery.permanent is False


def test_errors_never_contain_the_url_path_or_query(fake_webhook: FakeWebhook, client: httpx.Client,
                                                    caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    path = f"/hooks/{SECRET}?token={SECRET}"
    texts: list[str] = []
    fake_webhook.hang_next(2)
    for url in (fake_webhook.url_with(path), f"http://127.0.0.1:{closed_port()}{path}"):
        with pytest.raises(SendFailed) as failed:
            request(client, "POST", url, timeout=0.3, json={})
        texts += [str(failed.value), failed.value.delivery.error or ""]
    fake_webhook.fail_next(404, body="no such hook")
    delivery = classify(request(client, "POST", fake_webhook.url_with(path), timeout=2, json={}), "POST")
    assert delivery is not None
    texts.append(delivery.error or "")
    logged = [r.getMessage() for r in caplog.records]
    assert any("HTTP Request: POST http://127.0.0.1:" in m for m in logged)  # httpx's log line, path hidden
    for text in [*texts, *logged]:
        assert SECRET not in text and "/hooks/" not in text, text


def test_a_request_that_cannot_be_encoded_is_a_dead_letter(fake_webhook: FakeWebhook, client: httpx.Client) -> None:
    cases = [
        ({"headers": {"X-Key": f"clé-{SECRET}"}}, "UnicodeEncodeError"),
        ({"json": {"value": float("nan")}}, "ValueError"),
    ]
    for options, name in cases:
        with pytest.raises(SendFailed) as failed:
            request(client, "POST", fake_webhook.url, timeout=1, **options)  # type: ignore[arg-type]
        assert str(failed.value) == f"POST not sent: the URL, a header or the body cannot be encoded ({name})"
        assert failed.value.delivery.permanent is True
    with pytest.raises(SendFailed) as failed:
        request(client, "POST", f"http://127.0.0.1/hooks/\x01{SECRET}", timeout=1, json={})
    assert failed.value.delivery == Delivery.dead("POST not sent: the URL, a header or the body cannot be encoded "
                                                  "(InvalidURL)")
    assert fake_webhook.requests == []


def test_the_client_does_not_follow_redirects(client: httpx.Client) -> None:
    with serve({"/moved": Reply(301, headers={"Location": "/elsewhere"}), "/elsewhere": Reply(200, b"ok")}) as server:
        answer = request(client, "GET", server.url("/moved"), timeout=2)
        assert answer.status_code == 301
        assert [s.path for s in server.seen] == ["/moved"]


def test_request_never_waits_past_the_deadline_for_headers(client: httpx.Client) -> None:
    with serve({"/late": Reply(200, b"ok", delay=2.0)}) as server:
        started = time.monotonic()
        with pytest.raises(SendFailed):
            request(client, "GET", server.url("/late"), timeout=0.3)
        assert time.monotonic() - started < 1.0


def test_utc_times_in_retry_after_dates_are_exact() -> None:
    when = datetime(2026, 5, 4, 8, 0, tzinfo=UTC)
    value = parse_retry_after(response(503, retry_after=http_date(when.timestamp())),
                              now=(when - timedelta(seconds=5)).timestamp())
    assert value == 5.0


# ---------------------------------------------------------------- secrets


def test_url_secrets_cover_the_path_its_token_the_query_and_a_password() -> None:
    url = f"https://am:pw-{SECRET}@am.example.com/services/T1/B1/{SECRET}?tenant=a"
    assert url_secrets(url) == [url, f"/services/T1/B1/{SECRET}", "tenant=a", f"pw-{SECRET}", SECRET]
    assert url_secrets("https://hooks.example.com/") == ["https://hooks.example.com/"]
    said = f"rejected {url}: bad password pw-{SECRET} for /services/T1/B1/{SECRET} (token {SECRET})"
    assert scrub(said, url_secrets(url)) == "rejected ***: bad password *** for *** (token ***)"
    assert scrub("abc stays", ["abc"]) == "abc stays"  # shorter than 4 characters: not a secret
