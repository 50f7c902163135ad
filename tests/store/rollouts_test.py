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
