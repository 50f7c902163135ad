"""A fake Alertmanager (API v2) on 127.0.0.1: it validates posted alerts as Alertmanager does and keeps them.

``POST {prefix}/api/v2/alerts`` takes a JSON array of postable alerts. As in Alertmanager's
``postAlertsHandler``: a body that is not such an array (an item without a ``labels`` object, a label or
annotation value that is not a string, ``startsAt``/``endsAt`` not RFC 3339) is a 400 with go-openapi's
``{"code", "message"}``; then a missing ``startsAt`` becomes now (or ``endsAt``), a missing ``endsAt`` now +
``resolve_timeout``, labels with empty values are dropped, and each alert is validated (``endsAt`` before
``startsAt``, an invalid label or annotation name, no labels left). The valid alerts are stored even when
others are not (best effort, like Alertmanager), and the invalid ones make the answer a 400 whose body is a
JSON string joining the errors with "; ". Otherwise the answer is 200 with an empty body.

A re-posted alert (same label set) is merged as Alertmanager merges: the earliest ``startsAt`` is kept and
the newer post's ``endsAt`` wins (an older, later ``endsAt`` only while the newer post is firing).
``GET {prefix}/api/v2/alerts`` lists the active alerts (``endsAt`` in the future) in the API's gettable form;
:meth:`FakeAlertmanager.active` does the same for tests.

Scripted: :meth:`~FakeAlertmanager.fail_next` (500, 503 … with a body) and
:meth:`~testing.webhook_api.RecordingServer.hang_next`. Any number of instances can run at once (an HA pair:
the :func:`fake_alertmanager_pair` fixture).
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from werkzeug import Request

from testing.webhook_api import Answer, RecordingServer, Scripted

__all__ = ["FakeAlertmanager", "StoredAlert", "fake_alertmanager", "fake_alertmanager_pair", "parse_rfc3339"]

_LABEL_NAME = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*")
_RFC3339 = re.compile(r"(\d{4}-\d{2}-\d{2})[Tt](\d{2}:\d{2}:\d{2})(\.\d+)?([Zz]|[+-]\d{2}:\d{2})")
_JSON = "application/json"


def parse_rfc3339(text: str) -> datetime:
    """An RFC 3339 timestamp (as Go's ``strfmt.DateTime`` reads it); raise ``ValueError`` otherwise."""
    match = _RFC3339.fullmatch(text)
    if not match:
        raise ValueError(f"{text!r} is not an RFC 3339 date-time")
    day, clock, fraction, zone = match.groups()
    fraction = (fraction or "")[:7]  # Python keeps microseconds; Go's nanoseconds are cut
    zone = "+00:00" if zone in ("Z", "z") else zone
    return datetime.fromisoformat(f"{day}T{clock}{fraction}{zone}").astimezone(UTC)


def _iso(value: datetime) -> str:
    return value.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass(frozen=True)
class StoredAlert:
    """An alert as Alertmanager keeps it."""

    labels: Mapping[str, str]
    annotations: Mapping[str, str]
    starts_at: datetime
    ends_at: datetime
    updated_at: datetime
    generator_url: str | None = None
    timeout: bool = False  # endsAt was not given: it was set to now + resolve_timeout

    @property
    def fingerprint(self) -> str:
        """A stable id of the label set (Alertmanager's is a 64-bit FNV hash; this is 16 hex digits)."""
        text = "\0".join(f"{k}\0{v}" for k, v in sorted(self.labels.items()))
        return hashlib.sha256(text.encode()).hexdigest()[:16]

    def resolved_at(self, now: datetime) -> bool:
        """True when ``endsAt`` has passed."""
        return self.ends_at <= now

    def merge(self, newer: StoredAlert, now: datetime) -> StoredAlert:
        """``newer`` merged into this older alert with Alertmanager's rules (``types.Alert.Merge``)."""
        starts = min(self.starts_at, newer.starts_at)
        ends = newer.ends_at
        if newer.resolved_at(now):
            if self.resolved_at(now) and self.ends_at > newer.ends_at:
                ends = self.ends_at
        elif self.ends_at > newer.ends_at and not self.timeout:
            ends = self.ends_at
        return replace(newer, starts_at=starts, ends_at=ends)

    def gettable(self, now: datetime) -> dict[str, Any]:
        """The ``gettableAlert`` JSON of ``GET /api/v2/alerts``."""
        return {"labels": dict(self.labels), "annotations": dict(self.annotations), "startsAt": _iso(self.starts_at),
                "endsAt": _iso(self.ends_at), "updatedAt": _iso(self.updated_at), "fingerprint": self.fingerprint,
                "generatorURL": self.generator_url or "", "receivers": [{"name": "default"}],
                "status": {"state": "active", "silencedBy": [], "inhibitedBy": [], "mutedBy": []}}


class FakeAlertmanager(RecordingServer):
    """An Alertmanager instance; :attr:`url` is what the sink's ``urls`` should list (with the prefix).

    ``prefix``: a route prefix such as ``/alertmanager``; ``resolve_timeout``: seconds until an alert posted
    without ``endsAt`` resolves; ``clock``: "now" for storing and listing alerts (UTC).
    """

    def __init__(self, *, prefix: str = "", resolve_timeout: float = 300.0,
                 clock: Callable[[], datetime] | None = None) -> None:
        super().__init__()
        self.prefix = prefix.rstrip("/")
        self.resolve_timeout = resolve_timeout
        self.clock = clock or (lambda: datetime.now(UTC))
        self.alerts: dict[frozenset[tuple[str, str]], StoredAlert] = {}  # by label set

    @property
    def url(self) -> str:
        """The base URL (``http://127.0.0.1:PORT`` plus the route prefix)."""
        return f"{self.base_url}{self.prefix}"

    @property
    def posts(self) -> list[list[dict[str, Any]]]:
        """The bodies of the accepted ``POST /api/v2/alerts``, oldest first."""
        return [r.json for r in self.requests if r.accepted and r.method == "POST"]

    def active(self) -> list[StoredAlert]:
        """The alerts whose ``endsAt`` has not passed, oldest ``startsAt`` first."""
        now = self.clock()
        with self._lock:
            alerts = [a for a in self.alerts.values() if not a.resolved_at(now)]
        return sorted(alerts, key=lambda a: (a.starts_at, sorted(a.labels.items())))

    def alert(self, **labels: str) -> StoredAlert | None:
        """The stored alert (active or not) whose labels include ``labels``; None when there is none."""
        with self._lock:
            found = [a for a in self.alerts.values() if labels.items() <= a.labels.items()]
        if len(found) > 1:
            raise AssertionError(f"{len(found)} alerts match {labels}")
        return found[0] if found else None

    def fail_next(self, status: int = 500, count: int = 1, *, body: str | None = None, seconds: float = 0.0) -> None:
        """Answer the next ``count`` posts with ``status`` (Alertmanager's 5xx body is a JSON string), after
        hanging ``seconds`` when given."""
        text = body if body is not None else json.dumps(f"HTTP {status} from the fake Alertmanager")
        self.script(Scripted(Answer(status, text, content_type=_JSON), seconds, count))

    def scriptable(self, request: Request) -> bool:
        """Scripted answers apply to posts of alerts."""
        return request.method == "POST" and request.path == f"{self.prefix}/api/v2/alerts"

    def answer(self, request: Request, payload: Any) -> Answer:
        """The API: post and list alerts, ``/-/healthy``; anything else is a 404."""
        path = request.path
        if path == f"{self.prefix}/api/v2/alerts" and request.method == "POST":
            return self._post(request, payload)
        if path == f"{self.prefix}/api/v2/alerts" and request.method == "GET":
            now = self.clock()
            alerts = [a.gettable(now) for a in self.active()]
            return Answer(200, json.dumps(alerts), content_type=_JSON)
        if path == f"{self.prefix}/-/healthy":
            return Answer(200, "OK")
        return Answer(404, "404 page not found\n", problem="unknown path")

    def _reset_state(self) -> None:
        self.alerts.clear()

    def _post(self, request: Request, payload: Any) -> Answer:
        if payload is None:
            message = 'parsing alerts body from "" failed, because the body is not JSON'
            return Answer(400, json.dumps({"code": 400, "message": message}), content_type=_JSON, problem=message)
        schema = _schema_problem(payload)
        if schema:
            message = f"validation failure list:\n{schema}"
            return Answer(400, json.dumps({"code": 400, "message": message}), content_type=_JSON, problem=message)
        now = self.clock()
        errors: list[str] = []
        for item in payload:
            alert, error = self._alert(item, now)
            if error:
                errors.append(error)
                continue
            assert alert is not None
            key = frozenset(alert.labels.items())
            old = self.alerts.get(key)
            if old is not None and ((old.starts_at < alert.ends_at < old.ends_at)
                                    or (old.starts_at < alert.starts_at < old.ends_at)):
                alert = old.merge(alert, now)
            self.alerts[key] = alert
        if errors:
            text = "; ".join(errors)
            return Answer(400, json.dumps(text), content_type=_JSON, problem=text)
        return Answer(200, "", content_type=_JSON)

    def _alert(self, item: Mapping[str, Any], now: datetime) -> tuple[StoredAlert | None, str | None]:
        starts = parse_rfc3339(item["startsAt"]) if item.get("startsAt") else None
        ends = parse_rfc3339(item["endsAt"]) if item.get("endsAt") else None
        if starts is None:
            starts = ends if ends is not None else now
        timeout = ends is None
        if ends is None:
            ends = now + timedelta(seconds=self.resolve_timeout)
        labels = {k: v for k, v in item["labels"].items() if v != ""}
        annotations = dict(item.get("annotations") or {})
        if ends < starts:
            return None, "start time must be before end time"
        for name in labels:
            if not _LABEL_NAME.fullmatch(name):
                return None, f'invalid label set: invalid name "{name}"'
        if not labels:
            return None, "at least one label pair required"
        for name in annotations:
            if not _LABEL_NAME.fullmatch(name):
                return None, f'invalid annotations: invalid name "{name}"'
        return StoredAlert(labels, annotations, starts, ends, now, item.get("generatorURL") or None, timeout), None


def _schema_problem(payload: Any) -> str | None:
    """What the OpenAPI schema (``postableAlerts``) rejects, or None."""
    if not isinstance(payload, list):
        return "alerts in body must be of type array"
    for index, item in enumerate(payload):
        where = f"{index}"
        if not isinstance(item, dict):
            return f"{where} in body must be of type object"
        labels = item.get("labels")
        if labels is None:
            return f"{where}.labels in body is required"
        if not isinstance(labels, dict) or not all(isinstance(v, str) for v in labels.values()):
            return f"{where}.labels in body must be a map of strings"
        annotations = item.get("annotations")
        if annotations is not None and (not isinstance(annotations, dict)
                                        or not all(isinstance(v, str) for v in annotations.values())):
            return f"{where}.annotations in body must be a map of strings"
        for key in ("startsAt", "endsAt"):
            value = item.get(key)
            if value in (None, "") or (isinstance(value, str) and _RFC3339.fullmatch(value)):
                continue  # an empty or missing time is filled in (see FakeAlertmanager._alert)
            return f"{where}.{key} in body must be of type date-time: {json.dumps(value)}"
        url = item.get("generatorURL")
        if url is not None and (not isinstance(url, str) or (url and "://" not in url)):
            return f"{where}.generatorURL in body must be of type uri: {json.dumps(url)}"
    return None


@pytest.fixture
def fake_alertmanager() -> Iterator[FakeAlertmanager]:
    """A running :class:`FakeAlertmanager` without a route prefix."""
    with FakeAlertmanager() as am:
        yield am


@pytest.fixture
def fake_alertmanager_pair() -> Iterator[tuple[FakeAlertmanager, FakeAlertmanager]]:
    """Two running instances (an HA pair), on two ports."""
    with FakeAlertmanager() as first, FakeAlertmanager() as second:
        yield first, second
