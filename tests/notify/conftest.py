"""Shared by the sink tests: an HTTP client as the delivery loop makes it, and the fake servers' fixtures."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from deploywatch.notify.http import new_client
from testing.alertmanager_api import fake_alertmanager, fake_alertmanager_pair
from testing.github_api import github_api, github_api_factory
from testing.slack_api import fake_slack
from testing.webhook_api import fake_webhook

__all__ = ["client", "fake_alertmanager", "fake_alertmanager_pair", "fake_slack", "fake_webhook", "github_api",
           "github_api_factory"]


@pytest.fixture
def client() -> Iterator[httpx.Client]:
    """A client from :func:`~deploywatch.notify.http.new_client`, closed after the test."""
    with new_client() as http_client:
        yield http_client
