"""The daemon's tables: ``job_runs`` (one row per scheduled slot or API trigger) and ``job_locks`` (who runs a job).

Claiming a job is one write transaction, serialised between processes (SQLite: the ``BEGIN IMMEDIATE`` write
lock; PostgreSQL: an advisory transaction lock), that reads the lock and the slot's row and then writes both:

- a slot that already has a ``job_runs`` row (another daemon ran or skipped it) is ``taken``: nothing is written;
- a lock held by a live holder (its lease not expired) makes a scheduled slot ``skipped`` (one row, state
  ``skipped``, "skipped: held by HOLDER") and an API trigger ``held`` (nothing written);
- otherwise the lock is taken (inserted, or updated only where it is free or expired: a conditional write) and
  the ``running`` row is inserted: ``acquired``.

The holder renews its lease while the job runs and deletes the lock when the job really ends. A ``running`` row
whose daemon died (its lease expired) is reaped: marked ``abandoned``. An abandoned row does not count as its slot
having run: the slot may be claimed again (caught up).
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from .engine import advisory_xact_lock
from .schema import job_locks, job_runs

__all__ = ["JobClaim", "JobLockRecord", "JobRunRecord", "claim_job", "finish_job_run", "job_ran_since",
           "latest_job_runs", "next_lease_expiry", "read_job_lock", "read_job_runs", "reap_abandoned",
           "release_job_lock", "renew_job_lock"]

RUNNING = "running"
ABANDONED = "abandoned"


@dataclass(frozen=True)
class JobRunRecord:
    """One row of ``job_runs``."""

    id: str
    job: str
    scheduled_for: datetime | None  # the cron slot; None for a run triggered through the API
    trigger: str  # schedule, catch-up, once, api
    started_at: datetime
    finished_at: datetime | None
    state: str  # running, ok, failed, timeout, skipped, cancelled, abandoned
    exit_code: int | None = None
    run_id: str | None = None  # the command's run in ``runs``
    error: str | None = None

    def as_json(self) -> dict[str, Any]:
        """The row as JSON (timestamps ISO 8601 UTC)."""
        from ..core.durations import format_timestamp

        def stamp(value: datetime | None) -> str | None:
            return format_timestamp(value) if value is not None else None

        return {"id": self.id, "job": self.job, "scheduled_for": stamp(self.scheduled_for), "trigger": self.trigger,
                "started_at": stamp(self.started_at), "finished_at": stamp(self.finished_at), "state": self.state,
                "exit_code": self.exit_code, "run_id": self.run_id, "error": self.error}


@dataclass(frozen=True)
class JobLockRecord:
    """One row of ``job_locks``: who runs ``job``, until when (unless renewed)."""

    job: str
    holder: str
    acquired_at: datetime
    expires_at: datetime

    def live(self, now: datetime) -> bool:
        """True while the lease has not expired."""
        return self.expires_at > now


@dataclass(frozen=True)
class JobClaim:
    """What :func:`claim_job` decided.

    ``acquired``: the caller holds the lock and must run the job (``job_run_id`` is its ``running`` row);
    ``skipped``: the lock is held by ``holder``, a ``skipped`` row was written for the slot;
    ``held``: the lock is held by ``holder`` and nothing was written (an API trigger);
    ``taken``: the slot already has a row (another daemon ran or skipped it); nothing was written.
    """

    outcome: Literal["acquired", "skipped", "held", "taken"]
    job_run_id: str | None = None
    holder: str | None = None


def _lock_jobs(conn: Connection) -> None:
    """Serialise claims between processes."""
    advisory_xact_lock(conn, "deploywatch.daemon.jobs")


def _lock(row: Mapping[Any, Any]) -> JobLockRecord:
    return JobLockRecord(job=row["job"], holder=row["holder"], acquired_at=row["acquired_at"],
                         expires_at=row["expires_at"])


def _job_run(row: Mapping[Any, Any]) -> JobRunRecord:
    return JobRunRecord(id=row["id"], job=row["job"], scheduled_for=row["scheduled_for"], trigger=row["trigger"],
                        started_at=row["started_at"], finished_at=row["finished_at"], state=row["state"],
                        exit_code=row["exit_code"], run_id=row["run_id"], error=row["error"])


def read_job_lock(conn: Connection, job: str) -> JobLockRecord | None:
    """The lock row of ``job`` (live or expired), if any."""
    row = conn.execute(sa.select(job_locks).where(job_locks.c.job == job)).mappings().first()
    return _lock(row) if row is not None else None


def claim_job(conn: Connection, job: str, *, slot: datetime | None, trigger: str, holder: str, now: datetime,
              lease: float, busy: bool = False) -> JobClaim:
    """Claim ``job`` for ``slot`` (None: an API trigger) inside the caller's write transaction (see the module).

    ``busy``: the caller knows it is still running the job itself (whatever the lock row says): treat the lock as
    held by ``holder``.
    """
    _lock_jobs(conn)
    if slot is not None:
        seen = conn.execute(sa.select(job_runs.c.id).where(job_runs.c.job == job, job_runs.c.scheduled_for == slot,
                                                           job_runs.c.state != ABANDONED).limit(1)).first()
        if seen is not None:
            return JobClaim("taken")
    current = read_job_lock(conn, job)
    if busy or (current is not None and current.live(now)):
        owner = current.holder if current is not None and current.live(now) else holder
        if slot is None:
            return JobClaim("held", holder=owner)
        skipped_id = uuid.uuid4().hex
        conn.execute(job_runs.insert().values(
            id=skipped_id, job=job, scheduled_for=slot, trigger=trigger, started_at=now, finished_at=now,
            state="skipped", exit_code=None, run_id=None, error=f"skipped: held by {owner}"))
        return JobClaim("skipped", skipped_id, owner)
    until = now + timedelta(seconds=lease)
    if current is None:
        conn.execute(job_locks.insert().values(job=job, holder=holder, acquired_at=now, expires_at=until))
    else:
        # Conditional: only a lock that is still expired is taken over (the advisory lock / write lock makes
        # this certain already; the condition keeps it right even without them).
        taken = conn.execute(job_locks.update().where(job_locks.c.job == job, job_locks.c.expires_at <= now)
                             .values(holder=holder, acquired_at=now, expires_at=until))
        if taken.rowcount != 1:
            again = read_job_lock(conn, job)
            return JobClaim("held", holder=again.holder if again else None)
    run_id = uuid.uuid4().hex
    conn.execute(job_runs.insert().values(
        id=run_id, job=job, scheduled_for=slot, trigger=trigger, started_at=now, finished_at=None, state=RUNNING,
        exit_code=None, run_id=None, error=None))
    return JobClaim("acquired", run_id, holder)


def renew_job_lock(conn: Connection, job: str, holder: str, until: datetime) -> bool:
    """Extend ``holder``'s lease on ``job``; False when ``holder`` no longer holds it."""
    renewed = conn.execute(job_locks.update().where(job_locks.c.job == job, job_locks.c.holder == holder)
                           .values(expires_at=until))
    return renewed.rowcount == 1


