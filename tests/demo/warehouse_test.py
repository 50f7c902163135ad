"""The demo warehouse, checked against real DuckDB with hand-written SQL: every planted problem and promised fact."""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
import statistics
import tomllib
from pathlib import Path
from typing import Any

import duckdb
import pytest

from deploywatch.demo.warehouse import (
    DEMO_CHECK_STATUSES,
    DEMO_GATE_DECISIONS,
    STALE_TABLE,
    SYSTEMS,
    TIMESTAMP_COLUMNS,
    UNGRADED_SYSTEM,
    WarehouseFacts,
    build_warehouse,
    demo_checks_toml,
)
from deploywatch.demo.warehouse_sql import LATE_ODDS_AGE, PARTIAL_SCRAPE_AGE, POSSESSION_GAP_AGES

NOW = dt.datetime(2026, 11, 23, 9, 0, tzinfo=dt.UTC)
YESTERDAY = dt.date(2026, 11, 22)
HOUR = dt.timedelta(hours=1)
TABLES = sorted(TIMESTAMP_COLUMNS)


def query(path: Path, sql: str, *params: object) -> list[tuple[Any, ...]]:
    with duckdb.connect(str(path), read_only=True) as con:
        return con.execute(sql, list(params)).fetchall()


def scalar(path: Path, sql: str, *params: object) -> Any:
    (row,) = query(path, sql, *params)
    return row[0]


@pytest.fixture(scope="module")
def facts(tmp_path_factory: pytest.TempPathFactory) -> WarehouseFacts:
    return build_warehouse(tmp_path_factory.mktemp("warehouse") / "nested" / "warehouse.duckdb", now=NOW)


# ---------------------------------------------------------------- shape


def test_holds_exactly_the_pipeline_tables(facts: WarehouseFacts) -> None:
    tables = query(facts.path, "SELECT table_schema || '.' || table_name FROM information_schema.tables"
                               " WHERE table_catalog = current_database() ORDER BY 1")
    assert [t for (t,) in tables] == TABLES
    # the generator's macros and scratch tables were TEMP: nothing of them reached the file
    assert scalar(facts.path, "SELECT count(*) FROM duckdb_functions() WHERE NOT internal") == 0
    assert facts.path.exists()
    assert not facts.path.with_name(facts.path.name + ".wal").exists()


def test_covers_the_game_dates_ending_yesterday(facts: WarehouseFacts) -> None:
    assert facts.run_date == NOW.date()
    assert facts.yesterday == YESTERDAY
    dates = [d for (d,) in query(facts.path, "SELECT DISTINCT game_date FROM nba_raw.games ORDER BY 1")]
    assert dates == [YESTERDAY - dt.timedelta(days=n) for n in range(13, -1, -1)]
    assert facts.game_dates == tuple(dates)
    for table in TABLES:
        assert scalar(facts.path, f"SELECT max(game_date) FROM {table}") <= YESTERDAY


def test_schedule_is_plausible(facts: WarehouseFacts) -> None:
    per_day = dict(query(facts.path, "SELECT game_date, count(*) FROM nba_raw.games GROUP BY 1"))
    assert all(8 <= games <= 12 for games in per_day.values())
    assert per_day[YESTERDAY] == facts.games_yesterday == 11
    # each team plays at most once a day, nobody plays itself, and there are no ties
    assert scalar(facts.path, """SELECT count(*) FROM (SELECT game_date, team FROM (
        SELECT game_date, home_team AS team FROM nba_raw.games UNION ALL SELECT game_date, away_team FROM nba_raw.games)
        GROUP BY ALL HAVING count(*) > 1)""") == 0
    assert scalar(facts.path, "SELECT count(*) FROM nba_raw.games WHERE home_team = away_team"
                              " OR home_score = away_score OR status <> 'Final'") == 0
    # the scores are the sums of the box scores
    assert scalar(facts.path, """SELECT count(*) FROM nba_raw.games g JOIN (
            SELECT game_id, team, sum(points) AS points FROM nba_raw.player_boxscores GROUP BY ALL) b
        ON b.game_id = g.game_id
        WHERE b.points <> CASE WHEN b.team = g.home_team THEN g.home_score ELSE g.away_score END""") == 0


