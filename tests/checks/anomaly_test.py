"""Anomaly detection: ``score`` on its own, then end to end through real canary runs on series seeded in DuckDB.

The end-to-end series are built the way users build history: ``deploywatch canary --date D --now D+1T09:00Z``
for each date in order. Every expected mean, standard deviation and z-score is computed here with
:mod:`statistics` over the values the test seeded, never read back from deploywatch.
"""

from __future__ import annotations

import contextlib
import io
import json
import math
import re
import statistics
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import duckdb
import pytest

from deploywatch.checks.anomaly import score
from deploywatch.cli import main
from deploywatch.config.checks import AnomalyConfig
from deploywatch.core.status import Status
from deploywatch.store import Store, default_store_url

DAY = timedelta(days=1)
START = date(2026, 10, 5)  # a Monday
NOISE = [100.0, 104.0, 97.0, 102.0, 99.0, 103.0, 96.0, 101.0, 98.0, 105.0]
STEADY = [1000.0, 1000.2, 999.8, 1000.1, 999.9, 1000.0, 1000.2, 999.8, 1000.1, 999.9]


def day(index: int) -> date:
    return START + index * DAY


_SAID = re.compile(r"anomaly \((spike|drop)\): (\S+) against a mean of (\S+) ± (\S+) over (\d+) values, "
                   r"z = ([+-]\S+) \(sensitivity")


def said(reason: str) -> tuple[str, float, float, float, int, float]:
    """What an anomaly's reason says: (spike or drop, value, mean, stddev, history size, z)."""
    match = _SAID.search(reason)
    assert match, reason
    word, value, mean, stddev, size, z = match.groups()
    number = [float(text.replace(",", "")) for text in (value, mean, stddev, z)]
    return word, number[0], number[1], number[2], int(size), number[3]


def approx_anomaly(mean: float, stddev: float, z: float) -> dict[str, Any]:
    """The ``anomaly`` JSON expected for these numbers (compared approximately)."""
    return {"mean": pytest.approx(mean), "stddev": pytest.approx(stddev), "z": pytest.approx(z)}


def expected(value: float, history: Sequence[float]) -> tuple[float, float, float]:
    """(mean, sample standard deviation, z) of ``value`` against ``history``, computed independently."""
    mean = statistics.mean(history)
    stddev = statistics.stdev(history)
    return mean, stddev, (value - mean) / stddev


# ---------------------------------------------------------------- score() on its own


def test_not_enough_history_is_unknown_never_ok() -> None:
    result = score(500.0, [1.0, 2.0, 3.0], AnomalyConfig(min_history=4, window=10))

    assert result.status is Status.UNKNOWN
    assert not result.anomalous
    assert (result.mean, result.stddev, result.z, result.history_size) == (None, None, None, 3)
    assert "not enough history" in result.reason and "3 of 4" in result.reason
    assert result.as_json() == {"mean": None, "stddev": None, "z": None}


def test_not_enough_history_on_a_weekday_says_so() -> None:
    result = score(1.0, [1.0], AnomalyConfig(min_history=3, window=5, seasonality="day_of_week"))

    assert result.status is Status.UNKNOWN
    assert "1 of 3 values on this weekday" in result.reason


def test_only_the_last_window_values_train() -> None:
    history = [1000.0, 1000.0, 10.0, 12.0, 11.0, 13.0]  # the two old values would drag the mean far up

    result = score(12.0, history, AnomalyConfig(min_history=3, window=4))

    mean, stddev, z = expected(12.0, history[-4:])
    assert result.history_size == 4
    assert result.mean == pytest.approx(mean)
    assert result.stddev == pytest.approx(stddev)
    assert result.z == pytest.approx(z)
    assert result.status is Status.OK


def test_spike_is_a_warning_with_value_mean_stddev_and_z_in_the_reason() -> None:
    result = score(200.0, NOISE, AnomalyConfig(min_history=5, window=10))

    mean, stddev, z = expected(200.0, NOISE)
    assert result.status is Status.WARNING and result.anomalous
    assert (result.mean, result.stddev, result.z) == (pytest.approx(mean), pytest.approx(stddev), pytest.approx(z))
    assert said(result.reason) == ("spike", 200.0, pytest.approx(mean, rel=1e-2), pytest.approx(stddev, rel=1e-2),
                                   10, pytest.approx(z, abs=0.05))


