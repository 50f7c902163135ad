"""Two ``deploywatch serve`` replicas on one PostgreSQL store, as real processes (the production setup of
docs/operations.md): each scheduled slot runs once, a replica killed with SIGKILL in the middle of a job is
replaced by the other one within the job's lease, an alert goes out once per transition, and both replicas answer
the API and the dashboard with the same store behind them.

A replica is killed twice: in a slot both replicas reached for at start-up (the survivor knew of the lease from
the start), and in a job it claimed after the survivor's last look at the leases (the survivor must find the lease
on its own, within the lease: before the fix it looked again only 5 minutes later).

The slots come from the scheduler's catch-up rule: a yearly schedule (``0 0 1 1 *``) with ``catch_up = true``
has a most recent slot (1 January) that has not run, so both replicas, started together, reach for it at
start-up — the same claim a slot due on the clock goes through (many clock-driven slots of two schedulers on one
store run in simulated time in scheduler_test.py).
"""

from __future__ import annotations

import signal
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg

from deploywatch.store import Store
from deploywatch.store.jobs import JobRunRecord
from testing.daemon import TOKEN, Daemon, one_service, wait_for
from testing.gitrepo import GitRepo
from testing.webhook_api import FakeWebhook

YEARLY = "0 0 1 1 *"
LEASE = 3.0


def slot_of_this_year() -> datetime:
    """The most recent slot of ``YEARLY`` (the catch-up slot both replicas reach for)."""
    return datetime(datetime.now(UTC).year, 1, 1, tzinfo=UTC)


def replica_workspace(tmp_path: Path, store_url: str, hook: FakeWebhook, *, source: str,
                      jobs: str = f'drift = "{YEARLY}"') -> Path:
    """One service ``api`` one relevant commit behind (drift alerts), the store on PostgreSQL, a webhook sink.

    ``source`` is the shell command that prints the deployed commit (it may hang, to hold a job running)."""
    config = one_service(tmp_path, deployed=f'{{ command = "{source}", timeout = "60s" }}',
                         schedule=f'{jobs}\ncatch_up = true\nlease = "{LEASE:g}s"',
                         extra=f'\n[store]\nurl = "{store_url}"\n\n[[alerts.webhook]]\nurl = "{hook.url}"\n')
    GitRepo.existing(tmp_path / "repo").commit("api: two", {"api/main.py": "print('two')\n"})  # the tip moves on
    return config


@contextmanager
def replicas(config: Path, store_url: str, count: int = 2) -> Iterator[list[Daemon]]:
    """``count`` daemons on one config, started together; each stopped (SIGTERM, exit 0) at the end unless killed."""
    started = [Daemon(config, store_url=store_url) for _ in range(count)]
    try:
        for daemon in started:
            daemon.wait_ready()
        yield started
        for daemon in started:
            if daemon.proc.poll() is None:
                code, _ = daemon.terminate()
                assert code == 0, daemon.output()
            assert TOKEN not in daemon.output()
    finally:
        for daemon in started:
            daemon.close()


class ClaimsHeld:
    """Holds every claim of a job in the store (``job_locks`` locked against writes) until :meth:`release`.

    With both replicas waiting (one in its claim of the slot, holding the claims' lock; the other for that lock, in
    its start-up reap or its own claim), they reach for the slot at the same moment once released. Which of the
    two the second one was waiting in is up to the race; the exact interleavings are run in simulated time in
    scheduler_test.py."""

    def __init__(self, url: str) -> None:
        with Store.open(url):
            pass  # the schema
        conninfo = url.replace("postgresql+psycopg://", "postgresql://")
        self._holder = psycopg.connect(conninfo, connect_timeout=10)
        self._holder.execute("LOCK TABLE job_locks IN EXCLUSIVE MODE")
        self._watcher = psycopg.connect(conninfo, connect_timeout=10, autocommit=True)

    def waiting(self) -> int:
        """How many sessions wait for a lock (a claim waits on the table, the next one on the claims' lock)."""
        row = self._watcher.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                                    "AND wait_event_type = 'Lock'").fetchone()
        return int(row[0]) if row else 0

    def release(self) -> None:
        """Let the claims go ahead (idempotent)."""
        if not self._holder.closed:
            self._holder.rollback()
            self._holder.close()
        self._watcher.close()


def job_runs(url: str, job: str) -> list[JobRunRecord]:
    with Store.open(url) as store:
        return store.job_runs(job, limit=100)


def ended(url: str, job: str, count: int) -> list[JobRunRecord] | None:
    """The job's rows, once there are ``count`` and none is running."""
    found = job_runs(url, job)
    return found if len(found) == count and all(r.state != "running" for r in found) else None