def test_player_rows_per_game_and_yesterday(facts: WarehouseFacts) -> None:
    per_game = [n for (n,) in query(facts.path, "SELECT count(*) FROM nba_analytics.player_game_summary"
                                                " GROUP BY game_id")]
    assert min(per_game) >= 20
    assert max(per_game) <= 26
    assert facts.rows_yesterday["nba_analytics.player_game_summary"] > 40
    scraped = dict(query(facts.path, "SELECT game_date, count(*) FROM nba_raw.player_boxscores GROUP BY 1"))
    summarised = dict(query(facts.path, "SELECT game_date, count(*) FROM nba_analytics.player_game_summary GROUP BY 1"))
    partial = YESTERDAY - dt.timedelta(days=PARTIAL_SCRAPE_AGE)  # the scraper saved two games only that night
    assert scraped[partial] < 100 <= summarised[partial]
    assert scraped[partial] == scalar(facts.path, "SELECT count(*) FROM nba_analytics.player_game_summary s JOIN "
                                      "(SELECT DISTINCT game_id FROM nba_raw.player_boxscores) USING (game_id)"
                                      " WHERE s.game_date = ?", partial)
    assert {d: n for d, n in scraped.items() if d != partial} == {d: n for d, n in summarised.items() if d != partial}
    bounds = query(facts.path, "SELECT min(minutes), max(minutes), min(points), avg(points) "
                               "FROM nba_analytics.player_game_summary")[0]
    assert 0 < bounds[0] < bounds[1] <= 48
    assert bounds[2] >= 0
    assert 7 < bounds[3] < 13


def test_rows_yesterday(facts: WarehouseFacts) -> None:
    for table in TABLES:
        assert facts.rows_yesterday[table] == scalar(facts.path, f"SELECT count(*) FROM {table} WHERE game_date = ?",
                                                     YESTERDAY), table
    assert facts.rows_yesterday[STALE_TABLE] == 0
    assert facts.rows_yesterday["nba_analytics.team_offense_game_summary"] == 22


# ---------------------------------------------------------------- the planted problems


def test_vegas_line_coverage_drops_yesterday_and_once_before(facts: WarehouseFacts) -> None:
    by_day = dict(query(facts.path, "SELECT game_date, 100.0 * count(*) FILTER (WHERE vegas_line IS NOT NULL)"
                                    " / count(*) FROM nba_predictions.ml_feature_store GROUP BY 1"))
    assert by_day == pytest.approx(dict(facts.vegas_coverage_by_date))
    assert by_day[YESTERDAY] == pytest.approx(facts.vegas_coverage_yesterday)
    assert 43 <= by_day.pop(YESTERDAY) <= 47
    assert 68 <= by_day.pop(YESTERDAY - dt.timedelta(days=LATE_ODDS_AGE)) <= 72  # the night the odds came late
    assert all(90 <= coverage <= 94 for coverage in by_day.values())
    before = scalar(facts.path, "SELECT avg((vegas_line IS NOT NULL)::INTEGER) * 100"
                                " FROM nba_predictions.ml_feature_store WHERE game_date < ?", YESTERDAY)
    assert before == pytest.approx(facts.vegas_coverage_before)
    # the check's own window, as it will render: game_date >= DATE '<run_date>' - INTERVAL 7 DAY
    window = scalar(facts.path, "SELECT avg((vegas_line IS NOT NULL)::INTEGER) * 100"
                                " FROM nba_predictions.ml_feature_store"
                                " WHERE game_date >= DATE '2026-11-23' - INTERVAL 7 DAY")
    assert window == pytest.approx(facts.vegas_coverage_window)
    assert 50 < window < 80


