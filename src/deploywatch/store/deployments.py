"""The deploy ledger's table: one row per deployment (started, then finished), newest first per service."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from ..core.errors import DeploywatchError
from ..core.redact import mask
from .common import to_utc
from .db import Tx, placeholders
from .jobs import JobLockRecord, read_job_lock

__all__ = ["DEPLOYMENT_HOWS", "DEPLOYMENT_STATUSES", "Begun", "DeployLock", "begin", "counts", "finish", "insert",
           "last_succeeded", "lock_name", "read", "read_before", "read_locks", "read_one", "reap", "release", "renew"]

DEPLOYMENT_STATUSES = ("started", "succeeded", "failed", "rolled_back", "abandoned", "paused")
# A paused deploy keeps its service's lock until a human ends it (a forced deploy or a rollback takes it over).
PAUSED_LEASE = timedelta(days=3650)
DEPLOYMENT_HOWS = ("deploy", "rollback", "record")
_COLUMNS = ("service, from_commit, to_commit, status, step, reason, how, deployed_by, url, started_at, finished_at, "
            "output_tail, relevant_commits")


@dataclass(frozen=True)
class DeploymentRecord:
    """One ledger entry. ``url``, ``reason``, ``by`` and ``output_tail`` are masked when the record is made, so
    the store, the terminal and the API only ever see masked text. ``id`` is assigned by the store (0 before)."""

    service: str
    to_commit: str
    status: str
    how: str
    by: str
    started_at: datetime
    from_commit: str | None = None
    finished_at: datetime | None = None
    step: str | None = None
    reason: str | None = None
    url: str | None = None
    output_tail: str | None = None
    relevant_commits: tuple[str, ...] = field(default_factory=tuple)
    id: int = 0

    def __post_init__(self) -> None:
        if self.status not in DEPLOYMENT_STATUSES:
            raise ValueError(f"deployment status must be one of {', '.join(DEPLOYMENT_STATUSES)}, not {self.status!r}")
        if self.how not in DEPLOYMENT_HOWS:
            raise ValueError(f"deployment how must be one of {', '.join(DEPLOYMENT_HOWS)}, not {self.how!r}")
        for name in ("url", "reason", "by", "output_tail"):
            value = getattr(self, name)
            if value is not None:
                object.__setattr__(self, name, mask(value))
        object.__setattr__(self, "relevant_commits", tuple(self.relevant_commits))

    @property
    def duration_seconds(self) -> float | None:
        """How long it took (None while it has not finished)."""
        return None if self.finished_at is None else (self.finished_at - self.started_at).total_seconds()


def insert(tx: Tx, record: DeploymentRecord, *, chained: bool = False) -> DeploymentRecord:
    """Insert ``record`` inside the caller's write transaction; return it with the id the store gave it.

    ``chained``: ``record.from_commit`` was read as the service's last succeeded entry before this transaction;
    if another entry succeeded meanwhile, refuse (one line) rather than store a ``from`` that is no longer true.
    """
    d = tx.d
    started, finished = to_utc(record.started_at), None if record.finished_at is None else to_utc(record.finished_at)
    tx.lock(f"deploywatch.deployments\0{record.service}")  # transitions of one service, one at a time
    if chained:
        last = last_succeeded(tx, [record.service]).get(record.service)
        if (last.to_commit if last else None) != record.from_commit:
            raise DeploywatchError(f"another deploy of {record.service} was recorded meanwhile (now at "
                                   f"{last.to_commit[:12] if last else 'none'}); record it again")
    new_id = tx.scalar(f"INSERT INTO deployments ({_COLUMNS}) VALUES ({placeholders(13)}) RETURNING id",
                       (record.service, record.from_commit, record.to_commit, record.status, record.step,
                        record.reason, record.how, record.by, record.url, d.ts(started), d.ts(finished),
                        record.output_tail,
                        json.dumps(list(record.relevant_commits), separators=(",", ":"))))
    return replace(record, id=int(new_id), started_at=started, finished_at=finished)


def read(tx: Tx, services: Sequence[str] = (), *, since: datetime | None = None,
         limit: int = 100) -> list[DeploymentRecord]:
    """The newest ``limit`` entries (of ``services``; started at ``since`` or later), newest first."""
    where, params = _where(tx, services, since)
    rows = tx.rows(f"SELECT id, {_COLUMNS} FROM deployments{where} ORDER BY started_at DESC, id DESC LIMIT ?",
                   (*params, int(limit)))
    return [_record(tx, row) for row in rows]


def read_before(tx: Tx, until: datetime) -> list[DeploymentRecord]:
    """Every entry started before ``until``, oldest first (the report: lead times need every earlier live commit)."""
    rows = tx.rows(f"SELECT id, {_COLUMNS} FROM deployments WHERE started_at < ? ORDER BY started_at, id",
                   (tx.d.ts(to_utc(until)),))
    return [_record(tx, row) for row in rows]


def last_succeeded(tx: Tx, services: Sequence[str] = ()) -> dict[str, DeploymentRecord]:
    """The newest succeeded entry of every service (of ``services``), by service."""
    where, params = _where(tx, services, None, status="succeeded")
    rows = tx.rows(f"SELECT id, {_COLUMNS} FROM (SELECT *, row_number() OVER (PARTITION BY service ORDER BY "
                   f"started_at DESC, id DESC) AS newest FROM deployments{where}) AS ranked WHERE newest = 1 "
                   "ORDER BY service", params)
    return {record.service: record for record in (_record(tx, row) for row in rows)}


def _where(tx: Tx, services: Sequence[str], since: datetime | None,
           status: str | None = None) -> tuple[str, list[Any]]:
    clauses: list[str] = []
    params: list[Any] = []
    if services:
        clauses.append(f"service IN ({placeholders(len(services))})")
        params += list(services)
    if status is not None:
        clauses.append("status = ?")
        params.append(status)
    if since is not None:
        clauses.append("started_at >= ?")
        params.append(tx.d.ts(to_utc(since)))
    return (" WHERE " + " AND ".join(clauses) if clauses else ""), params


def _record(tx: Tx, row: tuple[Any, ...]) -> DeploymentRecord:
    d = tx.d
    return DeploymentRecord(id=int(row[0]), service=row[1], from_commit=row[2], to_commit=row[3], status=row[4],
                            step=row[5], reason=row[6], how=row[7], by=row[8], url=row[9],
                            started_at=d.read_ts(row[10]), finished_at=d.read_ts(row[11]), output_tail=row[12],
                            relevant_commits=tuple(json.loads(row[13])))


# ---------------------------------------------------------------- guarded deploys: the per-service lock and transitions
#
# The lock is a ``job_locks`` row named ``deploy:SERVICE`` (holder, lease). A deploy begins in one transaction that
# marks the service's ``started`` entries whose holder is gone ``abandoned``, takes the lock and inserts its own
# ``started`` entry; every later transition is one UPDATE guarded by the entry's current status.


def lock_name(service: str) -> str:
    """The ``job_locks`` row of ``service``'s deploy lock."""
    return f"deploy:{service}"


