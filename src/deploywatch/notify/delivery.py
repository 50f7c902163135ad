"""Delivering the outbox: claim due rows, send each through its sink, retry with backoff, record the outcome.

At least once: a row is marked delivered only after the sink confirmed it, and a process that dies
mid-send leaves a claim that expires, so the next run (or ``deploywatch alerts flush``) sends it again.
Retries: exponential backoff with jitter for timeouts, connection errors and 5xx; ``Retry-After`` (and
GitHub's rate-limit reset) honoured; what cannot be retried within this run's ``retry_for`` budget is left
pending for the next run. Permanent errors, and transient ones after ``max_attempts``, become dead letters:
kept, listed by ``alerts pending``, and reported — never retried forever, never dropped silently.
"""

from __future__ import annotations

import os
import random
import socket
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from ..config.alerts import (
    AlertmanagerSinkConfig,
    AlertsConfig,
    GitHubSinkConfig,
    SinkConfig,
    SlackSinkConfig,
    WebhookSinkConfig,
)
from ..core.faults import crash_point
from ..core.redact import clip, mask
from ..core.text import plural
from .model import Delivery, Message, Notification

if TYPE_CHECKING:
    from ..store import Store
    from ..store.alerts import OutboxRecord
    from .base import Sink

__all__ = ["DeliveryOutcome", "backoff", "build_sink", "deliver_pending", "message_of"]

BACKOFF_BASE = 1.0
BACKOFF_CAP = 300.0


@dataclass(frozen=True)
class DeliveryOutcome:
    """What happened to one outbox row in this pass."""

    id: str
    sink: str
    summary: str
    state: str  # delivered, pending (left for later), dead
    attempts: int
    error: str | None = None
    next_attempt_at: datetime | None = None
    result: dict[str, Any] | None = None


def backoff(attempts: int, rng: random.Random | None = None) -> float:
    """Seconds before attempt ``attempts + 1``: 1 s doubling to at most 5 min, with jitter (50-100 %)."""
    ceiling = min(BACKOFF_CAP, BACKOFF_BASE * 2 ** max(0, attempts - 1))
    return float(ceiling * (rng or random.Random()).uniform(0.5, 1.0))


def build_sink(name: str, config: SinkConfig, target: int = 0) -> Sink:
    """The sink object for a configured sink (``target``: which Alertmanager URL)."""
    if isinstance(config, SlackSinkConfig):
        from .slack import SlackSink

        return SlackSink(name, config)
    if isinstance(config, GitHubSinkConfig):
        from .github import GitHubSink

        return GitHubSink(name, config)
    if isinstance(config, AlertmanagerSinkConfig):
        from .alertmanager import AlertmanagerSink

        return AlertmanagerSink(name, config, target)
    if isinstance(config, WebhookSinkConfig):
        from .webhook import WebhookSink

        return WebhookSink(name, config)
    raise TypeError(f"no sink for {type(config).__name__}")


def message_of(row: OutboxRecord, alerts: AlertsConfig) -> Message:
    """The message an outbox row holds."""
    notifications = tuple(Notification.from_json(n) for n in row.payload.get("notifications", []))
    return Message(id=row.id, sink=row.sink, created_at=row.created_at, notifications=notifications,
                   run_id=row.run_id, generator_url=alerts.dashboard_url, report=row.payload.get("report"))


