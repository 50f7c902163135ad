"""The SQL that generates the demo warehouse inside DuckDB, one set-based statement per table.

Every value comes from ``_u(a, b, c)``, an integer hash in plain SQL arithmetic mapped to [0, 1), so
the data depends only on the session variables (``now_ts``, ``yesterday``, ``days``) and not on the
DuckDB version's own ``hash()``. Per-day shares that the demo promises (vegas-line coverage, grading
completeness) are planted by rank, not by chance: the first ``round(n * share)`` rows of a day, in a
hashed order, get the NULL, so the shares are exact for any ``now``.

The story of the last game date ("yesterday"):

* the odds scraper's player list came back nearly empty, so phase 4 fell back to full rosters (15 per
  team instead of the usual five starters) and most of those players never get a line: vegas-line
  coverage drops from ~92% to ~45%, enough to pull the 7-day window below 80%;
* team offense has NULL possessions for two games (four rows);
* team defense did not run at all: its newest row is the day before, ~30 hours old;
* grading wrote rows for ``zone_matchup_v1`` but graded only 40% of them.

Earlier game dates (counted back from yesterday, so the same for a given ``now``) carry the smaller troubles a
season has, for the replayed canary history (:data:`PAST_EVENTS`): two one-game gaps in team-offense
possessions (warnings), a night the boxscore scraper saved only two games (an incident: phase 2's row count is
critical) and a night the odds feed was late, so 30% of feature rows have no vegas line (the one-day coverage
drops far below its history: an anomaly, and a warning). Dates past ``days`` are simply not written.
"""

from __future__ import annotations

__all__ = ["GAMES_YESTERDAY", "LATE_ODDS_AGE", "NULL_POSSESSION_GAMES", "PARTIAL_SCRAPE_AGE", "PAST_EVENTS",
           "POSSESSION_GAP_AGES", "SETUP", "SYSTEMS", "TABLES", "UNGRADED_SYSTEM"]

SYSTEMS = ("catboost_v8", "xgboost_v3", "ensemble_v2", "moving_average", "zone_matchup_v1")
UNGRADED_SYSTEM = "zone_matchup_v1"
GAMES_YESTERDAY = 11  # fixed, so yesterday's weight in the 7-day coverage window does not depend on the hash
NULL_POSSESSION_GAMES = (2, 7)  # yesterday's game numbers whose team-offense rows lose possessions
# Days before yesterday ("age") with a planted trouble, for the replayed history, and what the checks then say.
POSSESSION_GAP_AGES = (5, 16)  # game 0's team-offense rows lose possessions: possessions_missing warns (2 rows)
PARTIAL_SCRAPE_AGE = 12  # the boxscore scraper saved games 0 and 1 only: phase2.boxscores.rows is critical
LATE_ODDS_AGE = 8  # the odds feed was late: 30% of feature rows lack a line, a drop anomaly (and a warning)
PAST_EVENTS = {"possessions_gap": POSSESSION_GAP_AGES, "partial_scrape": (PARTIAL_SCRAPE_AGE,),
               "late_odds": (LATE_ODDS_AGE,)}
_GAP_AGES = ", ".join(str(age) for age in POSSESSION_GAP_AGES)
_TEAMS = ("ATL", "BOS", "BKN", "CHA", "CHI", "CLE", "DAL", "DEN", "DET", "GSW", "HOU", "IND", "LAC", "LAL", "MEM",
          "MIA", "MIL", "MIN", "NOP", "NYK", "OKC", "ORL", "PHI", "PHX", "POR", "SAC", "SAS", "TOR", "UTA", "WAS")
_TEAM_ROWS = ", ".join(f"({index}, '{team}')" for index, team in enumerate(_TEAMS))

