"""A data check as a rollout analysis with ``baseline_compare``: the step's values against the check's stored history
from before the deploy, in a real DuckDB warehouse, a real store and real deploywatch processes."""

from __future__ import annotations

import math
from collections.abc import Iterator
from pathlib import Path

import pytest

from testing.fleet import Fleet, build_fleet
from testing.gitrepo import GitRepo
from testing.warehouse import Table, create_duckdb, execute

REGIONS = ("eu", "us", "asia", "africa", "oceania", "americas")
CHECK = "phase5.predictions.latency"


@pytest.fixture
def fleet(git_repo: GitRepo, tmp_path: Path) -> Iterator[Fleet]:
    yield from build_fleet(git_repo, tmp_path)


def warehouse(fleet: Fleet, tmp_path: Path, latencies: list[float], *, analysis: str = "") -> str:
    """A ``latency`` table (one row per region), the check ``phase5.predictions.latency`` (avg ms per region) and a
    rollout analysis comparing it with its baseline; the warehouse URL."""
    url = create_duckdb(tmp_path / "warehouse.duckdb", [Table("latency", {"region": "TEXT", "ms": "DOUBLE"})])
    set_latencies(url, latencies)
    checks = (f'[warehouse]\nurl = "{url}"\n\n[[checks]]\nname = "{CHECK}"\ntable = "latency"\n'
              'group_by = "region"\nsql = "avg(ms)"\n')
    fleet.configure('[[services.web.rollout.analysis]]\nchecks = ["phase5.predictions.*"]\nbaseline_compare = true\n'
                    f'min_samples = 6\n{analysis}', extra=checks)
    return url


def set_latencies(url: str, latencies: list[float]) -> None:
    execute(url, "DELETE FROM latency", *(f"INSERT INTO latency VALUES ('{r}', {v})"
                                          for r, v in zip(REGIONS, latencies, strict=True)))


def record_baseline(fleet: Fleet, now: str) -> None:
    """``deploywatch canary --now NOW``: the check's values stored, as the daemon would have before the deploy."""
    code, _, err = fleet.json("canary", "--now", now)
    assert code == 0, err


def test_a_check_worse_than_its_stored_baseline_fails_the_step_and_names_the_baseline_runs(
        fleet: Fleet, tmp_path: Path) -> None:
    url = warehouse(fleet, tmp_path, [10, 12, 11, 13, 9, 8])
    record_baseline(fleet, "2026-11-01T08:00:00Z")
    set_latencies(url, [20, 22, 19, 25, 21, 23])  # the new revision is slower in every region
    code, document, err = fleet.json("deploy", "web", "--yes")
    assert code == 2, err
    (entry,) = document["deploys"]
    assert entry["status"] == "rolled_back" and fleet.service().weights == [10, 0]
    # every canary value is above every baseline value: U = 6 x 6, and of the C(12, 6) orderings only this one
    # gives it, so the exact one-sided p = 1 / C(12, 6)
    p = 1 / math.comb(12, 6)
    assert f"check {CHECK}: the canary is higher than the baseline: Mann-Whitney U=36 (exact), p={p:.6g}" \
        in entry["reason"]
    assert "baseline: 6 stored values (the newest before the deploy) from 1 run" in entry["reason"]
    assert "measured 2026-11-01T08:00:00Z to 2026-11-01T08:00:00Z" in entry["reason"]
    analysis = next(e for e in fleet.status()["rollout"]["events"] if e["event"] == "analysis")
    (compared,) = analysis["measurements"][0]["compared"]
    assert compared["canary_samples"] == 6 and compared["baseline_samples"] == 6
    assert len(compared["baseline_runs"]) == 1 and compared["baseline_from"] == "2026-11-01T08:00:00Z"


def test_a_check_like_its_baseline_passes_every_step(fleet: Fleet, tmp_path: Path) -> None:
    url = warehouse(fleet, tmp_path, [10, 12, 11, 13, 9, 14])
    record_baseline(fleet, "2026-11-01T08:00:00Z")
    set_latencies(url, [10.5, 11.5, 12.5, 9.5, 13.5, 8.5])
    code, document, err = fleet.json("deploy", "web", "--yes")
    assert code == 0, err
    assert fleet.service().weights == [10, 25, 50, 100]
    detail = next(s for s in document["deploys"][0]["steps"] if s["name"] == "rollout")["detail"]
    assert f"check {CHECK}: no evidence the canary is higher: Mann-Whitney U=" in detail


