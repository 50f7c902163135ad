"""The rollouts rows on SQLite and PostgreSQL: progress, events (masked), a promote request, and taking a paused
rollout's lock over only from the holder that paused it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from deploywatch.store import Store
from deploywatch.store.deployments import DeploymentRecord

T0 = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


def _paused(store: Store, holder: str = "host:1:aaaaaa") -> DeploymentRecord:
    record = DeploymentRecord(service="web", to_commit="b" * 40, from_commit="a" * 40, status="started",
                              how="deploy", by="ops", started_at=T0)
    begun = store.begin_deployment(record, holder=holder, lease=60, now=T0)
    assert begun.entry is not None
    store.start_rollout(begun.entry, holder, T0, {"event": "started", "steps": [10, 100]})
    store.rollout_event(begun.entry.id, T0 + timedelta(seconds=1),
                        {"event": "weight", "weight": 10, "detail": "https://bot:hunter2@ci.example.com"},
                        step_index=0, weight=10)
    assert store.finish_deployment(begun.entry, status="paused", now=T0 + timedelta(seconds=2), holder=holder,
                                   step="rollout", reason="inconclusive: no data", release=False)
    return begun.entry


def test_a_rollout_keeps_its_step_weight_and_masked_events(store: Store) -> None:
    entry = _paused(store)
    found = store.latest_rollout("web")
    assert found is not None
    assert (found.entry.id, found.entry.status, found.step_index, found.weight) == (entry.id, "paused", 0, 10)
    assert [e["event"] for e in found.events] == ["started", "weight"]
    assert "hunter2" not in str(found.events)
    store.set_rollout_weight(entry.id, T0 + timedelta(seconds=3), 0)
    assert store.request_rollout(entry.id, "promote", "token=abc123secret", T0 + timedelta(seconds=4))
    again = store.latest_rollout("web")
    assert again is not None and again.weight == 0 and again.request == "promote"
    assert again.request_reason is not None and "abc123secret" not in again.request_reason
    assert store.latest_rollout("api") is None


def test_resume_takes_the_paused_lock_over_only_from_its_holder(store: Store) -> None:
    entry = _paused(store, holder="host:1:aaaaaa")
    now = T0 + timedelta(minutes=1)
    assert not store.resume_rollout(entry, old_holder="someone:else:1", holder="host:2:bbbbbb", lease=60, now=now)
    assert store.latest_rollout("web").entry.status == "paused"  # type: ignore[union-attr]
    assert store.resume_rollout(entry, old_holder="host:1:aaaaaa", holder="host:2:bbbbbb", lease=60, now=now)
    (lock,) = store.deploy_locks(["web"])
    assert lock.holder == "host:2:bbbbbb" and lock.expires_at == now + timedelta(seconds=60)
    resumed = store.latest_rollout("web")
    assert resumed is not None and resumed.entry.status == "started" and resumed.holder == "host:2:bbbbbb"
    assert resumed.entry.finished_at is None
    # no longer paused: a second resume changes nothing
    assert not store.resume_rollout(entry, old_holder="host:2:bbbbbb", holder="host:3:cccccc", lease=60, now=now)
    assert store.deploy_locks(["web"])[0].holder == "host:2:bbbbbb"


def _run(store: Store, run_id: str, at: datetime, metrics: list[tuple[str | None, float | None]],
         probe_value: object = None) -> None:
    from deploywatch.store.records import FindingRecord, MetricRecord, RunRecord

    run = RunRecord(id=run_id, command="check", started_at=at, finished_at=at, run_date=at.date(), status="ok",
                    exit_code=0)
    measured = [MetricRecord(run_id, "latency", group, "avg(ms)", at.date(), at, value, "ok")
                for group, value in metrics]
    found = [FindingRecord(run_id, "probe", "web smoke", "ok", "web smoke ok", f"fp-{run_id}",
                           {"value": probe_value})] if probe_value is not None else []
    store.record_run(run, found, measured)


def test_stored_samples_of_a_check_and_a_probe_in_a_time_range_newest_first(store: Store) -> None:
    _run(store, "r1", T0, [("eu", 10.0), ("us", None)], probe_value=0)
    _run(store, "r2", T0 + timedelta(hours=1), [("eu", 11.0), ("us", 12.0)], probe_value=True)  # a bool: no value
    _run(store, "r3", T0 + timedelta(hours=2), [(None, 13.0)], probe_value=0.25)
    until = T0 + timedelta(hours=2)
    before = store.check_samples("latency", since=None, until=until, limit=10)
    # newest first; of one instant the row written last first; r1's "us" had no value: not a sample
    assert [(s.run_id, s.value) for s in before] == [("r2", 12.0), ("r2", 11.0), ("r1", 10.0)]
    assert [s.measured_at for s in before] == [T0 + timedelta(hours=1)] * 2 + [T0]
    assert len(store.check_samples("latency", since=None, until=until, limit=2)) == 2
    since = store.check_samples("latency", since=T0 + timedelta(hours=1), until=T0 + timedelta(days=1), limit=10)
    assert sorted(s.value for s in since) == [11.0, 12.0, 13.0]
    assert store.check_samples("nope", since=None, until=until, limit=10) == []
    probes = store.probe_samples("web smoke", since=None, until=T0 + timedelta(days=1), limit=10)
    assert [(s.run_id, s.value) for s in probes] == [("r3", 0.25), ("r1", 0.0)]
    assert [s.run_id for s in store.probe_samples("web smoke", since=T0 + timedelta(minutes=1),
                                                  until=T0 + timedelta(days=1), limit=10)] == ["r3"]


def test_latest_rollouts_are_each_services_newest(store: Store) -> None:
    first = _paused(store)
    store.finish_deployment(first, status="failed", now=T0 + timedelta(seconds=5), holder="host:1:aaaaaa",
                            expect=("paused",))
    later = DeploymentRecord(service="web", to_commit="c" * 40, from_commit="a" * 40, status="started",
                             how="deploy", by="ops", started_at=T0 + timedelta(minutes=5))
    begun = store.begin_deployment(later, holder="host:2:bbbbbb", lease=60, now=T0 + timedelta(minutes=5))
    assert begun.entry is not None
    store.start_rollout(begun.entry, "host:2:bbbbbb", T0 + timedelta(minutes=5), {"event": "started"})
    api = DeploymentRecord(service="api", to_commit="d" * 40, from_commit=None, status="started", how="deploy",
                           by="ops", started_at=T0)
    api_begun = store.begin_deployment(api, holder="host:3:cccccc", lease=60, now=T0)
    assert api_begun.entry is not None
    store.start_rollout(api_begun.entry, "host:3:cccccc", T0, {"event": "started"})
    found = store.latest_rollouts()
    assert [(r.entry.service, r.entry.id) for r in found] == [("api", api_begun.entry.id), ("web", begun.entry.id)]
