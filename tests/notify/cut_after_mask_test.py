"""Text that may hold a secret is masked first and cut second: a secret straddling the cut never shows its start.

Each case puts a registered secret (or one the sink knows, such as its token) so that it begins a few characters
before the point where the text is cut; cutting first would leave ``PREFIX`` of it, which no mask recognises.
"""

from __future__ import annotations

import httpx
import pytest

from deploywatch.checks.warehouse import warehouse_error
from deploywatch.config.alerts import AlertmanagerSinkConfig, GitHubSinkConfig, SlackSinkConfig
from deploywatch.core.redact import register_secret
from deploywatch.notify.alertmanager import AlertmanagerSink
from deploywatch.notify.github import GitHubSink
from deploywatch.notify.http import classify
from deploywatch.notify.slack import SlackSink
from notify.github_test import drift as github_drift
from notify.github_test import message as github_message
from notify.slack_test import drift, message
from testing.alertmanager_api import FakeAlertmanager
from testing.github_api import DEFAULT_TOKEN, GitHubAPI
from testing.webhook_api import FakeWebhook

# matches none of redact.mask's patterns: only registration hides it, and a leak of its start shows as itself
SECRET = "QzStraddleMARKER5581vk"
LEAD = 6  # the secret starts this many characters before the cut
PREFIX = SECRET[:3]  # what a cut-then-mask leaves visible (at least)


@pytest.fixture(autouse=True)
def _registered() -> None:
    register_secret(SECRET)


def straddling(cut: int, before: str = "x") -> str:
    """A text whose secret starts :data:`LEAD` characters before position ``cut``."""
    return before * (cut - LEAD) + SECRET + " and more text after it"


def test_clip_masks_before_it_cuts() -> None:
    from deploywatch.core.redact import clip

    assert clip(straddling(50), 50) == "x" * 44 + "***" + " a…"
    assert PREFIX not in clip(straddling(50), 50)
    assert clip("short", 50) == "short"


def test_an_error_reply_quoted_by_a_sink_hides_a_secret_across_the_200_character_cut() -> None:
    reply = httpx.Response(400, text=straddling(200))

    delivery = classify(reply, "hook")

    assert delivery is not None and delivery.error is not None
    assert PREFIX not in delivery.error
    assert "***" in delivery.error


def test_a_sinks_own_secret_is_scrubbed_before_the_cut() -> None:
    own = "OwnSinkSecretMARKER7731"
    reply = httpx.Response(500, text="y" * 196 + own + " tail")

    delivery = classify(reply, "hook", [own])

    assert delivery is not None and delivery.error is not None
    assert own[:4] not in delivery.error


def test_slack_quoting_a_reply_other_than_ok(fake_webhook: FakeWebhook, client: httpx.Client) -> None:
    fake_webhook.body = straddling(200)
    sink = SlackSink("slack", SlackSinkConfig(webhook=fake_webhook.url))

    delivery = sink.deliver(message(drift()), client)

    assert not delivery.ok and delivery.error is not None
    assert PREFIX not in delivery.error


def test_alertmanager_quoting_its_error(fake_alertmanager: FakeAlertmanager, client: httpx.Client) -> None:
    fake_alertmanager.fail_next(400, body=straddling(300))
    sink = AlertmanagerSink("alertmanager", AlertmanagerSinkConfig(urls=[fake_alertmanager.url]), 0)

    delivery = sink.deliver(message(drift()), client)

    assert not delivery.ok and delivery.error is not None
    assert "HTTP 400" in delivery.error
    assert PREFIX not in delivery.error


def test_github_quoting_its_error_message(github_api: GitHubAPI, client: httpx.Client) -> None:
    github_api.fail_next("error", status=422, message=straddling(300))
    config = GitHubSinkConfig(repo=github_api.repo, token=DEFAULT_TOKEN, api_url=github_api.url)

    delivery = GitHubSink("github", config).deliver(github_message(github_drift()), client)

    assert not delivery.ok and delivery.error is not None
    assert "HTTP 422" in delivery.error
    assert PREFIX not in delivery.error


def test_a_warehouse_error_hides_a_secret_across_the_500_character_cut() -> None:
    shown = warehouse_error(RuntimeError(straddling(500)))

    assert PREFIX not in shown
    assert "***" in shown
