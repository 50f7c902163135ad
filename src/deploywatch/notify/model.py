"""What the router hands to sinks: notifications, grouped into messages, and what a delivery attempt returned.

A :class:`Notification` is display-safe: it holds what a finding said (kind, subject, status, summary,
details) and why it is due now (its event), never a sink's URL, token or headers. It is stored in the
outbox as JSON and rendered into a sink's wire format only at send time.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from ..core.status import Status

__all__ = ["AlertMode", "Delivery", "Event", "Message", "Notification", "iso_utc"]


class Event(StrEnum):
    """Why a notification is due."""

    FIRING = "firing"  # the finding started firing (was ok, or never seen)
    CHANGED = "changed"  # still firing, with another status (warning -> critical, critical -> unknown …)
    REPEAT = "repeat"  # firing unchanged for the sink's repeat_interval
    RESOLVED = "resolved"  # back to ok (for resolve_after runs in a row); sent once
    TEST = "test"  # `deploywatch alerts test`


@dataclass(frozen=True)
class Notification:
    """One finding as one sink should hear about it."""

    fingerprint: str
    kind: str  # drift, check, gate …
    subject: str  # the service, the check (and group) …
    event: Event
    status: Status  # the status now (ok for a resolved finding)
    previous_status: Status | None  # the status last notified to this sink; None when it is new
    summary: str
    at: datetime  # when the run observed it
    firing_since: datetime | None = None  # when it started firing; for a resolved one, how long it lasted
    details: Mapping[str, Any] = field(default_factory=dict)
    labels: Mapping[str, str] = field(default_factory=dict)

    @property
    def firing(self) -> bool:
        """True unless the notification says the finding resolved."""
        return self.event is not Event.RESOLVED

    @property
    def duration_seconds(self) -> float | None:
        """How long the finding has been (or was, when resolved) firing."""
        if self.firing_since is None:
            return None
        return max(0.0, (self.at - self.firing_since).total_seconds())

    def to_json(self) -> dict[str, Any]:
        """The notification as a JSON object (the outbox payload, the webhook body's entries)."""
        return {
            "fingerprint": self.fingerprint, "kind": self.kind, "subject": self.subject,
            "event": self.event.value, "status": self.status.value,
            "previous_status": self.previous_status.value if self.previous_status else None,
            "summary": self.summary, "at": iso_utc(self.at),
            "firing_since": iso_utc(self.firing_since) if self.firing_since else None,
            "duration_seconds": self.duration_seconds,
            "details": dict(self.details), "labels": dict(self.labels),
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Notification:
        """Read back what :meth:`to_json` wrote."""
        previous = data.get("previous_status")
        since = data.get("firing_since")
        return cls(
            fingerprint=str(data["fingerprint"]), kind=str(data["kind"]), subject=str(data["subject"]),
            event=Event(data["event"]), status=Status(data["status"]),
            previous_status=Status(previous) if previous else None, summary=str(data["summary"]),
            at=datetime.fromisoformat(data["at"]),
            firing_since=datetime.fromisoformat(since) if since else None,
            details=dict(data.get("details") or {}), labels=dict(data.get("labels") or {}),
        )


def iso_utc(value: datetime) -> str:
    """``value`` in UTC as ISO 8601 with a ``Z`` (a naive value is taken as UTC)."""
    value = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    return value.isoformat().replace("+00:00", "Z")


@dataclass(frozen=True)
class Message:
    """What one sink is sent in one delivery: the notifications due for it in one run, grouped.

    ``id`` is the outbox row's id: stable across retries, so a receiver can drop a redelivered duplicate.
    """

    id: str
    sink: str
    created_at: datetime
    notifications: tuple[Notification, ...]
    run_id: str | None = None
    generator_url: str | None = None  # where a person can see the run (the dashboard), when known
    # A scheduled report (``deploywatch.report/v1``) instead of notifications: an event, not a finding's state.
    report: Mapping[str, Any] | None = None


@dataclass(frozen=True)
class Delivery:
    """The outcome of one attempt to deliver a message.

    ``ok``: the sink confirmed (Slack's body ``ok``, a 2xx elsewhere). Otherwise ``permanent`` says retrying
    cannot help (a 4xx other than 429, Slack's ``invalid_payload`` …) and the message goes to the dead
    letters; else it is retried, not before ``retry_after`` seconds when the peer said so (429
    ``Retry-After``, GitHub's rate-limit reset). ``error`` is display-safe: it never holds a URL, token or
    header value.
    """

    ok: bool
    error: str | None = None
    permanent: bool = False
    retry_after: float | None = None
    detail: Mapping[str, Any] = field(default_factory=dict)  # e.g. {"issue": 12, "action": "reopened"}

    @classmethod
    def delivered(cls, **detail: Any) -> Delivery:
        """The sink confirmed the message."""
        return cls(True, detail=detail)

    @classmethod
    def retry(cls, error: str, retry_after: float | None = None) -> Delivery:
        """A transient failure (timeout, connection error, 5xx, 429): try again later."""
        return cls(False, error, False, retry_after)

    @classmethod
    def dead(cls, error: str) -> Delivery:
        """A permanent failure: do not retry; keep it as a dead letter."""
        return cls(False, error, True)


@dataclass(frozen=True)
class AlertMode:
    """How a command treats alerts: normally, not at all (``--no-alerts``), or as a preview (``--dry-run-alerts``)."""

    enabled: bool = True
    dry_run: bool = False