def test_no_stored_history_is_inconclusive_and_pauses_never_a_pass(fleet: Fleet, tmp_path: Path) -> None:
    warehouse(fleet, tmp_path, [10, 12, 11, 13, 9, 8])
    code, document, _ = fleet.json("deploy", "web", "--yes")
    assert code == 2
    (entry,) = document["deploys"]
    assert entry["status"] == "paused" and fleet.service().weights == [10]
    assert "no data: baseline has 0 of min_samples 6" in entry["reason"]
    assert "baseline: no stored values the newest before the deploy" in entry["reason"]


def test_baseline_window_keeps_only_values_measured_that_long_before_the_deploy(
        fleet: Fleet, tmp_path: Path) -> None:
    url = warehouse(fleet, tmp_path, [10, 12, 11, 13, 9, 8], analysis='baseline_window = "30d"\n')
    record_baseline(fleet, "2020-01-01T08:00:00Z")  # years before: outside the window, not a baseline
    set_latencies(url, [20, 22, 19, 25, 21, 23])
    code, document, _ = fleet.json("deploy", "web", "--yes")
    assert code == 2
    reason = document["deploys"][0]["reason"]
    assert "baseline has 0 of min_samples 6" in reason and "within baseline_window 30d before the deploy" in reason
    assert fleet.status()["rollout"]["state"] == "paused"


def test_too_few_baseline_values_are_inconclusive(fleet: Fleet, tmp_path: Path) -> None:
    url = warehouse(fleet, tmp_path, [10, 12, 11, 13, 9, 8], analysis="")
    execute(url, "DELETE FROM latency WHERE region IN ('eu', 'us', 'asia')")
    record_baseline(fleet, "2026-11-01T08:00:00Z")  # three regions measured: three values
    set_latencies(url, [20, 22, 19, 25, 21, 23])
    code, document, _ = fleet.json("deploy", "web", "--yes")
    assert code == 2
    reason = document["deploys"][0]["reason"]
    assert "too few samples: baseline has 3 of min_samples 6" in reason
    assert document["deploys"][0]["status"] == "paused"


def test_baseline_window_is_refused_without_baseline_compare(fleet: Fleet, tmp_path: Path) -> None:
    fleet.configure('[[services.web.rollout.analysis]]\nprobes = ["web smoke"]\nbaseline_window = "1d"\n',
                    extra='[[probes]]\nname = "web smoke"\ncommand = "true"\n')
    code, out, err = fleet.cli("deploy", "web", "--yes")
    assert code == 3 and out == "" and err.count("\n") == 1
    assert "services.web.rollout.analysis" in err and "baseline_window" in err


def test_a_probe_is_compared_with_the_values_stored_by_the_unified_check(fleet: Fleet) -> None:
    fleet.configure('[[services.web.rollout.analysis]]\nprobes = ["web smoke"]\nbaseline_compare = true\n',
                    extra='[[probes]]\nname = "web smoke"\ncommand = "echo OK - fine; exit 0"\n')
    code, check, err = fleet.json("check", "--now", "2026-11-01T08:00:00Z")  # stores the probe's value (exit 0)
    assert check["run_id"], err
    code, document, err = fleet.json("deploy", "web", "--yes")
    assert code == 0, err
    assert fleet.service().weights == [10, 25, 50, 100]
    detail = next(s for s in document["deploys"][0]["steps"] if s["name"] == "rollout")["detail"]
    assert "probe web smoke: no evidence the canary is higher" in detail
    assert f"baseline: 1 stored value (the newest before the deploy) from 1 run ({check['run_id'][:8]})" in detail
    analysis = next(e for e in fleet.status()["rollout"]["events"] if e["event"] == "analysis")
    (compared,) = analysis["measurements"][0]["compared"]
    assert compared["baseline_runs"] == [check["run_id"]] and compared["canary_samples"] == 1
