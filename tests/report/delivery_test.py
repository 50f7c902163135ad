"""The report's delivery figures against oracles: lead times recomputed from ``git rev-list`` and the ledger
(``Lk ^L0 … ^L(k-1) -- pathspecs``, branch time from the first-parent chain), rates recounted from the ledger rows,
on a monorepo history with batched merges, a failure rolled back, a rollback and a redeploy."""

from __future__ import annotations

import json
import math
import statistics
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from deploywatch.cli import main
from deploywatch.core.durations import format_timestamp
from deploywatch.report.delivery import pooled_stats
from deploywatch.store import Store
from deploywatch.store.deployments import DeploymentRecord
from testing.gitrepo import GitRepo
from testing.oracle import on_branch_at, pathspecs
from testing.reportscene import PATHS, ReportScene, at, build_report_scene

FAILED = ("failed", "rolled_back", "paused")


def report(capsys: pytest.CaptureFixture[str], scene: ReportScene, *args: str) -> dict[str, Any]:
    capsys.readouterr()
    code = main(["report", "--config", str(scene.config), "--format", "json", "--now",
                 format_timestamp(scene.end), *args])
    out = capsys.readouterr()
    assert code == 0, out.err
    document: dict[str, Any] = json.loads(out.out)
    return document


def end(entry: Any) -> datetime:
    return entry.finished_at or entry.started_at


def oracle_lead_times(scene: ReportScene, service: str, since: datetime,
                      until: datetime) -> list[tuple[str, int, float]]:
    """(commit, deployment id, seconds) of every relevant commit first live in the window, straight from git."""
    tip = scene.repo.head("main")
    live = sorted((e for e in scene.entries if e.service == service and e.status == "succeeded" and end(e) < until),
                  key=lambda e: (end(e), e.id))
    paths, exclude = PATHS[service]
    found = []
    for k in range(1, len(live)):
        if not since <= end(live[k]):
            continue
        negatives = [f"^{e.to_commit}" for e in live[:k]]
        listed = scene.repo.git("rev-list", "--no-merges", "--full-history", live[k].to_commit, *negatives, "--",
                                *pathspecs(paths, exclude)).split()
        for sha in listed:
            seconds = max(0.0, end(live[k]).timestamp() - on_branch_at(scene.repo, sha, tip))
            found.append((sha, live[k].id, seconds))
    return sorted(found)


def oracle_rates(scene: ReportScene, service: str, since: datetime, until: datetime) -> dict[str, Any]:
    own = [e for e in scene.entries if e.service == service]
    changes = [e for e in own if e.how in ("deploy", "record") and e.status in ("succeeded", *FAILED)
               and since <= end(e) < until]
    failures = [e for e in changes if e.status in FAILED]
    recoveries = []
    for failure in failures:
        later = sorted((e for e in own if e.status == "succeeded" and end(e) > end(failure) and end(e) < until),
                       key=lambda e: (end(e), e.id))
        recoveries.append((end(later[0]) - end(failure)).total_seconds() if later else None)
    return {"deploys": sum(1 for e in changes if e.status == "succeeded"), "changes": len(changes),
            "failed": len(failures), "recoveries": recoveries}


def nearest_rank_p90(values: list[float]) -> float | None:
    return sorted(values)[math.ceil(0.9 * len(values)) - 1] if values else None


def windows(scene: ReportScene) -> list[tuple[datetime, datetime]]:
    """The whole history, and windows whose edges fall between entries (and on one entry's finish)."""
    ends = sorted(end(e) for e in scene.entries)
    return [(scene.start, scene.end), (ends[2], scene.end), (scene.start, ends[5]),
            (ends[3] + timedelta(seconds=1), ends[9] - timedelta(seconds=1)), (ends[6], ends[7])]