# Scratch objects: TEMP, so they vanish with the connection and never reach the file.
SETUP = (
    "CREATE TEMP MACRO _lin(a, b, c) AS"
    " ((a::BIGINT * 7919 + b::BIGINT * 104729 + c::BIGINT * 1299709 + 12345) % 2147483647)",
    "CREATE TEMP MACRO _sq(x) AS ((x * x + 1013904223) % 2147483647)",
    "CREATE TEMP MACRO _u(a, b, c) AS (_sq(_sq(_sq(_lin(a, b, c)))) / 2147483647.0)",
    # When a row of a day's batch landed: ``minutes`` before now (shifted back one day per day of age),
    # minus up to 20 minutes of jitter, so a table's newest row is at most that old.
    "CREATE TEMP MACRO _stamp(age_days, minutes, key) AS getvariable('now_ts') - to_days(age_days::INTEGER)"
    " - to_seconds(minutes * 60.0 + floor(_u(age_days, key, 97) * 1200))",
    f"CREATE TEMP TABLE _teams AS SELECT * FROM (VALUES {_TEAM_ROWS}) t(team_idx, team)",
    f"""CREATE TEMP TABLE _days AS
    SELECT game_date, age_days, date_diff('day', DATE '2000-01-01', game_date) AS ord,
           CASE WHEN age_days = 0 THEN {GAMES_YESTERDAY}
                ELSE 8 + floor(_u(date_diff('day', DATE '2000-01-01', game_date), 0, 1) * 5)::INTEGER END AS games
    FROM (SELECT getvariable('yesterday') - i::INTEGER AS game_date, i AS age_days
          FROM range(getvariable('days')) t(i))""",
    # Each day shuffles the 30 teams and pairs them off: away at position 2k+1 visits home at 2k.
    """CREATE TEMP TABLE _games AS
    WITH shuffled AS (
        SELECT d.*, t.team_idx, t.team,
               row_number() OVER (PARTITION BY d.game_date ORDER BY _u(d.ord, t.team_idx, 2), t.team_idx) - 1 AS pos
        FROM _days d CROSS JOIN _teams t)
    SELECT h.game_date, h.age_days, h.ord, h.pos // 2 AS game_no,
           strftime(h.game_date, '%Y%m%d') || '_' || a.team || '_' || h.team AS game_id,
           h.team AS home_team, h.team_idx AS home_idx, a.team AS away_team, a.team_idx AS away_idx
    FROM shuffled h JOIN shuffled a ON a.game_date = h.game_date AND a.pos = h.pos + 1
    WHERE h.pos % 2 = 0 AND h.pos // 2 < h.games""",
    # One row per rostered player per game (15 a team); the first 10-13 slots play.
    """CREATE TEMP TABLE _lines AS
    WITH sides AS (
        SELECT g.*, s.is_home,
               CASE WHEN s.is_home THEN home_team ELSE away_team END AS team,
               CASE WHEN s.is_home THEN away_team ELSE home_team END AS opponent,
               CASE WHEN s.is_home THEN home_idx ELSE away_idx END AS team_idx
        FROM _games g CROSS JOIN (VALUES (true), (false)) s(is_home)),
    slots AS (
        SELECT sides.*, r.slot, 1626000 + team_idx * 20 + r.slot AS player_id,
               r.slot <= 10 + floor(_u(ord, team_idx, 3) * 4)::INTEGER AS played,
               [22, 18, 15, 12, 10, 9, 8, 6, 5, 4, 3, 2, 2, 1, 1][r.slot] AS level,
               [34, 32, 31, 29, 27, 24, 20, 17, 14, 11, 8, 6, 4, 3, 2][r.slot] AS base_minutes
        FROM sides CROSS JOIN (SELECT unnest(range(1, 16)) AS slot) r)
    SELECT game_id, game_date, age_days, ord, game_no, team, opponent, team_idx, is_home, slot, player_id, played,
           level * (0.85 + 0.3 * _u(0, player_id, 4)) AS scoring,
           CASE WHEN played THEN round(level * (0.85 + 0.3 * _u(0, player_id, 4))
                                       * (0.55 + 0.9 * _u(ord, player_id, 5)))::INTEGER END AS points,
           CASE WHEN played THEN round(base_minutes * (0.8 + 0.4 * _u(ord, player_id, 6)), 1) END AS minutes,
           CASE WHEN played THEN round((2 + 8 * _u(0, player_id, 7)) * (0.4 + 1.2 * _u(ord, player_id, 8)))::INTEGER
                END AS rebounds,
           CASE WHEN played THEN round((1 + 6 * _u(0, player_id, 9)) * (0.4 + 1.2 * _u(ord, player_id, 10)))::INTEGER
                END AS assists
    FROM slots""",
    # No ties in basketball: the home team's first option hits a late two-pointer.
    """UPDATE _lines SET points = points + 2 WHERE slot = 1 AND is_home AND game_id IN (
        SELECT game_id FROM _lines GROUP BY game_id
        HAVING sum(points) FILTER (WHERE is_home) = sum(points) FILTER (WHERE NOT is_home))""",
    """CREATE TEMP TABLE _team_games AS
    SELECT game_id, game_date, age_days, ord, game_no, team, opponent, team_idx, is_home,
           sum(points)::INTEGER AS points, 94 + floor(_u(ord, team_idx, 11) * 12)::INTEGER AS possessions
    FROM _lines GROUP BY ALL""",
)

