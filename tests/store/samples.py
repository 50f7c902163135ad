"""Deterministic sample contents for a store, written through the public ``Store`` API only.

The golden stores ``sqlalchemy-v*`` under ``tests/store/data/`` were written by this module through the SQLAlchemy
``Store`` of commit f4b2abd, ``deploywatch-v4.*`` through the DB-API ``Store`` that added the deploy ledger
(``python tests/store/samples.py OUT_DIR [POSTGRES_URL]``); the tests write the same samples
through today's ``Store`` and compare rows and answers, so the stored formats cannot drift.
"""

from __future__ import annotations

import math
import random
import sys
from datetime import UTC, date, datetime, timedelta, timezone
from datetime import time as clock
from pathlib import Path
from typing import Any

from deploywatch.store import FindingRecord, MetricRecord, RunRecord, Store
from deploywatch.store.alerts import AlertStateRecord, AlertTx, OutboxRecord, SilenceRecord
from deploywatch.store.deployments import DeploymentRecord
from deploywatch.store.migrations import LATEST_VERSION

CEST = timezone(timedelta(hours=2))
MARQUESAS = timezone(timedelta(hours=-9, minutes=-30))
LINE_ISLANDS = timezone(timedelta(hours=14))
T0 = datetime(2026, 9, 21, 14, 0, tzinfo=UTC)
DAY = date(2026, 9, 20)

Written = tuple[RunRecord, list[FindingRecord], list[MetricRecord]]


def history_runs() -> list[Written]:
    """Runs covering every column type of runs, findings and metrics, and their awkward values."""
    full = RunRecord(
        id="run-full", command="canary", started_at=datetime(2026, 9, 21, 16, 30, 5, 123456, tzinfo=CEST),
        finished_at=datetime(2026, 9, 21, 23, 59, 59, 999999, tzinfo=MARQUESAS),  # the next day in UTC
        run_date=DAY, status="warning", exit_code=1, score=0.75,
        details={"zeta": 1, "alpha": {"nested": [1, 2.5, None, "x", {"b": True, "a": False}], "empty": {}},
                 "day": DAY, "at": datetime(2026, 9, 21, 14, tzinfo=CEST), "naive": datetime(2026, 1, 1, 12, 0),
                 "text": "größe ✓ \"quoted\"\n", "none": None, "big": 10**20, "tiny": 1e-300})
    findings = [
        FindingRecord(run_id=full.id, kind="check", subject="row_count[east]", status="critical",
                      summary="rows fell by 80 %", fingerprint="check:row_count[east]",
                      details={"observed": 12.0, "expected": [50, 70], "since": date(2026, 9, 1)}),
        FindingRecord(run_id=full.id, kind="check", subject="null_rate", status="ok", summary="", fingerprint="x"),
        FindingRecord(run_id=full.id, kind="drift", subject="web", status="warning", summary="4 commits behind",
                      fingerprint="drift:web", details={"commits": ["a" * 40, "b" * 40]}),
    ]
    day1, day2, day3 = date(2026, 9, 18), date(2026, 9, 19), DAY

    def metric(check: str, group: str | None, day: date, at: datetime, value: float | None,
               anomalous: bool = False, status: str = "ok") -> MetricRecord:
        return MetricRecord(run_id=full.id, check=check, group=group, metric=f"{check}()", run_date=day,
                            measured_at=at, value=value, status=status, anomalous=anomalous)

    metrics = [
        metric("row_count", None, day1, datetime(2026, 9, 19, 6, 0, tzinfo=UTC), 100.0),
        metric("row_count", None, day2, datetime(2026, 9, 20, 6, 0, tzinfo=UTC), 110.5),
        metric("row_count", None, day2, datetime(2026, 9, 20, 9, 0, 0, 1, tzinfo=CEST), 111.0),  # earlier in UTC
        metric("row_count", None, day3, datetime(2026, 9, 21, 6, 0, tzinfo=UTC), 120.0),
        metric("row_count", None, day3, datetime(2026, 9, 21, 6, 0, tzinfo=UTC), 121.0),  # a tie: insertion order
        metric("row_count", None, day3, datetime(2026, 9, 21, 0, 30, tzinfo=LINE_ISLANDS), 7),  # int
        metric("row_count", "east", day1, datetime(2026, 9, 19, 6, 0, tzinfo=UTC), math.nan, status="unknown"),
        metric("row_count", "east", day2, datetime(2026, 9, 20, 6, 0, tzinfo=UTC), None, status="unknown"),
        metric("row_count", "east", day3, datetime(2026, 9, 21, 6, 0, tzinfo=UTC), 12.0, anomalous=True,
               status="critical"),
        metric("row_count", "west", day2, datetime(2026, 9, 20, 6, 0, tzinfo=UTC), -0.0),
        metric("null_rate", None, day3, datetime(2026, 9, 21, 6, 0, tzinfo=UTC), 0.1 + 0.2),
        metric("null_rate", "", day3, datetime(2026, 9, 21, 6, 0, tzinfo=UTC), 1e-300),  # an empty group is a group
    ]
    bare = RunRecord(id="run-bare", command="drift", started_at=T0, finished_at=T0, run_date=None, status="ok",
                     exit_code=0)
    int_score = RunRecord(id="run-int-score", command="gate", started_at=T0 + timedelta(minutes=1),
                          finished_at=T0 + timedelta(minutes=2), run_date=DAY, status="critical", exit_code=2,
                          score=3)
    ancient = RunRecord(id="run-ancient", command="check", started_at=datetime(999, 12, 31, 23, 0, tzinfo=CEST),
                        finished_at=datetime(1000, 1, 1, 0, 0, tzinfo=UTC), run_date=date(999, 12, 31),
                        status="ok", exit_code=0, score=-1.5)
    old_metric = MetricRecord(run_id=ancient.id, check="row_count", group=None, metric="row_count",
                              run_date=date(999, 12, 31), measured_at=ancient.started_at, value=1.0, status="ok")
    return [(full, findings, metrics), (bare, [], []), (int_score, [], []), (ancient, [], [old_metric])]