@dataclass(frozen=True)
class DeployLock(JobLockRecord):
    """A ``job_locks`` row that is a service's deploy lock: who holds it, since when, until when (a paused deploy:
    years ahead)."""

    @property
    def service(self) -> str:
        """The service it locks."""
        return self.job.removeprefix("deploy:")


@dataclass(frozen=True)
class Begun:
    """What :func:`begin` did: the ``started`` entry, or the live lock that stopped it (nothing written then)."""

    entry: DeploymentRecord | None
    held_by: DeployLock | None = None
    abandoned: tuple[int, ...] = ()  # entries whose process died, marked abandoned now
    ended: tuple[int, ...] = ()  # paused (or, taken over, running) entries ended by this one


def _read_lock(tx: Tx, service: str) -> DeployLock | None:
    lock = read_job_lock(tx, lock_name(service))
    return None if lock is None else DeployLock(lock.job, lock.holder, lock.acquired_at, lock.expires_at)


def read_locks(tx: Tx, services: Sequence[str] = ()) -> list[DeployLock]:
    """The deploy locks (live or expired) of ``services`` (all when empty), by service."""
    rows = tx.rows("SELECT job, holder, acquired_at, expires_at FROM job_locks WHERE job LIKE 'deploy:%' ORDER BY job")
    found = [DeployLock(r[0], r[1], tx.d.read_ts(r[2]), tx.d.read_ts(r[3])) for r in rows]
    return [lock for lock in found if not services or lock.service in services]


def begin(tx: Tx, record: DeploymentRecord, *, holder: str, lease: float, now: datetime,
          take_over: bool = False) -> Begun:
    """Take ``record.service``'s lock and insert ``record`` (status ``started``) in the caller's transaction.

    A live lock held by another stops it (nothing written) unless ``take_over`` (a forced deploy, a rollback): a
    paused holder may always be taken over when ``take_over``. Entries left ``started`` by a holder that is gone
    become ``abandoned``; with ``take_over``, ``paused`` and still ``started`` entries become ``failed``, saying by
    which entry they were ended.
    """
    d = tx.d
    service = record.service
    tx.lock(f"deploywatch.deployments\0{service}")
    current = _read_lock(tx, service)
    if current is not None and current.live(now) and current.holder != holder and not take_over:
        return Begun(None, held_by=current)
    stale = [int(r[0]) for r in tx.rows("SELECT id FROM deployments WHERE service = ? AND status = 'started'",
                                        (service,))]
    abandoned: list[int] = []
    if stale and not (take_over and current is not None and current.live(now)):
        abandoned = _abandon(tx, stale, now)
    until = now + timedelta(seconds=lease)
    if current is None:
        tx.execute("INSERT INTO job_locks (job, holder, acquired_at, expires_at) VALUES (?, ?, ?, ?)",
                   (lock_name(service), holder, d.ts(now), d.ts(until)))
    else:
        tx.execute("UPDATE job_locks SET holder = ?, acquired_at = ?, expires_at = ? WHERE job = ?",
                   (holder, d.ts(now), d.ts(until), lock_name(service)))
    entry = insert(tx, record)
    ended = [int(r[0]) for r in tx.rows("SELECT id FROM deployments WHERE service = ? AND id != ? AND status IN "
                                        "('paused', 'started')", (service, entry.id))] if take_over else []
    if ended:
        tx.execute(f"UPDATE deployments SET status = 'failed', finished_at = COALESCE(finished_at, ?), "
                   f"reason = COALESCE(reason || '; ', '') || ? WHERE id IN ({placeholders(len(ended))})",
                   (d.ts(now), mask(f"ended by {record.how} #{entry.id} ({record.by})"), *ended))
    return Begun(entry, None, tuple(abandoned), tuple(ended))


