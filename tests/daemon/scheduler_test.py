"""The scheduler in simulated time: DST, overlaps, catch-up, timeouts, failures, shutdown, two daemons, heartbeat.

:class:`FakeClock` is a discrete-event clock. The scheduler's ``sleep`` advances it, but only once every job
thread is idle (ended, or parked in :meth:`FakeClock.park_until`), and it stops at each parked job's wake-up time
on the way, so a job that "takes 90 minutes" ends exactly 90 simulated minutes after it started, before the
scheduler looks at the next slot. Every run is deterministic and takes milliseconds of real time.
"""

from __future__ import annotations

import heapq
import itertools
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from deploywatch.core.status import Status
from deploywatch.daemon.jobs import JobResult
from deploywatch.daemon.scheduler import (
    Heartbeat,
    JobBusy,
    Scheduler,
    exit_code_of,
    one_line,
)
from deploywatch.store import Store
from deploywatch.store.jobs import JobClaim, JobRunRecord
from testing.webhook_api import FakeWebhook

NY = "America/New_York"
SETTLE_SECONDS = 10.0


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def local(moment: datetime, zone: str = NY) -> str:
    return moment.astimezone(ZoneInfo(zone)).strftime("%m-%d %H:%M %Z")


class FakeClock:
    """Simulated time shared by one or more schedulers (see the module docstring).

    Time only moves when every party (a scheduler loop, or a test thread calling ``sleep``) is asleep and every
    job thread has ended or is parked; it then jumps to the earliest wake-up (a sleeper's or a parked job's).
    """

    def __init__(self, start: datetime, *, parties: int = 1) -> None:
        self._now = start
        self._cond = threading.Condition()
        self._waiters: list[tuple[datetime, int, threading.Event]] = []
        self._sleepers: dict[int, tuple[datetime, threading.Event]] = {}
        self._seq = itertools.count()
        self._closed = False
        self.parties = parties
        self.watched: list[Scheduler] = []

    def now(self) -> datetime:
        with self._cond:
            return self._now

    def leave(self) -> None:
        """A party (a scheduler loop in a thread) is done: stop waiting for it."""
        with self._cond:
            self.parties -= 1
            self._cond.notify_all()

    def sleep(self, seconds: float, wake: threading.Event) -> bool:
        me = threading.get_ident()
        with self._cond:
            target = self._now + timedelta(seconds=seconds)
            self._sleepers[me] = (target, wake)
            self._cond.notify_all()
        deadline = time.monotonic() + SETTLE_SECONDS
        try:
            while True:
                if wake.is_set():
                    return True
                with self._cond:
                    settled = self._settled()
                    if settled and self._now >= target:
                        return False
                    if settled and self._quiet():
                        self._advance()
                        deadline = time.monotonic() + SETTLE_SECONDS
                        continue
                    self._cond.wait(0.0005)
                if time.monotonic() > deadline:
                    raise AssertionError("the simulated clock is stuck: a job or a scheduler never settled")
        finally:
            with self._cond:
                del self._sleepers[me]
                self._cond.notify_all()

    def _settled(self) -> bool:
        """Every job thread has ended or is parked."""
        return sum(s.live_workers() for s in self.watched) <= len(self._waiters)

    def _quiet(self) -> bool:
        """Every party sleeps and none is about to wake."""
        if len(self._sleepers) < self.parties:
            return False
        return not any(wake.is_set() for _, wake in self._sleepers.values())

    def _advance(self) -> None:
        nearest = min(target for target, _ in self._sleepers.values())
        if self._waiters and self._waiters[0][0] <= nearest:
            deadline, _, event = heapq.heappop(self._waiters)
            self._now = max(self._now, deadline)
            event.set()  # the released job runs on; time waits for it to end or park again
        else:
            self._now = max(self._now, nearest)
        self._cond.notify_all()

    def park_until(self, deadline: datetime) -> None:
        """Called by a job thread: block until simulated time reaches ``deadline``."""
        event = threading.Event()
        with self._cond:
            if self._closed or deadline <= self._now:
                return
            heapq.heappush(self._waiters, (deadline, next(self._seq), event))
            self._cond.notify_all()
        if not event.wait(60):
            raise AssertionError("a parked job was never released")

    def close(self) -> None:
        """Release every parked job (test teardown)."""
        with self._cond:
            self._closed = True
            waiters, self._waiters = self._waiters, []
        for _, _, event in waiters:
            event.set()