def test_drop_with_status_critical() -> None:
    result = score(30.0, NOISE, AnomalyConfig(min_history=5, window=10, status="critical"))

    assert result.status is Status.CRITICAL and result.anomalous
    assert said(result.reason)[:2] == ("drop", 30.0)
    assert result.z == pytest.approx(expected(30.0, NOISE)[2])
    assert result.z is not None and result.z < -20


@pytest.mark.parametrize(("direction", "value", "flagged"), [
    ("both", 200.0, True), ("both", 30.0, True),
    ("spike", 200.0, True), ("spike", 30.0, False),
    ("drop", 200.0, False), ("drop", 30.0, True),
])
def test_direction_filters(direction: str, value: float, flagged: bool) -> None:
    config = AnomalyConfig.model_validate({"min_history": 5, "window": 10, "direction": direction})

    result = score(value, NOISE, config)

    assert result.anomalous is flagged
    assert result.status is (Status.WARNING if flagged else Status.OK)
    # The z-score is reported whichever way the filter points.
    assert result.z == pytest.approx(expected(value, NOISE)[2])


def test_sensitivity_is_a_strict_bound() -> None:
    history = [9.0, 10.0, 11.0]  # mean 10, sample stddev exactly 1
    config = AnomalyConfig(min_history=3, window=3, sensitivity=3)

    at_bound = score(13.0, history, config)
    beyond = score(13.5, history, config)

    assert (at_bound.z, at_bound.status) == (3.0, Status.OK)
    assert (beyond.z, beyond.status) == (3.5, Status.WARNING)
    assert score(13.5, history, AnomalyConfig(min_history=3, window=3, sensitivity=4)).status is Status.OK


def test_min_change_keeps_tiny_changes_quiet() -> None:
    _, _, z = expected(1001.0, STEADY)
    assert z > 6  # far outside three standard deviations …

    quiet = score(1001.0, STEADY, AnomalyConfig(min_history=5, window=10, min_change=5))
    loud = score(1001.0, STEADY, AnomalyConfig(min_history=5, window=10))
    at_floor = score(1001.0, STEADY, AnomalyConfig(min_history=5, window=10, min_change=1))

    assert (quiet.status, quiet.anomalous) == (Status.OK, False)  # … but only 1 away from the mean
    assert quiet.z == pytest.approx(z)
    assert (loud.status, loud.anomalous) == (Status.WARNING, True)
    assert at_floor.anomalous  # a change equal to the floor pages


def test_flat_history_unchanged_value_is_ok() -> None:
    result = score(50.0, [50.0] * 6, AnomalyConfig(min_history=5, window=10))

    assert (result.status, result.mean, result.stddev, result.z) == (Status.OK, 50.0, 0.0, 0.0)
    assert result.as_json() == {"mean": 50.0, "stddev": 0.0, "z": 0.0}


def test_flat_history_any_change_is_an_anomaly_with_infinite_z() -> None:
    result = score(51.0, [50.0] * 6, AnomalyConfig(min_history=5, window=10))
    below = score(49.0, [50.0] * 6, AnomalyConfig(min_history=5, window=10))

    assert result.status is Status.WARNING and result.anomalous
    assert result.z == math.inf and below.z == -math.inf
    assert "never varied" in result.reason
    assert result.as_json() == {"mean": 50.0, "stddev": 0.0, "z": None}  # JSON has no infinity
    assert not score(51.0, [50.0] * 6, AnomalyConfig(min_history=5, window=10, min_change=2)).anomalous


# ---------------------------------------------------------------- end to end: seeded series, real canary runs

WAREHOUSE = "warehouse.duckdb"


@dataclass(frozen=True)
class Series:
    """One ``series`` of the ``daily`` table: its value per day index (None: no row that day)."""

    name: str
    values: dict[int, float]


def _weekly(sunday_values: Sequence[float], last_sunday: float) -> dict[int, float]:
    """28 days from a Monday: weekdays around 100, Sundays low; the fourth Sunday is ``last_sunday``."""
    values = {i: NOISE[i % len(NOISE)] for i in range(28)}
    for week, value in enumerate([*sunday_values, last_sunday]):
        values[7 * week + 6] = value
    return values