def random_runs(seed: int, count: int, *, start: date = date(2026, 7, 6), days: int = 42) -> list[Written]:
    """Runs with random metric rows: several checks and groups, several rows per date (ties included), some
    anomalous, some without a value."""
    rng = random.Random(seed)
    zones = [UTC, CEST, MARQUESAS]
    written: list[Written] = []
    for n in range(count):
        run_id = f"run-{seed}-{n:04d}"
        day = start + timedelta(days=rng.randrange(days))
        started = datetime.combine(day + timedelta(days=1), clock(rng.randrange(24), rng.choice([0, 30])),
                                   rng.choice(zones))
        run = RunRecord(id=run_id, command=rng.choice(["canary", "check"]), started_at=started,
                        finished_at=started + timedelta(seconds=rng.random() * 100), run_date=day,
                        status=rng.choice(["ok", "warning", "critical"]), exit_code=rng.randrange(3),
                        score=rng.choice([None, rng.random()]), details={"n": n, "day": day})
        metrics = []
        for _ in range(rng.randrange(0, 9)):
            row_day = day - timedelta(days=rng.choice([0, 0, 0, 1, 7]))
            measured = datetime.combine(row_day + timedelta(days=1), clock(rng.randrange(5, 9), rng.choice([0, 30])),
                                        UTC).astimezone(rng.choice(zones))
            roll = rng.random()
            value = None if roll < 0.1 else math.nan if roll < 0.15 else round(rng.uniform(0, 1000), 3)
            metrics.append(MetricRecord(run_id=run_id, check=rng.choice(["row_count", "null_rate", "dupes"]),
                                        group=rng.choice([None, None, "east", "west", "a b"]), metric="m",
                                        run_date=row_day, measured_at=measured, value=value,
                                        status="unknown" if value is None else "ok",
                                        anomalous=rng.random() < 0.2))
        findings = [FindingRecord(run_id=run_id, kind="check", subject=f"s{i}", status="ok", summary=f"finding {i}",
                                  fingerprint=f"check:s{i}", details={"i": i, "at": started})
                    for i in range(rng.randrange(3))]
        written.append((run, findings, metrics))
    return written