class _RateLimiter:
    """At most one send per ``min_interval`` per rate key (Slack: one message per second per webhook)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._next: dict[str, float] = {}

    def wait(self, key: str, interval: float) -> None:
        if interval <= 0:
            return
        with self._lock:
            now = time.monotonic()
            start = max(now, self._next.get(key, 0.0))
            self._next[key] = start + interval
        if start > now:
            time.sleep(start - now)


def deliver_pending(store: Store, alerts: AlertsConfig, *, sinks: Sequence[str] | None = None,
                    ids: Sequence[str] | None = None, ignore_backoff: bool = False, include_dead: bool = False,
                    budget: float | None = None, log: Callable[[str], None] | None = None,
                    rng: random.Random | None = None) -> list[DeliveryOutcome]:
    """Deliver the due outbox rows of the configured sinks (or of ``sinks``); return what happened to each.

    ``budget`` (default ``alerts.retry_for``) bounds how long retries may keep this pass going.
    """
    from .http import new_client

    configured = dict(alerts.sinks())
    names = [n for n in (sinks if sinks is not None else configured) if n in configured]
    if not names:
        return []
    budget = float(alerts.retry_for if budget is None else budget)
    deadline = time.monotonic() + budget
    longest = max(configured[n].timeout for n in names)
    me = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
    lease = budget + 2 * longest + 60
    rows = store.claim_outbox(sinks=names, me=me, now=datetime.now(UTC), lease=lease,
                              ignore_backoff=ignore_backoff, include_dead=include_dead, ids=ids)
    if not rows:
        return []
    by_sink: dict[str, list[OutboxRecord]] = {}
    for row in rows:
        by_sink.setdefault(row.sink, []).append(row)
    limiter = _RateLimiter()
    say = log or (lambda _line: None)

    def work(name: str) -> list[DeliveryOutcome]:
        with new_client() as client:
            return [_deliver_row(store, row, configured[name], alerts, client, me=me, limiter=limiter,
                                 deadline=deadline, log=say, rng=rng) for row in by_sink[name]]

    with ThreadPoolExecutor(max_workers=min(8, len(by_sink)), thread_name_prefix="deploywatch-notify") as pool:
        results = list(pool.map(work, list(by_sink)))
    order = {row.id: i for i, row in enumerate(rows)}
    return sorted((o for batch in results for o in batch), key=lambda o: order[o.id])


def _deliver_row(store: Store, row: OutboxRecord, config: SinkConfig, alerts: AlertsConfig, client: Any, *,
                 me: str, limiter: _RateLimiter, deadline: float, log: Callable[[str], None],
                 rng: random.Random | None) -> DeliveryOutcome:
    sink = build_sink(row.sink, config, row.target)
    message = message_of(row, alerts)
    attempts = row.attempts
    while True:
        limiter.wait(sink.rate_key, sink.min_interval)
        try:
            delivery = sink.deliver(message, client)
        except Exception as exc:  # a sink bug must not lose the message or stop the others
            delivery = Delivery.retry(f"internal error in the {row.sink} sink: {type(exc).__name__}: "
                                      f"{clip(str(exc), 300)}")
        attempts += 1
        now = datetime.now(UTC)
        if delivery.ok:
            crash_point("after-send")
            store.finish_outbox(row.id, me, state="delivered", attempts=attempts, next_attempt_at=now,
                                delivered_at=now, result=dict(delivery.detail))
            return DeliveryOutcome(row.id, row.sink, row.summary, "delivered", attempts, result=dict(delivery.detail))
        error = mask(delivery.error or "failed")
        if delivery.permanent or attempts >= alerts.max_attempts:
            why = error if delivery.permanent else f"{error} (gave up after {plural(attempts, 'attempt')})"
            store.finish_outbox(row.id, me, state="dead", attempts=attempts, next_attempt_at=now, last_error=why)
            log(f"alert to {row.sink} not delivered and will not be retried: {why} "
                f"(see `deploywatch alerts pending`)")
            return DeliveryOutcome(row.id, row.sink, row.summary, "dead", attempts, why)
        wait = delivery.retry_after if delivery.retry_after is not None else backoff(attempts, rng)
        if time.monotonic() + wait > deadline:
            later = now + timedelta(seconds=wait)
            store.finish_outbox(row.id, me, state="pending", attempts=attempts, next_attempt_at=later,
                                last_error=error)
            when = later.isoformat(timespec="seconds").replace("+00:00", "Z")
            log(f"alert to {row.sink} not delivered yet: {error}; next attempt after {when} "
                "(next run or `deploywatch alerts flush`)")
            return DeliveryOutcome(row.id, row.sink, row.summary, "pending", attempts, error, later)
        time.sleep(wait)
