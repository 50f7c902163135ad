"""The demo's replayed canary history: three weeks of runs, each stored at its replayed time, with the planted
troubles of earlier nights (warnings, one incident, one anomaly) where the warehouse put them, the same for the same
``now``."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest

from deploywatch import load_config
from deploywatch.demo import DemoWorkspace, build_demo
from deploywatch.demo.builder import HISTORY_DAYS
from deploywatch.demo.warehouse_sql import LATE_ODDS_AGE, PARTIAL_SCRAPE_AGE, POSSESSION_GAP_AGES
from deploywatch.store import Store
from deploywatch.store.records import FindingRecord, RunRecord

NOW = dt.datetime(2026, 12, 10, 7, 30, tzinfo=dt.UTC)


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> DemoWorkspace:
    return build_demo(tmp_path_factory.mktemp("history") / "demo", now=NOW)


def _store(demo: DemoWorkspace) -> Store:
    from deploywatch.checks.runner import open_store

    return open_store(load_config(demo.config_path))


def _canary_runs(demo: DemoWorkspace) -> list[tuple[RunRecord, list[FindingRecord]]]:
    with _store(demo) as store:
        runs = sorted(store.runs(command="canary", limit=1000), key=lambda run: run.started_at)
        return [(run, store.findings(run.id)) for run in runs]


def _run_date(age: int) -> dt.date:
    """The run date whose "yesterday" is the game date ``age`` days before the demo's yesterday."""
    return NOW.date() - dt.timedelta(days=age)


def test_the_canary_runs_span_three_weeks_at_their_replayed_times(built: DemoWorkspace) -> None:
    runs = [run for run, _ in _canary_runs(built)]
    assert HISTORY_DAYS == 21
    assert [run.started_at for run in runs] == [NOW - dt.timedelta(days=d) for d in range(21, 0, -1)]
    assert [run.run_date for run in runs] == [(NOW - dt.timedelta(days=d)).date() for d in range(21, 0, -1)]
    assert all(run.finished_at is not None and dt.timedelta(0) <= run.finished_at - run.started_at
               < dt.timedelta(minutes=1) for run in runs)
    assert runs[-1].started_at - runs[0].started_at == dt.timedelta(days=20)


def test_the_history_has_warnings_one_incident_and_one_anomaly_where_they_were_planted(built: DemoWorkspace) -> None:
    bad: dict[dt.date | None, dict[str, str]] = {}
    for run, findings in _canary_runs(built):
        bad[run.run_date] = {f.subject: f.status for f in findings if f.kind == "check" and f.status != "ok"}
    critical = {(day, name) for day, found in bad.items() for name, status in found.items() if status == "critical"}
    assert critical == {(_run_date(PARTIAL_SCRAPE_AGE), "phase2.boxscores.rows")}  # the one incident
    warnings = {(day, name) for day, found in bad.items() for name, status in found.items() if status == "warning"}
    for age in POSSESSION_GAP_AGES:
        assert (_run_date(age), "phase3.team_offense.possessions_missing") in warnings
    assert (_run_date(LATE_ODDS_AGE), "phase4.vegas_line_coverage.yesterday") in warnings
    assert 3 <= len(warnings) <= 8  # a few, not a wall of yellow
    with _store(built) as store:
        points = store.measurements("phase4.vegas_line_coverage.yesterday", limit=1000)
    flagged = [p for p in points if p.anomalous]
    assert [p.run_date for p in flagged] == [_run_date(LATE_ODDS_AGE)]
    assert flagged[0].measured_at == NOW - dt.timedelta(days=LATE_ODDS_AGE)


def test_the_same_now_replays_the_same_history(built: DemoWorkspace, tmp_path: Path) -> None:
    again = build_demo(tmp_path / "again", now=NOW)

    def seen(demo: DemoWorkspace) -> list[tuple[Any, ...]]:
        return [(run.started_at, run.run_date, run.status, f.subject, f.status, f.details.get("value"))
                for run, findings in _canary_runs(demo) for f in findings]

    assert seen(again) == seen(built)
