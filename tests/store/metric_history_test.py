"""metric_history (the anomaly detector's training data), recent_metrics and check_names."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, time, timedelta

import pytest

from deploywatch.store import MetricPoint, MetricRecord, RunRecord, Store

MONDAY = date(2026, 9, 7)


def record(store: Store, *rows: tuple[date, float | None], check: str = "row_count", group: str | None = None,
           at: time = time(6, 0), anomalous: bool = False, status: str = "ok") -> str:
    """Record one run holding a metric row per (run_date, value), measured at ``at`` on the day after; its id."""
    run_id = uuid.uuid4().hex
    first = datetime.combine(rows[0][0] + timedelta(days=1), at, UTC)
    run = RunRecord(id=run_id, command="check", started_at=first, finished_at=first, run_date=rows[0][0],
                    status=status, exit_code=0)
    metrics = [MetricRecord(run_id=run_id, check=check, group=group, metric="row_count", run_date=day,
                            measured_at=datetime.combine(day + timedelta(days=1), at, UTC), value=value,
                            status=status, anomalous=anomalous) for day, value in rows]
    store.record_run(run, metrics=metrics)
    return run_id


def days(start: date, count: int) -> list[date]:
    return [start + timedelta(days=i) for i in range(count)]


def values(points: list[MetricPoint]) -> list[tuple[date, float | None]]:
    return [(p.run_date, p.value) for p in points]


def test_history_is_the_newest_dates_before_the_given_one_oldest_first(store: Store) -> None:
    record(store, *[(day, float(i)) for i, day in enumerate(days(MONDAY, 10))])
    today = MONDAY + timedelta(days=6)
    history = store.metric_history("row_count", None, before=today, limit=3)
    assert values(history) == [(MONDAY + timedelta(days=3), 3.0), (MONDAY + timedelta(days=4), 4.0),
                               (MONDAY + timedelta(days=5), 5.0)]
    everything = store.metric_history("row_count", None, before=today, limit=100)
    assert [p.run_date for p in everything] == days(MONDAY, 6)  # today's and later rows never count
    assert store.metric_history("row_count", None, before=MONDAY, limit=100) == []
    assert store.metric_history("row_count", None, before=today, limit=0) == []


def test_the_latest_row_of_a_date_stands_for_it(store: Store) -> None:
    d1, d2, d3 = days(MONDAY, 3)
    record(store, (d1, 1.0), (d2, 10.0), (d3, 100.0), at=time(6, 0))
    record(store, (d2, 20.0), at=time(7, 0))  # a rerun later in the day
    record(store, (d2, 15.0), at=time(6, 30))  # recorded later, measured earlier: measured_at decides
    record(store, (d3, 200.0), (d3, 300.0), at=time(6, 0))  # same measured_at: insertion order decides
    history = store.metric_history("row_count", None, before=d3 + timedelta(days=1), limit=10)
    assert values(history) == [(d1, 1.0), (d2, 20.0), (d3, 300.0)]
    assert history[1].measured_at == datetime(2026, 9, 9, 7, 0, tzinfo=UTC)


def test_rows_without_a_value_do_not_count(store: Store) -> None:
    d1, d2 = days(MONDAY, 2)
    record(store, (d1, 1.0), (d2, 2.0), at=time(6, 0))
    record(store, (d2, None), at=time(9, 0))  # the latest row of d2 could not be computed
    assert values(store.metric_history("row_count", None, before=d2 + timedelta(days=1), limit=10)) == [
        (d1, 1.0), (d2, 2.0)]


def test_dates_whose_latest_row_is_anomalous_are_dropped(store: Store) -> None:
    d1, d2, d3, d4 = days(MONDAY, 4)
    record(store, (d1, 1.0), (d2, 2.0), (d3, 3.0), (d4, 4.0), at=time(6, 0))
    record(store, (d2, 99.0), at=time(7, 0), anomalous=True)  # d2's latest is anomalous: d2 goes
    record(store, (d3, 77.0), at=time(5, 0), anomalous=True)  # only an earlier row of d3 is: d3 stays
    before = d4 + timedelta(days=1)
    assert values(store.metric_history("row_count", None, before=before, limit=10)) == [
        (d1, 1.0), (d3, 3.0), (d4, 4.0)]
    # the limit counts dates that are kept: dropping d2 reaches back to d1
    assert values(store.metric_history("row_count", None, before=before, limit=3)) == [
        (d1, 1.0), (d3, 3.0), (d4, 4.0)]
    with_anomalies = store.metric_history("row_count", None, before=before, limit=10, include_anomalous=True)
    assert values(with_anomalies) == [(d1, 1.0), (d2, 99.0), (d3, 3.0), (d4, 4.0)]
    assert [p.anomalous for p in with_anomalies] == [False, True, False, False]


@pytest.mark.parametrize("weekday", range(7))
def test_weekday_keeps_only_dates_on_that_weekday(store: Store, weekday: int) -> None:
    record(store, *[(day, float(i)) for i, day in enumerate(days(MONDAY, 28))])
    history = store.metric_history("row_count", None, before=MONDAY + timedelta(days=27), limit=3, weekday=weekday)
    expected = [day for day in days(MONDAY, 27) if day.weekday() == weekday][-3:]
    assert [p.run_date for p in history] == expected


def test_weekday_must_be_a_weekday(store: Store) -> None:
    with pytest.raises(ValueError, match="weekday"):
        store.metric_history("row_count", None, before=MONDAY, limit=3, weekday=7)


def test_group_none_matches_only_ungrouped_rows(store: Store) -> None:
    d1, d2 = days(MONDAY, 2)
    record(store, (d1, 1.0), (d2, 2.0))
    record(store, (d1, 10.0), (d2, 20.0), group="east")
    record(store, (d1, 100.0), group="west", at=time(9, 0))
    record(store, (d1, 1000.0), check="null_rate")
    before = d2 + timedelta(days=1)
    assert values(store.metric_history("row_count", None, before=before, limit=10)) == [(d1, 1.0), (d2, 2.0)]
    east = store.metric_history("row_count", "east", before=before, limit=10)
    assert values(east) == [(d1, 10.0), (d2, 20.0)]
    assert {(p.check, p.group) for p in east} == {("row_count", "east")}
    assert values(store.metric_history("row_count", "west", before=before, limit=10)) == [(d1, 100.0)]
    assert store.metric_history("row_count", "north", before=before, limit=10) == []
    assert store.metric_history("missing", None, before=before, limit=10) == []


def test_history_is_read_in_streamed_batches(store: Store) -> None:
    many = days(MONDAY - timedelta(days=1500), 1500)
    record(store, *[(day, float(i)) for i, day in enumerate(many)])
    history = store.metric_history("row_count", None, before=MONDAY, limit=1200)
    assert [p.run_date for p in history] == many[-1200:]


def test_recent_metrics_newest_first(store: Store) -> None:
    d1, d2, d3 = days(MONDAY, 3)
    first = record(store, (d1, 1.0), (d2, 2.0), (d3, None), status="unknown")
    record(store, (d1, 10.0), (d2, 20.0), group="east", at=time(5, 0))
    record(store, (d2, 99.0), group="east", at=time(8, 0), anomalous=True)
    record(store, (d1, 7.0), check="null_rate")

    everything = store.recent_metrics("row_count")
    assert [(p.run_date, p.group, p.value) for p in everything] == [
        (d3, None, None), (d2, "east", 99.0), (d2, None, 2.0), (d2, "east", 20.0), (d1, None, 1.0),
        (d1, "east", 10.0)]
    assert everything[0] == MetricPoint(run_id=first, check="row_count", group=None, run_date=d3,
                                        measured_at=datetime(2026, 9, 10, 6, 0, tzinfo=UTC), value=None,
                                        status="unknown", anomalous=False)
    assert [p.value for p in store.recent_metrics("row_count", group=None)] == [None, 2.0, 1.0]
    assert [p.value for p in store.recent_metrics("row_count", group="east", limit=2)] == [99.0, 20.0]
    assert [p.value for p in store.recent_metrics("row_count", limit=1)] == [None]
    assert store.recent_metrics("missing") == []


def test_measurements_are_one_row_per_group_and_instant_the_newest_runs(store: Store) -> None:
    d1, d2 = days(MONDAY, 2)
    record(store, (d1, 1.0), (d2, 2.0))
    record(store, (d1, 10.0), group="east")
    second = record(store, (d2, 2.0))  # another run measuring at the same instant (a check after a canary)
    record(store, (d2, 3.0), at=time(7, 0))  # a later measurement of the same date is a row of its own
    points = store.measurements("row_count")
    assert [(p.run_date, p.group, p.value) for p in points] == [
        (d2, None, 3.0), (d2, None, 2.0), (d1, "east", 10.0), (d1, None, 1.0)]
    assert points[1].run_id == second
    assert [p.value for p in store.measurements("row_count", group=None, limit=2)] == [3.0, 2.0]
    assert [p.value for p in store.measurements("row_count", group="east")] == [10.0]
    assert len(store.recent_metrics("row_count")) == 5  # the store keeps every run's rows
    assert store.measurements("row_count", limit=0) == []


def test_check_names(store: Store) -> None:
    assert store.check_names() == []
    record(store, (MONDAY, 1.0), check="zeta")
    record(store, (MONDAY, 1.0), check="alpha", group="g")
    record(store, (MONDAY, 2.0), check="zeta")
    assert store.check_names() == ["alpha", "zeta"]