SUNDAYS = [10.0, 12.0, 9.0]
SERIES = [
    Series("spike", dict(enumerate([*NOISE, 200.0, 102.0]))),
    Series("drop", dict(enumerate([*NOISE, 30.0, 101.0]))),
    Series("steady", dict(enumerate([*STEADY, 1001.0]))),
    Series("flat", dict(enumerate([50.0] * 11 + [51.0]))),
    Series("weekly", _weekly(SUNDAYS, 11.0)),
    Series("busy_sunday", _weekly(SUNDAYS, 100.0)),
]
GROUPS = {"a": [*NOISE, 200.0], "b": [10 * v for v in NOISE] + [1003.0]}
SERIES_DAYS = 28


def _check(name: str, series: str, anomaly: str, **extra: str) -> str:
    lines = [f'name = "{name}"', 'phase = "anomalies"', 'table = "daily"',
             f"where = \"d = DATE '{{{{ run_date }}}}' AND series = '{series}'\"", 'metric = "sum(amount)"',
             f"anomaly = {{ {anomaly} }}", *(f"{k} = {v}" for k, v in extra.items())]
    return "[[checks]]\n" + "\n".join(lines) + "\n"


SERIES_CONFIG = f'[warehouse]\nurl = "duckdb:///{WAREHOUSE}"\nconcurrency = 1\n\n' + "\n".join([
    _check("spike", "spike", "min_history = 5, window = 10"),
    _check("drop", "drop", 'min_history = 5, window = 10, status = "critical"'),
    _check("spike_watched_for_drops", "spike", 'min_history = 5, window = 10, direction = "drop"'),
    _check("drop_watched_for_spikes", "drop", 'min_history = 5, window = 10, direction = "spike"'),
    _check("steady_with_floor", "steady", "min_history = 5, window = 10, min_change = 5"),
    _check("steady_without_floor", "steady", "min_history = 5, window = 10"),
    _check("flat", "flat", "min_history = 5, window = 10"),
    _check("weekly_seasonal", "weekly", 'min_history = 3, window = 6, seasonality = "day_of_week"'),
    _check("weekly_plain", "weekly", "min_history = 3, window = 6"),
    _check("busy_sunday_seasonal", "busy_sunday", 'min_history = 3, window = 6, seasonality = "day_of_week"'),
    _check("busy_sunday_plain", "busy_sunday", "min_history = 3, window = 6"),
    _check("per_group", "grouped", "min_history = 5, window = 10", group_by='"grp"'),
])


def seed(path: Path, rows: Iterable[tuple[date, str, str | None, float]]) -> None:
    """Write the ``daily(d, series, grp, amount)`` table."""
    with duckdb.connect(str(path)) as con:
        con.execute("CREATE TABLE daily (d DATE, series VARCHAR, grp VARCHAR, amount DOUBLE)")
        con.executemany("INSERT INTO daily VALUES (?, ?, ?, ?)", [list(r) for r in rows])


def canary(config: Path, run_date: date, *extra: str) -> tuple[int, dict[str, Any]]:
    """``deploywatch canary --date D --now D+1T09:00Z --format json``, in-process: (exit code, document)."""
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = main(["canary", "--config", str(config), "--date", run_date.isoformat(),
                     "--now", f"{run_date + DAY}T09:00:00Z", "--format", "json", *extra])
    return code, json.loads(out.getvalue())


def entry(document: dict[str, Any], name: str, group: str | None = None) -> dict[str, Any]:
    (found,) = [c for c in document["checks"] if c["name"] == name and c["group"] == group]
    return dict(found)


@dataclass(frozen=True)
class Runs:
    """The seeded series after a canary run per date: the documents by day index, and the store."""

    config: Path
    codes: dict[int, int]
    documents: dict[int, dict[str, Any]]

    def result(self, index: int, name: str, group: str | None = None) -> dict[str, Any]:
        return entry(self.documents[index], name, group)

    def store(self) -> Store:
        return Store.open(default_store_url(self.config.parent))


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> Runs:
    root = tmp_path_factory.mktemp("anomaly-series")
    rows: list[tuple[date, str, str | None, float]] = [
        (day(i), s.name, None, v) for s in SERIES for i, v in s.values.items()]
    rows += [(day(i), "grouped", grp, v) for grp, values in GROUPS.items() for i, v in enumerate(values)]
    seed(root / WAREHOUSE, rows)
    config = root / "deploywatch.toml"
    config.write_text(SERIES_CONFIG, encoding="utf-8")
    codes, documents = {}, {}
    for index in range(SERIES_DAYS):
        codes[index], documents[index] = canary(config, day(index))
    return Runs(config, codes, documents)