def alert_rows() -> tuple[list[AlertStateRecord], list[OutboxRecord]]:
    """Alert states and outbox rows for the routed run."""
    states = [AlertStateRecord(sink="hook", fingerprint="drift:web", kind="drift", subject="web", status="warning",
                               firing=True, firing_since=T0, notified_status="warning",
                               last_notified_at=T0 + timedelta(seconds=1), ok_streak=0, updated_at=T0),
              AlertStateRecord(sink="slack", fingerprint="check:x", kind="check", subject="x", status="ok",
                               firing=False, firing_since=None, notified_status=None, last_notified_at=None,
                               ok_streak=3, updated_at=T0.astimezone(CEST))]
    outbox = [OutboxRecord(id=f"out-{n}", sink=sink, target=n, created_at=T0 + timedelta(microseconds=n),
                           summary=f"message {n}", payload={"notifications": [{"n": n, "at": T0}]}, run_id="routed",
                           next_attempt_at=T0 if n else None)
              for n, sink in enumerate(["hook", "hook", "slack"])]
    return states, outbox


def deployment_rows() -> list[DeploymentRecord]:
    """Ledger entries: every status and way, open and finished, a tie in time, text to mask, other zones."""
    sha = [f"{n:x}" * 40 for n in range(1, 7)]
    return [
        DeploymentRecord(service="web", to_commit=sha[0], status="succeeded", how="record", by="ci",
                         started_at=T0, finished_at=T0),
        DeploymentRecord(service="web", from_commit=sha[0], to_commit=sha[1], status="succeeded", how="deploy",
                         by="Ada Lovelace", started_at=datetime(2026, 9, 21, 17, 0, 0, 250000, tzinfo=CEST),
                         finished_at=T0 + timedelta(hours=1, minutes=3), url="https://bot:hunter2@ci.example.com/b/7",
                         relevant_commits=(sha[2], sha[3]), output_tail="deployed\ntoken=abc123secret ✓\n"),
        DeploymentRecord(service="web", from_commit=sha[1], to_commit=sha[4], status="failed", how="deploy",
                         by="ops", started_at=T0 + timedelta(hours=2), finished_at=T0 + timedelta(hours=2, minutes=1),
                         step="verify", reason="the source still reports 22222222 after 10m",
                         relevant_commits=(sha[4],)),
        DeploymentRecord(service="web", from_commit=sha[4], to_commit=sha[1], status="rolled_back", how="rollback",
                         by="ops", started_at=T0 + timedelta(hours=2, minutes=1),
                         finished_at=T0 + timedelta(hours=2, minutes=2), reason="verify failed"),
        DeploymentRecord(service="api", to_commit=sha[5], status="succeeded", how="record", by="ci",
                         started_at=T0 + timedelta(hours=3), finished_at=T0 + timedelta(hours=3)),
        DeploymentRecord(service="api", to_commit=sha[0], status="succeeded", how="record", by="ci",
                         started_at=T0 + timedelta(hours=3), finished_at=T0 + timedelta(hours=3)),  # a tie: id order
        DeploymentRecord(service="api", from_commit=sha[0], to_commit=sha[2], status="started", how="deploy",
                         by="ops", started_at=datetime(2026, 9, 21, 8, 0, tzinfo=MARQUESAS)),
        DeploymentRecord(service="batch", to_commit=sha[3], status="abandoned", how="deploy", by="ops",
                         started_at=T0 - timedelta(days=40), finished_at=T0 - timedelta(days=40) + timedelta(hours=1),
                         step="deploy", reason="the deploy's process was gone after its lease"),
    ]


