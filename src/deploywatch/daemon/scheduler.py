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
  once its lease expires: at start-up, when another daemon's lease ends (the loop wakes up for it) and at least
  every ``lease`` seconds (``reap_every`` if shorter). That last look finds the leases other daemons took since
  the previous one (a replica that claimed a job after this one started): a lease seen is then followed to its
  end, so a daemon that dies while others run is reaped when its lease runs out, not a reap interval later. An
  abandoned row does not count as its slot having run: with ``catch_up`` the slot then runs, trigger
  ``catch-up``, if it is still the job's most recent one.
- **Stopping.** :meth:`Scheduler.stop` (SIGTERM, SIGINT) stops scheduling; running jobs get ``grace`` seconds
  to finish, then are recorded ``cancelled``. A second stop cancels at once.
- **Heartbeat** (healthchecks.io protocol): ``{url}/start`` before a job, ``{url}`` after one that ended ok or
  warning (exit 0 or 1), ``{url}/fail`` otherwise (critical, unknown, failed, timeout, cancelled). Pings go
  out one at a time from a background thread, each within the heartbeat timeout, with ``rid`` set to the job
  run's id; a slow or failing endpoint never delays or fails a job.

The clock is injectable (:class:`Clock`): tests drive the loop through DST changes in simulated time. The cron
arithmetic is :mod:`deploywatch.core.cron`, the heartbeat :mod:`deploywatch.daemon.heartbeat` (re-exported here),
and a job run in its worker thread (claim, timeout, lease renewal, outcome, cancellation) is
:mod:`deploywatch.daemon.workers`.
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
from typing import TYPE_CHECKING, Protocol
from zoneinfo import ZoneInfo

from ..core.cron import latest_at_or_before, next_after
from ..core.errors import DeploywatchError
from ..core.status import Status, worst
from .heartbeat import Heartbeat
from .jobs import JOBS
from .workers import Runner, Workers, one_line, store_call

if TYPE_CHECKING:
    from ..config import LoadedConfig
    from ..store import Store
    from ..store.jobs import JobRunRecord
    from .jobs import JobResult

__all__ = ["Clock", "Heartbeat", "JobBusy", "Runner", "Scheduler", "SystemClock", "one_line"]

log = logging.getLogger("deploywatch.scheduler")

DEFAULT_LEASE = 120.0  # seconds; renewed every third of it while the job runs
DEFAULT_GRACE = 30.0
DEFAULT_REAP_EVERY = 300.0  # at most this many seconds between looks for runs of daemons that died (and ``lease``)


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


# ---------------------------------------------------------------- the scheduler


class JobBusy(DeploywatchError):
    """The job is already running (here or in another daemon sharing the store)."""

    def __init__(self, job: str, holder: str | None) -> None:
        self.job = job
        self.holder = holder
        super().__init__(f"{job} is already running" + (f" (held by {holder})" if holder else ""))


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
        self._lock = threading.Lock()  # guards _stops, _next_due and _next_reap; the workers have their own
        self._wake = threading.Event()
        self._workers = Workers(self.store, self.runner, self.clock.now, self._wake, holder=self.holder,
                                timeout=self.timeout, lease=self.lease, heartbeat=self.heartbeat,
                                observe=self.observe)
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
        return len(self._workers.running())

    def status(self) -> list[JobStatus]:
        """Every scheduled job (and any other job running now), by name."""
        running = self._workers.by_job()
        with self._lock:
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
                self._workers.supervise(now)
                for job, cron in self.jobs.items():
                    due = self._next_due.get(job)
                    if due is None or due > now or self._stop.is_set():
                        continue
                    # Slots missed while the process could not run (a suspended machine) collapse into the latest.
                    latest = latest_at_or_before(cron, self.timezone, now)
                    self._workers.start(job, max(due, latest) if latest is not None else due, "schedule")
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
            claim = self._workers.start(job, slot, "once")
            if claim is not None and claim.job_run_id is not None:
                started.append(claim.job_run_id)
        while not self._stop.is_set():
            self._wake.clear()
            now = self.clock.now()
            self._workers.supervise(now)
            waiting = [ex for ex in self._workers.running() if not ex.timed_out]
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
        claim = self._workers.start(job, None, "api")
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
            self._workers.supervise(now)
            alive = self._workers.running()
            if not alive or now >= limit:
                break
            wake_at = min([limit, *self._workers.deadlines(alive)])
            self.clock.sleep(max(0.0, (wake_at - now).total_seconds()), self._wake)
        leftovers = self._workers.running()
        self.abandoned = len(leftovers)
        self._workers.cancel(leftovers, self.clock.now(), self.grace)
        if self.heartbeat is not None:
            self.heartbeat.flush(min(10.0, self.heartbeat.timeout * 2))

    def join(self, timeout: float = 10.0) -> None:
        """Wait (real time) for every job thread to end (for tests)."""
        self._workers.join(timeout)

    # ------------------------------------------------------------ internals

    def _reap(self, now: datetime) -> int:
        """Mark the runs of daemons that died as abandoned; plan the next look (when another daemon's lease ends,
        or in ``lease`` seconds, ``reap_every`` if shorter: a lease taken since this look is found before it can
        run out). Returns how many were reaped."""
        reaped = store_call(lambda: self.store.reap_job_runs(now)) or []
        if reaped:
            log.warning("marked %d job run(s) of a daemon that stopped as abandoned", len(reaped))
        expiry = store_call(lambda: self.store.next_lease_expiry(self.holder, now))
        periodic = now + timedelta(seconds=min(self.reap_every, self.lease))
        with self._lock:
            self._next_reap = min(expiry, periodic) if expiry is not None else periodic
        return len(reaped)

    def _catch_up(self, now: datetime) -> None:
        """With ``catch_up``, start every job (not running here) whose most recent slot has not run."""
        if not self.catch_up:
            return
        busy = set(self._workers.by_job())
        for job, slot in (store_call(lambda: self.missed(now)) or {}).items():
            if job not in busy:
                self._workers.start(job, slot, "catch-up")

    def _next_wake(self, until: datetime | None) -> datetime | None:
        running = self._workers.running()
        with self._lock:
            times = [due for due in self._next_due.values() if due is not None]
            if self._next_reap is not None and self._running:
                times.append(self._next_reap)
        times += self._workers.deadlines(running)
        if until is not None:
            times.append(until)
        return min(times) if times else None


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
