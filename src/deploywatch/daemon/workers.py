"""The scheduler's job runs in progress in this process: each in a worker thread, its outcome recorded once.

:class:`Workers` claims a job in the store and runs it in a thread, times it out, renews its lease while it
runs, records how it ended (``ok``, ``failed``, or a late end noted on a ``timeout`` or ``cancelled`` row),
pings the heartbeat around it, and on shutdown records the jobs still running as ``cancelled``. *When* a job
runs (cron slots, catch-up, reaping, stopping) is :mod:`deploywatch.daemon.scheduler`'s business; the rules
both keep are written there.
"""

from __future__ import annotations

import logging
import threading
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial
from typing import TYPE_CHECKING, Literal, TypeVar

from ..core.errors import DeploywatchError
from ..core.redact import clip, mask
from ..core.status import Status

if TYPE_CHECKING:
    from ..store import Store
    from ..store.jobs import JobClaim
    from .heartbeat import Heartbeat
    from .jobs import JobResult

__all__ = ["Execution", "Workers", "one_line", "store_call"]

log = logging.getLogger("deploywatch.scheduler")

Runner = Callable[[str, datetime], "JobResult"]
T = TypeVar("T")
_MAX_ERROR = 500


def one_line(exc: BaseException) -> str:
    """An exception as one masked line: ``Type: message`` (the message's first line), at most 500 characters."""
    text = str(exc).strip()
    first = text.splitlines()[0].strip() if text else ""
    shown = first if isinstance(exc, DeploywatchError) and first else (
        f"{type(exc).__name__}: {first}" if first else type(exc).__name__)
    return clip(shown, _MAX_ERROR)


def store_call(action: Callable[[], T]) -> T | None:
    """Run a store call; log (masked) and swallow a store failure so the loop goes on."""
    try:
        return action()
    except DeploywatchError as exc:
        log.error("store: %s", mask(str(exc)))
    return None


@dataclass
class Execution:
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


