"""The :class:`Store`: history of runs, findings and metric values in SQLite (default) or PostgreSQL."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractContextManager
from datetime import date, datetime
from types import EllipsisType
from typing import Any, TypeVar

from ..core.errors import DeploywatchError
from . import alerts, queries
from . import completions as completion_queries
from . import jobs as job_queries
from . import windows as window_queries
from .alerts import AlertStateRecord, AlertTx, OutboxRecord, SilenceRecord
from .common import OpenStore
from .completions import CompletionRecord, TriggerRecord
from .db import Database, Tx
from .jobs import JobClaim, JobLockRecord, JobRunRecord
from .ledger_methods import LedgerMethods
from .migrations import migrate, read_version
from .records import FindingRecord, MetricPoint, MetricRecord, RunRecord
from .remediate_methods import RemediateMethods
from .rollout_methods import RolloutMethods
from .urls import parse_store_url

__all__ = ["Store"]


def _migrate_retrying(db: Database, timeout: float) -> None:
    """Migrate; when two processes create a SQLite file at once, one may see "database is locked" without its
    busy handler running (while the other switches the new file to WAL): try again until ``timeout``."""
    deadline = time.monotonic() + timeout
    delay = 0.02
    while True:
        try:
            migrate(db)
            return
        except DeploywatchError as exc:
            cause = exc.__cause__
            if not (isinstance(cause, sqlite3.OperationalError) and "locked" in str(cause)) \
                    or time.monotonic() + delay > deadline:
                raise
            db.dispose()  # connections opened before the switch to WAL start afresh
            time.sleep(delay)
            delay = min(delay * 2, 0.5)


T = TypeVar("T")


class Store(OpenStore, LedgerMethods, RemediateMethods, RolloutMethods):
    """An open store. Create with :meth:`open`; close with :meth:`close` or use as a context manager.

    Safe to share between threads; several processes may use the same store at once.
    """

    def __init__(self, db: Database) -> None:
        """Wrap a database whose schema is up to date (use :meth:`open`)."""
        self._db = db
        self._url = db.url.shown

    @classmethod
    def open(cls, url: str, *, timeout: float = 30.0) -> Store:
        """Connect to the store at ``url`` and apply pending migrations.

        ``timeout`` (seconds) bounds waiting for a connection and for locks held by other processes.
        Raises :class:`DeploywatchError` when the store cannot be opened or is newer than this code.
        """
        parsed = parse_store_url(url)
        path = parsed.file
        if path is not None:
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise DeploywatchError(f"cannot open store {parsed.shown}: cannot create {path.parent}: "
                                       f"{exc.strerror or exc}") from exc
        db = Database(parsed, timeout)
        try:
            _migrate_retrying(db, timeout)
        except BaseException:
            db.close()
            raise
        return cls(db)

    def close(self) -> None:
        """Close every pooled connection; do not use the store afterwards."""
        self._db.close()

    def _reading(self) -> AbstractContextManager[Tx]:
        """A read transaction; driver failures become one-line errors."""
        return self._db.reading()

    def _writing(self) -> AbstractContextManager[Tx]:
        """A write transaction (SQLite: BEGIN IMMEDIATE), committed unless it raises."""
        return self._db.writing()

    def generation(self) -> int:
        """A number that changes whenever a write transaction of any process changed a row of the store (what the
        dashboard's page cache is keyed on)."""
        with self._reading() as tx:
            return int(tx.scalar("SELECT n FROM store_generation WHERE id = 1") or 0)

    def schema_version(self) -> int:
        """The number of the newest migration applied to this store."""
        with self._reading() as conn:
            return read_version(conn)

    def record_run(self, run: RunRecord, findings: Sequence[FindingRecord] = (),
                   metrics: Sequence[MetricRecord] = (), *, route: Callable[[AlertTx], T] | None = None) -> T | None:
        """Store a run with its findings and metric values in one transaction: all of it or nothing.

        Every finding and metric must carry ``run_id == run.id`` (ValueError otherwise). A NaN value is stored
        as None. ``route`` runs inside the same transaction, under the routing lock, and may read and write the
        alert state and the outbox; what it returns is returned.
        """
        with self._writing() as conn:
            queries.insert_run(conn, run, findings, metrics)
            if route is None:
                return None
            alerts.lock_routing(conn)
            return route(AlertTx(conn))

    # ------------------------------------------------------------ notifications

    def alert_view(self, sinks: Sequence[str], now: datetime
                   ) -> tuple[dict[tuple[str, str], AlertStateRecord], list[SilenceRecord]]:
        """The alert states of ``sinks`` and the silences active at ``now`` (read-only; for dry runs)."""
        with self._reading() as conn:
            tx = AlertTx(conn)
            return tx.states(sinks), tx.silences(now)

    def claim_outbox(self, *, sinks: Sequence[str], me: str, now: datetime, lease: float,
                     ignore_backoff: bool = False, include_dead: bool = False,
                     ids: Sequence[str] | None = None) -> list[OutboxRecord]:
        """Claim the outbox rows of ``sinks`` that are due (see :func:`.alerts.claim`)."""
        with self._writing() as conn:
            return alerts.claim(conn, sinks=sinks, me=me, now=now, lease=lease, ignore_backoff=ignore_backoff,
                                include_dead=include_dead, ids=ids)

    def enqueue_outbox(self, records: Sequence[OutboxRecord]) -> list[OutboxRecord]:
        """Add the messages whose id is new to the outbox (under the routing lock); return those added."""
        with self._writing() as conn:
            alerts.lock_routing(conn)
            return AlertTx(conn).enqueue_new(records)

    def finish_outbox(self, row_id: str, me: str, *, state: str, attempts: int, next_attempt_at: datetime,
                      last_error: str | None = None, delivered_at: datetime | None = None,
                      result: Mapping[str, Any] | None = None) -> bool:
        """Record a delivery attempt and release the claim (False when the claim was lost)."""
        with self._writing() as conn:
            return alerts.finish(conn, row_id, me, state=state, attempts=attempts, next_attempt_at=next_attempt_at,
                                 last_error=last_error, delivered_at=delivered_at, result=result)

    def extend_claim(self, row_id: str, me: str, until: datetime) -> None:
        """Keep a claim past its lease."""
        with self._writing() as conn:
            alerts.extend(conn, row_id, me, until)

    def outbox(self, *, states: Sequence[str] = ("pending", "dead"), limit: int = 1000) -> list[OutboxRecord]:
        """Outbox rows in ``states``, oldest first."""
        with self._reading() as conn:
            return alerts.read_outbox(conn, states=states, limit=limit)

    def add_silence(self, record: SilenceRecord) -> None:
        """Store a new silence."""
        with self._writing() as conn:
            alerts.insert_silence(conn, record)

    def silences(self, *, now: datetime, include_expired: bool = False) -> list[SilenceRecord]:
        """Silences, newest first; only those not yet over unless ``include_expired``."""
        with self._reading() as conn:
            return alerts.read_silences(conn, include_expired=include_expired, now=now)

    def expire_silence(self, silence_id: str, now: datetime) -> SilenceRecord | None:
        """End a silence now; None when there is none with that id."""
        with self._writing() as conn:
            return alerts.expire_silence(conn, silence_id, now)

    def metric_history(self, check: str, group: str | None, *, before: date, limit: int,
                       weekday: int | None = None, include_anomalous: bool = False) -> list[MetricPoint]:
        """Training history for anomaly detection: one point per run date, the newest ``limit`` dates, oldest first.

        Only rows of ``check`` and ``group`` (None matches only ungrouped rows) with ``run_date < before`` and a
        value count. Of several rows for one date the latest (by ``measured_at``, then insertion order) stands
        for it; a date whose latest row is anomalous is dropped unless ``include_anomalous``; ``weekday``
        (0 = Monday, as ``date.weekday()``) keeps only dates on that weekday.
        """
        with self._reading() as conn:
            return queries.metric_history(conn, check, group, before=before, limit=limit, weekday=weekday,
                                          include_anomalous=include_anomalous)

    def recent_metrics(self, check: str, *, group: str | EllipsisType | None = ...,
                       limit: int = 30) -> list[MetricPoint]:
        """The newest ``limit`` metric rows of ``check`` (by run date, then measurement time), newest first.

        ``group=...`` (the default) returns every group; ``None`` only ungrouped rows; a string that group.
        """
        with self._reading() as conn:
            return queries.recent_metrics(conn, check, group, limit)

    def measurements(self, check: str, *, group: str | EllipsisType | None = ...,
                     limit: int = 30) -> list[MetricPoint]:
        """What ``deploywatch history`` lists: :meth:`recent_metrics`, but one value per group and measurement
        time. Two runs that measured at one instant (a canary and a check with the same ``--now``, or started by
        one scheduler tick) each keep their rows; the newest run's stands for the instant."""
        with self._reading() as conn:
            return queries.measurements(conn, check, group, limit)

    def check_names(self) -> list[str]:
        """Names of the checks that have stored metrics, sorted."""
        with self._reading() as conn:
            return queries.check_names(conn)

    def runs(self, *, command: str | None = None, limit: int = 20) -> list[RunRecord]:
        """The newest ``limit`` runs (of ``command``, when given), newest first by start time."""
        with self._reading() as conn:
            return queries.select_runs(conn, command, limit)

    def findings(self, run_id: str) -> list[FindingRecord]:
        """The findings of run ``run_id`` in the order they were recorded (empty for an unknown run)."""
        with self._reading() as conn:
            return queries.run_findings(conn, run_id)

    def subject_findings(self, run_ids: Sequence[str], kind: str, subject: str) -> dict[str, FindingRecord]:
        """The first finding of ``kind`` about ``subject`` in each of the runs ``run_ids`` (runs without one are
        absent), by run id, read in one query."""
        with self._reading() as conn:
            return queries.subject_findings(conn, run_ids, kind, subject)

    def latest_findings(self, kind: str | None = None) -> list[FindingRecord]:
        """The findings (of ``kind``, when given) of the newest run of each command, ordered by command."""
        with self._reading() as conn:
            return queries.latest_findings(conn, kind)

    # ------------------------------------------------------------ phase completions

    def record_completion(self, phase: str, processor: str, run_date: date, *, expected: Sequence[str],
                          source: str, now: datetime, action: str | None,
                          details: Mapping[str, Any] | None = None) -> tuple[bool, int, bool]:
        """Record that ``processor`` finished ``phase`` for ``run_date``: ``(duplicate, recorded, fire)``.

        ``recorded`` counts the processors of ``expected`` that have reported. ``fire`` is True for exactly one
        report per phase and date, whatever runs concurrently: the one that completed the phase (with an
        ``action``, stored masked by the caller) and inserted the trigger row in the same transaction. Its caller
        runs the action and then calls :meth:`finish_trigger`.
        """
        with self._writing() as conn:
            written = completion_queries.record(conn, phase, processor, run_date, expected=expected, source=source,
                                         now=now, action=action, details=details)
        return written.duplicate, written.recorded, written.fire

    def completions(self, run_date: date, phase: str | None = None) -> list[CompletionRecord]:
        """The completion reports for ``run_date`` (of ``phase``, when given), by phase, then first report."""
        with self._reading() as conn:
            return completion_queries.read_completions(conn, run_date, phase)

    def phase_trigger(self, phase: str, run_date: date) -> TriggerRecord | None:
        """The ``on_complete`` trigger row of ``phase`` for ``run_date``, if it fired."""
        with self._reading() as conn:
            found = completion_queries.read_triggers(conn, run_date, phase)
        return found[0] if found else None

    def phase_triggers(self, run_date: date) -> list[TriggerRecord]:
        """Every trigger row for ``run_date``, by phase."""
        with self._reading() as conn:
            return completion_queries.read_triggers(conn, run_date)

    def finish_trigger(self, phase: str, run_date: date, outcome: str, detail: str | None, now: datetime) -> bool:
        """Record how the action of a fired trigger ended (``ok`` or ``failed``); False when it never fired."""
        with self._writing() as conn:
            return completion_queries.finish_trigger(conn, phase, run_date, outcome=outcome, detail=detail, now=now)

    # ------------------------------------------------------------ the daemon's jobs (job_runs, job_locks; see .jobs)

    def claim_job(self, job: str, *, slot: datetime | None, trigger: str, holder: str, now: datetime,
                  lease: float, busy: bool = False) -> JobClaim:
        """Claim ``job`` for cron ``slot`` (None: an API trigger) in one write transaction (:func:`.jobs.claim_job`):
        ``acquired`` (run it), ``skipped`` (a skipped row was written), ``held`` or ``taken`` (nothing written).
        ``busy``: the caller is still running the job itself, whatever the lock says."""
        with self._writing() as conn:
            return job_queries.claim_job(conn, job, slot=slot, trigger=trigger, holder=holder, now=now, lease=lease,
                                        busy=busy)

    def renew_job_lock(self, job: str, holder: str, until: datetime) -> bool:
        """Extend ``holder``'s lease on ``job`` to ``until``; False when it does not hold the lock any more."""
        with self._writing() as conn:
            return job_queries.renew_job_lock(conn, job, holder, until)

    def release_job_lock(self, job: str, holder: str) -> bool:
        """Release ``holder``'s lock on ``job``; False when it did not hold it."""
        with self._writing() as conn:
            return job_queries.release_job_lock(conn, job, holder)

    def job_lock(self, job: str) -> JobLockRecord | None:
        """The lock row of ``job`` (live or expired), if any."""
        with self._reading() as conn:
            return job_queries.read_job_lock(conn, job)

    def finish_job_run(self, job_run_id: str, *, state: str, finished_at: datetime | None,
                       exit_code: int | None = None, run_id: str | None = None, error: str | None = None,
                       expect: Sequence[str] = ("running",)) -> bool:
        """Record a job run's outcome while its state is one of ``expect``; False when it was not."""
        with self._writing() as conn:
            return job_queries.finish_job_run(conn, job_run_id, state=state, finished_at=finished_at,
                                             exit_code=exit_code, run_id=run_id, error=error, expect=expect)

    def reap_job_runs(self, now: datetime) -> list[str]:
        """Mark ``running`` rows whose daemon is gone (lease expired or lock lost) as ``abandoned``; return their
        ids."""
        with self._writing() as conn:
            return job_queries.reap_abandoned(conn, now)

    def next_lease_expiry(self, holder: str, now: datetime) -> datetime | None:
        """When the earliest live job lease held by another daemon than ``holder`` ends, if any."""
        with self._reading() as conn:
            return job_queries.next_lease_expiry(conn, holder, now)

    def job_ran_since(self, job: str, since: datetime) -> bool:
        """True when ``job`` has a job run scheduled for, or started at, ``since`` or later."""
        with self._reading() as conn:
            return job_queries.job_ran_since(conn, job, since)

    def job_runs(self, job: str | None = None, *, limit: int = 20,
                 states: Sequence[str] | None = None) -> list[JobRunRecord]:
        """The newest ``limit`` job runs (of ``job``; in ``states``), newest first by start time."""
        with self._reading() as conn:
            return job_queries.read_job_runs(conn, job, limit, states=states)

    def latest_job_runs(self, *, exclude_states: Sequence[str] = ()) -> dict[str, JobRunRecord]:
        """The newest job run of every job (ignoring rows in ``exclude_states``), by job."""
        with self._reading() as conn:
            return job_queries.latest_job_runs(conn, exclude_states=exclude_states)

    def newest_runs_with_findings(self, commands: Sequence[str] | None = None
                                  ) -> list[tuple[RunRecord, list[FindingRecord]]]:
        """The newest run of every command (of ``commands``, when given) with its findings, newest run first."""
        with self._reading() as conn:
            return queries.newest_runs_with_findings(conn, commands)

    def run_metrics(self, run_ids: Sequence[str]) -> list[MetricPoint]:
        """The metric values stored by the runs ``run_ids``, in the order they were recorded."""
        with self._reading() as conn:
            return queries.run_metrics(conn, run_ids)

    def window(self, since: datetime, until: datetime) -> window_queries.Window:
        """What the report reads of ``since``..``until`` (the ledger from its start), in one read transaction."""
        with self._reading() as conn:
            return window_queries.read_window(conn, since, until)
