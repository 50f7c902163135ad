"""The daemon's scheduler: runs ``drift``, ``canary`` and ``check`` on their cron schedules.

Times follow the cron expressions in ``[schedule] timezone`` as :mod:`cronsim` computes them: on a
spring-forward day a time that does not exist is shifted (a daily ``30 2 * * *`` runs at 03:00) or, for
expressions with a ``*`` minute or hour, skipped; on a fall-back day a wall-clock time that happens twice runs
once (its first occurrence).

Rules, each recorded in ``job_runs``:

- **One run per slot, across daemons.** A job is claimed in the store before it runs (``job_locks`` row with a
  lease the daemon renews while the job runs, taken with a conditional write in a write transaction, see
  :mod:`deploywatch.store.jobs`). A slot that another daemon already ran or skipped is left alone (nothing
  recorded); a slot whose job is still running (here or elsewhere) is recorded once as ``skipped``.
- **Timeouts.** Each job runs in a worker thread. When it runs past ``timeout`` its row becomes ``timeout`` and
  the scheduler goes on: other jobs are not held up. A thread cannot be killed, so the timed-out job keeps
  running in the background and keeps its lock until it really ends: until then its next slots are recorded
  ``skipped``. When it finally ends its run id is added to the ``timeout`` row.
- **Failures.** A job that raises is recorded ``failed`` with the error (masked, one line); the loop goes on. A
  job that ends with exit code 3 (unknown: it could not measure) is recorded ``failed`` too, with its exit code
  and summary: never ``ok``.
- **Catch-up.** At start-up, a job whose most recent slot (at or before now) has no row at or after it runs
  once, trigger ``catch-up`` (not once per missed slot). A job that never ran counts as missed.
- **Abandoned runs.** A ``running`` row whose daemon died (``kill -9``, a lost machine) is marked ``abandoned``
  once its lease expires: at start-up, when another daemon's lease ends (the loop wakes up for it) and every
  ``reap_every`` seconds (a daemon that dies later). An abandoned row does not count as its slot having run: with
  ``catch_up`` the slot then runs, trigger ``catch-up``, if it is still the job's most recent one.
- **Stopping.** :meth:`Scheduler.stop` (SIGTERM, SIGINT) stops scheduling; running jobs get ``grace`` seconds
  to finish, then are recorded ``cancelled``. A second stop cancels at once.
- **Heartbeat** (healthchecks.io protocol): ``{url}/start`` before a job, ``{url}`` after one that ended ok or
  warning (exit 0 or 1), ``{url}/fail`` otherwise (critical, unknown, failed, timeout, cancelled). Pings go
  out one at a time from a background thread, each within the heartbeat timeout, with ``rid`` set to the job
  run's id; a slow or failing endpoint never delays or fails a job.

The clock is injectable (:class:`Clock`): tests drive the loop through DST changes in simulated time. The cron
arithmetic is :mod:`deploywatch.daemon.cron`, the heartbeat :mod:`deploywatch.daemon.heartbeat` (both re-exported here).
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import TYPE_CHECKING, Literal, Protocol, TypeVar
from zoneinfo import ZoneInfo

from ..core.errors import DeploywatchError
from ..core.redact import clip, mask
from ..core.status import Status, worst
from .cron import latest_at_or_before, next_after
from .heartbeat import Heartbeat
from .jobs import JOBS

if TYPE_CHECKING:
    from ..config import LoadedConfig
    from ..store import Store
    from ..store.jobs import JobClaim, JobRunRecord
    from .jobs import JobResult

__all__ = ["Clock", "Heartbeat", "JobBusy", "Runner", "Scheduler", "SystemClock", "latest_at_or_before",
           "next_after", "one_line"]

log = logging.getLogger("deploywatch.scheduler")

Runner = Callable[[str, datetime], "JobResult"]
T = TypeVar("T")
DEFAULT_LEASE = 120.0  # seconds; renewed every third of it while the job runs
DEFAULT_GRACE = 30.0
DEFAULT_REAP_EVERY = 300.0  # seconds between looks for runs of daemons that died
_MAX_ERROR = 500


class Clock(Protocol):
    """Where the scheduler gets the time from and how it waits."""

    def now(self) -> datetime:
        """The current time, tz-aware (UTC)."""

    def sleep(self, seconds: float, wake: threading.Event) -> bool:
        """Wait ``seconds`` or until ``wake`` is set (True then)."""


class SystemClock:
    """The real clock. Sleeps at most ``max_sleep`` seconds at a time, so a wall-clock jump (NTP, a suspended
    machine) is noticed soon."""

    def __init__(self, max_sleep: float = 30.0) -> None:
        self.max_sleep = max_sleep

    def now(self) -> datetime:
        """``datetime.now(UTC)``."""
        return datetime.now(UTC)

    def sleep(self, seconds: float, wake: threading.Event) -> bool:
        """``wake.wait`` for at most ``max_sleep`` seconds."""
        return wake.wait(max(0.0, min(seconds, self.max_sleep)))


def one_line(exc: BaseException) -> str:
    """An exception as one masked line: ``Type: message`` (the message's first line), at most 500 characters."""
    text = str(exc).strip()
    first = text.splitlines()[0].strip() if text else ""
    shown = first if isinstance(exc, DeploywatchError) and first else (
        f"{type(exc).__name__}: {first}" if first else type(exc).__name__)
    return clip(shown, _MAX_ERROR)


# ---------------------------------------------------------------- the scheduler


class JobBusy(DeploywatchError):
    """The job is already running (here or in another daemon sharing the store)."""

    def __init__(self, job: str, holder: str | None) -> None:
        self.job = job
        self.holder = holder
        super().__init__(f"{job} is already running" + (f" (held by {holder})" if holder else ""))


@dataclass
class _Execution:
    """One job run in progress in this process."""

    job: str
    job_run_id: str
    slot: datetime | None
    trigger: str
    started: datetime
    deadline: datetime
    next_renewal: datetime
    thread: threading.Thread | None = None
    timed_out: bool = False
    cancelled: bool = False
    state: str = "running"  # as this process last wrote it


@dataclass(frozen=True)
class JobStatus:
    """What the scheduler knows about one job (for ``/healthz``)."""

    job: str
    cron: str | None  # None: not scheduled, only run through the API
    next_run_at: datetime | None
    running: bool
    job_run_id: str | None = None


def default_holder() -> str:
    """Who this process is in ``job_locks``: ``host:pid:random``."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


@dataclass
class Scheduler:
    """Runs ``jobs`` (name → cron expression, in ``timezone``) with ``runner``, keeping state in ``store``.

    ``run`` is the loop (blocking; :meth:`stop` from another thread or a signal handler ends it),
    ``run_once`` runs what is due and returns, ``trigger`` starts a job now (the API).
    """

    store: Store
    jobs: Mapping[str, str]
    runner: Runner
    timezone: str = "UTC"
    clock: Clock = field(default_factory=SystemClock)
    timeout: float = 3600.0
    catch_up: bool = True
    heartbeat: Heartbeat | None = None
    lease: float = DEFAULT_LEASE
    grace: float = DEFAULT_GRACE
    observe: Callable[[str, float], None] | None = None  # (job, seconds) when a job ends
    holder: str = field(default_factory=default_holder)
    allowed: Sequence[str] = JOBS  # jobs ``trigger`` accepts
    reap_every: float = DEFAULT_REAP_EVERY

    def __post_init__(self) -> None:
        ZoneInfo(self.timezone)  # fail early on an unknown zone
        self._lock = threading.Lock()
        self._executions: dict[str, _Execution] = {}
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._stops = 0
        self._force = threading.Event()
        self._next_due: dict[str, datetime | None] = {}
        self._next_reap: datetime | None = None
        self._running = False
        self.started_at: datetime | None = None
        self.abandoned = 0  # job threads still alive when the last shutdown gave up on them

    @classmethod
    def from_config(cls, loaded: LoadedConfig, store: Store, **options: object) -> Scheduler:
        """The scheduler of ``loaded``'s ``[schedule]``, running the real jobs (:func:`.jobs.run_job`)."""
        from .jobs import run_job

        schedule = loaded.config.schedule

        def runner(job: str, now: datetime) -> JobResult:
            return run_job(job, loaded, now=now)

        heartbeat = Heartbeat.from_config(schedule.heartbeat) if schedule.heartbeat is not None else None
        settings: dict[str, object] = {"timezone": schedule.timezone, "timeout": float(schedule.timeout),
                                       "catch_up": schedule.catch_up, "heartbeat": heartbeat,
                                       "lease": float(schedule.lease), **options}
        return cls(store, schedule.jobs(), runner, **settings)  # type: ignore[arg-type]

    # ------------------------------------------------------------ public

    @property
    def running(self) -> bool:
        """True while :meth:`run` is looping."""
        return self._running

    def stop(self) -> None:
        """Stop scheduling; a second call also cancels running jobs at once. (From a signal handler, call it in a
        new thread: it takes locks.)"""
        with self._lock:
            self._stops += 1
            again = self._stops > 1
        if again:
            self._force.set()
        self._stop.set()
        self._wake.set()

    @property
    def stopping(self) -> bool:
        """True once :meth:`stop` was called."""
        return self._stop.is_set()

    def live_workers(self) -> int:
        """How many job threads of this scheduler have not ended yet (timed-out ones included)."""
        with self._lock:
            return len(self._executions)

    def status(self) -> list[JobStatus]:
        """Every scheduled job (and any other job running now), by name."""
        with self._lock:
            running = dict(self._executions)
            due = dict(self._next_due)
        names = sorted(set(self.jobs) | set(running))
        return [JobStatus(job, self.jobs.get(job), due.get(job), job in running and not running[job].timed_out,
                          running[job].job_run_id if job in running else None) for job in names]

    def run(self, *, until: datetime | None = None) -> None:
        """Catch up, then run jobs on schedule until :meth:`stop` (or, for tests, until ``until``); then shut down."""
        self._running = True
        try:
            now = self.clock.now()
            self.started_at = now
            self._reap(now)
            self._catch_up(now)
            with self._lock:
                for job, cron in self.jobs.items():
                    self._next_due[job] = next_after(cron, self.timezone, now)
            while not self._stop.is_set():
                self._wake.clear()
                now = self.clock.now()
                self._supervise(now)
                for job, cron in self.jobs.items():
                    due = self._next_due.get(job)
                    if due is None or due > now or self._stop.is_set():
                        continue
                    # Slots missed while the process could not run (a suspended machine) collapse into the latest.
                    latest = latest_at_or_before(cron, self.timezone, now)
                    self._start(job, max(due, latest) if latest is not None else due, "schedule")
                    with self._lock:
                        self._next_due[job] = next_after(cron, self.timezone, now)
                reap_due = self._next_reap is not None and now >= self._next_reap
                if reap_due and not self._stop.is_set() and self._reap(now):
                    self._catch_up(now)
                if until is not None and now >= until:
                    break
                wake_at = self._next_wake(until)
                if wake_at is None:
                    self.clock.sleep(3600.0, self._wake)
                else:
                    self.clock.sleep(max(0.0, (wake_at - self.clock.now()).total_seconds()), self._wake)
        finally:
            try:
                self.shutdown()
            finally:
                self._running = False

    def missed(self, now: datetime) -> dict[str, datetime]:
        """The jobs whose most recent slot at or before ``now`` has no job run at or after it, with that slot."""
        found = {}
        for job, cron in self.jobs.items():
            slot = latest_at_or_before(cron, self.timezone, now)
            if slot is not None and not self.store.job_ran_since(job, slot):
                found[job] = slot
        return found

    def run_once(self) -> list[JobRunRecord]:
        """Run every job whose most recent slot has not run yet (trigger ``once``), wait for them (timeouts
        apply), and return their job runs (skipped ones included)."""
        now = self.clock.now()
        self.started_at = now
        self._reap(now)
        started = []
        for job, slot in self.missed(now).items():
            claim = self._start(job, slot, "once")
            if claim is not None and claim.job_run_id is not None:
                started.append(claim.job_run_id)
        while not self._stop.is_set():
            self._wake.clear()
            now = self.clock.now()
            self._supervise(now)
            with self._lock:
                waiting = [ex for ex in self._executions.values() if not ex.timed_out]
            if not waiting:
                break
            wake_at = self._next_wake(None)
            self.clock.sleep(max(0.0, (wake_at - now).total_seconds()) if wake_at else 1.0, self._wake)
        self.shutdown()
        runs = {r.id: r for r in self.store.job_runs(limit=max(50, 4 * len(started) + 10))}
        return [runs[i] for i in started if i in runs]

    def trigger(self, job: str) -> str:
        """Start ``job`` now (trigger ``api``); return its job run id. Raises :class:`JobBusy` when it is running
        (here or in another daemon), :class:`DeploywatchError` when the store failed and ``ValueError`` for an
        unknown job."""
        if job not in self.allowed:
            raise ValueError(f"unknown job {job!r} (jobs: {', '.join(self.allowed)})")
        if self._stop.is_set():
            raise JobBusy(job, "the daemon is stopping")
        claim = self._start(job, None, "api")
        if claim is None:
            raise DeploywatchError(f"{job} was not started: the store failed (see the daemon's log)")
        if claim.outcome != "acquired" or claim.job_run_id is None:
            raise JobBusy(job, claim.holder)
        self._wake.set()
        return claim.job_run_id

    def shutdown(self, grace: float | None = None) -> None:
        """Give running jobs ``grace`` seconds (default: the scheduler's) to end, then record them cancelled and
        release their locks (the process is about to exit, taking their threads with it)."""
        limit = self.clock.now() + timedelta(seconds=self.grace if grace is None else grace)
        while not self._force.is_set():
            self._wake.clear()
            now = self.clock.now()
            self._supervise(now)
            with self._lock:
                alive = list(self._executions.values())
            if not alive or now >= limit:
                break
            wake_at = min([limit, *self._deadlines(alive)])
            self.clock.sleep(max(0.0, (wake_at - now).total_seconds()), self._wake)
        with self._lock:
            leftovers = list(self._executions.values())
        self.abandoned = len(leftovers)
        now = self.clock.now()
        for ex in leftovers:
            if not ex.timed_out:
                ex.cancelled = True
                ex.state = "cancelled"
                self._write(partial(self.store.finish_job_run, ex.job_run_id, state="cancelled", finished_at=now,
                                    error="cancelled: the daemon stopped and the job did not end within "
                                          f"{self.grace:g}s"))
                log.warning("%s: cancelled (the daemon is stopping)", ex.job)
                self._ping("fail", ex, "cancelled: the daemon stopped")
            self._write(partial(self.store.release_job_lock, ex.job, self.holder))
        if self.heartbeat is not None:
            self.heartbeat.flush(min(10.0, self.heartbeat.timeout * 2))

    def join(self, timeout: float = 10.0) -> None:
        """Wait (real time) for every job thread to end (for tests)."""
        with self._lock:
            threads = [ex.thread for ex in self._executions.values() if ex.thread is not None]
        for thread in threads:
            thread.join(timeout)

    # ------------------------------------------------------------ internals

    def _write(self, action: Callable[[], T]) -> T | None:
        """Run a store call; log (masked) and swallow a store failure so the loop goes on."""
        try:
            return action()
        except DeploywatchError as exc:
            log.error("store: %s", mask(str(exc)))
        return None

    def _reap(self, now: datetime) -> int:
        """Mark the runs of daemons that died as abandoned; plan the next look (when another daemon's lease ends,
        or in ``reap_every`` seconds). Returns how many were reaped."""
        reaped = self._write(lambda: self.store.reap_job_runs(now)) or []
        if reaped:
            log.warning("marked %d job run(s) of a daemon that stopped as abandoned", len(reaped))
        expiry = self._write(lambda: self.store.next_lease_expiry(self.holder, now))
        periodic = now + timedelta(seconds=self.reap_every)
        with self._lock:
            self._next_reap = min(expiry, periodic) if expiry is not None else periodic
        return len(reaped)

    def _catch_up(self, now: datetime) -> None:
        """With ``catch_up``, start every job (not running here) whose most recent slot has not run."""
        if not self.catch_up:
            return
        with self._lock:
            busy = set(self._executions)
        for job, slot in (self._write(lambda: self.missed(now)) or {}).items():
            if job not in busy:
                self._start(job, slot, "catch-up")

    def _start(self, job: str, slot: datetime | None, trigger: str) -> JobClaim | None:
        """Claim ``job`` for ``slot`` and, when acquired, start it in a worker thread."""
        with self._lock:
            local = self._executions.get(job)
        now = self.clock.now()
        try:
            claim = self.store.claim_job(job, slot=slot, trigger=trigger, holder=self.holder, now=now,
                                         lease=self.lease, busy=local is not None)
        except DeploywatchError as exc:
            log.error("%s: not started, the store failed: %s", job, mask(str(exc)))
            return None
        if claim.outcome == "skipped":
            log.warning("%s: skipped the run due %s: still running (held by %s)", job,
                        _stamp(slot) if slot else "now", claim.holder)
        if claim.outcome != "acquired" or claim.job_run_id is None:
            return claim
        ex = _Execution(job, claim.job_run_id, slot, trigger, now, now + timedelta(seconds=self.timeout),
                        now + timedelta(seconds=self.lease / 3))
        ex.thread = threading.Thread(target=self._work, args=(ex,), name=f"deploywatch-job-{job}", daemon=True)
        with self._lock:
            self._executions[job] = ex
        log.info("%s: started (%s%s)", job, trigger, f", due {_stamp(slot)}" if slot else "")
        ex.thread.start()
        return claim

    def _work(self, ex: _Execution) -> None:
        """The worker thread: run the job, record how it ended, release the lock."""
        try:
            self._ping("start", ex, f"{ex.job} started ({ex.trigger})")
            begun = self.clock.now()
            result: JobResult | None = None
            error: str | None = None
            try:
                result = self.runner(ex.job, begun)
            except Exception as exc:
                error = one_line(exc)
            ended = self.clock.now()
            seconds = max(0.0, (ended - begun).total_seconds())
            if self.observe is not None:
                try:
                    self.observe(ex.job, seconds)
                except Exception as exc:  # a metrics bug must not lose the job's outcome
                    log.error("metrics: %s", one_line(exc))
            self._finish(ex, result, error, ended, seconds)
        except Exception as exc:  # never let a worker die silently with its lock held
            log.error("%s: %s", ex.job, one_line(exc))
        finally:
            self._write(lambda: self.store.release_job_lock(ex.job, self.holder))
            with self._lock:
                if self._executions.get(ex.job) is ex:
                    del self._executions[ex.job]
            self._wake.set()

    def _finish(self, ex: _Execution, result: JobResult | None, error: str | None, ended: datetime,
                seconds: float) -> None:
        if result is not None and result.exit_code == Status.UNKNOWN.exit_code:
            # Exit 3 means the job could not measure (unknown): it failed, whatever it stored.
            state, exit_code, run_id, summary = "failed", result.exit_code, result.run_id, result.summary
            error = clip(f"exit {result.exit_code} (unknown): {result.summary}", _MAX_ERROR)
        elif result is not None:
            state, exit_code, run_id, summary = "ok", result.exit_code, result.run_id, result.summary
        else:
            state, exit_code, run_id, summary = "failed", None, None, error or "failed"
        written = self._write(lambda: self.store.finish_job_run(
            ex.job_run_id, state=state, finished_at=ended, exit_code=exit_code, run_id=run_id, error=error))
        if written:
            ex.state = state
            outcome = f"exit {exit_code}, {summary}" if result is not None else f"failed: {error}"
            (log.info if state == "ok" else log.error)("%s: %s (%.1fs)", ex.job, mask(outcome), seconds)
            success = state == "ok" and exit_code in (0, 1)
            self._ping("success" if success else "fail", ex, f"{ex.job}: {outcome}")
            return
        # The row was marked timed out or cancelled meanwhile: keep that state, note how the job really ended.
        late = f"exit {exit_code}" if result is not None else f"failed: {error}"
        before = "cancelled" if ex.cancelled else "timeout"
        note = (f"timed out after {self.timeout:g}s" if before == "timeout" else "cancelled: the daemon stopped")
        self._write(lambda: self.store.finish_job_run(
            ex.job_run_id, state=before, finished_at=None, run_id=run_id,
            error=clip(f"{note}; it ended later, after {seconds:.0f}s ({late})", _MAX_ERROR), expect=(before,)))
        log.warning("%s: the job that %s ended after %.0fs (%s)", ex.job,
                    "timed out" if before == "timeout" else "was cancelled", seconds, mask(late))

    def _supervise(self, now: datetime) -> None:
        """Time out overdue jobs and renew the leases of running ones."""
        with self._lock:
            running = list(self._executions.values())
        for ex in running:
            if not ex.timed_out and not ex.cancelled and now >= ex.deadline:
                ex.timed_out = True
                marked = self._write(partial(
                    self.store.finish_job_run, ex.job_run_id, state="timeout", finished_at=now,
                    error=f"timed out after {self.timeout:g}s (still running in the background; it keeps the "
                          "job's lock until it ends)"))
                if marked:
                    ex.state = "timeout"
                    log.error("%s: timed out after %gs; it keeps running in the background", ex.job, self.timeout)
                    self._ping("fail", ex, f"{ex.job}: timed out after {self.timeout:g}s")
            if now >= ex.next_renewal:
                ex.next_renewal = now + timedelta(seconds=self.lease / 3)
                renewed = self._write(partial(self.store.renew_job_lock, ex.job, self.holder,
                                              now + timedelta(seconds=self.lease)))
                if renewed is False:
                    log.warning("%s: lost the job's lock (its lease expired and another daemon took it)", ex.job)

    def _deadlines(self, running: Sequence[_Execution]) -> list[datetime]:
        times = [ex.next_renewal for ex in running]
        times += [ex.deadline for ex in running if not ex.timed_out and not ex.cancelled]
        return times

    def _next_wake(self, until: datetime | None) -> datetime | None:
        with self._lock:
            running = list(self._executions.values())
            times = [due for due in self._next_due.values() if due is not None]
            if self._next_reap is not None and self._running:
                times.append(self._next_reap)
        times += self._deadlines(running)
        if until is not None:
            times.append(until)
        return min(times) if times else None

    def _ping(self, signal: Literal["start", "success", "fail"], ex: _Execution, body: str) -> None:
        if self.heartbeat is not None:
            self.heartbeat.ping(signal, str(uuid.UUID(hex=ex.job_run_id)), body)


def _stamp(moment: datetime | None) -> str:
    from ..core.durations import format_timestamp

    return format_timestamp(moment) if moment is not None else "-"


def exit_code_of(runs: Sequence[JobRunRecord]) -> int:
    """The worst outcome of ``runs`` as an exit code: a job's own exit code when it ran, 3 when it failed, timed
    out or was cancelled; skipped runs count as ok; 0 when there are none."""
    statuses = []
    for run in runs:
        if run.state == "ok" and run.exit_code is not None:
            statuses.append({0: Status.OK, 1: Status.WARNING, 2: Status.CRITICAL}.get(run.exit_code, Status.UNKNOWN))
        elif run.state == "skipped":
            statuses.append(Status.OK)
        else:
            statuses.append(Status.UNKNOWN)
    return worst(statuses, empty=Status.OK).exit_code