def test_series_too_little_history_is_unknown(runs: Runs) -> None:
    for index in range(5):
        first = runs.result(index, "spike")
        assert (first["value"], first["status"], first["anomaly"]) == (NOISE[index], "unknown", None)
        assert f"not enough history for anomaly detection: {index} of 5 values" in first["reason"]
    assert runs.codes[0] == 3  # unknown, the worst status that day
    assert runs.result(5, "spike")["status"] == "ok"


def test_series_spike_detected_with_independently_computed_anomaly(runs: Runs) -> None:
    spike = runs.result(10, "spike")

    mean, stddev, z = expected(200.0, NOISE)
    assert spike["value"] == 200.0
    assert spike["status"] == "warning"
    assert spike["anomaly"] == approx_anomaly(mean, stddev, z)
    assert set(spike["anomaly"]) == {"mean", "stddev", "z"}
    assert said(spike["reason"]) == ("spike", 200.0, pytest.approx(mean, rel=1e-3), pytest.approx(stddev, rel=1e-2),
                                     10, pytest.approx(z, abs=0.05))


def test_series_quiet_days_report_their_anomaly_numbers(runs: Runs) -> None:
    for index in range(5, 10):
        result = runs.result(index, "spike")
        mean, stddev, z = expected(NOISE[index], NOISE[:index])
        assert result["status"] == "ok" and result["reason"] is None
        assert result["anomaly"] == approx_anomaly(mean, stddev, z)


def test_series_drop_detected_and_critical_wins_the_exit_code(runs: Runs) -> None:
    drop = runs.result(10, "drop")

    mean, stddev, z = expected(30.0, NOISE)
    assert drop["status"] == "critical"
    assert drop["anomaly"] == approx_anomaly(mean, stddev, z)
    assert said(drop["reason"]) == ("drop", 30.0, pytest.approx(mean, rel=1e-3), pytest.approx(stddev, rel=1e-2),
                                    10, pytest.approx(z, abs=0.05))
    # Other checks are unknown that day (seasonal history still short): critical (2) beats unknown (3).
    assert any(c["status"] == "unknown" for c in runs.documents[10]["checks"])
    assert (runs.documents[10]["status"], runs.codes[10]) == ("critical", 2)


def test_series_direction_filters(runs: Runs) -> None:
    spike_for_drops = runs.result(10, "spike_watched_for_drops")
    drop_for_spikes = runs.result(10, "drop_watched_for_spikes")

    assert (spike_for_drops["value"], spike_for_drops["status"]) == (200.0, "ok")
    assert spike_for_drops["anomaly"]["z"] == pytest.approx(expected(200.0, NOISE)[2])
    assert (drop_for_spikes["value"], drop_for_spikes["status"]) == (30.0, "ok")
    assert drop_for_spikes["anomaly"]["z"] == pytest.approx(expected(30.0, NOISE)[2])


def test_series_anomaly_kept_out_of_later_windows(runs: Runs) -> None:
    after_spike = runs.result(11, "spike")
    after_drop = runs.result(11, "drop")

    # window = 10: the last ten dates before day 11 that were not anomalies are days 0-9, not days 1-10.
    assert after_spike["status"] == "ok" and after_drop["status"] == "ok"
    assert after_spike["anomaly"]["mean"] == pytest.approx(statistics.mean(NOISE))
    assert after_spike["anomaly"]["stddev"] == pytest.approx(statistics.stdev(NOISE))
    assert after_spike["anomaly"]["mean"] != pytest.approx(statistics.mean([*NOISE[1:], 200.0]))
    assert after_drop["anomaly"]["mean"] == pytest.approx(statistics.mean(NOISE))
    # A spike that was not flagged (direction = "drop") does train the next window.
    unflagged = runs.result(11, "spike_watched_for_drops")
    assert unflagged["anomaly"]["mean"] == pytest.approx(statistics.mean([*NOISE[1:], 200.0]))