def started_here(daemon: Daemon, job: str) -> int:
    """How many times ``daemon``'s log says it started ``job``."""
    return daemon.output().count(f"deploywatch.scheduler: {job}: started")


def drift_messages(hook: FakeWebhook) -> list[tuple[str, str, str]]:
    """(message id, subject, status) of every drift notification the webhook accepted."""
    return [(r.json["id"], n["subject"], n["status"]) for r in hook.requests if r.accepted and r.json
            for n in r.json["notifications"] if n["kind"] == "drift"]


def test_two_replicas_run_each_slot_once_and_serve_the_same_api_and_dashboard(
        postgres_url: str, tmp_path: Path) -> None:
    with FakeWebhook() as hook:
        # Each job takes a second, so the second replica reaches for a slot while the first still runs it.
        config = replica_workspace(tmp_path, postgres_url, hook, source="sleep 1; cat deployed/api.sha",
                                   jobs=f'drift = "{YEARLY}"\ncheck = "{YEARLY}"')
        held = ClaimsHeld(postgres_url)
        try:
            with replicas(config, postgres_url) as (first, second):
                wait_for("both replicas to claim the drift slot", lambda: held.waiting() == 2, timeout=30)
                held.release()
                for job in ("drift", "check"):
                    [row] = wait_for(f"the {job} slot to run", lambda job=job: ended(postgres_url, job, 1), timeout=60)
                    assert (row.scheduled_for, row.trigger, row.state) == (slot_of_this_year(), "catch-up", "ok"), row
                    assert started_here(first, job) + started_here(second, job) == 1
                with Store.open(postgres_url) as store:
                    [drift_run] = store.runs(command="drift", limit=10)
                    assert len(store.runs(command="check", limit=10)) == 1
                wait_for("the drift alert", lambda: drift_messages(hook))

                # Both answer the API from the one store: the same job runs, the same latest drift.
                for daemon in (first, second):
                    listed = daemon.http.get("/api/runs", params={"kind": "drift"}).json()
                    assert [r["id"] for r in listed["runs"]] == [drift_run.id], listed
                    assert daemon.http.get("/api/drift").json()["run"]["id"] == drift_run.id
                    health = daemon.http.get("/healthz").json()
                    assert health["status"] == "ok"
                    assert [j["last"]["state"] for j in health["jobs"] if j["job"] == "drift"] == ["ok"]

                # Each replica caches dashboard pages in its own process, keyed on the store's generation: a run
                # recorded through one replica shows at once on the other, whose cached page was older.
                pages = {d.port: d.http.get("/runs") for d in (first, second)}
                assert all(p.status_code == 200 and drift_run.id[:8] in p.text for p in pages.values())
                again = first.run_job("drift")
                assert (again.state, again.trigger) == ("ok", "api")
                for daemon in (second, first):
                    page = daemon.http.get("/runs")
                    assert page.status_code == 200 and again.run_id is not None and again.run_id[:8] in page.text

                # The second drift saw the same finding (still behind): no new transition, nothing sent again.
                assert len(drift_messages(hook)) == 1
                [(_, subject, status)] = drift_messages(hook)
                assert subject == "api" and status != "ok"
        finally:
            held.release()


def test_an_alert_being_delivered_by_one_replica_is_not_sent_by_the_other(postgres_url: str, tmp_path: Path) -> None:
    with FakeWebhook() as hook:
        config = replica_workspace(tmp_path, postgres_url, hook, source="cat deployed/api.sha")
        hook.hang_next(6)  # the first delivery (the drift alert) takes six seconds
        with replicas(config, postgres_url) as (first, second):
            def claimed() -> bool:
                with Store.open(postgres_url) as store:
                    return any(r.claimed_by for r in store.outbox(states=("pending",)))

            wait_for("a replica to be delivering the drift alert", claimed, timeout=60)
            # Meanwhile the other replica routes and delivers too: a drift of its own (the slot's job is still
            # delivering, so through the API it is refused) and a check, whose delivery pass looks at the outbox.
            deliverer = first if started_here(first, "drift") else second
            other = second if deliverer is first else first
            assert other.post("/api/runs/drift").status_code == 409
            checked = other.run_job("check")
            assert checked.state == "ok", checked
            [row] = wait_for("the drift slot to end", lambda: ended(postgres_url, "drift", 1), timeout=30)
            assert row.state == "ok"
            messages = drift_messages(hook)
            assert [(subject, status) for _, subject, status in messages] == [("api", messages[0][2])]
            assert len(hook.requests) == len({r.json["id"] for r in hook.requests if r.json})  # no repeat
            with Store.open(postgres_url) as store:
                assert [r.state for r in store.outbox(states=("pending", "dead", "delivered"))
                        if r.sink == "webhook"][-1] == "delivered"


