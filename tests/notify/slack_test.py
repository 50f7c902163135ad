"""The Slack sink: the Block Kit message it builds, and its deliveries to a fake Slack webhook on 127.0.0.1."""

from __future__ import annotations

import itertools
import logging
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from deploywatch.config.alerts import SlackSinkConfig
from deploywatch.core.findings import fingerprint
from deploywatch.core.status import Status
from deploywatch.notify.base import Sink
from deploywatch.notify.model import Delivery, Event, Message, Notification
from deploywatch.notify.slack import SlackSink, slack_payload
from notify.samples import drift_details
from testing import slack_api
from testing.http import closed_port
from testing.slack_api import FakeSlack, slack_problem

T0 = datetime(2026, 5, 4, 8, 0, tzinfo=UTC)
SINCE = T0 - timedelta(hours=26)
_ids = itertools.count(1)

COMMITS = [
    {"sha": "9f2c1e7a5b3d4c6e8f0a1b2c3d4e5f6a7b8c9d0e", "subject": "predictions: retry <timeouts>",
     "author": "Ada Lovelace", "on_branch_at": "2026-05-03T06:00:00Z"},
    {"sha": "4be0d2c97f1a3e5b7d9c1e3f5a7b9d1f3e5a7c9b", "subject": "predictions: batch size 64 & warmup",
     "author": "Grace Hopper", "on_branch_at": "2026-05-03T04:00:00Z"},
    {"sha": "07aa31f5c2e4a6b8d0f2e4c6a8b0d2f4e6a8c0b2", "subject": "predictions: log model version",
     "author": "Ada Lovelace", "on_branch_at": "2026-05-02T06:00:00Z"},
]


def drift(subject: str = "prediction-worker", status: Status = Status.CRITICAL, event: Event = Event.FIRING,
          previous: Status | None = None, *, since: datetime | None = SINCE, summary: str | None = None,
          commits: list[dict[str, str]] = COMMITS, **details: Any) -> Notification:
    """A drift notification with the details the drift collector reports (three commits listed)."""
    return Notification(fingerprint("drift", subject), "drift", subject, event, status, previous,
                        summary or f"{subject} {status}: 14 behind: 3 relevant, 11 elsewhere; 3 relevant commits "
                                   "behind, oldest 26h", T0, since,
                        drift_details(subject, status, commits=commits, **details),
                        {"service": subject, "group": "predictions"})


def check(subject: str = "orders_complete[region=eu]", status: Status = Status.WARNING, event: Event = Event.FIRING,
          previous: Status | None = None, *, since: datetime | None = SINCE, **details: Any) -> Notification:
    """A check notification with the details a check result reports (a percent metric with an anomaly)."""
    base: dict[str, Any] = {
        "name": "orders_complete", "phase": "post-load", "table": "analytics.orders", "group": {"region": "eu"},
        "metric": "percent(status = 'complete')", "value": 71.2, "unit": "percent", "status": status.value,
        "warn": "< 80", "critical": "< 50", "reason": "71.2% is below the warn threshold 80",
        "anomaly": {"mean": 97.1, "stddev": 1.2, "z": -21.58},
    }
    base.update(details)
    return Notification(fingerprint("check", subject), "check", subject, event, status, previous,
                        f"{subject} {status}: {base['reason']}", T0, since, base, {"group": "region=eu"})


def message(*notifications: Notification, run_id: str | None = None, generator_url: str | None = None) -> Message:
    """A grouped message for the sink ``slack``."""
    return Message(f"msg-{next(_ids)}", "slack", T0, notifications, run_id, generator_url)


def sink_for(url: str, *, timeout: float = 2.0) -> SlackSink:
    # the config takes whole seconds; the tests want shorter deadlines than a config can say
    return SlackSink("slack", SlackSinkConfig(webhook=url).model_copy(update={"timeout": timeout}))


def texts(payload: dict[str, Any]) -> list[str]:
    """The text of every block (header, section, context element), in order."""
    found = []
    for block in payload["blocks"]:
        if "text" in block:
            found.append(block["text"]["text"])
        found += [e["text"] for e in block.get("elements", ())]
    return found


