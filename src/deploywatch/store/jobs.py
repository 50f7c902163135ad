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
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

from .db import Tx, placeholders

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


def _lock_jobs(tx: Tx) -> None:
    """Serialise claims between processes."""
    tx.lock("deploywatch.jobs")


_LOCK_COLUMNS = "job, holder, acquired_at, expires_at"
_RUN_COLUMNS = 'id, job, scheduled_for, "trigger", started_at, finished_at, state, exit_code, run_id, error'
_NEWEST_JOB_RUN = "started_at DESC, id DESC"


def _lock(tx: Tx, row: Sequence[Any]) -> JobLockRecord:
    return JobLockRecord(job=row[0], holder=row[1], acquired_at=tx.d.read_ts(row[2]), expires_at=tx.d.read_ts(row[3]))


def _job_run(tx: Tx, row: Sequence[Any]) -> JobRunRecord:
    d = tx.d
    return JobRunRecord(id=row[0], job=row[1], scheduled_for=d.read_ts(row[2]), trigger=row[3],
                        started_at=d.read_ts(row[4]), finished_at=d.read_ts(row[5]), state=row[6], exit_code=row[7],
                        run_id=row[8], error=row[9])


def _insert_run(tx: Tx, *values: Any) -> None:
    tx.execute(f"INSERT INTO job_runs ({_RUN_COLUMNS}) VALUES ({placeholders(10)})", values)


def read_job_lock(tx: Tx, job: str) -> JobLockRecord | None:
    """The lock row of ``job`` (live or expired), if any."""
    row = tx.first(f"SELECT {_LOCK_COLUMNS} FROM job_locks WHERE job = ?", (job,))
    return _lock(tx, row) if row is not None else None


def claim_job(tx: Tx, job: str, *, slot: datetime | None, trigger: str, holder: str, now: datetime,
              lease: float, busy: bool = False) -> JobClaim:
    """Claim ``job`` for ``slot`` (None: an API trigger) inside the caller's write transaction (see the module).

    ``busy``: the caller knows it is still running the job itself (whatever the lock row says): treat the lock as
    held by ``holder``.
    """
    _lock_jobs(tx)
    d = tx.d
    if slot is not None and tx.first("SELECT id FROM job_runs WHERE job = ? AND scheduled_for = ? AND state != ? "
                                     "LIMIT 1", (job, d.ts(slot), ABANDONED)) is not None:
        return JobClaim("taken")
    current = read_job_lock(tx, job)
    if busy or (current is not None and current.live(now)):
        owner = current.holder if current is not None and current.live(now) else holder
        if slot is None:
            return JobClaim("held", holder=owner)
        skipped_id = uuid.uuid4().hex
        _insert_run(tx, skipped_id, job, d.ts(slot), trigger, d.ts(now), d.ts(now), "skipped", None, None,
                    f"skipped: held by {owner}")
        return JobClaim("skipped", skipped_id, owner)
    until = now + timedelta(seconds=lease)
    if current is None:
        tx.execute(f"INSERT INTO job_locks ({_LOCK_COLUMNS}) VALUES (?, ?, ?, ?)",
                   (job, holder, d.ts(now), d.ts(until)))
    # Conditional: only a lock that is still expired is taken over (the advisory lock / write lock makes this
    # certain already; the condition keeps it right even without them).
    elif tx.execute("UPDATE job_locks SET holder = ?, acquired_at = ?, expires_at = ? "
                    "WHERE job = ? AND expires_at <= ?", (holder, d.ts(now), d.ts(until), job, d.ts(now))) != 1:
        again = read_job_lock(tx, job)
        return JobClaim("held", holder=again.holder if again else None)
    run_id = uuid.uuid4().hex
    _insert_run(tx, run_id, job, d.ts(slot), trigger, d.ts(now), None, RUNNING, None, None, None)
    return JobClaim("acquired", run_id, holder)


def renew_job_lock(tx: Tx, job: str, holder: str, until: datetime) -> bool:
    """Extend ``holder``'s lease on ``job``; False when ``holder`` no longer holds it."""
    return tx.execute("UPDATE job_locks SET expires_at = ? WHERE job = ? AND holder = ?",
                      (tx.d.ts(until), job, holder)) == 1


def release_job_lock(tx: Tx, job: str, holder: str) -> bool:
    """Delete ``holder``'s lock on ``job``; False when it did not hold it."""
    return tx.execute("DELETE FROM job_locks WHERE job = ? AND holder = ?", (job, holder)) == 1