def release_job_lock(conn: Connection, job: str, holder: str) -> bool:
    """Delete ``holder``'s lock on ``job``; False when it did not hold it."""
    deleted = conn.execute(job_locks.delete().where(job_locks.c.job == job, job_locks.c.holder == holder))
    return deleted.rowcount == 1


def finish_job_run(conn: Connection, job_run_id: str, *, state: str, finished_at: datetime | None,
                   exit_code: int | None = None, run_id: str | None = None, error: str | None = None,
                   expect: Sequence[str] = (RUNNING,)) -> bool:
    """Set a row's outcome, only while its state is one of ``expect``; False when it was not (already ended)."""
    values: dict[str, Any] = {"state": state, "exit_code": exit_code, "run_id": run_id, "error": error}
    if finished_at is not None:
        values["finished_at"] = finished_at
    updated = conn.execute(job_runs.update().where(job_runs.c.id == job_run_id, job_runs.c.state.in_(list(expect)))
                           .values(values))
    return updated.rowcount == 1


def reap_abandoned(conn: Connection, now: datetime) -> list[str]:
    """Mark ``running`` rows whose daemon is gone as ``abandoned``; return their ids.

    A row is abandoned when its job's lock is absent or expired, or was acquired after the row started (the row's
    daemon lost its lock: a running row and its lock are written in one transaction with the same time).
    """
    _lock_jobs(conn)
    rows = conn.execute(sa.select(job_runs.c.id, job_runs.c.job, job_runs.c.started_at)
                        .where(job_runs.c.state == RUNNING)).all()
    locks = {row["job"]: _lock(row) for row in conn.execute(sa.select(job_locks)).mappings()}
    reaped = []
    for row_id, job, started_at in rows:
        lock = locks.get(job)
        if lock is not None and lock.live(now) and lock.acquired_at <= started_at:
            continue
        if finish_job_run(conn, row_id, state=ABANDONED, finished_at=now,
                          error="abandoned: the daemon running it stopped before it finished (its lease expired)"):
            reaped.append(row_id)
    return reaped


def next_lease_expiry(conn: Connection, holder: str, now: datetime) -> datetime | None:
    """When the earliest live lease of another holder than ``holder`` ends (its job may then be reaped), if any."""
    query = sa.select(sa.func.min(job_locks.c.expires_at)).where(job_locks.c.holder != holder,
                                                                 job_locks.c.expires_at > now)
    found: datetime | None = conn.execute(query).scalar()
    return found


def job_ran_since(conn: Connection, job: str, since: datetime) -> bool:
    """True when ``job`` has a row (not abandoned) scheduled for, or started at, ``since`` or later."""
    query = sa.select(job_runs.c.id).where(
        job_runs.c.job == job, job_runs.c.state != ABANDONED,
        sa.or_(job_runs.c.scheduled_for >= since, job_runs.c.started_at >= since)).limit(1)
    return conn.execute(query).first() is not None


_NEWEST_JOB_RUN = (job_runs.c.started_at.desc(), job_runs.c.id.desc())


def read_job_runs(conn: Connection, job: str | None, limit: int, *, states: Sequence[str] | None = None
                  ) -> list[JobRunRecord]:
    """The newest ``limit`` rows (of ``job``; in ``states``), newest first."""
    query = sa.select(job_runs).order_by(*_NEWEST_JOB_RUN).limit(limit)
    if job is not None:
        query = query.where(job_runs.c.job == job)
    if states is not None:
        query = query.where(job_runs.c.state.in_(list(states)))
    return [_job_run(row) for row in conn.execute(query).mappings()]


def latest_job_runs(conn: Connection, *, exclude_states: Sequence[str] = ()) -> dict[str, JobRunRecord]:
    """The newest row of every job (not counting rows in ``exclude_states``), by job."""
    query = sa.select(job_runs)
    if exclude_states:
        query = query.where(job_runs.c.state.not_in(list(exclude_states)))
    ranked = query.add_columns(sa.func.row_number().over(
        partition_by=job_runs.c.job, order_by=_NEWEST_JOB_RUN).label("rank")).subquery()
    rows = conn.execute(sa.select(ranked).where(ranked.c.rank == 1).order_by(ranked.c.job)).mappings()
    return {row["job"]: _job_run(row) for row in rows}
