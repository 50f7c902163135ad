"""The store's notification tables: alert state per sink and finding, the outbox, and silences.

Routing reads the alert state and writes the new state and the outbox rows in the same transaction
as the run's findings (:class:`AlertTx`), under a lock, so two processes running at once never both
decide that the same notification is due. Delivery claims outbox rows with a lease before sending.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from .engine import advisory_xact_lock
from .schema import alert_state, outbox, silences

__all__ = ["AlertStateRecord", "AlertTx", "OutboxRecord", "SilenceRecord", "claim", "finish", "lock_routing"]


@dataclass(frozen=True)
class AlertStateRecord:
    """What one sink knows about one finding."""

    sink: str
    fingerprint: str
    kind: str
    subject: str
    status: str
    firing: bool
    firing_since: datetime | None
    notified_status: str | None
    last_notified_at: datetime | None
    ok_streak: int
    updated_at: datetime


@dataclass(frozen=True)
class OutboxRecord:
    """One message waiting for (or done with) delivery."""

    id: str
    sink: str
    target: int
    created_at: datetime
    summary: str
    payload: Mapping[str, Any]
    run_id: str | None = None
    state: str = "pending"
    attempts: int = 0
    next_attempt_at: datetime | None = None
    claimed_by: str | None = None
    claimed_until: datetime | None = None
    last_error: str | None = None
    delivered_at: datetime | None = None
    result: Mapping[str, Any] | None = None


@dataclass(frozen=True)
class SilenceRecord:
    """A silence: findings matching every matcher are recorded but not sent while it is active."""

    id: str
    matchers: Sequence[Mapping[str, str]]
    comment: str
    created_by: str
    created_at: datetime
    starts_at: datetime
    ends_at: datetime
    expired_at: datetime | None = None

    def active(self, now: datetime) -> bool:
        """True when the silence applies at ``now``."""
        end = min(self.ends_at, self.expired_at) if self.expired_at else self.ends_at
        return self.starts_at <= now < end


def lock_routing(conn: Connection) -> None:
    """Serialise routing between processes."""
    advisory_xact_lock(conn, "deploywatch.alerts.route")


@dataclass
class AlertTx:
    """Routing's view of the store inside the run's write transaction."""

    conn: Connection
    written: list[OutboxRecord] = field(default_factory=list)

    def states(self, sinks: Iterable[str]) -> dict[tuple[str, str], AlertStateRecord]:
        """The alert state of every finding known to ``sinks``, by (sink, fingerprint)."""
        return read_states(self.conn, sinks)

    def silences(self, now: datetime) -> list[SilenceRecord]:
        """The silences active at ``now``."""
        return [s for s in read_silences(self.conn, include_expired=False, now=now) if s.active(now)]

    def save_states(self, records: Sequence[AlertStateRecord]) -> None:
        """Insert or replace these states."""
        for record in records:
            values = _state_values(record)
            updated = self.conn.execute(alert_state.update().where(
                alert_state.c.sink == record.sink, alert_state.c.fingerprint == record.fingerprint).values(values))
            if updated.rowcount == 0:
                self.conn.execute(alert_state.insert().values(values))

    def enqueue(self, records: Sequence[OutboxRecord]) -> None:
        """Add messages to the outbox, pending."""
        if records:
            self.conn.execute(outbox.insert(), [_outbox_values(r) for r in records])
            self.written.extend(records)


def _state_values(r: AlertStateRecord) -> dict[str, Any]:
    return {"sink": r.sink, "fingerprint": r.fingerprint, "kind": r.kind, "subject": r.subject, "status": r.status,
            "firing": r.firing, "firing_since": r.firing_since, "notified_status": r.notified_status,
            "last_notified_at": r.last_notified_at, "ok_streak": r.ok_streak, "updated_at": r.updated_at}


def _outbox_values(r: OutboxRecord) -> dict[str, Any]:
    return {"id": r.id, "run_id": r.run_id, "sink": r.sink, "target": r.target, "created_at": r.created_at,
            "state": r.state, "attempts": r.attempts, "next_attempt_at": r.next_attempt_at or r.created_at,
            "claimed_by": None, "claimed_until": None, "last_error": r.last_error, "delivered_at": None,
            "summary": r.summary, "payload": dict(r.payload), "result": None}


def read_states(conn: Connection, sinks: Iterable[str]) -> dict[tuple[str, str], AlertStateRecord]:
    """Alert states of ``sinks``."""
    names = list(sinks)
    if not names:
        return {}
    rows = conn.execute(sa.select(alert_state).where(alert_state.c.sink.in_(names))).mappings()
    return {(r["sink"], r["fingerprint"]): AlertStateRecord(**dict(r)) for r in rows}


def read_silences(conn: Connection, *, include_expired: bool, now: datetime) -> list[SilenceRecord]:
    """Silences, newest first; without ``include_expired`` only those not yet over at ``now``."""
    query = sa.select(silences).order_by(silences.c.created_at.desc(), silences.c.id)
    if not include_expired:
        query = query.where(silences.c.ends_at > now, silences.c.expired_at.is_(None))
    return [_silence(r) for r in conn.execute(query).mappings()]


def _silence(row: Mapping[Any, Any]) -> SilenceRecord:
    return SilenceRecord(id=row["id"], matchers=list(row["matchers"]["matchers"]), comment=row["comment"],
                         created_by=row["created_by"], created_at=row["created_at"], starts_at=row["starts_at"],
                         ends_at=row["ends_at"], expired_at=row["expired_at"])


def insert_silence(conn: Connection, record: SilenceRecord) -> None:
    """Store a new silence."""
    conn.execute(silences.insert().values(
        id=record.id, matchers={"matchers": [dict(m) for m in record.matchers]}, comment=record.comment,
        created_by=record.created_by, created_at=record.created_at, starts_at=record.starts_at,
        ends_at=record.ends_at, expired_at=None))


def expire_silence(conn: Connection, silence_id: str, now: datetime) -> SilenceRecord | None:
    """End silence ``silence_id`` now; None when there is no such silence. Expiring an ended one changes nothing."""
    row = conn.execute(sa.select(silences).where(silences.c.id == silence_id)).mappings().first()
    if row is None:
        return None
    record = _silence(row)
    if record.expired_at is None and record.ends_at > now:
        conn.execute(silences.update().where(silences.c.id == silence_id).values(expired_at=now))
        record = _silence({**row, "expired_at": now})
    return record


def _outbox(row: Mapping[Any, Any]) -> OutboxRecord:
    return OutboxRecord(**dict(row))


def claim(conn: Connection, *, sinks: Sequence[str], me: str, now: datetime, lease: float,
          ignore_backoff: bool = False, include_dead: bool = False, ids: Sequence[str] | None = None,
          limit: int = 1000) -> list[OutboxRecord]:
    """Claim pending rows of ``sinks`` that are due and not claimed by a live process; oldest first.

    Each row is taken with a conditional UPDATE, so of two processes claiming at once exactly one gets it.
    """
    if not sinks:
        return []
    states = ["pending", "dead"] if include_dead else ["pending"]
    query = (sa.select(outbox.c.id).where(outbox.c.sink.in_(list(sinks)), outbox.c.state.in_(states),
                                          sa.or_(outbox.c.claimed_until.is_(None), outbox.c.claimed_until < now))
             .order_by(outbox.c.created_at, outbox.c.id).limit(limit))
    if not ignore_backoff:
        query = query.where(outbox.c.next_attempt_at <= now)
    if ids is not None:
        query = query.where(outbox.c.id.in_(list(ids)))
    candidates = [r[0] for r in conn.execute(query)]
    until = now + timedelta(seconds=lease)
    taken = []
    for row_id in candidates:
        updated = conn.execute(outbox.update().where(
            outbox.c.id == row_id, outbox.c.state.in_(states),
            sa.or_(outbox.c.claimed_until.is_(None), outbox.c.claimed_until < now),
        ).values(claimed_by=me, claimed_until=until, state="pending"))
        if updated.rowcount == 1:
            taken.append(row_id)
    if not taken:
        return []
    rows = conn.execute(sa.select(outbox).where(outbox.c.id.in_(taken))
                        .order_by(outbox.c.created_at, outbox.c.id)).mappings()
    return [_outbox(r) for r in rows]


def finish(conn: Connection, row_id: str, me: str, *, state: str, attempts: int, next_attempt_at: datetime,
           last_error: str | None, delivered_at: datetime | None, result: Mapping[str, Any] | None) -> bool:
    """Record an attempt's outcome and release the claim; False when the claim was lost meanwhile."""
    updated = conn.execute(outbox.update().where(outbox.c.id == row_id, outbox.c.claimed_by == me).values(
        state=state, attempts=attempts, next_attempt_at=next_attempt_at, last_error=last_error,
        delivered_at=delivered_at, result=dict(result) if result is not None else None,
        claimed_by=None, claimed_until=None))
    return updated.rowcount == 1


def extend(conn: Connection, row_id: str, me: str, until: datetime) -> None:
    """Keep holding a claim (a long retry)."""
    conn.execute(outbox.update().where(outbox.c.id == row_id, outbox.c.claimed_by == me).values(claimed_until=until))


def read_outbox(conn: Connection, *, states: Sequence[str], limit: int) -> list[OutboxRecord]:
    """Outbox rows in ``states``, oldest first."""
    rows = conn.execute(sa.select(outbox).where(outbox.c.state.in_(list(states)))
                        .order_by(outbox.c.created_at, outbox.c.id).limit(limit)).mappings()
    return [_outbox(r) for r in rows]
