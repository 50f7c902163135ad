"""A generic webhook: the message as JSON (schema ``deploywatch.notification/v1``) POSTed to any URL.

The body carries every notification in full (:meth:`~.model.Notification.to_json`), so a receiver can
route, render or store it as it likes; ``id`` stays the same across retries, so a receiver can drop a
redelivered duplicate. The configured headers usually authenticate the request: their values, like the
URL's path and query, never appear in an error.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import datetime
from typing import Any

import httpx

from ..config.alerts import SinkConfig, WebhookSinkConfig
from . import http
from .model import Delivery, Message, iso_utc

__all__ = ["MESSAGE_HEADER", "SCHEMA", "WebhookSink", "json_safe", "webhook_body"]

SCHEMA = "deploywatch.notification/v1"
MESSAGE_HEADER = "X-Deploywatch-Message"  # a report's outbox id: the same on every retry


def webhook_body(message: Message) -> dict[str, Any]:
    """The JSON body for ``message`` (made JSON-safe by :func:`json_safe`): for a report message, the report's
    ``deploywatch.report/v1`` document itself (the message id travels in the ``X-Deploywatch-Message`` header)."""
    if message.report is not None:
        document: dict[str, Any] = json_safe(message.report)
        return document
    body = {
        "schema": SCHEMA, "id": message.id, "sink": message.sink, "run_id": message.run_id,
        "created_at": iso_utc(message.created_at), "generator_url": message.generator_url,
        "notifications": [n.to_json() for n in message.notifications],
    }
    safe: dict[str, Any] = json_safe(body)
    return safe


class WebhookSink:
    """``[[alerts.webhook]]``: one JSON POST per run; any 2xx confirms it."""

    min_interval: float = 0.0
    per_finding: bool = False

    def __init__(self, name: str, config: WebhookSinkConfig) -> None:
        self.name = name
        self.config: SinkConfig = config
        self._url = config.url
        self._headers = dict(config.headers)
        self._timeout = float(config.timeout)
        self._secrets = [*http.url_secrets(config.url), *self._headers.values()]
        self._target = config.target()

    def __repr__(self) -> str:
        return f"WebhookSink(name={self.name!r}, target={self._target!r})"

    @property
    def rate_key(self) -> str:
        """A short SHA-256 of the URL."""
        return http.rate_key(self._url)

    def deliver(self, message: Message, client: httpx.Client) -> Delivery:
        """POST the message with the configured headers: a 2xx confirms it; 429, 5xx and no response are
        retried (after ``Retry-After`` when given); any other status is a dead letter."""
        headers = {**self._headers, MESSAGE_HEADER: message.id} if message.report is not None else self._headers
        sent = http.post_json(client, self._url, webhook_body(message), what="webhook", timeout=self._timeout,
                              headers=headers, secrets=self._secrets)
        if isinstance(sent, Delivery):
            return sent
        return http.classify(sent, "webhook", self._secrets) or Delivery.delivered(status=sent.status_code)


def json_safe(value: Any) -> Any:
    """``value`` with what JSON cannot carry replaced: NaN and infinities by None, lone surrogates by ``?``,
    keys by strings, tuples and sets by lists, datetimes by ISO strings and anything else by its ``str``."""
    if value is None or isinstance(value, bool | int):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, str):
        return value.encode("utf-8", "replace").decode("utf-8") if not value.isascii() else value
    if isinstance(value, datetime):
        return iso_utc(value)
    if isinstance(value, Mapping):
        return {json_safe(str(k)): json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [json_safe(v) for v in value]
    return json_safe(str(value))