# ---------------------------------------------------------------- the message


def test_drift_message_is_exact() -> None:
    payload = slack_payload(message(drift()))
    assert payload == {
        "text": "deploywatch: 1 firing (1 critical)",
        "blocks": [
            {"type": "header", "text": {"type": "plain_text", "text": "🔴 1 drifted service", "emoji": True}},
            {"type": "section", "text": {"type": "mrkdwn", "text": (
                "🔴 *prediction-worker* · *critical*\n"
                "deployed `a1b2c3d4` · tip `ffeeddcc`\n"
                "3 relevant commits behind (14 total), oldest 26h\n"
                "• `9f2c1e7a` predictions: retry &lt;timeouts&gt; — Ada Lovelace\n"
                "• `4be0d2c9` predictions: batch size 64 &amp; warmup — Grace Hopper\n"
                "• `07aa31f5` predictions: log model version — Ada Lovelace\n"
                "Deploy: `kubectl rollout restart deploy/prediction-worker`")}},
            {"type": "context", "elements": [{"type": "mrkdwn", "text": (
                "state behind · group predictions · firing since 2026-05-03 06:00 UTC")}]},
        ],
    }
    assert slack_problem(payload) is None


def test_drift_lists_five_newest_commits_and_counts_the_rest() -> None:
    commits = [{"sha": f"{i:02x}" + "c" * 38, "subject": f"change {i}", "author": "", "on_branch_at": ""}
               for i in range(1, 8)]
    section = texts(slack_payload(message(drift(relevant_commits_behind=12, commits=commits))))[1]
    listed = [line for line in section.splitlines() if line.startswith("• ")]
    assert listed == ["• `01cccccc` change 1", "• `02cccccc` change 2", "• `03cccccc` change 3",
                      "• `04cccccc` change 4", "• `05cccccc` change 5", "• …and 7 more"]


def test_drift_without_a_deployed_commit_shows_the_reason() -> None:
    n = drift(status=Status.UNKNOWN, state="missing", deployed_commit=None, commits_behind=None,
              relevant_commits_behind=None, drift_age_seconds=None, commits=[], deploy=None,
              reason="the version endpoint answered HTTP 503")
    section = texts(slack_payload(message(n)))[1]
    assert section == ("🟣 *prediction-worker* · *unknown*\n"
                       "deployed `-` · tip `ffeeddcc`\n"
                       "the version endpoint answered HTTP 503")


def test_check_message_shows_value_thresholds_reason_and_anomaly() -> None:
    payload = slack_payload(message(check()))
    assert payload["text"] == "deploywatch: 1 firing (1 warning)"
    assert texts(payload) == [
        "🟡 1 failing check",
        "🟡 *orders_complete[region=eu]* · *warning*\n"
        "value *71.2%* · warn &lt; 80, critical &lt; 50\n"
        "71.2% is below the warn threshold 80\n"
        "anomaly: mean 97.1%, stddev 1.2%, z -21.6",
        "metric `percent(status = 'complete')` · table `analytics.orders` · phase `post-load` · "
        "firing since 2026-05-03 06:00 UTC",
    ]


@pytest.mark.parametrize(("unit", "value", "shown"), [
    ("seconds", 93600, "26h"), ("count", 1204, "1,204"), ("ratio", 0.91234, "0.912"), ("rows", 12.5, "12.5"),
    ("percent", None, "-"),
])
def test_check_values_in_their_unit(unit: str, value: float | None, shown: str) -> None:
    section = texts(slack_payload(message(check(unit=unit, value=value, anomaly=None, warn=None))))[1]
    assert section.splitlines()[1] == f"value *{shown}* · critical &lt; 50"


def test_other_kinds_show_subject_status_and_summary() -> None:
    n = Notification("fp", "gate", "release-2026.05", Event.FIRING, Status.CRITICAL, None,
                     "gate failed: 2 of 9 checks critical", T0)
    assert texts(slack_payload(message(n)))[1:] == [
        "🔴 *release-2026.05* (gate) · *critical*\ngate failed: 2 of 9 checks critical"]
    assert slack_payload(message(n))["blocks"][0]["text"]["text"] == "🔴 1 gate finding"


