"""The demo's pipeline phases and completion reports: what the unified check reconciles.

Three phases, three stories: phase 2 (raw data) reported complete and its table is fresh; phase 3
(analytics) has only 1 of 5 processors recorded although its table is fresh — a tracking gap, not a
pipeline failure; phase 4 (features) is truly behind: 1 of 3 recorded and its table is stale.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

__all__ = ["PHASES_TOML", "RECORDED", "record_completions"]

PHASES_TOML = """
# Phase completion: each processor reports with `deploywatch complete PHASE PROCESSOR` (or POST
# /api/completions); `deploywatch phases` and `deploywatch check` reconcile the tracker with the data.
[phases.phase2]
processors = ["bdl_games", "bdl_player_boxscores"]
freshness = { table = "nba_raw.player_boxscores", column = "scraped_at", within = "24h" }
on_complete = "echo phase 2 complete for {{ date }}: start phase 3 >> phase-triggers.log"

[phases.phase3]
processors = ["player_game_summary", "team_offense_game_summary", "team_defense_game_summary",
              "upcoming_player_game_context", "upcoming_team_game_context"]
freshness = { table = "nba_analytics.player_game_summary", column = "processed_at", within = "24h" }

[phases.phase4]
processors = ["ml_feature_store", "player_daily_cache", "player_composite_factors"]
freshness = { table = "nba_predictions.ml_feature_store", column = "created_at", within = "6h" }

# `deploywatch serve`: when each job runs, and the HTTP API (writes need the token).
[schedule]
timezone = "America/New_York"
drift = "0 */2 * * *"
canary = "*/30 * * * *"
check = "0 6 * * *"

[server]
listen = "127.0.0.1:8080"
token = "${DEPLOYWATCH_TOKEN:-demo-token-change-me-0000}"
"""

# (phase, processor) reported for the run date.
RECORDED = (("phase2", "bdl_games"), ("phase2", "bdl_player_boxscores"), ("phase3", "player_game_summary"),
            ("phase4", "ml_feature_store"))


def record_completions(config_path: Path, moment: dt.datetime) -> None:
    """Report the demo's completions for today, as its processors would have (phase 2's on_complete fires)."""
    from ..checks.runner import open_store
    from ..checks.validate import load_config
    from ..health.completion import record_completion

    loaded = load_config(config_path)
    with open_store(loaded) as store:
        for phase, processor in RECORDED:
            record_completion(loaded, store, phase, processor, moment.date(), source="demo", now=moment)
