"""Two processes using one store at once: both race to migrate a new store, then both write."""

from __future__ import annotations

from collections.abc import Callable

from deploywatch.store import Store
from deploywatch.store.migrations import LATEST_VERSION

RUNS_PER_PROCESS = 50
METRICS_PER_RUN = 3

# Each writer opens the (new) store only once both processes are ready, so both see an empty database.
WRITER = """
import sys, uuid
from datetime import UTC, date, datetime, timedelta
from deploywatch.store import FindingRecord, MetricRecord, RunRecord, Store

worker, url, runs, metrics_per_run = sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5])
with Store.open(url, timeout=60) as store:
    for i in range(runs):
        started = datetime(2026, 9, 1, tzinfo=UTC) + timedelta(minutes=i)
        run = RunRecord(id=uuid.uuid4().hex, command=f"check-{worker}", started_at=started, finished_at=started,
                        run_date=date(2026, 9, 1) + timedelta(days=i), status="ok", exit_code=0)
        finding = FindingRecord(run_id=run.id, kind="check", subject="row_count", status="ok", summary="fine",
                                fingerprint="check:row_count")
        metrics = [MetricRecord(run_id=run.id, check="row_count", group=f"{worker}-{g}", metric="row_count",
                                run_date=run.run_date, measured_at=started, value=float(i), status="ok")
                   for g in range(metrics_per_run)]
        store.record_run(run, [finding], metrics)
        store.metric_history("row_count", f"{worker}-0", before=run.run_date, limit=28)
"""


def test_two_processes_migrate_and_write_one_store(store_url: str, lockstep: Callable[..., None]) -> None:
    lockstep(WRITER, {name: [store_url, str(RUNS_PER_PROCESS), str(METRICS_PER_RUN)] for name in ("a", "b")})

    with Store.open(store_url) as store:
        assert store.schema_version() == LATEST_VERSION
        runs = store.runs(limit=1000)
        assert len(runs) == 2 * RUNS_PER_PROCESS
        assert len({run.id for run in runs}) == 2 * RUNS_PER_PROCESS
        for name in ("a", "b"):
            assert len(store.runs(command=f"check-{name}", limit=1000)) == RUNS_PER_PROCESS
        assert len(store.recent_metrics("row_count", limit=10_000)) == 2 * RUNS_PER_PROCESS * METRICS_PER_RUN
        assert sum(len(store.findings(run.id)) for run in runs) == 2 * RUNS_PER_PROCESS