class FakeJobs:
    """The runner: records calls, and per job can take simulated time, raise, or exit with a code."""

    def __init__(self, clock: FakeClock) -> None:
        self.clock = clock
        self.calls: list[tuple[str, datetime]] = []
        self.durations: dict[str, list[float]] = {}  # seconds per call, in order; the last one repeats
        self.failures: dict[str, list[BaseException | None]] = {}
        self.exit_codes: dict[str, int] = {}
        self.before: dict[str, Callable[[datetime], object]] = {}  # what else happens when the job starts
        self._lock = threading.Lock()

    def __call__(self, job: str, now: datetime) -> JobResult:
        with self._lock:
            self.calls.append((job, now))
            n = sum(1 for j, _ in self.calls if j == job) - 1
        if job in self.before:
            self.before[job](now)
        durations = self.durations.get(job, [0.0])
        seconds = durations[min(n, len(durations) - 1)]
        if seconds:
            self.clock.park_until(now + timedelta(seconds=seconds))
        failures = self.failures.get(job, [None])
        failure = failures[min(n, len(failures) - 1)]
        if failure is not None:
            raise failure
        code = self.exit_codes.get(job, 0)
        status = {0: Status.OK, 1: Status.WARNING, 2: Status.CRITICAL}.get(code, Status.UNKNOWN)
        return JobResult(job, status, code, f"{job}-run-{n}", f"call {n}", seconds)

    def times(self, job: str) -> list[datetime]:
        with self._lock:
            return [at for j, at in self.calls if j == job]


@pytest.fixture
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A SQLite file, or (``indirect`` parametrization with "postgres") a throwaway PostgreSQL database."""
    if getattr(request, "param", "sqlite") == "postgres":
        url: str = request.getfixturevalue("postgres_url")
        return url
    return f"sqlite:///{tmp_path / 'state.db'}"


@pytest.fixture
def store(store_url: str) -> Iterator[Store]:
    with Store.open(store_url, timeout=10) as opened:
        yield opened


Make = Callable[..., tuple[Scheduler, FakeClock, FakeJobs]]


@pytest.fixture
def make(store: Store) -> Iterator[Make]:
    """``make(jobs, start, **options)``: a scheduler on the test's store with its own fake clock and jobs."""
    made: list[tuple[Scheduler, FakeClock]] = []

    def build(jobs: dict[str, str], start: datetime, *, on: Store | None = None, clock: FakeClock | None = None,
              **options: Any) -> tuple[Scheduler, FakeClock, FakeJobs]:
        clock = clock or FakeClock(start)
        runner = FakeJobs(clock)
        options.setdefault("catch_up", False)
        scheduler = Scheduler(on or store, jobs, runner, clock=clock, **options)
        clock.watched.append(scheduler)
        made.append((scheduler, clock))
        return scheduler, clock, runner

    yield build
    for scheduler, clock in made:
        clock.close()
        scheduler.join(10)


def rows(store: Store, job: str | None = None) -> list[JobRunRecord]:
    """Job runs oldest first."""
    return list(reversed(store.job_runs(job, limit=1000)))


def by_slot(store: Store, job: str) -> dict[datetime, list[JobRunRecord]]:
    found: dict[datetime, list[JobRunRecord]] = {}
    for row in rows(store, job):
        assert row.scheduled_for is not None
        found.setdefault(row.scheduled_for, []).append(row)
    return found


# ---------------------------------------------------------------- DST (the cron arithmetic: tests/core/cron_test.py)


def test_dst_spring_forward_daily_job_is_shifted_once(make: Make, store: Store) -> None:
    scheduler, _, jobs = make({"drift": "30 2 * * *"}, utc("2026-03-06T12:00:00"), timezone=NY)
    scheduler.run(until=utc("2026-03-10T12:00:00"))
    assert [local(t) for t in jobs.times("drift")] == ["03-07 02:30 EST", "03-08 03:00 EDT", "03-09 02:30 EDT",
                                                       "03-10 02:30 EDT"]
    assert [r.scheduled_for for r in rows(store)] == jobs.times("drift")
    assert {r.state for r in rows(store)} == {"ok"}
    assert {r.trigger for r in rows(store)} == {"schedule"}


