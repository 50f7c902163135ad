"""Two processes using one store at once: both race to migrate a new store, then both write."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

from deploywatch.store import Store
from deploywatch.store.migrations import LATEST_VERSION

RUNS_PER_PROCESS = 50
METRICS_PER_RUN = 3

# Each writer opens the (new) store only once both processes are ready, so both see an empty database.
WRITER = """
import sys, time, uuid
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from deploywatch.store import FindingRecord, MetricRecord, RunRecord, Store

url, worker, sync = sys.argv[1], sys.argv[2], Path(sys.argv[5])
runs, metrics_per_run = int(sys.argv[3]), int(sys.argv[4])
(sync / f"ready-{worker}").touch()
deadline = time.monotonic() + 60
while not (sync / "go").exists():
    if time.monotonic() > deadline:
        sys.exit("no go signal")
    time.sleep(0.001)
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


def test_two_processes_migrate_and_write_one_store(store_url: str, tmp_path: Path) -> None:
    sync = tmp_path / "sync"
    sync.mkdir()
    writers = [
        subprocess.Popen([sys.executable, "-W", "error", "-c", WRITER, store_url, name, str(RUNS_PER_PROCESS),
                          str(METRICS_PER_RUN), str(sync)],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for name in ("a", "b")]
    try:
        deadline = time.monotonic() + 60
        while not all((sync / f"ready-{name}").exists() for name in ("a", "b")):
            assert time.monotonic() < deadline, "writers did not start"
            assert all(writer.poll() is None for writer in writers), "a writer exited early"
            time.sleep(0.01)
        (sync / "go").touch()
        outcomes = [writer.communicate(timeout=180) for writer in writers]
    finally:
        for writer in writers:
            if writer.poll() is None:
                writer.kill()
                writer.communicate(timeout=30)
    for writer, (stdout, stderr) in zip(writers, outcomes, strict=True):
        assert writer.returncode == 0, stderr
        assert stderr == ""
        assert stdout == ""

    with Store.open(store_url) as store:
        assert store.schema_version() == LATEST_VERSION
        runs = store.runs(limit=1000)
        assert len(runs) == 2 * RUNS_PER_PROCESS
        assert len({run.id for run in runs}) == 2 * RUNS_PER_PROCESS
        for name in ("a", "b"):
            assert len(store.runs(command=f"check-{name}", limit=1000)) == RUNS_PER_PROCESS
        assert len(store.recent_metrics("row_count", limit=10_000)) == 2 * RUNS_PER_PROCESS * METRICS_PER_RUN
        assert sum(len(store.findings(run.id)) for run in runs) == 2 * RUNS_PER_PROCESS