def test_resolved_changed_repeat_and_test_events() -> None:
    resolved = drift(status=Status.OK, event=Event.RESOLVED, previous=Status.CRITICAL,
                     since=T0 - timedelta(hours=3, minutes=12), summary="prediction-worker ok: runs the tip of main")
    changed = check(status=Status.CRITICAL, event=Event.CHANGED, previous=Status.WARNING)
    repeat = drift("billing", status=Status.WARNING, event=Event.REPEAT, since=T0 - timedelta(hours=6))
    test = Notification("test", "test", "deploywatch", Event.TEST, Status.WARNING, None,
                        "This is a test notification.", T0)
    payload = slack_payload(message(resolved, changed, repeat, test))
    sections = [b["text"]["text"] for b in payload["blocks"] if b["type"] == "section"]
    assert sections[0].startswith("🔴 *orders_complete[region=eu]* · warning → *critical*\nvalue *71.2%*")
    assert sections[1].startswith("🟡 *billing* · *warning*, still firing for 6h\ndeployed `a1b2c3d4`")
    assert sections[2] == ("🧪 *Test notification* from deploywatch to sink `slack`: if you can read this, the sink "
                           "works. *deploywatch* (test): This is a test notification.")
    assert sections[3] == "✅ *prediction-worker* · resolved after 3h 12m\nprediction-worker ok: runs the tip of main"
    assert payload["text"] == "deploywatch: 2 firing (1 critical, 1 warning), 1 resolved, test notification"


def test_order_is_critical_unknown_warning_then_resolved() -> None:
    notifications = [
        drift("resolved-one", Status.OK, Event.RESOLVED, Status.WARNING),
        check("warn-check", Status.WARNING),
        drift("unknown-svc", Status.UNKNOWN),
        drift("critical-svc", Status.CRITICAL),
        check("crit-check", Status.CRITICAL),
    ]
    payload = slack_payload(message(*notifications))
    firsts = [t.splitlines()[0] for t in texts(payload) if t.startswith(("🔴 *", "🟣 *", "🟡 *", "✅ *"))]
    assert [line.split("*")[1] for line in firsts] == [
        "critical-svc", "crit-check", "unknown-svc", "warn-check", "resolved-one"]
    assert payload["text"] == "deploywatch: 4 firing (2 critical, 1 unknown, 1 warning), 1 resolved"
    assert payload["blocks"][0]["text"]["text"] == "🔴 2 drifted services, 2 failing checks, 1 resolved"


def test_only_resolved_and_only_test() -> None:
    resolved = slack_payload(message(drift(status=Status.OK, event=Event.RESOLVED, previous=Status.WARNING)))
    assert resolved["text"] == "deploywatch: 1 resolved"
    assert resolved["blocks"][0]["text"]["text"] == "✅ 1 resolved"
    test = Notification("t", "test", "deploywatch", Event.TEST, Status.WARNING, None, "hello", T0)
    payload = slack_payload(message(test))
    assert payload["text"] == "deploywatch: test notification"
    assert payload["blocks"][0]["text"]["text"] == "🧪 deploywatch test notification"


def test_footer_links_the_dashboard_and_names_the_run() -> None:
    payload = slack_payload(message(drift(), run_id="run-42", generator_url="https://dw.example.com/runs?id=42&x=1"))
    assert payload["blocks"][-1] == {"type": "context", "elements": [{"type": "mrkdwn", "text": (
        "<https://dw.example.com/runs?id=42&amp;x=1|Open in deploywatch> · run `run-42`")}]}