def test_dst_spring_forward_hourly_job_skips_the_missing_hour(make: Make) -> None:
    scheduler, _, jobs = make({"drift": "30 * * * *"}, utc("2026-03-08T04:00:00"), timezone=NY)
    scheduler.run(until=utc("2026-03-08T09:00:00"))
    assert [local(t) for t in jobs.times("drift")] == ["03-07 23:30 EST", "03-08 00:30 EST", "03-08 01:30 EST",
                                                       "03-08 03:30 EDT", "03-08 04:30 EDT"]


def test_dst_fall_back_daily_job_runs_once(make: Make, store: Store) -> None:
    scheduler, _, jobs = make({"drift": "30 1 * * *"}, utc("2026-10-31T12:00:00"), timezone=NY)
    scheduler.run(until=utc("2026-11-02T12:00:00"))
    assert [local(t) for t in jobs.times("drift")] == ["11-01 01:30 EDT", "11-02 01:30 EST"]
    assert len(rows(store)) == 2


def test_dst_fall_back_hourly_job_runs_the_repeated_hour_once(make: Make) -> None:
    scheduler, _, jobs = make({"drift": "30 * * * *"}, utc("2026-11-01T04:00:00"), timezone=NY)
    scheduler.run(until=utc("2026-11-01T09:00:00"))
    assert [local(t) for t in jobs.times("drift")] == ["11-01 00:30 EDT", "11-01 01:30 EDT", "11-01 02:30 EST",
                                                       "11-01 03:30 EST"]


# ---------------------------------------------------------------- overlap, timeouts, failures


def test_a_job_still_running_at_its_next_slot_is_skipped_once(make: Make, store: Store) -> None:
    scheduler, _, jobs = make({"drift": "0 * * * *"}, utc("2026-05-01T07:59:00"), timeout=3 * 3600)
    jobs.durations["drift"] = [90 * 60]
    scheduler.run(until=utc("2026-05-01T11:30:00"))
    assert jobs.times("drift") == [utc("2026-05-01T08:00:00"), utc("2026-05-01T10:00:00")]
    slots = by_slot(store, "drift")
    assert sorted(slots) == [utc(f"2026-05-01T{h:02d}:00:00") for h in (8, 9, 10, 11)]
    assert all(len(found) == 1 for found in slots.values())  # one row per slot, never two
    states = {t.hour: found[0] for t, found in slots.items()}
    assert [states[h].state for h in (8, 9, 10, 11)] == ["ok", "skipped", "ok", "skipped"]
    assert states[8].finished_at == utc("2026-05-01T09:30:00")
    assert states[9].error == f"skipped: held by {scheduler.holder}"
    assert states[9].run_id is None and states[9].exit_code is None
    assert store.job_lock("drift") is None  # released when the last run ended


def test_a_timed_out_job_is_recorded_and_does_not_hold_up_other_jobs(make: Make, store: Store) -> None:
    scheduler, _, jobs = make({"drift": "0 * * * *", "canary": "15 * * * *"}, utc("2026-05-01T07:59:00"),
                              timeout=1800)
    jobs.durations["drift"] = [5 * 3600, 0]  # the first drift hangs for 5 hours, later ones are quick
    scheduler.run(until=utc("2026-05-01T13:30:00"))

    # canary ran every hour while the zombie drift thread was still running.
    assert jobs.times("canary") == [utc(f"2026-05-01T{h:02d}:15:00") for h in range(8, 14)]
    assert {r.state for r in rows(store, "canary")} == {"ok"}

    drift = {t.hour: found for t, found in by_slot(store, "drift").items()}
    assert all(len(found) == 1 for found in drift.values())
    first = drift[8][0]
    assert first.state == "timeout"
    assert first.finished_at == utc("2026-05-01T08:30:00")  # recorded at the timeout, not when it ended
    assert first.error is not None
    assert first.error.startswith("timed out after 1800s; it ended later, after 18000s (exit 0)")
    assert first.run_id == "drift-run-0"  # the run it stored in the end
    # It kept its lock until it really ended (13:00): the slots in between were skipped, not run twice.
    assert [drift[h][0].state for h in (9, 10, 11, 12)] == ["skipped"] * 4
    assert {drift[h][0].error for h in (9, 10, 11, 12)} == {f"skipped: held by {scheduler.holder}"}
    assert drift[13][0].state == "ok"
    assert jobs.times("drift") == [utc("2026-05-01T08:00:00"), utc("2026-05-01T13:00:00")]