def finish_job_run(tx: Tx, job_run_id: str, *, state: str, finished_at: datetime | None,
                   exit_code: int | None = None, run_id: str | None = None, error: str | None = None,
                   expect: Sequence[str] = (RUNNING,)) -> bool:
    """Set a row's outcome, only while its state is one of ``expect``; False when it was not (already ended)."""
    if not expect:
        return False
    sets, params = "state = ?, exit_code = ?, run_id = ?, error = ?", [state, exit_code, run_id, error]
    if finished_at is not None:
        sets += ", finished_at = ?"
        params.append(tx.d.ts(finished_at))
    return tx.execute(f"UPDATE job_runs SET {sets} WHERE id = ? AND state IN ({placeholders(len(expect))})",
                      [*params, job_run_id, *expect]) == 1


def reap_abandoned(tx: Tx, now: datetime) -> list[str]:
    """Mark ``running`` rows whose daemon is gone as ``abandoned``; return their ids.

    A row is abandoned when its job's lock is absent or expired, or was acquired after the row started (the row's
    daemon lost its lock: a running row and its lock are written in one transaction with the same time).
    """
    _lock_jobs(tx)
    rows = tx.rows("SELECT id, job, started_at FROM job_runs WHERE state = ?", (RUNNING,))
    locks = {row[0]: _lock(tx, row) for row in tx.rows(f"SELECT {_LOCK_COLUMNS} FROM job_locks")}
    reaped = []
    for row_id, job, started_at in rows:
        lock = locks.get(job)
        if lock is not None and lock.live(now) and lock.acquired_at <= tx.d.read_ts(started_at):
            continue
        if finish_job_run(tx, row_id, state=ABANDONED, finished_at=now,
                          error="abandoned: the daemon running it stopped before it finished (its lease expired)"):
            reaped.append(row_id)
    return reaped


def next_lease_expiry(tx: Tx, holder: str, now: datetime) -> datetime | None:
    """When the earliest live lease of another holder than ``holder`` ends (its job may then be reaped), if any."""
    found: datetime | None = tx.d.read_ts(tx.scalar(
        "SELECT min(expires_at) FROM job_locks WHERE holder != ? AND expires_at > ?", (holder, tx.d.ts(now))))
    return found


def job_ran_since(tx: Tx, job: str, since: datetime) -> bool:
    """True when ``job`` has a row (not abandoned) scheduled for, or started at, ``since`` or later."""
    at = tx.d.ts(since)
    return tx.first("SELECT id FROM job_runs WHERE job = ? AND state != ? AND (scheduled_for >= ? OR started_at >= ?) "
                    "LIMIT 1", (job, ABANDONED, at, at)) is not None


def read_job_runs(tx: Tx, job: str | None, limit: int, *, states: Sequence[str] | None = None) -> list[JobRunRecord]:
    """The newest ``limit`` rows (of ``job``; in ``states``), newest first."""
    if states is not None and not states:
        return []
    where: list[str] = []
    params: list[Any] = []
    if job is not None:
        where.append("job = ?")
        params.append(job)
    if states is not None:
        where.append(f"state IN ({placeholders(len(states))})")
        params += states
    clause = f" WHERE {' AND '.join(where)}" if where else ""
    rows = tx.rows(f"SELECT {_RUN_COLUMNS} FROM job_runs{clause} ORDER BY {_NEWEST_JOB_RUN} LIMIT ?",
                   [*params, max(limit, 0)])
    return [_job_run(tx, row) for row in rows]


def latest_job_runs(tx: Tx, *, exclude_states: Sequence[str] = ()) -> dict[str, JobRunRecord]:
    """The newest row of every job (not counting rows in ``exclude_states``), by job."""
    where = f" WHERE state NOT IN ({placeholders(len(exclude_states))})" if exclude_states else ""
    ranked = (f"SELECT {_RUN_COLUMNS}, row_number() OVER (PARTITION BY job ORDER BY {_NEWEST_JOB_RUN}) AS rank "
              f"FROM job_runs{where}")
    rows = tx.rows(f"SELECT {_RUN_COLUMNS} FROM ({ranked}) r WHERE r.rank = 1 ORDER BY job", list(exclude_states))
    return {row[1]: _job_run(tx, row) for row in rows}
