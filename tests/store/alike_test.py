"""SQLite and PostgreSQL answer alike: the same random runs written to both, every reader compared."""

from __future__ import annotations

import itertools
import random
from datetime import UTC, date, timedelta
from pathlib import Path

from deploywatch.store import Store

from .samples import random_runs


def test_sqlite_and_postgresql_give_the_same_answers(tmp_path: Path, postgres_url: str) -> None:
    start = date(2026, 7, 6)
    written = random_runs(20260921, 120, start=start)
    with Store.open(f"sqlite:///{tmp_path / 'state.db'}") as lite, Store.open(postgres_url) as pg:
        for run, findings, metrics in written:
            lite.record_run(run, findings, metrics)
            pg.record_run(run, findings, metrics)
        assert lite.runs(limit=1000) == pg.runs(limit=1000)
        assert len(pg.runs(limit=1000)) == len(written)
        assert lite.latest_findings() == pg.latest_findings()
        assert lite.newest_runs_with_findings() == pg.newest_runs_with_findings()
        assert lite.check_names() == pg.check_names() == ["dupes", "null_rate", "row_count"]
        for check in pg.check_names():
            assert lite.recent_metrics(check, limit=10_000) == pg.recent_metrics(check, limit=10_000)
            assert lite.measurements(check, limit=10_000) == pg.measurements(check, limit=10_000)

        rng = random.Random(5)
        groups = [None, "east", "west", "a b", "north"]
        befores = [start - timedelta(days=1), start + timedelta(days=3), start + timedelta(days=20), date(2100, 1, 1)]
        grid = list(itertools.product(["row_count", "null_rate", "dupes", "missing"], groups, befores,
                                      [0, 1, 2, 5, 13, 1000], [None, *range(7)], [False, True]))
        nonempty = 0
        for check, group, before, limit, weekday, anomalous in rng.sample(grid, 600):
            expected = lite.metric_history(check, group, before=before, limit=limit, weekday=weekday,
                                           include_anomalous=anomalous)
            assert pg.metric_history(check, group, before=before, limit=limit, weekday=weekday,
                                     include_anomalous=anomalous) == expected, (check, group, before, weekday)
            nonempty += bool(expected)
            # The weekday filter agrees with Python's own calendar.
            assert weekday is None or all(p.run_date.weekday() == weekday for p in expected)
        assert nonempty > 150  # the grid is not mostly empty answers

        points = pg.metric_history("row_count", None, before=date(2100, 1, 1), limit=1000, include_anomalous=True)
        assert len(points) > 20
        for point in points:  # the types, not only equality
            assert point.measured_at.tzinfo is UTC
            assert type(point.run_date) is date
            assert type(point.anomalous) is bool
            assert type(point.value) is float
