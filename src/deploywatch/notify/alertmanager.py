"""Alertmanager: every notification posted as an alert to ``/api/v2/alerts`` of each configured instance.

One sink object serves one instance (``url_index`` into the configured ``urls``): the outbox keeps one row
per instance, so each member of an HA pair confirms on its own and a down instance is retried without
re-posting to the others.

An alert's identity in Alertmanager is its label set: ``alertname`` (``DeploywatchFinding``, or
``DeploywatchTest`` for ``deploywatch alerts test``), ``kind``, ``subject``, ``status``, ``severity`` and
the notification's labels (names made valid for Prometheus). Severity is ``critical`` for critical *and*
unknown findings (missing data must not look mild) and ``warning`` for warnings.

Because ``status`` and ``severity`` are labels, a finding that changes status is a new alert: the post
that reports the change also resolves the alert with the previous status, which would otherwise stay
active until its ``endsAt``. A resolved finding is posted with the labels it fired with (its previous
status) and ``endsAt`` = now. A firing alert ends ``ends_after`` after the run that posted it, so
Alertmanager resolves it by itself when deploywatch stops running.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx

from ..config.alerts import AlertmanagerSinkConfig, SinkConfig, host_of
from ..core.durations import format_age
from ..core.redact import clip
from ..core.status import Status
from ..core.text import cut, printable
from . import http
from .model import Delivery, Event, Message, Notification, iso_utc
from .slack import detail_lines
from .webhook import json_safe

__all__ = ["ALERTNAME", "TEST_ALERTNAME", "AlertmanagerSink", "alertmanager_alerts", "alerts_url", "label_name"]

ALERTNAME = "DeploywatchFinding"
TEST_ALERTNAME = "DeploywatchTest"
TEST_ALERT_SECONDS = 300  # a test alert fires for 5 minutes (at most ends_after), then resolves by itself
MAX_DESCRIPTION = 4000
_CORE_LABELS = ("alertname", "kind", "subject", "status", "severity")
_FIRING = (Status.CRITICAL, Status.UNKNOWN, Status.WARNING)
_INVALID_LABEL_CHARS = re.compile(r"[^a-zA-Z0-9_]")


def alertmanager_alerts(message: Message, config: AlertmanagerSinkConfig) -> list[dict[str, Any]]:
    """The ``postableAlerts`` body for ``message``: one alert per notification, plus, for a notification
    whose status changed, the alert with its previous status resolved (see the module's docstring)."""
    alerts: list[dict[str, Any]] = []
    for n in message.notifications:
        starts = min(n.firing_since or n.at, n.at)
        annotations = {"summary": printable(n.summary), "description": printable(_description(n))}
        if n.event is Event.RESOLVED:
            # posted with the labels it fired with; with no previous status known, resolve every one it may have had
            previous = [n.previous_status] if n.previous_status in _FIRING else list(_FIRING)
            alerts += [_alert(n, status, starts, n.at, annotations, message.generator_url) for status in previous]
            continue
        if n.event is Event.TEST:
            ends = n.at + timedelta(seconds=min(TEST_ALERT_SECONDS, config.ends_after))
        else:
            ends = n.at + timedelta(seconds=config.ends_after)
        alerts.append(_alert(n, n.status, starts, ends, annotations, message.generator_url))
        if (n.event is Event.CHANGED and n.previous_status in _FIRING and n.previous_status is not n.status
                and _labels(n, n.previous_status) != _labels(n, n.status)):
            alerts.append(_alert(n, n.previous_status, starts, n.at, annotations, message.generator_url))
    safe: list[dict[str, Any]] = json_safe(alerts)
    return safe


def alerts_url(base: str) -> str:
    """``/api/v2/alerts`` under ``base``, which may have a path prefix (``--web.route-prefix``) and a query."""
    parts = urlsplit(base)
    return urlunsplit((parts.scheme, parts.netloc, parts.path.rstrip("/") + "/api/v2/alerts", parts.query, ""))


def label_name(name: str) -> str:
    """``name`` as a valid Prometheus label name (``[a-zA-Z_][a-zA-Z0-9_]*``): other characters become ``_``,
    and a leading digit gets a ``_`` before it; "" stays "" (such a label is dropped)."""
    cleaned = _INVALID_LABEL_CHARS.sub("_", name)
    return f"_{cleaned}" if cleaned[:1].isdigit() else cleaned


class AlertmanagerSink:
    """``[[alerts.alertmanager]]``, one instance of it: POST the alerts; a 2xx confirms them."""

    min_interval: float = 0.0
    per_finding: bool = False

    def __init__(self, name: str, config: AlertmanagerSinkConfig, url_index: int) -> None:
        if not 0 <= url_index < len(config.urls):
            raise IndexError(f"sink {name!r} has {len(config.urls)} Alertmanager URL(s), not #{url_index + 1}")
        self.name = name
        self.config: SinkConfig = config
        self.url_index = url_index
        self._config = config
        self._url = config.urls[url_index]
        self._headers = dict(config.headers)
        self._timeout = float(config.timeout)
        self._secrets = [*http.url_secrets(self._url), *self._headers.values()]
        self._target = host_of(self._url)

    def __repr__(self) -> str:
        return f"AlertmanagerSink(name={self.name!r}, url_index={self.url_index}, target={self._target!r})"

    @property
    def rate_key(self) -> str:
        """A short SHA-256 of this instance's URL."""
        return http.rate_key(self._url)

    def deliver(self, message: Message, client: httpx.Client) -> Delivery:
        """POST the message's alerts to this instance. A 2xx confirms them (Alertmanager answers 200 with an
        empty body); a 400 is a dead letter naming Alertmanager's error; 429, 5xx and no response are
        retried; any other status is a dead letter."""
        alerts = alertmanager_alerts(message, self._config)
        sent = http.post_json(client, alerts_url(self._url), alerts, what="Alertmanager", timeout=self._timeout,
                              headers=self._headers, secrets=self._secrets)
        if isinstance(sent, Delivery):
            return sent
        if sent.status_code == 400:
            error = clip(_error_text(sent), 300, self._secrets)
            return Delivery.dead(f"Alertmanager: HTTP 400: {error or 'bad request'}")
        return (http.classify(sent, "Alertmanager", self._secrets)
                or Delivery.delivered(status=sent.status_code, alerts=len(alerts)))


def _alert(n: Notification, status: Status, starts: datetime, ends: datetime, annotations: Mapping[str, str],
           generator_url: str | None) -> dict[str, Any]:
    alert: dict[str, Any] = {"labels": _labels(n, status), "annotations": dict(annotations),
                             "startsAt": iso_utc(starts), "endsAt": iso_utc(max(ends, starts))}
    if generator_url:
        alert["generatorURL"] = generator_url
    return alert


def _labels(n: Notification, status: Status) -> dict[str, str]:
    labels = {"alertname": TEST_ALERTNAME if n.event is Event.TEST else ALERTNAME, "kind": n.kind,
              "subject": n.subject, "status": status.value,
              "severity": "warning" if status is Status.WARNING else "critical"}
    for key, value in sorted(n.labels.items()):
        name = label_name(str(key))
        if name and name not in labels and str(value):
            labels[name] = str(value)
    # Alertmanager's templates put labels into chat messages and mails: they are text for people
    return {name: printable(value) for name, value in labels.items()}


def _description(n: Notification) -> str:
    lines: list[str] = []
    age = format_age(n.duration_seconds) if n.duration_seconds is not None else None
    if n.event is Event.TEST:
        lines.append("A test notification from deploywatch: if it arrived, the sink works.")
    elif n.event is Event.RESOLVED:
        lines.append("Resolved" + (f" after {age}." if age else "."))
    elif n.event is Event.CHANGED and n.previous_status is not None:
        lines.append(f"Changed from {n.previous_status} to {n.status}.")
    elif n.event is Event.REPEAT and age:
        lines.append(f"Still {n.status}, firing for {age}.")
    lines.extend(detail_lines(n, markup=False))
    text = "\n".join(line for line in lines if line)
    return cut(text, MAX_DESCRIPTION)


def _error_text(response: httpx.Response) -> str:
    """Alertmanager's error: its 400 body is a JSON string (go-openapi's ``{"code", "message"}`` for a body
    that does not match the schema); anything else is shown as text."""
    text = response.text.strip()
    try:
        body = json.loads(text)
    except ValueError:
        body = text
    if isinstance(body, Mapping):
        body = body.get("message") or body.get("error") or text
    return " ".join(str(body).split())  # the caller masks, then cuts