def test_a_raising_job_is_recorded_failed_with_a_masked_one_line_error(make: Make, store: Store) -> None:
    scheduler, _, jobs = make({"drift": "0 * * * *"}, utc("2026-05-01T07:59:00"))
    jobs.failures["drift"] = [RuntimeError("cannot reach https://user:hunter2@git.example.com token=s3cr3tvalue\n"
                                           "Traceback line two"), None]
    scheduler.run(until=utc("2026-05-01T09:30:00"))
    first, second = rows(store, "drift")
    assert first.state == "failed"
    assert first.exit_code is None and first.run_id is None
    assert first.error == "RuntimeError: cannot reach https://***@git.example.com token=***"
    assert second.state == "ok" and second.exit_code == 0 and second.run_id == "drift-run-1"
    assert store.job_lock("drift") is None


def test_exit_codes_are_recorded_and_summarised(make: Make, store: Store) -> None:
    scheduler, _, jobs = make({"drift": "0 8 * * *", "canary": "0 8 * * *"}, utc("2026-05-01T07:59:00"))
    jobs.exit_codes.update({"drift": 2, "canary": 1})
    scheduler.run(until=utc("2026-05-01T08:30:00"))
    found = {r.job: r for r in rows(store)}
    assert (found["drift"].state, found["drift"].exit_code) == ("ok", 2)
    assert (found["canary"].state, found["canary"].exit_code) == ("ok", 1)
    assert exit_code_of(list(found.values())) == 2


# ---------------------------------------------------------------- catch-up


def _finished_run(store: Store, job: str, slot: datetime) -> None:
    claim = store.claim_job(job, slot=slot, trigger="schedule", holder="earlier", now=slot, lease=60)
    assert claim.outcome == "acquired" and claim.job_run_id
    store.finish_job_run(claim.job_run_id, state="ok", finished_at=slot + timedelta(minutes=1), exit_code=0)
    store.release_job_lock(job, "earlier")


def test_catch_up_runs_a_missed_job_once_not_once_per_missed_slot(make: Make, store: Store) -> None:
    _finished_run(store, "drift", utc("2026-04-28T08:00:00"))  # then the daemon was down for three days
    _finished_run(store, "canary", utc("2026-05-01T09:00:00"))  # canary's latest slot already ran
    start = utc("2026-05-01T10:00:00")
    scheduler, _, jobs = make({"drift": "0 8 * * *", "canary": "0 9 * * *", "check": "0 6 * * *"}, start,
                              catch_up=True)
    scheduler.run(until=start + timedelta(hours=1))
    caught = [r for r in rows(store) if r.trigger == "catch-up"]
    assert sorted((r.job, r.scheduled_for) for r in caught) == [
        ("check", utc("2026-05-01T06:00:00")),  # never ran: counts as missed
        ("drift", utc("2026-05-01T08:00:00")),  # the latest missed slot only
    ]
    assert all(r.state == "ok" and r.started_at == start for r in caught)
    assert sorted(job for job, _ in jobs.calls) == ["check", "drift"]

    # A restart right after does not catch up again.
    again, _, more = make({"drift": "0 8 * * *", "canary": "0 9 * * *", "check": "0 6 * * *"},
                          start + timedelta(minutes=70), catch_up=True)
    again.run(until=start + timedelta(minutes=75))
    assert more.calls == []


def test_without_catch_up_a_missed_slot_waits_for_the_next_one(make: Make, store: Store) -> None:
    start = utc("2026-05-01T10:00:00")
    scheduler, _, jobs = make({"drift": "0 8 * * *"}, start, catch_up=False)
    scheduler.run(until=utc("2026-05-02T09:00:00"))
    assert jobs.times("drift") == [utc("2026-05-02T08:00:00")]
    assert scheduler.missed(utc("2026-05-02T09:00:00")) == {}
    assert scheduler.missed(utc("2026-05-03T09:00:00")) == {"drift": utc("2026-05-03T08:00:00")}


def test_run_once_runs_what_is_due_and_waits_for_it(make: Make, store: Store) -> None:
    _finished_run(store, "canary", utc("2026-05-01T09:00:00"))
    scheduler, _, jobs = make({"drift": "0 8 * * *", "canary": "0 9 * * *"}, utc("2026-05-01T10:00:00"))
    jobs.durations["drift"] = [600]
    jobs.exit_codes["drift"] = 1
    done = scheduler.run_once()
    assert [(r.job, r.trigger, r.state, r.exit_code) for r in done] == [("drift", "once", "ok", 1)]
    assert done[0].finished_at == utc("2026-05-01T10:10:00")
    assert exit_code_of(done) == 1
    assert scheduler.run_once() == []  # nothing is due any more


