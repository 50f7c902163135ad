"""Build the demo warehouse: a DuckDB file shaped like the prediction platform's pipeline, with planted problems.

``build_warehouse(path, now=...)`` writes ``days`` game dates ending yesterday (``now.date()`` - 1 day)
of raw scrapes (phase 2), analytics (phase 3), features (phase 4) and predictions with their grading
(phase 5). All rows are generated inside DuckDB by a few set-based statements
(:mod:`deploywatch.demo.warehouse_sql`), so a build takes a fraction of a second and the same ``now``
always gives the same data. Four problems are planted for the data checks to find; the returned
:class:`WarehouseFacts` states them, read back from the written tables, and :func:`demo_checks_toml`
gives the checks that find them (:mod:`deploywatch.demo.warehouse_checks`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb

from .warehouse_checks import DEMO_CHECK_STATUSES, DEMO_GATE_DECISIONS, demo_checks_toml
from .warehouse_sql import SETUP, SYSTEMS, TABLES, UNGRADED_SYSTEM

__all__ = [
    "COVERAGE_WINDOW_DAYS",
    "DEMO_CHECK_STATUSES",
    "DEMO_GATE_DECISIONS",
    "STALE_TABLE",
    "SYSTEMS",
    "TIMESTAMP_COLUMNS",
    "UNGRADED_SYSTEM",
    "WarehouseFacts",
    "build_warehouse",
    "demo_checks_toml",
]

# Each table and the column that says when its rows landed (what a freshness check measures).
TIMESTAMP_COLUMNS: Mapping[str, str] = {
    "nba_raw.games": "scraped_at",
    "nba_raw.player_boxscores": "scraped_at",
    "nba_analytics.player_game_summary": "processed_at",
    "nba_analytics.team_offense_game_summary": "processed_at",
    "nba_analytics.team_defense_game_summary": "processed_at",
    "nba_predictions.ml_feature_store": "created_at",
    "nba_predictions.player_prop_predictions": "created_at",
    "nba_predictions.prediction_accuracy": "graded_at",
}
STALE_TABLE = "nba_analytics.team_defense_game_summary"
COVERAGE_WINDOW_DAYS = 7  # the phase-4 check's window: game_date >= run_date - 7 days
MIN_DAYS = COVERAGE_WINDOW_DAYS + 1  # the window plus at least one day before it to compare with
_FEATURES = "nba_predictions.ml_feature_store"


@dataclass(frozen=True)
class WarehouseFacts:
    """What the demo warehouse holds and the problems planted in it, read back from the written tables.

    Percentages are 0-100 (as ``percent(...)`` reports them), grading completeness is a 0-1 ratio,
    timestamps are timezone-aware UTC.
    """

    path: Path
    now: dt.datetime
    run_date: dt.date
    yesterday: dt.date  # the last game date
    game_dates: tuple[dt.date, ...]  # oldest first, ending yesterday
    games_yesterday: int
    rows_yesterday: Mapping[str, int]  # table -> rows with game_date = yesterday (0 for the stale table)
    newest: Mapping[str, dt.datetime]  # table -> newest value of its TIMESTAMP_COLUMNS column
    stale_table: str
    vegas_coverage_by_date: Mapping[dt.date, float]  # percent of feature rows with a vegas_line
    vegas_coverage_yesterday: float
    vegas_coverage_before: float  # every game date before yesterday, together
    vegas_coverage_window: float  # the 7 game dates on or after run_date - 7 days
    grading_completeness: Mapping[str, float]  # system_id -> count(graded_at) / rows, yesterday
    ungraded_system: str
    possessions_missing_yesterday: int  # team_offense_game_summary rows with possessions NULL
    possessions_missing_before: int

    def age(self, table: str) -> dt.timedelta:
        """How long before ``now`` the newest row of ``table`` landed."""
        return self.now - self.newest[table]


def build_warehouse(path: Path, *, now: dt.datetime, days: int = 14) -> WarehouseFacts:
    """Write a fresh demo warehouse at ``path`` (replacing any file there) and return its facts.

    ``now`` must be timezone-aware; the run date is its UTC date and the data covers ``days`` game
    dates ending the day before.
    """
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("now must be timezone-aware")
    if days < MIN_DAYS:
        raise ValueError(f"days must be at least {MIN_DAYS}, got {days}")
    now = now.astimezone(dt.UTC)
    yesterday = now.date() - dt.timedelta(days=1)
    for stale in (path, path.with_name(path.name + ".wal")):
        stale.unlink(missing_ok=True)
    path.parent.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect(str(path))
    try:
        con.execute("SET VARIABLE now_ts = ?::TIMESTAMP", [now.replace(tzinfo=None)])
        con.execute("SET VARIABLE yesterday = ?::DATE", [yesterday])
        con.execute("SET VARIABLE days = ?::INTEGER", [days])
        for statement in (*SETUP, *TABLES):
            con.execute(statement)
        return _read_facts(con, path, now)
    finally:
        con.close()


def _read_facts(con: duckdb.DuckDBPyConnection, path: Path, now: dt.datetime) -> WarehouseFacts:
    run_date = now.date()
    yesterday = run_date - dt.timedelta(days=1)
    by_date = {day: float(share) for day, share in _rows(
        con, f"SELECT game_date, 100.0 * count(vegas_line) / count(*) FROM {_FEATURES} GROUP BY 1 ORDER BY 1")}
    newest = {table: _utc(_scalar(con, f"SELECT max({column}) FROM {table}"))
              for table, column in TIMESTAMP_COLUMNS.items()}
    rows_yesterday = {table: int(_scalar(con, f"SELECT count(*) FROM {table} WHERE game_date = ?", yesterday))
                      for table in TIMESTAMP_COLUMNS}
    grading = {system: float(ratio) for system, ratio in _rows(
        con, "SELECT system_id, count(graded_at) / count(*) FROM nba_predictions.prediction_accuracy"
             " WHERE game_date = ? GROUP BY 1 ORDER BY 1", yesterday)}
    missing = "SELECT count(*) FROM nba_analytics.team_offense_game_summary WHERE possessions IS NULL AND game_date "
    coverage = f"SELECT 100.0 * count(vegas_line) / count(*) FROM {_FEATURES} WHERE game_date "
    window_start = run_date - dt.timedelta(days=COVERAGE_WINDOW_DAYS)
    return WarehouseFacts(
        path=path,
        now=now,
        run_date=run_date,
        yesterday=yesterday,
        game_dates=tuple(by_date),
        games_yesterday=int(_scalar(con, "SELECT count(*) FROM nba_raw.games WHERE game_date = ?", yesterday)),
        rows_yesterday=rows_yesterday,
        newest=newest,
        stale_table=STALE_TABLE,
        vegas_coverage_by_date=by_date,
        vegas_coverage_yesterday=by_date[yesterday],
        vegas_coverage_before=float(_scalar(con, coverage + "< ?", yesterday)),
        vegas_coverage_window=float(_scalar(con, coverage + ">= ?", window_start)),
        grading_completeness=grading,
        ungraded_system=min(grading, key=grading.__getitem__),
        possessions_missing_yesterday=int(_scalar(con, missing + "= ?", yesterday)),
        possessions_missing_before=int(_scalar(con, missing + "< ?", yesterday)),
    )


def _rows(con: duckdb.DuckDBPyConnection, sql: str, *params: object) -> list[tuple[Any, ...]]:
    return con.execute(sql, list(params)).fetchall()


def _scalar(con: duckdb.DuckDBPyConnection, sql: str, *params: object) -> Any:
    row = con.execute(sql, list(params)).fetchone()
    assert row is not None  # an aggregate without GROUP BY always returns one row
    return row[0]


def _utc(value: dt.datetime) -> dt.datetime:
    return value.replace(tzinfo=dt.UTC)