def write_samples(store: Store) -> None:
    """Write every kind of row the store keeps, deterministically (job run ids excepted: uuid4)."""
    entries = [store.record_deployment(record) for record in deployment_rows()]
    rolling = entries[6]  # api, started: a rollout at its first step, asked to promote
    store.start_rollout(rolling, "host:42:9f2c1a", T0 + timedelta(hours=3, minutes=1),
                        {"event": "started", "steps": [10, 50, 100], "by": "ops"})
    store.rollout_event(rolling.id, T0 + timedelta(hours=3, minutes=2),
                        {"event": "weight", "step": 1, "weight": 10, "detail": "pushed https://bot:hunter2@ci.example.com"},
                        step_index=0, weight=10)
    store.request_rollout(rolling.id, "promote", "metrics down; token=abc123secret",
                          T0 + timedelta(hours=3, minutes=3))
    for run, findings, metrics in history_runs():
        store.record_run(run, findings, metrics)
    states, outbox = alert_rows()

    def route(tx: AlertTx) -> None:
        tx.save_states(states)
        tx.enqueue(outbox)

    routed = RunRecord(id="routed", command="drift", started_at=T0 + timedelta(hours=1),
                       finished_at=T0 + timedelta(hours=1), run_date=DAY, status="warning", exit_code=1)
    store.record_run(routed, route=route)
    claimed = store.claim_outbox(sinks=["hook"], me="me", now=T0 + timedelta(hours=2), lease=60)
    store.finish_outbox(claimed[0].id, "me", state="delivered", attempts=1, next_attempt_at=T0 + timedelta(hours=2),
                        delivered_at=T0 + timedelta(hours=2, seconds=1), result={"issue": 7})
    store.add_silence(SilenceRecord(id="sil-1", matchers=[{"name": "subject", "op": "=", "value": "web"}],
                                    comment="maintenance", created_by="ops", created_at=T0, starts_at=T0,
                                    ends_at=T0 + timedelta(days=1)))
    store.expire_silence("sil-1", T0 + timedelta(hours=3))
    for processor in ("a", "b"):
        store.record_completion("phase2", processor, DAY, expected=["a", "b"], source="cli",
                                now=T0 + timedelta(minutes=5), action="run ***", details={"rows": 3})
    store.record_completion("phase2", "a", DAY, expected=["a", "b"], source="api", now=T0 + timedelta(minutes=6),
                            action="run ***")
    store.finish_trigger("phase2", DAY, "ok", "done", T0 + timedelta(minutes=7))
    claim = store.claim_job("canary", slot=T0, trigger="schedule", holder="d1", now=T0, lease=300)
    assert claim.job_run_id is not None
    store.finish_job_run(claim.job_run_id, state="ok", finished_at=T0 + timedelta(seconds=30), exit_code=0,
                         run_id="run-full")
    store.claim_job("canary", slot=T0 + timedelta(hours=1), trigger="schedule", holder="d2",
                    now=T0 + timedelta(minutes=1), lease=300)  # held by d1: a skipped row


def answers(store: Store) -> dict[str, Any]:
    """What the store's readers say about the samples (job run ids dropped)."""
    far = date(2100, 1, 1)
    jobs = [{k: v for k, v in run.as_json().items() if k != "id"} for run in store.job_runs(limit=100)]
    return {
        "runs": store.runs(limit=100),
        "findings": {run.id: store.findings(run.id) for run in store.runs(limit=100)},
        "latest": store.latest_findings(),
        "checks": store.check_names(),
        "recent": {c: store.recent_metrics(c, limit=100) for c in store.check_names()},
        "measurements": {c: store.measurements(c, limit=100) for c in store.check_names()},
        "history": {(c, g, a): store.metric_history(c, g, before=far, limit=100, include_anomalous=a)
                    for c in store.check_names() for g in (None, "", "east", "west") for a in (False, True)},
        "weekday": [store.metric_history("row_count", None, before=far, limit=100, weekday=w) for w in range(7)],
        "newest": store.newest_runs_with_findings(),
        "run_metrics": store.run_metrics(["run-full", "run-ancient"]),
        "outbox": store.outbox(states=("pending", "delivered", "dead")),
        "silences": store.silences(now=T0, include_expired=True),
        "view": store.alert_view(["hook", "slack"], T0),
        "completions": store.completions(DAY),
        "triggers": store.phase_triggers(DAY),
        "job_runs": jobs,
        "job_lock": store.job_lock("canary"),
        "deployments": store.deployments(limit=100),
        "deployments_of": [store.deployments(["web"], since=T0 + timedelta(hours=1), limit=2),
                           store.deployments(["api", "batch"])],
        "last_succeeded": [store.last_succeeded_deployments(), store.last_succeeded_deployments(["web", "x"])],
        "rollouts": [store.latest_rollout("api"), store.latest_rollout("web")],
    }


if __name__ == "__main__":  # the golden stores: python tests/store/samples.py OUT_DIR [POSTGRES_URL]
    out = Path(sys.argv[1])
    with Store.open(f"sqlite:///{out / f'deploywatch-v{LATEST_VERSION}.db'}") as written:
        write_samples(written)
    if len(sys.argv) > 2:
        with Store.open(sys.argv[2]) as written:
            write_samples(written)