def test_user_text_is_escaped_for_mrkdwn() -> None:
    n = drift("<!channel>", reason="x", commits=[{"sha": "abc", "subject": "<@U123> & <https://evil|click>",
                                                  "author": "<b>", "on_branch_at": ""}],
              deploy="deploy --to <prod> && notify")
    joined = "\n".join(texts(slack_payload(message(n))))
    assert "<" not in joined and ">" not in joined.replace("→", "")
    assert "*&lt;!channel&gt;*" in joined
    assert "&lt;@U123&gt; &amp; &lt;https://evil|click&gt; — &lt;b&gt;" in joined
    assert "Deploy: `deploy --to &lt;prod&gt; &amp;&amp; notify`" in joined


def test_deploy_command_is_masked() -> None:
    n = drift(deploy="curl -X POST https://deploy.example.com/hook?token=hunter2hunter2")
    section = texts(slack_payload(message(n)))[1]
    assert "hunter2hunter2" not in section
    assert "Deploy: `curl -X POST https://deploy.example.com/hook?token=***`" in section


def test_long_texts_are_cut_to_slacks_limits() -> None:
    n = drift("svc-" + "x" * 5000, reason="r" * 4000, status=Status.UNKNOWN, state="missing",
              relevant_commits_behind=None)
    payload = slack_payload(message(*[n] * 3, check("c" * 400)))
    assert slack_problem(payload) is None
    header = payload["blocks"][0]["text"]["text"]
    assert header == "🟣 3 drifted services, 1 failing check"
    sections = [b["text"]["text"] for b in payload["blocks"] if b["type"] == "section"]
    assert [len(s) for s in sections] == [3000, 3000, 3000, len(sections[3])]
    assert all(s.endswith("…") for s in sections[:3])


def test_a_header_longer_than_150_characters_is_cut() -> None:
    notifications = [Notification(f"fp{i}", f"kind-{i}-" + "k" * 30, f"s{i}", Event.FIRING, Status.WARNING, None,
                                  "summary", T0) for i in range(6)]
    header = slack_payload(message(*notifications))["blocks"][0]["text"]["text"]
    assert len(header) == 150
    assert header.endswith("…")


def test_500_notifications_stay_within_50_blocks() -> None:
    statuses = [Status.CRITICAL, Status.UNKNOWN, Status.WARNING, Status.OK]
    notifications = []
    for i in range(500):
        status = statuses[i % 4]
        event = Event.RESOLVED if status is Status.OK else Event.FIRING
        maker = drift if i % 2 else check
        notifications.append(maker(f"subject-{i:03d}", status, event, Status.WARNING if status is Status.OK else None))
    payload = slack_payload(message(*notifications, run_id="run-1", generator_url="https://dw.example.com"))
    blocks = payload["blocks"]
    assert len(blocks) == 50
    assert slack_problem(payload) is None
    shown = {int(s.split("subject-")[1][:3]) for s in texts(payload) if "*subject-" in s}
    assert blocks[-1]["type"] == "context"  # the footer survives
    more = blocks[-2]["text"]["text"]
    hidden = 500 - len(shown)
    assert len(shown) == 24
    assert shown == set(range(0, 96, 4))  # the first 24 critical ones: worst first, stable
    assert more == f"…and {hidden} more (101 critical, 125 unknown, 125 warning, 125 resolved)"
    assert payload["text"] == "deploywatch: 375 firing (125 critical, 125 unknown, 125 warning), 125 resolved"


@pytest.mark.parametrize("max_blocks", [2, 3, 4, 7, 20, 50])
@pytest.mark.parametrize("footer", [False, True])
def test_the_block_limit_holds_for_any_max_blocks(max_blocks: int, footer: bool) -> None:
    notifications = [drift(f"svc-{i:02d}", Status.CRITICAL) for i in range(40)]
    payload = slack_payload(message(*notifications, run_id="r" if footer else None), max_blocks=max_blocks)
    blocks = payload["blocks"]
    assert len(blocks) <= max_blocks
    assert blocks[0]["type"] == "header"
    shown = [t for t in texts(payload) if t.startswith("🔴 *svc-")]
    assert [s.split("*")[1] for s in shown] == [f"svc-{i:02d}" for i in range(len(shown))]
    mores = [t for t in texts(payload) if t.startswith("…and ")]
    if len(shown) < 40:
        assert mores == [f"…and {40 - len(shown)} more ({40 - len(shown)} critical)"]
    else:
        assert mores == []
    assert slack_problem(payload) is None