def test_one_model_is_mostly_ungraded_yesterday(facts: WarehouseFacts) -> None:
    ratios = dict(query(facts.path, "SELECT system_id, avg((graded_at IS NOT NULL)::INTEGER)"
                                    " FROM nba_predictions.prediction_accuracy WHERE game_date = ? GROUP BY 1",
                        YESTERDAY))
    assert ratios == pytest.approx(dict(facts.grading_completeness))
    assert sorted(ratios) == sorted(SYSTEMS)
    assert facts.ungraded_system == UNGRADED_SYSTEM == "zone_matchup_v1"
    assert 0.35 <= ratios.pop(UNGRADED_SYSTEM) < 0.5
    assert all(ratio >= 0.9 for ratio in ratios.values())
    # before yesterday every model was graded
    assert scalar(facts.path, "SELECT min(r) FROM (SELECT game_date, system_id,"
                              " avg((graded_at IS NOT NULL)::INTEGER) AS r FROM nba_predictions.prediction_accuracy"
                              " WHERE game_date < ? GROUP BY ALL)",
                  YESTERDAY) >= 0.9
    # one accuracy row per prediction; grading fills the actuals and the timestamp together
    assert scalar(facts.path, "SELECT count(*) FROM nba_predictions.player_prop_predictions p FULL JOIN "
                              "nba_predictions.prediction_accuracy a USING (prediction_id) "
                              "WHERE p.prediction_id IS NULL OR a.prediction_id IS NULL") == 0
    assert scalar(facts.path, "SELECT count(*) FROM nba_predictions.prediction_accuracy"
                              " WHERE (graded_at IS NULL) <> (actual_points IS NULL)") == 0


def test_possessions_are_null_yesterday_and_in_the_planted_gaps(facts: WarehouseFacts) -> None:
    missing = dict(query(facts.path, "SELECT game_date, count(*) FROM nba_analytics.team_offense_game_summary"
                                     " WHERE possessions IS NULL GROUP BY 1"))
    gaps = {YESTERDAY - dt.timedelta(days=age): 2 for age in POSSESSION_GAP_AGES if age < len(facts.game_dates)}
    assert gaps  # the earlier one-game gaps (warnings in the replayed history) that fall in the data
    assert missing == {YESTERDAY: 4, **gaps}
    assert facts.possessions_missing_yesterday == 4
    assert facts.possessions_missing_before == sum(gaps.values())
    assert scalar(facts.path, "SELECT count(DISTINCT game_id) FROM nba_analytics.team_offense_game_summary"
                              " WHERE possessions IS NULL AND game_date = ?", YESTERDAY) == 2


def test_team_defense_is_stale_and_the_rest_fresh(facts: WarehouseFacts) -> None:
    for table, column in TIMESTAMP_COLUMNS.items():
        newest = scalar(facts.path, f"SELECT max({column}) FROM {table}").replace(tzinfo=dt.UTC)
        assert facts.newest[table] == newest
        assert facts.age(table) == NOW - newest
        if table == STALE_TABLE:
            assert 29 * HOUR <= NOW - newest <= 31 * HOUR
        else:
            assert 6 * HOUR <= NOW - newest <= 10 * HOUR, table
    assert facts.stale_table == STALE_TABLE
    assert scalar(facts.path, f"SELECT max(game_date) FROM {STALE_TABLE}") == YESTERDAY - dt.timedelta(days=1)


# ---------------------------------------------------------------- building


def table_digests(path: Path) -> dict[str, tuple[Any, ...] | None]:
    """Row count and a digest of every row's text, per table."""
    with duckdb.connect(str(path), read_only=True) as con:
        return {table: con.execute(f"SELECT count(*), md5(string_agg(t::VARCHAR, '|' ORDER BY t::VARCHAR))"
                                   f" FROM {table} t").fetchone() for table in TABLES}


def test_same_now_gives_identical_data(facts: WarehouseFacts, tmp_path: Path) -> None:
    again = build_warehouse(tmp_path / "again.duckdb", now=NOW.astimezone(dt.timezone(dt.timedelta(hours=-5))))
    assert table_digests(again.path) == table_digests(facts.path)
    assert again == dataclasses.replace(facts, path=again.path)


