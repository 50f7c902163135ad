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

from .common import json_text, read_json
from .db import Tx, placeholders

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


def lock_routing(tx: Tx) -> None:
    """Serialise routing between processes."""
    tx.lock("deploywatch.alerts.route")


@dataclass
class AlertTx:
    """Routing's view of the store inside the run's write transaction."""

    tx: Tx
    written: list[OutboxRecord] = field(default_factory=list)

    def states(self, sinks: Iterable[str]) -> dict[tuple[str, str], AlertStateRecord]:
        """The alert state of every finding known to ``sinks``, by (sink, fingerprint)."""
        return read_states(self.tx, sinks)

    def silences(self, now: datetime) -> list[SilenceRecord]:
        """The silences active at ``now``."""
        return [s for s in read_silences(self.tx, include_expired=False, now=now) if s.active(now)]

    def save_states(self, records: Sequence[AlertStateRecord]) -> None:
        """Insert or replace these states (one upsert: ON CONFLICT is spelled alike on SQLite and PostgreSQL)."""
        d = self.tx.d
        self.tx.executemany(
            f"INSERT INTO alert_state ({_STATE_COLUMNS}) VALUES ({placeholders(11)}) "
            f"ON CONFLICT (sink, fingerprint) DO UPDATE SET {_STATE_UPDATE}",
            [(r.sink, r.fingerprint, r.kind, r.subject, r.status, d.flag(r.firing), d.ts(r.firing_since),
              r.notified_status, d.ts(r.last_notified_at), r.ok_streak, d.ts(r.updated_at)) for r in records])

    def enqueue(self, records: Sequence[OutboxRecord]) -> None:
        """Add messages to the outbox, pending."""
        if records:
            d = self.tx.d
            self.tx.executemany(
                f"INSERT INTO outbox ({_OUTBOX_COLUMNS}) VALUES ({placeholders(15)})",
                [(r.id, r.run_id, r.sink, r.target, d.ts(r.created_at), r.state, r.attempts,
                  d.ts(r.next_attempt_at or r.created_at), None, None, r.last_error, None, r.summary,
                  json_text(r.payload), None) for r in records])
            self.written.extend(records)

    def enqueue_new(self, records: Sequence[OutboxRecord]) -> list[OutboxRecord]:
        """Add the messages whose id is not in the outbox yet, pending; return those added (an event sent once
        per id, such as the report of one schedule slot)."""
        d = self.tx.d
        added = [r for r in records if self.tx.execute(
            f"INSERT INTO outbox ({_OUTBOX_COLUMNS}) VALUES ({placeholders(15)}) ON CONFLICT (id) DO NOTHING",
            (r.id, r.run_id, r.sink, r.target, d.ts(r.created_at), r.state, r.attempts,
             d.ts(r.next_attempt_at or r.created_at), None, None, r.last_error, None, r.summary,
             json_text(r.payload), None)) == 1]
        self.written.extend(added)
        return added


_STATE_COLUMNS = ("sink, fingerprint, kind, subject, status, firing, firing_since, notified_status, last_notified_at, "
                  "ok_streak, updated_at")
_STATE_UPDATE = ", ".join(f"{c.strip()} = excluded.{c.strip()}" for c in _STATE_COLUMNS.split(",")[2:])
_OUTBOX_COLUMNS = ("id, run_id, sink, target, created_at, state, attempts, next_attempt_at, claimed_by, claimed_until, "
                   "last_error, delivered_at, summary, payload, result")
_SILENCE_COLUMNS = "id, matchers, comment, created_by, created_at, starts_at, ends_at, expired_at"


def read_states(tx: Tx, sinks: Iterable[str]) -> dict[tuple[str, str], AlertStateRecord]:
    """Alert states of ``sinks``."""
    names = list(sinks)
    if not names:
        return {}
    d = tx.d
    found = {}
    for row in tx.rows(f"SELECT {_STATE_COLUMNS} FROM alert_state WHERE sink IN ({placeholders(len(names))})", names):
        sink, fingerprint, kind, subject, status, firing, since, notified, last, streak, updated = row
        found[(sink, fingerprint)] = AlertStateRecord(
            sink=sink, fingerprint=fingerprint, kind=kind, subject=subject, status=status, firing=bool(firing),
            firing_since=d.read_ts(since), notified_status=notified, last_notified_at=d.read_ts(last),
            ok_streak=streak, updated_at=d.read_ts(updated))
    return found


def read_silences(tx: Tx, *, include_expired: bool, now: datetime) -> list[SilenceRecord]:
    """Silences, newest first; without ``include_expired`` only those not yet over at ``now``."""
    where, params = ("", []) if include_expired else (" WHERE ends_at > ? AND expired_at IS NULL", [tx.d.ts(now)])
    rows = tx.rows(f"SELECT {_SILENCE_COLUMNS} FROM silences{where} ORDER BY created_at DESC, id", params)
    return [_silence(tx, row) for row in rows]


def _silence(tx: Tx, row: Sequence[Any]) -> SilenceRecord:
    silence_id, matchers, comment, created_by, created_at, starts_at, ends_at, expired_at = row
    d = tx.d
    return SilenceRecord(id=silence_id, matchers=list(read_json(matchers)["matchers"]), comment=comment,
                         created_by=created_by, created_at=d.read_ts(created_at), starts_at=d.read_ts(starts_at),
                         ends_at=d.read_ts(ends_at), expired_at=d.read_ts(expired_at))