def test_max_blocks_below_two_is_refused() -> None:
    with pytest.raises(ValueError, match="max_blocks"):
        slack_payload(message(drift()), max_blocks=1)


# ---------------------------------------------------------------- the fake holds us to Slack's limits


def test_the_fake_rejects_what_slack_rejects(fake_slack: FakeSlack, client: httpx.Client) -> None:
    too_many = {"text": "x", "blocks": [{"type": "divider"}] * 51}
    long_header = {"blocks": [{"type": "header", "text": {"type": "plain_text", "text": "h" * 151}}]}
    mrkdwn_header = {"blocks": [{"type": "header", "text": {"type": "mrkdwn", "text": "h"}}]}
    long_section = {"blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": "s" * 3001}}]}
    for body in (too_many, long_header, mrkdwn_header, long_section, {"username": "x"}, [1, 2]):
        response = client.post(fake_slack.url, json=body)
        assert (response.status_code, response.text) == (400, "invalid_payload"), body
    assert client.post(fake_slack.url, json={"text": "hi"}).text == "ok"
    assert client.post(fake_slack.url.replace(fake_slack.token, "other"), json={"text": "hi"}).status_code == 404
    assert [r.problem for r in fake_slack.requests][:4] == [
        "51 blocks, more than 50", "blocks[0]: text of 151 characters, more than 150",
        "blocks[0]: text type 'mrkdwn' is not one of plain_text",
        "blocks[0]: text of 3001 characters, more than 3000"]
    assert fake_slack.received == [{"text": "hi"}]


# ---------------------------------------------------------------- deliveries


def test_delivered_payload_is_the_message(fake_slack: FakeSlack, client: httpx.Client) -> None:
    msg = message(drift(), check(), run_id="run-7")
    assert sink_for(fake_slack.url).deliver(msg, client) == Delivery.delivered()
    assert fake_slack.received == [slack_payload(msg)]
    request = fake_slack.requests[0]
    assert request.headers["content-type"] == "application/json"
    assert request.headers["user-agent"].startswith("deploywatch/")


def test_500_notifications_are_accepted_by_the_fake(fake_slack: FakeSlack, client: httpx.Client) -> None:
    notifications = [drift(f"svc-{i}", Status.CRITICAL, reason="r" * 3500) for i in range(500)]
    assert sink_for(fake_slack.url).deliver(message(*notifications), client).ok
    assert len(fake_slack.received[0]["blocks"]) == 50


def test_rate_limited_is_retried_after_retry_after(fake_slack: FakeSlack, client: httpx.Client) -> None:
    fake_slack.fail_next("rate_limited", retry_after=7)
    delivery = sink_for(fake_slack.url).deliver(message(drift()), client)
    assert delivery == Delivery.retry("Slack webhook: HTTP 429 rate limited (rate_limited)", 7.0)
    assert fake_slack.received == []


def test_rate_limited_without_retry_after(fake_slack: FakeSlack, client: httpx.Client) -> None:
    fake_slack.fail_next("rate_limited", retry_after=None)
    delivery = sink_for(fake_slack.url).deliver(message(drift()), client)
    assert (delivery.ok, delivery.permanent, delivery.retry_after) == (False, False, None)


def test_one_message_per_second(client: httpx.Client) -> None:
    with FakeSlack(rate_limit=1.0) as slack:
        sink = sink_for(slack.url)
        assert sink.min_interval == 1.0
        assert sink.deliver(message(drift()), client).ok
        second = sink.deliver(message(drift()), client)
        assert (second.ok, second.permanent, second.retry_after) == (False, False, 1.0)
        assert len(slack.received) == 1


