"""A daemon killed with SIGKILL in the middle of a job, restarted within the job's lease: the restarted daemon marks
the dead run ``abandoned`` once the lease ends, then runs its slot again (catch-up)."""

from __future__ import annotations

import signal
from pathlib import Path

from deploywatch.store.jobs import JobRunRecord
from testing.daemon import Daemon, one_service, wait_for


def test_a_run_of_a_killed_daemon_is_reaped_after_its_lease_and_its_slot_runs_again(tmp_path: Path) -> None:
    # The first drift hangs (its daemon is killed meanwhile); any later one answers at once.
    source = "test -e first-started || { touch first-started; sleep 30; }; cat deployed/api.sha"
    config = one_service(tmp_path, deployed=f'{{ command = "{source}", timeout = "60s" }}',
                         schedule='drift = "0 0 1 1 *"\ncatch_up = true\nlease = "3s"')

    first = Daemon(config).wait_ready()
    try:
        wait_for("the first daemon's catch-up drift to hang", (tmp_path / "first-started").exists)
        with first.store() as store:
            [dead] = store.job_runs("drift", limit=10)
        assert (dead.state, dead.trigger) == ("running", "catch-up")
        first.proc.send_signal(signal.SIGKILL)
        first.proc.wait(10)
    finally:
        first.close()

    second = Daemon(config).wait_ready()  # within the 3 s lease: the dead run still looks alive
    try:
        def both_ended() -> list[JobRunRecord] | None:
            with second.store() as store:
                found = store.job_runs("drift", limit=10)
            return found if len(found) == 2 and all(r.state != "running" for r in found) else None

        again, reaped = wait_for("the dead run to be reaped and its slot to run again", both_ended, timeout=30)
        assert reaped.id == dead.id
        assert reaped.state == "abandoned"
        assert (again.trigger, again.state, again.exit_code) == ("catch-up", "ok", 0)
        assert again.scheduled_for == dead.scheduled_for
        health = second.http.get("/healthz").json()
        assert [j["last"]["state"] for j in health["jobs"] if j["job"] == "drift"] == ["ok"]
        code, _ = second.terminate()
        assert code == 0, second.output()
    finally:
        second.close()