def test_run_once_records_a_timeout_and_exits_3(make: Make, store: Store) -> None:
    scheduler, _, jobs = make({"drift": "0 8 * * *"}, utc("2026-05-01T10:00:00"), timeout=60)
    jobs.durations["drift"] = [3600]
    done = scheduler.run_once()
    assert [(r.state, r.finished_at) for r in done] == [("timeout", utc("2026-05-01T10:01:00"))]
    assert exit_code_of(done) == 3
    assert store.job_lock("drift") is None  # released: the process is about to exit


# ---------------------------------------------------------------- stopping and the API trigger


def stop_once_the_job_runs(scheduler: Scheduler, clock: FakeClock, jobs: FakeJobs) -> None:
    """Make the scheduler's next sleep after a job started call :meth:`Scheduler.stop` (SIGTERM while it runs)."""
    original = clock.sleep

    def sleep(seconds: float, wake: threading.Event) -> bool:
        if jobs.calls and not scheduler.stopping:
            scheduler.stop()
        return original(seconds, wake)

    clock.sleep = sleep  # type: ignore[method-assign]


def test_stop_lets_a_job_finish_within_the_grace_period(make: Make, store: Store) -> None:
    scheduler, clock, jobs = make({"drift": "0 8 * * *"}, utc("2026-05-01T07:59:00"), grace=30)
    jobs.durations["drift"] = [20]
    stop_once_the_job_runs(scheduler, clock, jobs)
    scheduler.run()
    [row] = rows(store)
    assert (row.state, row.finished_at) == ("ok", utc("2026-05-01T08:00:20"))


def test_stop_cancels_a_job_that_outlives_the_grace_period(make: Make, store: Store) -> None:
    scheduler, clock, jobs = make({"drift": "0 8 * * *"}, utc("2026-05-01T07:59:00"), grace=30)
    jobs.durations["drift"] = [3600]
    stop_once_the_job_runs(scheduler, clock, jobs)
    scheduler.run()
    [row] = rows(store)
    assert row.state == "cancelled"
    assert row.finished_at == utc("2026-05-01T08:00:30")
    assert row.error == "cancelled: the daemon stopped and the job did not end within 30s"
    assert store.job_lock("drift") is None


def test_trigger_runs_now_and_refuses_while_running(make: Make, store: Store) -> None:
    scheduler, clock, jobs = make({}, utc("2026-05-01T10:00:00"))
    jobs.durations["drift"] = [300, 0]
    job_run_id = scheduler.trigger("drift")
    with pytest.raises(JobBusy, match=r"drift is already running \(held by .+\)"):
        scheduler.trigger("drift")
    with pytest.raises(ValueError, match="unknown job 'nope'"):
        scheduler.trigger("nope")
    assert [s.job for s in scheduler.status() if s.running] == ["drift"]
    clock.sleep(600, threading.Event())  # the job ends at 10:05
    [row] = rows(store)
    assert (row.id, row.trigger, row.scheduled_for, row.state) == (job_run_id, "api", None, "ok")
    assert row.finished_at == utc("2026-05-01T10:05:00")
    assert scheduler.trigger("drift") != job_run_id  # free again


def test_abandoned_running_rows_are_reaped_at_start(make: Make, store: Store) -> None:
    then = utc("2026-05-01T08:00:00")
    crashed = store.claim_job("drift", slot=then, trigger="schedule", holder="gone:1", now=then, lease=120)
    live = store.claim_job("canary", slot=then, trigger="schedule", holder="other:2", now=then, lease=7200)
    scheduler, _, _ = make({}, then + timedelta(minutes=30))
    scheduler.run(until=then + timedelta(minutes=30))
    found = {r.job: r for r in rows(store)}
    assert found["drift"].id == crashed.job_run_id and found["drift"].state == "abandoned"
    assert found["canary"].id == live.job_run_id and found["canary"].state == "running"  # its daemon is alive