class Workers:
    """The jobs this process runs now, one worker thread each, at most one per job name.

    ``wake`` is set whenever a job ends, so that a loop sleeping on it looks again.
    """

    def __init__(self, store: Store, runner: Runner, now: Callable[[], datetime], wake: threading.Event, *,
                 holder: str, timeout: float, lease: float, heartbeat: Heartbeat | None,
                 observe: Callable[[str, float], None] | None) -> None:
        self.store = store
        self.runner = runner
        self.now = now
        self.holder = holder
        self.timeout = timeout
        self.lease = lease
        self.heartbeat = heartbeat
        self.observe = observe
        self._wake = wake
        self._lock = threading.Lock()
        self._executions: dict[str, Execution] = {}

    def by_job(self) -> dict[str, Execution]:
        """The job runs in progress (timed-out ones still running included), by job name."""
        with self._lock:
            return dict(self._executions)

    def running(self) -> list[Execution]:
        """The job runs in progress (timed-out ones still running included)."""
        with self._lock:
            return list(self._executions.values())

    def start(self, job: str, slot: datetime | None, trigger: str) -> JobClaim | None:
        """Claim ``job`` for ``slot`` and, when acquired, start it in a worker thread."""
        with self._lock:
            local = self._executions.get(job)
        now = self.now()
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
        ex = Execution(job, claim.job_run_id, slot, trigger, now, now + timedelta(seconds=self.timeout),
                       now + timedelta(seconds=self.lease / 3))
        ex.thread = threading.Thread(target=self._work, args=(ex,), name=f"deploywatch-job-{job}", daemon=True)
        with self._lock:
            self._executions[job] = ex
        log.info("%s: started (%s%s)", job, trigger, f", due {_stamp(slot)}" if slot else "")
        ex.thread.start()
        return claim

    def supervise(self, now: datetime) -> None:
        """Time out overdue jobs and renew the leases of running ones."""
        for ex in self.running():
            if not ex.timed_out and not ex.cancelled and now >= ex.deadline:
                ex.timed_out = True
                marked = store_call(partial(
                    self.store.finish_job_run, ex.job_run_id, state="timeout", finished_at=now,
                    error=f"timed out after {self.timeout:g}s (still running in the background; it keeps the "
                          "job's lock until it ends)"))
                if marked:
                    ex.state = "timeout"
                    log.error("%s: timed out after %gs; it keeps running in the background", ex.job, self.timeout)
                    self._ping("fail", ex, f"{ex.job}: timed out after {self.timeout:g}s")
            if now >= ex.next_renewal:
                ex.next_renewal = now + timedelta(seconds=self.lease / 3)
                renewed = store_call(partial(self.store.renew_job_lock, ex.job, self.holder,
                                             now + timedelta(seconds=self.lease)))
                if renewed is False:
                    log.warning("%s: lost the job's lock (its lease expired and another daemon took it)", ex.job)

    @staticmethod
    def deadlines(running: Sequence[Execution]) -> list[datetime]:
        """When ``running`` next need looking after: lease renewals, and timeouts not yet reached."""
        times = [ex.next_renewal for ex in running]
        times += [ex.deadline for ex in running if not ex.timed_out and not ex.cancelled]
        return times

    def cancel(self, leftovers: Sequence[Execution], now: datetime, grace: float) -> None:
        """Record ``leftovers`` (jobs that did not end within ``grace`` seconds of a stop) cancelled and release
        their locks: the process is about to exit, taking their threads with it."""
        for ex in leftovers:
            if not ex.timed_out:
                ex.cancelled = True
                ex.state = "cancelled"
                store_call(partial(self.store.finish_job_run, ex.job_run_id, state="cancelled", finished_at=now,
                                   error="cancelled: the daemon stopped and the job did not end within "
                                         f"{grace:g}s"))
                log.warning("%s: cancelled (the daemon is stopping)", ex.job)
                self._ping("fail", ex, "cancelled: the daemon stopped")
            store_call(partial(self.store.release_job_lock, ex.job, self.holder))

    def join(self, timeout: float = 10.0) -> None:
        """Wait (real time) for every job thread to end (for tests)."""
        threads = [ex.thread for ex in self.running() if ex.thread is not None]
        for thread in threads:
            thread.join(timeout)

    # ------------------------------------------------------------ the worker thread

    def _work(self, ex: Execution) -> None:
        """The worker thread: run the job, record how it ended, release the lock."""
        try:
            self._ping("start", ex, f"{ex.job} started ({ex.trigger})")
            begun = self.now()
            result: JobResult | None = None
            error: str | None = None
            try:
                result = self.runner(ex.job, begun)
            except Exception as exc:
                error = one_line(exc)
            ended = self.now()
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
            store_call(lambda: self.store.release_job_lock(ex.job, self.holder))
            with self._lock:
                if self._executions.get(ex.job) is ex:
                    del self._executions[ex.job]
            self._wake.set()

    def _finish(self, ex: Execution, result: JobResult | None, error: str | None, ended: datetime,
                seconds: float) -> None:
        if result is not None and result.exit_code == Status.UNKNOWN.exit_code:
            # Exit 3 means the job could not measure (unknown): it failed, whatever it stored.
            state, exit_code, run_id, summary = "failed", result.exit_code, result.run_id, result.summary
            error = clip(f"exit {result.exit_code} (unknown): {result.summary}", _MAX_ERROR)
        elif result is not None:
            state, exit_code, run_id, summary = "ok", result.exit_code, result.run_id, result.summary
        else:
            state, exit_code, run_id, summary = "failed", None, None, error or "failed"
        written = store_call(lambda: self.store.finish_job_run(
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
        store_call(lambda: self.store.finish_job_run(
            ex.job_run_id, state=before, finished_at=None, run_id=run_id,
            error=clip(f"{note}; it ended later, after {seconds:.0f}s ({late})", _MAX_ERROR), expect=(before,)))
        log.warning("%s: the job that %s ended after %.0fs (%s)", ex.job,
                    "timed out" if before == "timeout" else "was cancelled", seconds, mask(late))

    def _ping(self, signal: Literal["start", "success", "fail"], ex: Execution, body: str) -> None:
        if self.heartbeat is not None:
            self.heartbeat.ping(signal, str(uuid.UUID(hex=ex.job_run_id)), body)


def _stamp(moment: datetime | None) -> str:
    from ..core.durations import format_timestamp

    return format_timestamp(moment) if moment is not None else "-"