TABLES = (
    "CREATE SCHEMA nba_raw",
    "CREATE SCHEMA nba_analytics",
    "CREATE SCHEMA nba_predictions",
    """CREATE TABLE nba_raw.games AS
    SELECT g.game_id, g.game_date,
           printf('%d-%02d', year(g.game_date) - (month(g.game_date) < 10)::INTEGER,
                  (year(g.game_date) + 1 - (month(g.game_date) < 10)::INTEGER) % 100) AS season,
           g.home_team, g.away_team,
           h.points AS home_score, a.points AS away_score, 'Final' AS status,
           _stamp(g.age_days, 540, g.home_idx) AS scraped_at
    FROM _games g
    JOIN _team_games h ON h.game_id = g.game_id AND h.is_home
    JOIN _team_games a ON a.game_id = g.game_id AND NOT a.is_home
    ORDER BY g.game_date, g.game_id""",
    f"""CREATE TABLE nba_raw.player_boxscores AS
    SELECT game_id, game_date, player_id, team, opponent, minutes, points, rebounds, assists,
           _stamp(age_days, 510, player_id) AS scraped_at
    FROM _lines WHERE played AND NOT (age_days = {PARTIAL_SCRAPE_AGE} AND game_no >= 2)
    ORDER BY game_date, game_id, team, slot""",
    """CREATE TABLE nba_analytics.player_game_summary AS
    SELECT l.game_id, l.game_date, l.player_id, l.team, l.opponent, l.is_home, l.slot <= 5 AS is_starter,
           l.minutes, l.points, l.rebounds, l.assists,
           round(least(38.0, 8 + 18 * l.scoring / 22 + 6 * _u(l.ord, l.player_id, 12)), 1) AS usage_rate,
           round(l.minutes * t.possessions / 48.0)::INTEGER AS possessions,
           _stamp(l.age_days, 480, l.player_id) AS processed_at
    FROM _lines l JOIN _team_games t ON t.game_id = l.game_id AND t.team = l.team
    WHERE l.played ORDER BY l.game_date, l.game_id, l.team, l.slot""",
    f"""CREATE TABLE nba_analytics.team_offense_game_summary AS
    WITH base AS (
        SELECT *, (age_days = 0 AND game_no IN {NULL_POSSESSION_GAMES})
                  OR (age_days IN ({_GAP_AGES}) AND game_no = 0) AS lost FROM _team_games)
    SELECT game_id, game_date, team, opponent, is_home, points,
           CASE WHEN NOT lost THEN possessions END AS possessions,
           CASE WHEN NOT lost THEN round(100.0 * points / possessions, 1) END AS offensive_rating,
           _stamp(age_days, 450, team_idx) AS processed_at
    FROM base ORDER BY game_date, game_id, team""",
    """CREATE TABLE nba_analytics.team_defense_game_summary AS
    SELECT d.game_id, d.game_date, d.team, d.opponent, d.is_home, o.points AS points_allowed,
           o.possessions AS opponent_possessions, round(100.0 * o.points / o.possessions, 1) AS defensive_rating,
           _stamp(d.age_days, 360, d.team_idx) AS processed_at
    FROM _team_games d JOIN _team_games o ON o.game_id = d.game_id AND o.team = d.opponent
    WHERE d.age_days > 0 ORDER BY d.game_date, d.game_id, d.team""",
    # Normally features are built for the five starters a team, the players with props; yesterday the
    # full roster. NULL lines go first to players who did not play, then the bench, then the starters.
    f"""CREATE TABLE nba_predictions.ml_feature_store AS
    WITH history AS (
        SELECT *,
               avg(points) OVER (PARTITION BY player_id ORDER BY game_date ROWS BETWEEN 5 PRECEDING AND 1 PRECEDING)
                   AS points_last_5,
               avg(points) OVER (PARTITION BY player_id ORDER BY game_date ROWS BETWEEN 10 PRECEDING AND 1 PRECEDING)
                   AS points_last_10,
               avg(minutes) OVER (PARTITION BY player_id ORDER BY game_date ROWS BETWEEN 10 PRECEDING AND 1 PRECEDING)
                   AS minutes_last_10,
               date_diff('day', lag(game_date) OVER (PARTITION BY player_id ORDER BY game_date), game_date)
                   AS rest_days
        FROM _lines),
    featured AS (
        SELECT h.*, o.possessions AS opponent_pace,
               row_number() OVER (PARTITION BY h.game_date
                                  ORDER BY h.played, h.slot <= 5, _u(h.ord, h.player_id, 13), h.player_id) AS null_rank,
               count(*) OVER (PARTITION BY h.game_date) AS day_rows
        FROM history h JOIN _team_games o ON o.game_id = h.game_id AND o.team = h.opponent
        WHERE h.slot <= 5 OR h.age_days = 0)
    SELECT game_date, player_id, game_id, team, opponent, is_home,
           round(coalesce(points_last_5, scoring), 1) AS points_avg_last_5,
           round(coalesce(points_last_10, scoring), 1) AS points_avg_last_10,
           round(coalesce(minutes_last_10, 12.0), 1) AS minutes_avg_last_10,
           least(coalesce(rest_days, 3), 7)::INTEGER AS rest_days,
           opponent_pace, 33 AS feature_count, 'v2_33features' AS feature_version,
           CASE WHEN null_rank > round(day_rows * CASE WHEN age_days = 0 THEN 0.55
                                                       WHEN age_days = {LATE_ODDS_AGE} THEN 0.3 ELSE 0.08 END)
                THEN floor(coalesce(points_last_10, scoring)) + 0.5 END AS vegas_line,
           _stamp(age_days, 420, player_id) AS created_at
    FROM featured ORDER BY game_date, game_id, team, player_id""",
    f"""CREATE TABLE nba_predictions.player_prop_predictions AS
    WITH systems AS (SELECT unnest({list(SYSTEMS)}) AS system_id, unnest(range({len(SYSTEMS)})) AS system_no),
    predicted AS (
        SELECT f.*, s.system_id, s.system_no,
               round(f.vegas_line + (s.system_no - 2) * 0.3 + 8 * _u(f.player_id, date_diff('day', DATE '2000-01-01',
                     f.game_date), 20 + s.system_no) - 4, 1) AS predicted_points
        FROM nba_predictions.ml_feature_store f CROSS JOIN systems s
        WHERE f.vegas_line IS NOT NULL)
    SELECT system_id || ':' || game_id || ':' || player_id AS prediction_id, game_date, game_id, player_id, system_id,
           predicted_points, round(0.5 + 0.4 * _u(player_id, system_no, 30), 2) AS confidence,
           vegas_line AS line,
           CASE WHEN predicted_points - vegas_line >= 1 THEN 'OVER'
                WHEN predicted_points - vegas_line <= -1 THEN 'UNDER' ELSE 'PASS' END AS recommendation,
           created_at + INTERVAL 30 MINUTE AS created_at
    FROM predicted ORDER BY game_date, system_id, game_id, player_id""",
    # Graded rows carry the actual points and the verdict; every model is graded ~97%, except that last
    # night zone_matchup_v1 was graded for only 40% of its rows.
    f"""CREATE TABLE nba_predictions.prediction_accuracy AS
    WITH ranked AS (
        SELECT p.*, l.points AS points, date_diff('day', p.game_date, getvariable('yesterday')) AS age_days,
               row_number() OVER (PARTITION BY p.game_date, p.system_id
                                  ORDER BY _u(p.player_id, l.ord, 40), p.prediction_id) AS null_rank,
               count(*) OVER (PARTITION BY p.game_date, p.system_id) AS group_rows
        FROM nba_predictions.player_prop_predictions p
        JOIN _lines l ON l.game_id = p.game_id AND l.player_id = p.player_id),
    graded AS (
        SELECT *, null_rank > round(group_rows * CASE WHEN age_days = 0 AND system_id = '{UNGRADED_SYSTEM}' THEN 0.6
                                                    ELSE 0.03 END) AS is_graded
        FROM ranked)
    SELECT prediction_id, game_date, game_id, player_id, system_id, predicted_points, line, recommendation,
           CASE WHEN is_graded THEN points END AS actual_points,
           CASE WHEN is_graded THEN round(abs(predicted_points - points), 1) END AS absolute_error,
           CASE WHEN is_graded AND recommendation <> 'PASS'
                THEN (recommendation = 'OVER') = (points > line) END AS prediction_correct,
           CASE WHEN is_graded THEN _stamp(age_days, 375, player_id) END AS graded_at
    FROM graded ORDER BY game_date, system_id, game_id, player_id""",
)
