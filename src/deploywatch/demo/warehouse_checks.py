"""The data checks of the demo config: the ``[warehouse]``, ``[[checks]]`` and ``[gates.*]`` tables.

The set is chosen against the demo warehouse (:mod:`deploywatch.demo.warehouse`) so that a run shows
every status and every gate decision: most checks pass, the NULL possessions and the 7-day vegas-line
coverage warn, and the stale team-defense table and the ungraded model are critical.

The two checks with ``anomaly`` judge yesterday against the store's metric history, so on an empty
store they are ``unknown`` ("not enough history"). The warehouse holds every earlier game date, so
running the canary once per earlier run date (``--date``, oldest first) fills that history; after
that they are ``ok`` (yesterday's z-scores are about +0.7 and -0.4).
"""

from __future__ import annotations

from collections.abc import Mapping

__all__ = ["DEMO_CHECK_STATUSES", "DEMO_GATE_DECISIONS", "demo_checks_toml"]

# What each check reports on the demo warehouse, its history filled (a grouped check: its worst group).
DEMO_CHECK_STATUSES: Mapping[str, str] = {
    "phase2.boxscores.rows": "ok",
    "phase2.boxscores.rows_per_game": "ok",
    "phase2.boxscores.minutes_min": "ok",
    "phase3.player_game_summary.rows": "ok",
    "phase3.player_game_summary.freshness": "ok",
    "phase3.player_game_summary.avg_points": "ok",
    "phase3.player_game_summary.minutes_max": "ok",
    "phase3.team_offense.possessions_missing": "warning",  # 4 of yesterday's 22 rows
    "phase3.team_defense.freshness": "critical",  # newest row ~30h old, nothing for yesterday
    "phase4.vegas_line_coverage": "warning",  # ~75% over 7 days; yesterday alone ~45%
    "phase4.vegas_line_coverage.yesterday": "critical",  # 44.9% after ~92% every day before: also a drop anomaly
    "phase5.predictions.duplicate_ids": "ok",
    "phase5.predictions.systems": "ok",
    "phase5.predictions.unknown_recommendations": "ok",
    "phase5.grading_completeness": "critical",  # zone_matchup_v1 ~0.40, the others ~0.97
}
DEMO_GATE_DECISIONS: Mapping[str, str] = {
    "phase2_to_phase3": "PROCEED",
    "phase3_to_phase4": "FAIL",
    "phase4_to_phase5": "PROCEED_WITH_WARNING",
}

_URL = "@URL@"
_TEMPLATE = """\
[warehouse]
url = "@URL@"      # relative to the config file

[[checks]]
name = "phase2.boxscores.rows"
phase = "phase2"
table = "nba_raw.player_boxscores"
where = "game_date = DATE '{{ yesterday }}'"
metric = "row_count"
critical = "< 100"

[[checks]]
name = "phase2.boxscores.rows_per_game"
phase = "phase2"
table = "nba_raw.player_boxscores"
where = "game_date = DATE '{{ yesterday }}'"
metric = "row_count"
group_by = "game_id"
warn = "< 16"
critical = "< 10"

[[checks]]
name = "phase2.boxscores.minutes_min"
phase = "phase2"
table = "nba_raw.player_boxscores"
where = "game_date = DATE '{{ yesterday }}'"
metric = "min(minutes)"
critical = "< 0"

[[checks]]
name = "phase3.player_game_summary.rows"
phase = "phase3"
table = "nba_analytics.player_game_summary"
where = "game_date = DATE '{{ yesterday }}'"
metric = "row_count"
critical = "< 40"
anomaly = { sensitivity = 3.0, min_history = 7, window = 28, direction = "drop" }

[[checks]]
name = "phase3.player_game_summary.freshness"
phase = "phase3"
table = "nba_analytics.player_game_summary"
metric = "freshness(processed_at)"
warn = "> 12h"
critical = "> 24h"

[[checks]]
name = "phase3.player_game_summary.avg_points"
phase = "phase3"
table = "nba_analytics.player_game_summary"
where = "game_date = DATE '{{ yesterday }}'"
metric = "avg(points)"
warn = "< 6"
critical = "< 3"
anomaly = { sensitivity = 3.0, min_history = 7, window = 28 }

[[checks]]
name = "phase3.player_game_summary.minutes_max"
phase = "phase3"
table = "nba_analytics.player_game_summary"
where = "game_date = DATE '{{ yesterday }}'"
metric = "max(minutes)"
critical = "> 58"

[[checks]]
name = "phase3.team_offense.possessions_missing"
phase = "phase3"
table = "nba_analytics.team_offense_game_summary"
where = "game_date = DATE '{{ yesterday }}'"
metric = "missing_count(possessions)"
warn = "> 0"
critical = "> 5"      # yesterday lost possessions for two games (4 rows): a warning

[[checks]]
name = "phase3.team_defense.freshness"
phase = "phase3"
table = "nba_analytics.team_defense_game_summary"
metric = "freshness(processed_at)"
warn = "> 12h"
critical = "> 24h"

[[checks]]
name = "phase4.vegas_line_coverage"
phase = "phase4"
table = "nba_predictions.ml_feature_store"
where = "game_date >= DATE '{{ run_date }}' - INTERVAL 7 DAY AND game_date < DATE '{{ run_date }}'"
metric = "percent(vegas_line IS NOT NULL)"
warn = "< 80"
critical = "< 50"

[[checks]]
name = "phase4.vegas_line_coverage.yesterday"
phase = "phase4"
description = "the last game date alone: the 7-day window above hides a one-day collapse"
table = "nba_predictions.ml_feature_store"
where = "game_date = DATE '{{ yesterday }}'"
metric = "percent(vegas_line IS NOT NULL)"
warn = "< 80"
critical = "< 50"
anomaly = { sensitivity = 3.0, min_history = 7, window = 28, direction = "drop" }

[[checks]]
name = "phase5.predictions.duplicate_ids"
phase = "phase5"
table = "nba_predictions.player_prop_predictions"
where = "game_date = DATE '{{ yesterday }}'"
metric = "duplicate_count(prediction_id)"
critical = "> 0"

[[checks]]
name = "phase5.predictions.systems"
phase = "phase5"
table = "nba_predictions.player_prop_predictions"
where = "game_date = DATE '{{ yesterday }}'"
metric = "distinct_count(system_id)"
warn = "< 5"
critical = "< 3"

[[checks]]
name = "phase5.predictions.unknown_recommendations"
phase = "phase5"
table = "nba_predictions.player_prop_predictions"
where = "game_date = DATE '{{ yesterday }}'"
sql = "sum(CASE WHEN recommendation NOT IN ('OVER', 'UNDER', 'PASS') THEN 1 ELSE 0 END)"
critical = "> 0"

[[checks]]
name = "phase5.grading_completeness"
phase = "phase5"
table = "nba_predictions.prediction_accuracy"
where = "game_date = DATE '{{ yesterday }}'"
metric = "ratio(count(graded_at), row_count)"
group_by = "system_id"
warn = "< 0.8"
critical = "< 0.5"

[gates.phase2_to_phase3]
checks = ["phase2"]

[gates.phase3_to_phase4]
checks = ["phase3"]

[gates.phase4_to_phase5]
checks = ["phase4.vegas_line_coverage"]
"""


def demo_checks_toml(warehouse_file: str) -> str:
    """The demo config's data section, with the warehouse at ``warehouse_file`` (relative to the config file)."""
    return _TEMPLATE.replace(_URL, _toml_escape(f"duckdb:///{warehouse_file}"))


def _toml_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"', '\\"')