def test_a_run_abandoned_within_its_lease_is_reaped_when_the_lease_expires_then_its_slot_runs(
        make: Make, store: Store) -> None:
    # A daemon started the 08:00 drift at 08:00 and was killed (kill -9): its row says running, its lock is live
    # until 08:02. The new daemon starts at 08:01, within the lease.
    slot = utc("2026-05-01T08:00:00")
    killed = store.claim_job("drift", slot=slot, trigger="schedule", holder="killed:1", now=slot, lease=120)
    scheduler, _, jobs = make({"drift": "0 8 * * *"}, utc("2026-05-01T08:01:00"), catch_up=True)
    scheduler.run(until=utc("2026-05-01T08:30:00"))
    first, second = rows(store, "drift")
    assert (first.id, first.state, first.finished_at) == (killed.job_run_id, "abandoned", utc("2026-05-01T08:02:00"))
    assert first.error == "abandoned: the daemon running it stopped before it finished (its lease expired)"
    assert (second.scheduled_for, second.trigger, second.state) == (slot, "catch-up", "ok")
    assert second.started_at == utc("2026-05-01T08:02:00")
    assert jobs.times("drift") == [utc("2026-05-01T08:02:00")]
    assert store.job_lock("drift") is None


def test_a_daemon_that_dies_while_another_runs_is_reaped_by_the_survivor(make: Make, store: Store) -> None:
    # Two daemons share the store; one dies in the middle of the 09:00 canary while the other keeps running.
    start = utc("2026-05-01T08:00:00")
    scheduler, _, jobs = make({"drift": "0 12 * * *", "canary": "0 9 * * *"}, start, catch_up=True)
    _finished_run(store, "drift", utc("2026-04-30T12:00:00"))
    _finished_run(store, "canary", utc("2026-04-30T09:00:00"))
    died = utc("2026-05-01T08:59:00")
    stolen = store.claim_job("canary", slot=utc("2026-05-01T09:00:00"), trigger="schedule", holder="died:2",
                             now=died, lease=120)
    scheduler.run(until=utc("2026-05-01T09:30:00"))
    canary = rows(store, "canary")
    assert [(r.id, r.state) for r in canary[1:]] == [(stolen.job_run_id, "abandoned"),
                                                     (canary[2].id, "ok")]
    assert canary[2].trigger == "catch-up" and canary[2].scheduled_for == utc("2026-05-01T09:00:00")
    assert utc("2026-05-01T09:01:00") <= canary[2].started_at <= utc("2026-05-01T09:06:00")
    assert jobs.times("drift") == []


def test_a_lease_taken_after_this_daemons_last_look_is_reaped_when_it_runs_out(make: Make, store: Store) -> None:
    # At 09:00, while this daemon runs its drift, another daemon claims the canary and dies. This daemon's last
    # look at the leases was at 08:59: it must find the new lease by itself, before the lease runs out at 09:02.
    scheduler, _, jobs = make({"drift": "0 9 * * *"}, utc("2026-05-01T08:59:00"), lease=120)
    claims: list[JobClaim] = []
    jobs.before["drift"] = lambda now: claims.append(store.claim_job(
        "canary", slot=now, trigger="schedule", holder="died:2", now=now, lease=120))
    scheduler.run(until=utc("2026-05-01T09:30:00"))
    [canary] = rows(store, "canary")
    assert (canary.id, canary.state) == (claims[0].job_run_id, "abandoned")
    assert canary.finished_at == utc("2026-05-01T09:02:00")  # not at the next 5-minute look (09:04)


# ---------------------------------------------------------------- two daemons, one store