def test_series_anomalies_are_stored_as_such(runs: Runs) -> None:
    with runs.store() as store:
        spike_rows = {p.run_date: p for p in store.recent_metrics("spike", limit=100)}
        unflagged = {p.run_date: p for p in store.recent_metrics("spike_watched_for_drops", limit=100)}
        training = store.metric_history("spike", None, before=day(12), limit=100)
        (finding,) = [f for f in store.findings(spike_rows[day(10)].run_id) if f.subject == "spike"]

    assert (spike_rows[day(10)].value, spike_rows[day(10)].status, spike_rows[day(10)].anomalous) == (
        200.0, "warning", True)
    assert not spike_rows[day(11)].anomalous
    assert not unflagged[day(10)].anomalous
    assert [p.value for p in training] == [*NOISE, 102.0]
    # The stored finding says the value, the mean, the standard deviation and the z-score.
    mean, stddev, z = expected(200.0, NOISE)
    assert (finding.kind, finding.status) == ("check", "warning")
    assert said(finding.summary) == ("spike", 200.0, pytest.approx(mean, rel=1e-3), pytest.approx(stddev, rel=1e-2),
                                     10, pytest.approx(z, abs=0.05))
    assert finding.details["anomaly"] == approx_anomaly(mean, stddev, z)


def test_series_min_change_floor(runs: Runs) -> None:
    with_floor = runs.result(10, "steady_with_floor")
    without_floor = runs.result(10, "steady_without_floor")

    mean, stddev, z = expected(1001.0, STEADY)
    assert z > 3
    assert with_floor["status"] == "ok"
    assert with_floor["anomaly"]["z"] == pytest.approx(z)
    assert without_floor["status"] == "warning"
    assert without_floor["anomaly"] == approx_anomaly(mean, stddev, z)


def test_series_flat_history(runs: Runs) -> None:
    unchanged = runs.result(10, "flat")
    changed = runs.result(11, "flat")

    assert unchanged["status"] == "ok"
    assert unchanged["anomaly"] == {"mean": 50.0, "stddev": 0.0, "z": 0.0}
    assert changed["status"] == "warning"
    assert changed["anomaly"] == {"mean": 50.0, "stddev": 0.0, "z": None}
    assert "51" in changed["reason"] and "never varied" in changed["reason"]


def test_series_groups_have_separate_histories(runs: Runs) -> None:
    a = runs.result(10, "per_group", "a")
    b = runs.result(10, "per_group", "b")

    a_mean, a_stddev, a_z = expected(200.0, GROUPS["a"][:10])
    b_mean, b_stddev, b_z = expected(1003.0, GROUPS["b"][:10])
    assert (a["value"], a["status"]) == (200.0, "warning")
    assert a["anomaly"] == approx_anomaly(a_mean, a_stddev, a_z)
    assert (b["value"], b["status"]) == (1003.0, "ok")
    assert b["anomaly"] == approx_anomaly(b_mean, b_stddev, b_z)
    # Mixed together the two histories would make neither value stand out.
    mixed = GROUPS["a"][:10] + GROUPS["b"][:10]
    assert abs(expected(200.0, mixed)[2]) < 3
    with runs.store() as store:
        assert [p.value for p in store.metric_history("per_group", "a", before=day(10), limit=100)] == NOISE
        assert store.metric_history("per_group", None, before=day(10), limit=100) == []


def test_series_weekly_pattern_is_normal_with_day_of_week_seasonality(runs: Runs) -> None:
    seasonal = runs.result(27, "weekly_seasonal")
    plain = runs.result(27, "weekly_plain")
    weekly = next(s for s in SERIES if s.name == "weekly").values

    assert day(27).weekday() == 6
    mean, stddev, z = expected(11.0, SUNDAYS)  # the three earlier Sundays
    assert seasonal["status"] == "ok"
    assert seasonal["anomaly"] == approx_anomaly(mean, stddev, z)
    # Without seasonality the window is the six days before: Monday to Saturday, all near 100.
    plain_mean, plain_stddev, plain_z = expected(11.0, [weekly[i] for i in range(21, 27)])
    assert plain["status"] == "warning"
    assert plain["anomaly"] == approx_anomaly(plain_mean, plain_stddev, plain_z)