def insert_silence(tx: Tx, record: SilenceRecord) -> None:
    """Store a new silence."""
    d = tx.d
    tx.execute(f"INSERT INTO silences ({_SILENCE_COLUMNS}) VALUES ({placeholders(8)})",
               (record.id, json_text({"matchers": [dict(m) for m in record.matchers]}), record.comment,
                record.created_by, d.ts(record.created_at), d.ts(record.starts_at), d.ts(record.ends_at), None))


def expire_silence(tx: Tx, silence_id: str, now: datetime) -> SilenceRecord | None:
    """End silence ``silence_id`` now; None when there is no such silence. Expiring an ended one changes nothing."""
    row = tx.first(f"SELECT {_SILENCE_COLUMNS} FROM silences WHERE id = ?", (silence_id,))
    if row is None:
        return None
    record = _silence(tx, row)
    if record.expired_at is None and record.ends_at > now:
        tx.execute("UPDATE silences SET expired_at = ? WHERE id = ?", (tx.d.ts(now), silence_id))
        record = _silence(tx, (*row[:-1], tx.d.ts(now)))
    return record


def _outbox(tx: Tx, row: Sequence[Any]) -> OutboxRecord:
    (row_id, run_id, sink, target, created_at, state, attempts, next_attempt_at, claimed_by, claimed_until,
     last_error, delivered_at, summary, payload, result) = row
    d = tx.d
    return OutboxRecord(id=row_id, sink=sink, target=target, created_at=d.read_ts(created_at), summary=summary,
                        payload=read_json(payload), run_id=run_id, state=state, attempts=attempts,
                        next_attempt_at=d.read_ts(next_attempt_at), claimed_by=claimed_by,
                        claimed_until=d.read_ts(claimed_until), last_error=last_error,
                        delivered_at=d.read_ts(delivered_at), result=read_json(result))


def claim(tx: Tx, *, sinks: Sequence[str], me: str, now: datetime, lease: float, ignore_backoff: bool = False,
          include_dead: bool = False, ids: Sequence[str] | None = None, limit: int = 1000) -> list[OutboxRecord]:
    """Claim pending rows of ``sinks`` that are due and not claimed by a live process; oldest first.

    Each row is taken with a conditional UPDATE, so of two processes claiming at once exactly one gets it.
    """
    if not sinks or (ids is not None and not ids):
        return []
    d = tx.d
    states = ["pending", "dead"] if include_dead else ["pending"]
    free = f"state IN ({placeholders(len(states))}) AND (claimed_until IS NULL OR claimed_until < ?)"
    where = [f"sink IN ({placeholders(len(sinks))})", free]
    params: list[Any] = [*sinks, *states, d.ts(now)]
    if not ignore_backoff:
        where.append("next_attempt_at <= ?")
        params.append(d.ts(now))
    if ids is not None:
        where.append(f"id IN ({placeholders(len(ids))})")
        params += ids
    candidates = [row[0] for row in tx.rows(
        f"SELECT id FROM outbox WHERE {' AND '.join(where)} ORDER BY created_at, id LIMIT ?", [*params, limit])]
    until = now + timedelta(seconds=lease)
    taken = [row_id for row_id in candidates if tx.execute(
        f"UPDATE outbox SET claimed_by = ?, claimed_until = ?, state = 'pending' WHERE id = ? AND {free}",
        (me, d.ts(until), row_id, *states, d.ts(now))) == 1]
    if not taken:
        return []
    rows = tx.rows(f"SELECT {_OUTBOX_COLUMNS} FROM outbox WHERE id IN ({placeholders(len(taken))}) "
                   "ORDER BY created_at, id", taken)
    return [_outbox(tx, row) for row in rows]


def finish(tx: Tx, row_id: str, me: str, *, state: str, attempts: int, next_attempt_at: datetime,
           last_error: str | None, delivered_at: datetime | None, result: Mapping[str, Any] | None) -> bool:
    """Record an attempt's outcome and release the claim; False when the claim was lost meanwhile."""
    d = tx.d
    return tx.execute(
        "UPDATE outbox SET state = ?, attempts = ?, next_attempt_at = ?, last_error = ?, delivered_at = ?, "
        "result = ?, claimed_by = NULL, claimed_until = NULL WHERE id = ? AND claimed_by = ?",
        (state, attempts, d.ts(next_attempt_at), last_error, d.ts(delivered_at),
         json_text(result) if result is not None else None, row_id, me)) == 1


def extend(tx: Tx, row_id: str, me: str, until: datetime) -> None:
    """Keep holding a claim (a long retry)."""
    tx.execute("UPDATE outbox SET claimed_until = ? WHERE id = ? AND claimed_by = ?", (tx.d.ts(until), row_id, me))


def read_outbox(tx: Tx, *, states: Sequence[str], limit: int) -> list[OutboxRecord]:
    """Outbox rows in ``states``, oldest first."""
    if not states:
        return []
    rows = tx.rows(f"SELECT {_OUTBOX_COLUMNS} FROM outbox WHERE state IN ({placeholders(len(states))}) "
                   "ORDER BY created_at, id LIMIT ?", [*states, max(limit, 0)])
    return [_outbox(tx, row) for row in rows]