@pytest.mark.parametrize(("kind", "status"), [
    ("invalid_payload", 400), ("action_prohibited", 403), ("no_service", 404), ("channel_not_found", 404),
    ("channel_is_archived", 410),
])
def test_slack_errors_are_dead_letters_naming_the_error(fake_slack: FakeSlack, client: httpx.Client, kind: Any,
                                                         status: int) -> None:
    fake_slack.fail_next(kind)
    delivery = sink_for(fake_slack.url).deliver(message(drift()), client)
    assert delivery == Delivery.dead(f"Slack webhook: HTTP {status} ({kind})")


def test_server_errors_are_retried(fake_slack: FakeSlack, client: httpx.Client) -> None:
    fake_slack.fail_next("server_error", 2)
    sink = sink_for(fake_slack.url)
    msg = message(drift())
    assert sink.deliver(msg, client) == Delivery.retry("Slack webhook: HTTP 500 (internal_error)")
    assert sink.deliver(msg, client) == Delivery.retry("Slack webhook: HTTP 500 (internal_error)")
    assert sink.deliver(msg, client) == Delivery.delivered()
    assert len(fake_slack.requests) == 3
    assert fake_slack.received == [slack_payload(msg)]


def test_a_200_without_ok_is_a_dead_letter(fake_slack: FakeSlack, client: httpx.Client) -> None:
    fake_slack.fail_next("unexpected_body")
    delivery = sink_for(fake_slack.url).deliver(message(drift()), client)
    assert delivery == Delivery.dead(
        "Slack webhook: HTTP 200 with '<html><body>Please sign in</body></html>' instead of 'ok'")
    fake_slack.fail_next("unexpected_body", body="")
    delivery = sink_for(fake_slack.url).deliver(message(drift()), client)
    assert delivery == Delivery.dead("Slack webhook: HTTP 200 with an empty body instead of 'ok'")


def test_a_hanging_webhook_times_out_and_is_retried(fake_slack: FakeSlack, client: httpx.Client) -> None:
    fake_slack.fail_next("hang", seconds=5)
    started = time.monotonic()
    delivery = sink_for(fake_slack.url, timeout=0.3).deliver(message(drift()), client)
    assert time.monotonic() - started < 1.0
    assert delivery == Delivery.retry("Slack webhook: POST timed out after 0.3s")


def test_a_refused_connection_is_retried(client: httpx.Client) -> None:
    url = f"http://127.0.0.1:{closed_port()}/services/T1/B1/{slack_api.DEFAULT_TOKEN}"
    delivery = sink_for(url, timeout=0.5).deliver(message(drift()), client)
    assert (delivery.ok, delivery.permanent) == (False, False)
    assert delivery.error is not None
    assert delivery.error.startswith("Slack webhook: POST failed: ")
    assert slack_api.DEFAULT_TOKEN not in delivery.error


def test_the_webhook_url_never_leaks(fake_slack: FakeSlack, client: httpx.Client,
                                     caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    sink = sink_for(fake_slack.url, timeout=0.3)
    errors: list[str | None] = []
    for kind in ("rate_limited", "server_error", "invalid_payload", "channel_not_found", "unexpected_body", "hang"):
        fake_slack.fail_next(kind, seconds=2)
        errors.append(sink.deliver(message(drift()), client).error)
    assert sink.deliver(message(drift()), client).ok
    assert all(errors)
    token = fake_slack.token
    assert not [e for e in errors if e and token in e]
    assert token not in repr(sink) and token not in str(sink) and token not in sink.rate_key
    assert caplog.records, "httpx logs every request"
    assert not [r for r in caplog.records if token in r.getMessage()]


def test_rate_key_is_a_short_hash_of_the_webhook() -> None:
    first, same, other = sink_for("https://hooks.example.com/a/b/c"), sink_for("https://hooks.example.com/a/b/c"), \
        sink_for("https://hooks.example.com/a/b/d")
    assert first.rate_key == same.rate_key != other.rate_key
    assert len(first.rate_key) == 16
    int(first.rate_key, 16)


def test_it_is_a_sink() -> None:
    sink: Sink = sink_for("https://hooks.example.com/x")
    assert (sink.name, sink.per_finding, sink.min_interval) == ("slack", False, 1.0)