def check_against_oracle(capsys: pytest.CaptureFixture[str], scene: ReportScene) -> int:
    compared = 0
    for since, until in windows(scene):
        document = report(capsys, scene, "--since", format_timestamp(since), "--until", format_timestamp(until),
                          "--commits")
        pooled: list[float] = []
        for one in document["delivery"]["services"]:
            service = one["service"]
            expected = oracle_lead_times(scene, service, since, until)
            got = sorted((lead["commit"], deploy["deployment_id"], lead["lead_time_seconds"])
                         for deploy in one["lead_times"] for lead in deploy["commit_list"])
            assert got == expected, (service, since, until)
            for deploy in one["lead_times"]:  # each deploy's summary of its commits
                listed = [lead["lead_time_seconds"] for lead in deploy["commit_list"]]
                assert deploy["commits"] == len(listed) > 0
                assert deploy["lead_time_seconds"] == {"min": min(listed), "max": max(listed),
                                                       "median": statistics.median(listed)}
                assert deploy["oldest_commit"] == deploy["commit_list"][0]["commit"]
            seconds = [s for _, _, s in expected]
            pooled += seconds
            assert one["lead_time_seconds"] == {"count": len(seconds),
                                                "median": statistics.median(seconds) if seconds else None,
                                                "p90": nearest_rank_p90(seconds)}
            rates = oracle_rates(scene, service, since, until)
            assert (one["deploys"], one["changes"], one["failed_changes"]) == (rates["deploys"], rates["changes"],
                                                                               rates["failed"])
            assert one["change_failure_rate"] == (round(rates["failed"] / rates["changes"], 4) if rates["changes"]
                                                  else None)
            weeks = (until - since).total_seconds() / (7 * 86400)
            assert one["deploys_per_week"] == round(rates["deploys"] / weeks, 3)
            recovered = [r for r in rates["recoveries"] if r is not None]
            assert one["recovery_time_seconds"] == {
                "count": len(recovered), "median": statistics.median(recovered) if recovered else None,
                "unrecovered": rates["recoveries"].count(None)}
            compared += len(expected)
        overall = document["delivery"]["overall"]
        assert overall["lead_time_seconds"]["count"] == len(pooled)
        assert overall["lead_time_seconds"]["median"] == (statistics.median(pooled) if pooled else None)
    return compared