def finish(tx: Tx, entry: DeploymentRecord, *, status: str, now: datetime, holder: str,
           step: str | None = None, reason: str | None = None, output_tail: str | None = None,
           expect: Sequence[str] = ("started",)) -> bool:
    """Move ``entry`` to ``status`` (only from one of ``expect``) and set its step, reason and output; release the
    lock unless ``status`` is ``paused`` (which keeps it, for years) or ``failed`` from a deploy that goes on to
    roll back (``expect`` ``started`` and status ``failed``: the caller releases it after the rollback). False
    when the entry was no longer in an expected status (ended meanwhile by a forced deploy or rollback)."""
    if status not in DEPLOYMENT_STATUSES:
        raise ValueError(f"deployment status must be one of {', '.join(DEPLOYMENT_STATUSES)}, not {status!r}")
    d = tx.d
    tx.lock(f"deploywatch.deployments\0{entry.service}")
    sets = ["status = ?", "finished_at = ?"]
    params: list[Any] = [status, d.ts(to_utc(now))]
    for column, value in (("step", step), ("reason", reason), ("output_tail", output_tail)):
        if value is not None:
            sets.append(f"{column} = ?")
            params.append(mask(value))
    changed = tx.execute(f"UPDATE deployments SET {', '.join(sets)} WHERE id = ? AND status IN "
                         f"({placeholders(len(expect))})", (*params, entry.id, *expect)) == 1
    if changed and status == "paused":
        tx.execute("UPDATE job_locks SET expires_at = ? WHERE job = ? AND holder = ?",
                   (d.ts(to_utc(now) + PAUSED_LEASE), lock_name(entry.service), holder))
    return changed


def _abandon(tx: Tx, ids: list[int], now: datetime) -> list[int]:
    """Mark the ``started`` entries ``ids`` abandoned, their reason saying why (after any reason they had)."""
    if ids:
        why = "abandoned: the deploy's process stopped before it finished (its lock's lease expired)"
        tx.execute(f"UPDATE deployments SET status = 'abandoned', finished_at = ?, "
                   f"reason = COALESCE(reason || '; ', '') || ? WHERE id IN ({placeholders(len(ids))}) "
                   "AND status = 'started'", (tx.d.ts(now), why, *ids))
    return ids


def reap(tx: Tx, now: datetime) -> list[int]:
    """Mark ``started`` entries whose service's lock is gone or expired ``abandoned`` and delete expired deploy
    locks; return the entries' ids. A ``kill -9`` mid-deploy ends here, one lease later, never as succeeded."""
    d = tx.d
    live = {lock.service for lock in read_locks(tx) if lock.live(now)}
    rows = tx.rows("SELECT id, service FROM deployments WHERE status = 'started'")
    stale = _abandon(tx, [int(r[0]) for r in rows if r[1] not in live], now)
    tx.execute("DELETE FROM job_locks WHERE job LIKE 'deploy:%' AND expires_at <= ?", (d.ts(now),))
    return stale


def counts(tx: Tx) -> list[tuple[str, str, str, int]]:
    """How many ledger entries each service has, by how and status: (service, how, status, count)."""
    rows = tx.rows("SELECT service, how, status, count(*) FROM deployments GROUP BY service, how, status "
                   "ORDER BY service, how, status")
    return [(r[0], r[1], r[2], int(r[3])) for r in rows]


def release(tx: Tx, service: str, holder: str) -> bool:
    """Release ``holder``'s lock on ``service``; False when it no longer held it."""
    return tx.execute("DELETE FROM job_locks WHERE job = ? AND holder = ?", (lock_name(service), holder)) == 1


def renew(tx: Tx, service: str, holder: str, until: datetime) -> bool:
    """Extend ``holder``'s lease on ``service``'s lock; False when it no longer holds it."""
    return tx.execute("UPDATE job_locks SET expires_at = ? WHERE job = ? AND holder = ?",
                      (tx.d.ts(to_utc(until)), lock_name(service), holder)) == 1


def read_one(tx: Tx, entry_id: int) -> DeploymentRecord | None:
    """The entry with ``entry_id``, if any."""
    row = tx.first(f"SELECT id, {_COLUMNS} FROM deployments WHERE id = ?", (int(entry_id),))
    return None if row is None else _record(tx, row)