def test_another_now_still_plants_every_problem(tmp_path: Path) -> None:
    now = dt.datetime(2027, 3, 2, 17, 30, tzinfo=dt.UTC)
    other = build_warehouse(tmp_path / "other.duckdb", now=now, days=10)
    assert other.yesterday == dt.date(2027, 3, 1)
    assert len(other.game_dates) == 10
    assert 43 <= other.vegas_coverage_yesterday <= 47
    assert 50 < other.vegas_coverage_window < 80
    assert other.grading_completeness[UNGRADED_SYSTEM] < 0.5
    assert other.possessions_missing_yesterday == 4
    assert other.age(STALE_TABLE) > 24 * HOUR
    assert max(other.age(t) for t in TABLES if t != STALE_TABLE) < 12 * HOUR


def test_rebuild_replaces_an_existing_file_and_wal(facts: WarehouseFacts, tmp_path: Path) -> None:
    path = tmp_path / "warehouse.duckdb"
    build_warehouse(path, now=NOW)
    with duckdb.connect(str(path)) as con:
        con.execute("CREATE TABLE leftover AS SELECT 1 AS x")
    path.with_name(path.name + ".wal").write_bytes(b"not a write-ahead log")
    rebuilt = build_warehouse(path, now=NOW)
    assert rebuilt.path == path
    assert scalar(path, "SELECT count(*) FROM information_schema.tables WHERE table_name = 'leftover'") == 0
    assert table_digests(path) == table_digests(facts.path)


@pytest.mark.parametrize(("now", "days", "message"), [
    (dt.datetime(2026, 11, 23, 9), 14, "timezone-aware"),
    (NOW, 7, "at least 8"),
])
def test_bad_arguments_are_refused(tmp_path: Path, now: dt.datetime, days: int, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        build_warehouse(tmp_path / "w.duckdb", now=now, days=days)
    assert not (tmp_path / "w.duckdb").exists()


# ---------------------------------------------------------------- the demo checks


def load_checks(warehouse_file: str = "warehouse.duckdb") -> dict[str, Any]:
    return tomllib.loads(demo_checks_toml(warehouse_file))


def test_checks_toml_parses_and_names_every_check() -> None:
    config = load_checks()
    assert config["warehouse"] == {"url": "duckdb:///warehouse.duckdb"}
    names = [check["name"] for check in config["checks"]]
    assert names == list(DEMO_CHECK_STATUSES)
    assert 8 <= len(names) <= 16
    assert set(DEMO_CHECK_STATUSES.values()) == {"ok", "warning", "critical"}
    phases = {check["phase"] for check in config["checks"]}
    assert {name: gate["checks"] for name, gate in config["gates"].items()} == {
        "phase2_to_phase3": ["phase2"], "phase3_to_phase4": ["phase3"],
        "phase4_to_phase5": ["phase4.vegas_line_coverage"]}
    assert set(DEMO_GATE_DECISIONS) == set(config["gates"])
    assert all(set(gate["checks"]) <= phases | set(names) for gate in config["gates"].values())
    assert load_checks('dir "quoted"\\w.duckdb')["warehouse"]["url"] == 'duckdb:///dir "quoted"\\w.duckdb'


_NOT_COLUMNS = {"row_count", "missing_count", "missing_percent", "percent", "ratio", "duplicate_count",
                "distinct_count", "freshness", "min", "max", "avg", "sum", "stddev", "count", "is", "not", "null",
                "date", "interval", "day", "and", "or", "in", "case", "when", "then", "else", "end"}


def test_checks_reference_only_existing_tables_and_columns(facts: WarehouseFacts) -> None:
    columns: dict[str, set[str]] = {}
    for schema, table, column in query(facts.path, "SELECT table_schema, table_name, column_name"
                                                   " FROM information_schema.columns"):
        columns.setdefault(f"{schema}.{table}", set()).add(column)
    for check in load_checks()["checks"]:
        text = " ".join(check.get(key, "") for key in ("where", "metric", "sql", "group_by"))
        text = re.sub(r"\{\{.*?\}\}|'[^']*'|\b\d+\b", " ", text)
        referenced = set(re.findall(r"[a-z_]+", text.lower())) - _NOT_COLUMNS
        assert referenced, check["name"]
        assert referenced <= columns[check["table"]], check["name"]


# What each check measures, written by hand; the engine's metric names are not used here.
HAND_METRICS = {
    "phase2.boxscores.rows": "count(*)",
    "phase2.boxscores.rows_per_game": "count(*)",
    "phase2.boxscores.minutes_min": "min(minutes)",
    "phase3.player_game_summary.rows": "count(*)",
    "phase3.player_game_summary.freshness": "epoch(TIMESTAMP '2026-11-23 09:00:00') - epoch(max(processed_at))",
    "phase3.player_game_summary.avg_points": "avg(points)",
    "phase3.player_game_summary.minutes_max": "max(minutes)",
    "phase3.team_offense.possessions_missing": "count(*) FILTER (WHERE possessions IS NULL)",
    "phase3.team_defense.freshness": "epoch(TIMESTAMP '2026-11-23 09:00:00') - epoch(max(processed_at))",
    "phase4.vegas_line_coverage": "100.0 * count(vegas_line) / count(*)",
    "phase4.vegas_line_coverage.yesterday": "100.0 * count(vegas_line) / count(*)",
    "phase5.predictions.duplicate_ids": "count(prediction_id) - count(DISTINCT prediction_id)",
    "phase5.predictions.systems": "count(DISTINCT system_id)",
    "phase5.predictions.unknown_recommendations": "count_if(recommendation NOT IN ('OVER', 'UNDER', 'PASS'))",
    "phase5.grading_completeness": "count(graded_at) / count(*)",
}
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "": 1, "%": 1}