def test_series_seasonality_flags_a_value_normal_for_the_week_but_not_for_its_weekday(runs: Runs) -> None:
    seasonal = runs.result(27, "busy_sunday_seasonal")
    plain = runs.result(27, "busy_sunday_plain")

    assert seasonal["status"] == "warning"
    assert seasonal["anomaly"]["mean"] == pytest.approx(statistics.mean(SUNDAYS))
    assert plain["status"] == "ok"


def test_series_seasonal_history_counts_only_the_same_weekday(runs: Runs) -> None:
    third_sunday = runs.result(20, "weekly_seasonal")
    third_monday = runs.result(21, "weekly_seasonal")

    assert third_sunday["status"] == "unknown"
    assert "2 of 3 values on this weekday" in third_sunday["reason"]
    mondays = [NOISE[0], NOISE[7], NOISE[14 % 10]]
    assert third_monday["anomaly"]["mean"] == pytest.approx(statistics.mean(mondays))


# ---------------------------------------------------------------- end to end: the current point never trains

ROWS_CONFIG = """\
[warehouse]
url = "duckdb:///events.duckdb"

[[checks]]
name = "events.rows"
table = "events"
where = "d = DATE '{{ run_date }}'"
metric = "row_count"
anomaly = { min_history = 3, window = 4 }
"""


def add_events(path: Path, counts: dict[date, int]) -> None:
    """Append ``count`` rows to ``events`` for each date (the daily row count is the series)."""
    with duckdb.connect(str(path)) as con:
        con.execute("CREATE TABLE IF NOT EXISTS events (d DATE, id INTEGER)")
        for when, count in counts.items():
            con.execute("INSERT INTO events SELECT ?, range FROM range(?)", [when, count])


@pytest.fixture
def events(tmp_path: Path) -> Path:
    config = tmp_path / "deploywatch.toml"
    config.write_text(ROWS_CONFIG, encoding="utf-8")
    return config


def test_rerunning_a_date_never_trains_on_itself_nor_on_later_dates(events: Path) -> None:
    warehouse = events.parent / "events.duckdb"
    counts = [20, 22, 19, 21, 23]
    add_events(warehouse, {day(i): n for i, n in enumerate(counts)} | {day(6): 25, day(5): 20})
    for index in range(4):
        canary(events, day(index))

    _, first = canary(events, day(4))
    _, again = canary(events, day(4))
    add_events(warehouse, {day(4): 1})  # a backfill: day 4 now has 24 rows
    _, backfilled = canary(events, day(4))

    for document, value in ((first, 23), (again, 23), (backfilled, 24)):
        result = entry(document, "events.rows")
        mean, stddev, z = expected(value, counts[:4])
        assert (result["value"], result["status"]) == (value, "ok")
        assert result["anomaly"] == approx_anomaly(mean, stddev, z)

    _, later = canary(events, day(6))  # run ahead of day 5
    _, late = canary(events, day(5))
    with Store.open(default_store_url(events.parent)) as store:
        day_four = [p.value for p in store.recent_metrics("events.rows", limit=100) if p.run_date == day(4)]
        training = store.metric_history("events.rows", None, before=day(5), limit=100)

    assert day_four == [24.0, 23.0, 23.0]  # newest first: every run is kept …
    assert [p.value for p in training] == [20.0, 22.0, 19.0, 21.0, 24.0]  # … the latest of a date trains
    window = [22, 19, 21, 24]  # the four dates before day 5 and day 6: days 1-4, day 4 as backfilled
    assert entry(later, "events.rows")["anomaly"]["mean"] == pytest.approx(statistics.mean(window))
    assert entry(late, "events.rows")["anomaly"]["mean"] == pytest.approx(statistics.mean(window))
    assert entry(late, "events.rows")["value"] == 20


def test_first_run_without_history_is_unknown_in_every_format(events: Path,
                                                              capsys: pytest.CaptureFixture[str]) -> None:
    add_events(events.parent / "events.duckdb", {day(0): 5})

    code = main(["canary", "--config", str(events), "--date", day(0).isoformat(), "--now",
                 f"{day(1)}T09:00:00Z"])

    out = capsys.readouterr().out
    assert code == 3
    assert "not enough history for anomaly detection: 0 of 3 values" in out
    assert "unknown" in out