def test_a_replica_killed_in_the_middle_of_a_job_is_replaced_by_the_other_within_the_lease(
        postgres_url: str, tmp_path: Path) -> None:
    # The first drift hangs (its replica is killed meanwhile); any later one answers at once.
    source = "test -e first-started || { touch first-started; sleep 30; }; cat deployed/api.sha"
    with FakeWebhook() as hook:
        config = replica_workspace(tmp_path, postgres_url, hook, source=source)
        with replicas(config, postgres_url) as daemons:
            wait_for("a replica's catch-up drift to hang", (tmp_path / "first-started").exists, timeout=60)
            with Store.open(postgres_url) as store:
                [dead] = store.job_runs("drift", limit=10)
                lock = store.job_lock("drift")
            assert lock is not None and (dead.state, dead.trigger) == ("running", "catch-up")
            [killed] = [d for d in daemons if lock.holder.split(":")[1] == str(d.proc.pid)]
            [survivor] = [d for d in daemons if d is not killed]
            killed.proc.send_signal(signal.SIGKILL)
            killed.proc.wait(10)
            with Store.open(postgres_url) as store:
                last = store.job_lock("drift")  # the lease as the killed replica last renewed it
            assert last is not None and last.holder == lock.holder
            assert last.expires_at <= datetime.now(UTC) + timedelta(seconds=LEASE)

            again, reaped = wait_for("the survivor to reap the dead run and run its slot again",
                                     lambda: ended(postgres_url, "drift", 2), timeout=30)
            assert (reaped.id, reaped.state) == (dead.id, "abandoned")
            # Reaped when the lease ran out: not before, and not a reap interval later.
            assert reaped.finished_at is not None
            assert last.expires_at <= reaped.finished_at <= last.expires_at + timedelta(seconds=2)
            assert (again.trigger, again.state, again.scheduled_for) == ("catch-up", "ok", dead.scheduled_for)
            assert started_here(survivor, "drift") == 1
            with Store.open(postgres_url) as store:
                assert store.job_lock("drift") is None
                assert len(store.runs(command="drift", limit=10)) == 1  # the dead run stored nothing
            wait_for("the drift alert", lambda: drift_messages(hook))
            time.sleep(0.5)
            assert len(drift_messages(hook)) == 1

            # The survivor serves on: the API, the dashboard, and the next run.
            assert survivor.http.get("/healthz").json()["status"] == "ok"
            assert survivor.http.get("/runs").status_code == 200
            assert survivor.run_job("drift").state == "ok"



def test_a_replica_killed_in_a_job_it_claimed_after_the_others_last_look_is_reaped_within_the_lease(
        postgres_url: str, tmp_path: Path) -> None:
    # The second drift (through the API) hangs; the first (the catch-up slot) and any later one answer at once.
    source = ("n=$(cat count 2>/dev/null || echo 0); echo $((n + 1)) > count; "
              "if [ $n = 1 ]; then touch hanging; sleep 30; fi; cat deployed/api.sha")
    with FakeWebhook() as hook:
        config = replica_workspace(tmp_path, postgres_url, hook, source=source)
        with replicas(config, postgres_url) as (doomed, survivor):
            wait_for("the drift slot to run", lambda: ended(postgres_url, "drift", 1), timeout=60)
            # Every lease the survivor saw (the slot's) has run out: it knows of no lease to follow.
            time.sleep(LEASE + 1)
            response = doomed.post("/api/runs/drift")
            assert response.status_code == 202, response.text
            wait_for("the API drift to hang", (tmp_path / "hanging").exists, timeout=30)
            with Store.open(postgres_url) as store:
                lock = store.job_lock("drift")
            assert lock is not None and lock.holder.split(":")[1] == str(doomed.proc.pid)
            doomed.proc.send_signal(signal.SIGKILL)
            doomed.proc.wait(10)
            with Store.open(postgres_url) as store:
                last = store.job_lock("drift")
            assert last is not None and last.holder == lock.holder

            [reaped, _] = wait_for("the survivor to reap the dead run", lambda: ended(postgres_url, "drift", 2),
                                   timeout=30)
            assert (reaped.id, reaped.trigger, reaped.state) == (response.json()["job_run_id"], "api", "abandoned")
            assert reaped.finished_at is not None
            assert last.expires_at <= reaped.finished_at <= last.expires_at + timedelta(seconds=2)
            assert survivor.run_job("drift").state == "ok"
            assert (tmp_path / "count").read_text(encoding="utf-8").strip() == "3"
