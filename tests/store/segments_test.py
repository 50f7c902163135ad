"""Drift figures read from segments equal the run-by-run fold over the stored findings, for any window: segments
split by the window's edges, longer than a segment holds, runs stored out of order or at the same instant, and on
SQLite and PostgreSQL."""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from deploywatch.report.drift import BAD_STATUSES, service_drift
from deploywatch.store import FindingRecord, RunRecord, Store
from deploywatch.store.segments import SEGMENT_SAMPLES

T0 = datetime(2026, 6, 1, tzinfo=UTC)
STATUSES = ("ok", "ok", "ok", "warning", "critical", "unknown")
SERVICES = ("api", "web", "worker")


@dataclass(frozen=True)
class Stored:
    at: datetime
    order: tuple[str, int]  # (run id, position): the findings' order at equal times
    status: str
    relevant: int | None
    age: float | None


def oracle(samples: list[Stored], since: datetime, until: datetime) -> dict[str, Any]:
    """The figures run by run: the newest sample before the window holds from ``since``; each sample's status holds
    until the next sample (or ``until``); an episode runs from a bad sample to the next ok one."""
    ordered = sorted(samples, key=lambda s: (s.at, s.order))
    before = [s for s in ordered if s.at < since][-1:]
    steps = [(since, s) for s in before] + [(s.at, s) for s in ordered if since <= s.at < until]
    known = bad = 0.0
    episodes: list[list[Any]] = []
    open_episode: list[Any] | None = None
    for k, (start, s) in enumerate(steps):
        end = steps[k + 1][0] if k + 1 < len(steps) else until
        span = max(0.0, (end - start).total_seconds())
        known += span
        if s.status in BAD_STATUSES:
            bad += span
            if open_episode is None:
                open_episode = [start, None, s.relevant, s.status]
                episodes.append(open_episode)
            else:
                if s.relevant is not None and (open_episode[2] is None or s.relevant > open_episode[2]):
                    open_episode[2] = s.relevant
                if BAD_STATUSES.index(s.status) > BAD_STATUSES.index(open_episode[3]):
                    open_episode[3] = s.status
        elif open_episode is not None:
            open_episode[1] = start
            open_episode = None
    newest = steps[-1][1] if steps else None
    return {"runs": len(steps) - len(before), "known": round(known, 6), "bad": round(bad, 6),
            "episodes": [tuple(e) for e in episodes], "status_now": newest.status if newest else None,
            "relevant_now": newest.relevant if newest else None,
            "oldest": newest.at - timedelta(seconds=newest.age) if newest and newest.age is not None else None}


def figures(store: Store, service: str, since: datetime, until: datetime) -> dict[str, Any]:
    found = service_drift(service, store.window(since, until).drift.get(service), since, until)
    return {"runs": found.runs, "known": round(found.known_seconds, 6), "bad": round(found.bad_seconds, 6),
            "episodes": [(e.start, e.end, e.peak_relevant_behind, e.worst_status) for e in found.episodes],
            "status_now": found.status_now, "relevant_now": found.relevant_behind_now,
            "oldest": found.oldest_waiting_since}


def store_runs(store: Store, rng: random.Random, count: int, *, shuffle: bool) -> dict[str, list[Stored]]:
    """``count`` drift runs (some services missing from some, long stretches of one status, some runs at the same
    instant), stored in time order or shuffled; what each service's findings say."""
    times = sorted(T0 + timedelta(minutes=30 * k + rng.choice((0, 0, 0, 7))) for k in range(count))
    times += rng.sample(times, k=max(1, count // 20))  # runs at an instant another run started at
    if shuffle:
        rng.shuffle(times)
    kept: dict[str, list[Stored]] = {s: [] for s in SERVICES}
    status = dict.fromkeys(SERVICES, "ok")
    for at in times:
        run = RunRecord(id=uuid.uuid4().hex, command=rng.choice(("drift", "check")), started_at=at,
                        finished_at=at + timedelta(seconds=2), run_date=date(2026, 6, 1), status="ok", exit_code=0,
                        score=None, details={})
        found = []
        for position, service in enumerate(SERVICES):
            if rng.random() < 0.1:
                continue  # not in this run
            if rng.random() < 0.15:
                status[service] = rng.choice(STATUSES)
            relevant = rng.choice((None, rng.randint(0, 40))) if rng.random() < 0.1 else rng.randint(0, 40)
            age = None if rng.random() < 0.1 else float(rng.randint(0, 90_000))
            details: dict[str, Any] = {"relevant_commits_behind": relevant, "drift_age_seconds": age}
            found.append(FindingRecord(run_id=run.id, kind="drift", subject=service, status=status[service],
                                       summary="", fingerprint=f"drift:{service}", details=details))
            kept[service].append(Stored(at, (run.id, position), status[service], relevant, age))
        store.record_run(run, found)
    return kept


def windows(rng: random.Random, count: int) -> list[tuple[datetime, datetime]]:
    end = T0 + timedelta(minutes=30 * count + 60)
    picked = [(T0 - timedelta(days=1), end), (T0 + timedelta(hours=5, minutes=3), end)]
    for _ in range(12):
        a, b = sorted(T0 + timedelta(minutes=rng.randint(-60, 30 * count + 60)) for _ in range(2))
        picked.append((a, b + timedelta(minutes=1)))
    return picked


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_segments_give_the_run_by_run_figures_for_any_window(tmp_path: Any, seed: int) -> None:
    rng = random.Random(seed)
    count = 3 * SEGMENT_SAMPLES + 17
    with Store.open(f"sqlite:///{tmp_path / 'store.db'}") as store:
        kept = store_runs(store, rng, count, shuffle=False)
        for since, until in windows(rng, count):
            for service in SERVICES:
                assert figures(store, service, since, until) == oracle(kept[service], since, until), (service, since)


def test_runs_stored_out_of_order_rebuild_their_services_segments(store_url: str) -> None:
    rng = random.Random(9)
    count = SEGMENT_SAMPLES + 30
    with Store.open(store_url) as store:
        kept = store_runs(store, rng, count, shuffle=True)
        for since, until in windows(rng, count):
            for service in SERVICES:
                assert figures(store, service, since, until) == oracle(kept[service], since, until), (service, since)


def test_a_store_without_segments_gets_them_built_by_its_migration(tmp_path: Any,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    from deploywatch.store import migrations, queries

    rng = random.Random(4)
    url = f"sqlite:///{tmp_path / 'old.db'}"
    with monkeypatch.context() as patched:  # a store as schema 5 left it: findings, no segments
        patched.setattr(migrations, "MIGRATIONS", migrations.MIGRATIONS[:5])
        patched.setattr(migrations, "LATEST_VERSION", 5)
        patched.setattr(queries, "add_samples", lambda tx, samples: None)  # that code wrote no segments
        with Store.open(url) as store:
            assert store.schema_version() == 5
            kept = store_runs(store, rng, 2 * SEGMENT_SAMPLES, shuffle=False)
    with Store.open(url) as store:
        assert store.schema_version() == migrations.LATEST_VERSION
        since, until = T0 + timedelta(hours=3, minutes=1), T0 + timedelta(days=3)
        for service in SERVICES:
            assert figures(store, service, since, until) == oracle(kept[service], since, until)