@pytest.mark.parametrize("store_url", ["sqlite", "postgres"], indirect=True)
def test_two_schedulers_on_one_store_run_each_slot_once(make: Make, store: Store, store_url: str) -> None:
    start = utc("2026-05-01T07:58:00")
    jobs_spec = {"drift": "*/5 * * * *", "canary": "*/10 * * * *"}
    clock = FakeClock(start, parties=2)  # two daemons, one wall clock
    failures: list[BaseException] = []

    def run(scheduler: Scheduler) -> None:
        try:
            scheduler.run(until=utc("2026-05-01T10:02:00"))  # the 10:00 drift ends at 10:01:30
        except BaseException as exc:
            failures.append(exc)
        finally:
            clock.leave()

    with Store.open(store_url, timeout=10) as other_store:  # another connection pool, as another process has
        first, _, first_jobs = make(jobs_spec, start, clock=clock)
        second, _, second_jobs = make(jobs_spec, start, clock=clock, on=other_store)
        first_jobs.durations["drift"] = second_jobs.durations["drift"] = [90]
        threads = [threading.Thread(target=run, args=(s,)) for s in (first, second)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
        assert not any(t.is_alive() for t in threads)
    assert failures == []

    for job, every in (("drift", 5), ("canary", 10)):
        slots = by_slot(store, job)
        expected = [utc("2026-05-01T08:00:00") + timedelta(minutes=every * i) for i in range(120 // every + 1)]
        assert sorted(slots) == expected
        assert all(len(found) == 1 for found in slots.values()), "a slot has two rows"
        assert {row.state for found in slots.values() for row in found} == {"ok"}
        # The job ran exactly once per slot, by one daemon or the other.
        assert sorted(first_jobs.times(job) + second_jobs.times(job)) == expected
    assert store.job_lock("drift") is None and store.job_lock("canary") is None


@pytest.mark.parametrize("store_url", ["sqlite", "postgres"], indirect=True)
def test_job_locks_in_the_store(store: Store) -> None:
    t = utc("2026-05-01T08:00:00")
    a = store.claim_job("drift", slot=t, trigger="schedule", holder="a", now=t, lease=60)
    assert a.outcome == "acquired" and a.holder == "a"
    lock = store.job_lock("drift")
    assert lock is not None and (lock.holder, lock.acquired_at, lock.expires_at) == ("a", t, t + timedelta(seconds=60))
    # Another daemon, same slot: already taken, nothing written.
    assert store.claim_job("drift", slot=t, trigger="schedule", holder="b", now=t, lease=60).outcome == "taken"
    # The next slot while a still runs: skipped once, then taken.
    t2 = t + timedelta(seconds=30)
    skipped = store.claim_job("drift", slot=t2, trigger="schedule", holder="b", now=t2, lease=60)
    assert (skipped.outcome, skipped.holder) == ("skipped", "a")
    assert store.claim_job("drift", slot=t2, trigger="schedule", holder="a", now=t2, lease=60).outcome == "taken"
    # An API trigger while held: nothing written.
    held = store.claim_job("drift", slot=None, trigger="api", holder="b", now=t2, lease=60)
    assert (held.outcome, held.job_run_id, held.holder) == ("held", None, "a")
    # Renewal: only by the holder.
    assert not store.renew_job_lock("drift", "b", t + timedelta(seconds=200))
    assert store.renew_job_lock("drift", "a", t + timedelta(seconds=120))
    late = t + timedelta(seconds=100)
    assert store.claim_job("drift", slot=None, trigger="api", holder="b", now=late, lease=60).outcome == "held"
    # After the lease expires another daemon takes over (a crashed holder does not block the job forever).
    expired = t + timedelta(seconds=121)
    taken = store.claim_job("drift", slot=None, trigger="api", holder="b", now=expired, lease=60)
    assert taken.outcome == "acquired"
    # The row of a's run is abandoned now (b acquired the lock after it started); b's is not.
    reaped = store.reap_job_runs(expired)
    assert reaped == [a.job_run_id]
    states = {r.id: r.state for r in store.job_runs("drift", limit=10)}
    assert states == {a.job_run_id: "abandoned", skipped.job_run_id: "skipped", taken.job_run_id: "running"}
    assert store.finish_job_run(taken.job_run_id or "", state="ok", finished_at=expired, exit_code=0)
    assert not store.finish_job_run(taken.job_run_id or "", state="failed", finished_at=expired)
    assert not store.release_job_lock("drift", "a")
    assert store.release_job_lock("drift", "b")
    assert store.job_lock("drift") is None
    assert store.job_ran_since("drift", expired)
    assert not store.job_ran_since("drift", expired + timedelta(seconds=1))
    latest = store.latest_job_runs()
    assert latest["drift"].id == taken.job_run_id
    assert store.latest_job_runs(exclude_states=("running", "ok"))["drift"].id == skipped.job_run_id


# ---------------------------------------------------------------- heartbeat


def test_heartbeat_pings_start_then_success_or_fail_with_the_run_id(make: Make, store: Store) -> None:
    with FakeWebhook() as hook:
        heartbeat = Heartbeat(hook.url_with("/ping/abc?create=1"), timeout=2)
        scheduler, _, jobs = make({"drift": "0 8 * * *", "canary": "0 9 * * *", "check": "0 10 * * *"},
                                  utc("2026-05-01T07:59:00"), heartbeat=heartbeat, timeout=60)
        jobs.exit_codes["drift"] = 1  # a warning still counts as success
        jobs.exit_codes["canary"] = 2  # critical: /fail
        jobs.failures["check"] = [RuntimeError("boom")]
        scheduler.run(until=utc("2026-05-01T10:30:00"))
        seen = hook.wait_for(6, timeout=5)
    ids = {r.job: str(uuid.UUID(r.id)) for r in rows(store)}
    got = [(r.method, r.path, r.query) for r in seen]
    assert got == [
        ("POST", "/ping/abc/start", f"create=1&rid={ids['drift']}"),
        ("POST", "/ping/abc", f"create=1&rid={ids['drift']}"),
        ("POST", "/ping/abc/start", f"create=1&rid={ids['canary']}"),
        ("POST", "/ping/abc/fail", f"create=1&rid={ids['canary']}"),
        ("POST", "/ping/abc/start", f"create=1&rid={ids['check']}"),
        ("POST", "/ping/abc/fail", f"create=1&rid={ids['check']}"),
    ]
    assert seen[5].body.decode() == "check: failed: RuntimeError: boom"
    assert "abc" not in repr(heartbeat)


def test_a_hanging_heartbeat_endpoint_does_not_hold_up_jobs() -> None:
    with FakeWebhook() as hook:
        hook.hang_next(3, count=2)
        heartbeat = Heartbeat(hook.url, timeout=0.5)
        started = time.monotonic()
        for n in range(3):
            heartbeat.ping("start", f"rid-{n}", "x")
        assert time.monotonic() - started < 0.1  # queued, never waited for
        assert heartbeat.flush(5)
        assert heartbeat.failed == 2 and heartbeat.sent == 1


def test_one_line() -> None:
    assert one_line(ValueError("first\nsecond")) == "ValueError: first"
    assert one_line(KeyError()) == "KeyError"
    assert one_line(RuntimeError("x" * 1000)).endswith("…")
    assert len(one_line(RuntimeError("x" * 1000))) == 500


@pytest.mark.parametrize("store_url", ["sqlite", "postgres"], indirect=True)
def test_the_daemons_reads_in_the_store(store: Store) -> None:
    from deploywatch.store import FindingRecord, MetricRecord, RunRecord

    def record(command: str, at: datetime, subjects: list[str], values: Sequence[float | None] = ()) -> str:
        run = RunRecord(id=uuid.uuid4().hex, command=command, started_at=at, finished_at=at, run_date=at.date(),
                        status="ok", exit_code=0, score=90.0 if command == "check" else None)
        found = [FindingRecord(run.id, command, s, "warning", f"{s} is fine", f"{command}:{s}", {"n": i})
                 for i, s in enumerate(subjects)]
        measured = [MetricRecord(run.id, "rows", f"g{i}", "row_count", at.date(), at, v, "ok")
                    for i, v in enumerate(values)]
        store.record_run(run, found, measured)
        return run.id

    t = utc("2026-05-01T08:00:00")
    record("drift", t, ["old"])
    newest_drift = record("drift", t + timedelta(hours=1), ["api", "web"])
    canary = record("canary", t + timedelta(minutes=30), ["rows[g0]"], [1.5, None])
    newest = store.newest_runs_with_findings()
    assert [(run.command, run.id) for run, _ in newest] == [("drift", newest_drift), ("canary", canary)]
    assert [(f.subject, f.details) for f in newest[0][1]] == [("api", {"n": 0}), ("web", {"n": 1})]
    assert [run.command for run, _ in store.newest_runs_with_findings(["canary", "check"])] == ["canary"]
    assert store.newest_runs_with_findings(["check"]) == []
    points = store.run_metrics([canary])
    assert [(p.check, p.group, p.value) for p in points] == [("rows", "g0", 1.5), ("rows", "g1", None)]
    assert store.run_metrics([]) == []


def test_a_job_that_exits_3_is_recorded_failed_never_ok(make: Make, store: Store) -> None:
    scheduler, _, jobs = make({"canary": "0 8 * * *"}, utc("2026-05-01T07:59:00"))
    jobs.exit_codes["canary"] = 3
    scheduler.run(until=utc("2026-05-01T08:30:00"))
    [row] = rows(store, "canary")
    assert (row.state, row.exit_code, row.run_id) == ("failed", 3, "canary-run-0")
    assert row.error == "exit 3 (unknown): call 0"
    assert exit_code_of([row]) == 3