def breached(value: float, threshold: str | None) -> bool:
    if threshold is None:
        return False
    match = re.fullmatch(r"(<=|>=|!=|<|>|=)\s*(-?[\d.]+)\s*([smhd%]?)", threshold.strip())
    assert match, threshold
    op, number, unit = match.groups()
    limit = float(number) * _UNITS[unit]
    return {"<": value < limit, "<=": value <= limit, ">": value > limit, ">=": value >= limit,
            "=": value == limit, "!=": value != limit}[op]


def render(where: str) -> str:
    return where.replace("{{ yesterday }}", YESTERDAY.isoformat()).replace("{{ run_date }}", NOW.date().isoformat())


def test_every_check_gets_its_intended_status(facts: WarehouseFacts) -> None:
    order = ["ok", "warning", "critical"]
    for check in load_checks()["checks"]:
        group = check.get("group_by")
        where = f"WHERE {render(check['where'])}" if "where" in check else ""
        select = f"{group}, " if group else "NULL, "
        rows = query(facts.path, f"SELECT {select}{HAND_METRICS[check['name']]} FROM {check['table']} {where}"
                                 f" GROUP BY {'ALL' if group else '()'}")
        statuses = ["critical" if breached(value, check.get("critical"))
                    else "warning" if breached(value, check.get("warn")) else "ok" for _, value in rows]
        assert statuses, check["name"]
        assert max(statuses, key=order.index) == DEMO_CHECK_STATUSES[check["name"]], (check["name"], rows)


# The planted one-day collapse of vegas-line coverage is meant to be an anomaly; the others are not.
PLANTED_ANOMALIES = {"phase4.vegas_line_coverage.yesterday"}


def test_anomaly_checks_see_a_normal_yesterday_except_the_planted_drop(facts: WarehouseFacts) -> None:
    """Yesterday's value lies within ``sensitivity`` standard deviations of the days before, except for the
    planted coverage drop, which lies far below."""
    for check in load_checks()["checks"]:
        if "anomaly" not in check:
            continue
        metric = HAND_METRICS[check["name"]]
        series = dict(query(facts.path, f"SELECT game_date, {metric} FROM {check['table']} GROUP BY 1"))
        value = series.pop(YESTERDAY)
        history = list(series.values())
        assert len(history) >= check["anomaly"]["min_history"]
        z = (value - statistics.mean(history)) / statistics.stdev(history)
        if check["name"] in PLANTED_ANOMALIES:
            assert z < -check["anomaly"]["sensitivity"], (check["name"], z)
        else:
            assert abs(z) < check["anomaly"]["sensitivity"], (check["name"], z)