@pytest.mark.parametrize("walk_cache", ["off", "on"])
def test_lead_times_and_rates_equal_git_and_the_ledger_for_every_window(
        scene: ReportScene, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
        walk_cache: str) -> None:
    monkeypatch.setenv("DEPLOYWATCH_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("DEPLOYWATCH_WALK_CACHE", "1" if walk_cache == "on" else "0")
    assert check_against_oracle(capsys, scene) > 5  # window after window: with the cache on, each extends the last
    assert bool(list(tmp_path.glob("cache/walk-*.walk"))) == (walk_cache == "on")


def test_a_deploy_of_a_branch_commit_before_its_merge_is_read_from_the_ancestry(
        scene: ReportScene, capsys: pytest.CaptureFixture[str]) -> None:
    repo, c = scene.repo, scene.commits
    repo.checkout("f3", new=True)
    c["api5"] = repo.commit("api five (branch)", {"api/app.py": "6\n"}, advance=600)
    c["shared2"] = repo.commit("shared two (branch)", {"shared/lib.py": "3\n"}, advance=600)
    repo.checkout("main")
    c["web4"] = repo.commit("web four", {"web/app.py": "5\n"}, advance=600)
    c["m3"] = repo.merge("f3", advance=600)
    # deployed from the branch, then merged: a live commit off the first-parent chain, commits live before they
    # reached the branch (lead time 0)
    assert c["shared2"] not in repo.git("rev-list", "--first-parent", "main").split()
    with Store.open(scene.url) as store:
        scene.entries.append(store.record_deployment(DeploymentRecord(
            service="api", to_commit=c["shared2"], status="succeeded", how="deploy", by="ci",
            started_at=at(repo.clock - 1000), finished_at=at(repo.clock - 900))))
    assert check_against_oracle(capsys, scene) > 5
    document = report(capsys, scene, "--since", format_timestamp(scene.start), "--commits")
    shipped = {lead["commit"]: lead for deploy in document["delivery"]["services"][0]["lead_times"]
               for lead in deploy["commit_list"]}
    assert shipped[c["api5"]]["lead_time_seconds"] == shipped[c["shared2"]]["lead_time_seconds"] == 0


def test_batched_monorepo_rollback_and_redeploy_are_counted_once_each(
        scene: ReportScene, capsys: pytest.CaptureFixture[str]) -> None:
    c = scene.commits
    document = report(capsys, scene, "--since", format_timestamp(scene.start), "--commits")
    api, web = document["delivery"]["services"]
    deploy_of = {lead["commit"]: deploy for deploy in api["lead_times"] for lead in deploy["commit_list"]}
    shipped = {lead["commit"]: lead for deploy in api["lead_times"] for lead in deploy["commit_list"]}
    # api1 was live at the first entry (unknown when); the docs-only and web commits never count for api
    assert set(shipped) == {c["api2"], c["shared"], c["api3"]}
    assert deploy_of[c["api2"]] is deploy_of[c["shared"]]  # one batched deploy
    assert deploy_of[c["api2"]]["commits"] == 2
    assert shipped[c["api2"]]["on_branch_at"] == format_timestamp(on_branch_at(scene.repo, c["api2"], c["api4"]))
    assert shipped[c["api2"]]["commit_url"] == f"https://example.com/c/{c['api2']}"
    assert deploy_of[c["api3"]]["compare_url"] == f"https://example.com/compare/{c['m2']}...{c['web3']}"
    assert {lead["commit"] for deploy in web["lead_times"] for lead in deploy["commit_list"]} == {c["web2"], c["web3"]}
    without = report(capsys, scene, "--since", format_timestamp(scene.start))  # the per-deploy drill-down only
    assert [{k: v for k, v in d.items() if k != "commit_list"} for d in api["lead_times"]] == \
        without["delivery"]["services"][0]["lead_times"]
    assert "lead_times" not in without["delivery"]["overall"]
    # L0, the batch, the redeploy after the rollback and its redeploy count; rollbacks and abandoned ones do not
    assert (api["changes"], api["failed_changes"], api["deploys"]) == (5, 1, 4)
    assert api["recovery_time_seconds"]["count"] == 1 and api["recovery_time_seconds"]["median"] == 100
    assert web["recovery_time_seconds"]["median"] == 3600
    assert document["delivery"]["overall"]["changes"] == api["changes"] + web["changes"]


def test_service_option_limits_the_report(scene: ReportScene, capsys: pytest.CaptureFixture[str]) -> None:
    document = report(capsys, scene, "--since", format_timestamp(scene.start), "--service", "web")
    assert document["services"] == ["web"] and [d["service"] for d in document["drift"]] == ["web"]


@pytest.mark.parametrize(("args", "message"), [
    (["--since", "soon"], "--since: expected a duration"),
    (["--until", "2020-01-01T00:00:00Z", "--since", "2021-01-01T00:00:00Z"], "must be before"),
    (["--service", "nope"], "unknown service 'nope'"),
])
def test_bad_arguments_are_one_line_errors(scene: ReportScene, capsys: pytest.CaptureFixture[str],
                                           args: list[str], message: str) -> None:
    capsys.readouterr()
    assert main(["report", "--config", str(scene.config), *args]) == 3
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err and len(err.strip().splitlines()) == 1


def test_on_postgresql_the_figures_are_the_same(git_repo: GitRepo, tmp_path: Path, postgres_url: str,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    scene = build_report_scene(git_repo, tmp_path, postgres_url)
    assert check_against_oracle(capsys, scene) > 5


# Few distinct values (ties across runs and across the sampled values) and runs longer than the sample's stride.
lead_seconds = st.lists(st.lists(st.integers(0, 40).map(float) | st.floats(0, 1e7, allow_nan=False), max_size=300),
                        max_size=6)


@given(lead_seconds)
@settings(max_examples=300)
def test_pooled_figures_are_those_of_the_values_sorted_together(runs: list[list[float]]) -> None:
    runs = [sorted(run) for run in runs]
    pooled = sorted(v for run in runs for v in run)
    expected = (len(pooled), statistics.median(pooled) if pooled else None,
                nearest_rank_p90(pooled) if pooled else None)
    assert pooled_stats(runs) == expected
