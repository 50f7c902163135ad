"""The run lock of ``remediate --apply`` is a lease: renewed while a deploy runs, lapsing within one lease after
the run is killed, then taken over by the next run, which audits the first as abandoned. Real processes: a
``deploywatch remediate --apply`` killed with SIGKILL mid-deploy, a real deploy script, a real store."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from testing.gitrepo import GitRepo
from testing.platform import Platform, build_platform, process_env

LEASE = 6  # seconds: renewed every 2s
T0 = "2026-12-03T12:00:00Z"


@pytest.fixture
def platform(git_repo: GitRepo, tmp_path: Path) -> Platform:
    built = build_platform(git_repo, tmp_path)
    built.configure("[remediate]\nmax_unhealthy = 100\n", lease=f"{LEASE}s")
    return built


def wait_for(what: str, probe: Callable[[], Any], timeout: float = 30) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if found := probe():
            return found
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def running(platform: Platform) -> dict[str, Any] | None:
    code, status, err = platform.json("remediate", "status")
    assert code in (0, 1, 2), err
    lock: dict[str, Any] | None = status["running"]
    return lock


def children(pid: int) -> list[int]:
    path = Path(f"/proc/{pid}/task/{pid}/children")
    return [int(child) for child in path.read_text().split()] if path.exists() else []


def deploying(pid: int) -> list[int]:
    """The children of ``pid`` that run the platform's deploy script."""
    found = []
    for child in children(pid):
        with contextlib.suppress(OSError):
            if b"deploy.sh" in Path(f"/proc/{child}/cmdline").read_bytes():
                found.append(child)
    return found


@contextlib.contextmanager
def remediation_in_background(platform: Platform) -> Iterator[subprocess.Popen[str]]:
    """``deploywatch remediate --service web --apply`` as its own process; whatever is left of it is killed after."""
    proc = subprocess.Popen([sys.executable, "-m", "deploywatch", "remediate", "--service", "web", "--apply",
                             "--now", T0, "--format", "json", "--config", str(platform.config)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=process_env())
    deploy_groups: list[int] = []
    try:
        yield proc
    finally:
        deploy_groups += children(proc.pid)
        proc.kill()
        proc.communicate(timeout=30)
        for group in deploy_groups:  # the deploy command runs in its own session: end it too
            with contextlib.suppress(ProcessLookupError):
                os.killpg(group, signal.SIGKILL)


def test_a_killed_run_s_lock_lapses_within_the_lease_and_the_next_run_audits_it_abandoned(
        platform: Platform) -> None:
    (platform.ops / "plant" / "sleep").write_text("60\n")  # the deploy command sleeps: the run is mid-deploy
    with remediation_in_background(platform) as proc:
        first = wait_for("the run to take the lock", lambda: running(platform))
        assert first["holder"].split(":")[1] == str(proc.pid) and not first["lapsed"]
        wait_for("the deploy command to start", lambda: deploying(proc.pid))
        # renewed while the deploy command runs: the lock's end moves on
        renewed = wait_for("a renewal", lambda: (lock := running(platform)) and lock["until"] != first["until"]
                           and lock, timeout=LEASE * 2)
        assert renewed["holder"] == first["holder"] and renewed["renewed_at"] > first["renewed_at"]
        code, out, _ = platform.cli("remediate", "status")
        assert f"running: {first['holder']} since " in out and "lapses at" in out

        code, document, _ = platform.json("remediate", "--service", "web", "--apply", "--now", T0)
        assert code == 3 and document["refused"].startswith(f"another remediation is running ({first['holder']}")

        children_before = deploying(proc.pid)
        assert children_before, "the run is not mid-deploy"
        proc.send_signal(signal.SIGKILL)
        killed_at = datetime.now().astimezone()
        proc.wait(timeout=10)
        for group in children_before:  # the platform gives up on the deploy too; its script never finishes
            os.killpg(group, signal.SIGKILL)
    lock = running(platform)
    assert lock is not None and lock["holder"] == first["holder"]
    lapses = datetime.fromisoformat(lock["until"])
    assert lapses <= killed_at + timedelta(seconds=LEASE), "the lock outlives its holder by more than one lease"
    wait_for("the lock to lapse", lambda: running(platform)["lapsed"], timeout=LEASE * 2)
    code, out, _ = platform.cli("remediate", "status")
    assert f"the run of {first['holder']} stopped renewing its lock" in out

    (platform.ops / "plant" / "sleep").unlink()
    code, document, err = platform.json("remediate", "--service", "web", "--apply", "--now", T0)
    assert code == 0, err
    assert document["decisions"][0]["result"] == "succeeded" and platform.deployed("web") == platform.shas["web2"]
    code, log, _ = platform.json("audit")
    rows = [(e["kind"], e["subject"], e["decision"], e["details"].get("run")) for e in log["entries"]]
    second = rows[-1][3]
    assert second != first["holder"]
    assert rows == [("redeploy", "web", "acted", first["holder"]),
                    ("run", "fleet", "abandoned", first["holder"]),
                    ("redeploy", "web", "abandoned", first["holder"]),
                    ("redeploy", "web", "acted", second),
                    ("redeploy", "web", "succeeded", second)]
    assert "stopped renewing its lock" in log["entries"][1]["reason"]
    code, ledger, _ = platform.json("deployments")
    assert [e["status"] for e in ledger["deployments"]] == ["succeeded", "abandoned"]  # newest first
    assert running(platform) is None  # released when the second run ended


def test_a_lease_taken_over_while_its_run_works_is_lost_and_renewals_stop(tmp_path: Path) -> None:
    from datetime import UTC

    from deploywatch.remediate.lease import RunLease
    from deploywatch.store import Store

    def clock() -> datetime:
        return datetime.now(UTC)

    with Store.open(f"sqlite:///{tmp_path / 'state.db'}") as store:
        with RunLease(store, "mine", 0.6, clock) as lease:
            assert lease.claim.held_by is None
            first = store.remediation_states()["lock"]
            wait_for("a renewal", lambda: store.remediation_states()["lock"]["until"] != first["until"], timeout=5)
            assert not lease.lost
            store.release_remediation_lock("mine")  # as if it lapsed and another run took it over
            assert store.claim_remediation_lock("theirs", clock(), clock() + timedelta(minutes=5)).held_by is None
            wait_for("the renewal to find the lock gone", lambda: lease.lost, timeout=5)
        assert store.remediation_states()["lock"]["holder"] == "theirs"  # leaving did not release theirs
        with RunLease(store, "third", 0.6, clock) as refused:
            assert refused.claim.held_by == "theirs"
        assert store.remediation_states()["lock"]["holder"] == "theirs"
