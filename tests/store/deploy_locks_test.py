"""The deploy lock and the ledger's transitions, on SQLite and PostgreSQL: one holder per service, a dead holder's
``started`` entry abandoned after the lease, a paused entry keeping the lock until taken over, every transition
guarded by the entry's status."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from deploywatch.store import Store
from deploywatch.store.deployments import DeploymentRecord

T0 = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


def _record(service: str = "web", how: str = "deploy", at: datetime = T0, to: str = "b" * 40) -> DeploymentRecord:
    return DeploymentRecord(service=service, to_commit=to, status="started", how=how, by="tester", started_at=at,
                            from_commit="a" * 40)


def test_one_holder_per_service_and_others_are_free(store: Store) -> None:
    first = store.begin_deployment(_record(), holder="h1", lease=60, now=T0)
    assert first.entry is not None and first.held_by is None
    second = store.begin_deployment(_record(), holder="h2", lease=60, now=T0 + timedelta(seconds=5))
    assert second.entry is None and second.held_by is not None and second.held_by.holder == "h1"
    assert [e.id for e in store.deployments(["web"])] == [first.entry.id]  # nothing written for the refused one
    other = store.begin_deployment(_record("api"), holder="h2", lease=60, now=T0)
    assert other.entry is not None
    assert store.finish_deployment(first.entry, status="succeeded", now=T0 + timedelta(seconds=9), holder="h1")
    assert [lock.service for lock in store.deploy_locks()] == ["api"]
    assert not store.finish_deployment(first.entry, status="failed", now=T0, holder="h1")  # already ended
    assert store.deployment(first.entry.id).status == "succeeded"  # type: ignore[union-attr]


def test_a_dead_holder_is_abandoned_after_the_lease_never_succeeded(store: Store) -> None:
    dead = store.begin_deployment(_record(), holder="dead", lease=60, now=T0).entry
    assert dead is not None
    assert store.reap_deployments(T0 + timedelta(seconds=30)) == []  # within the lease: still running
    assert store.reap_deployments(T0 + timedelta(seconds=61)) == [dead.id]
    entry = store.deployment(dead.id)
    assert entry is not None and entry.status == "abandoned" and entry.finished_at is not None
    assert store.deploy_locks() == [] and store.last_succeeded_deployments(["web"]) == {}
    again = store.begin_deployment(_record(), holder="next", lease=60, now=T0 + timedelta(seconds=62))
    assert again.entry is not None


def test_begin_abandons_a_dead_holders_entry_itself(store: Store) -> None:
    dead = store.begin_deployment(_record(), holder="dead", lease=60, now=T0).entry
    later = store.begin_deployment(_record(), holder="next", lease=60, now=T0 + timedelta(minutes=5))
    assert dead is not None and later.entry is not None and later.abandoned == (dead.id,)
    assert store.deployment(dead.id).status == "abandoned"  # type: ignore[union-attr]


def test_a_paused_entry_keeps_the_lock_until_a_rollback_takes_it_over(store: Store) -> None:
    paused = store.begin_deployment(_record(), holder="p", lease=60, now=T0).entry
    assert paused is not None
    assert store.finish_deployment(paused, status="failed", now=T0, holder="p", step="post_deploy",
                                   reason="probe critical", release=False)
    assert store.finish_deployment(paused, status="paused", now=T0, holder="p", expect=("failed",), release=False)
    much_later = T0 + timedelta(days=30)
    assert store.reap_deployments(much_later) == [] and [lock.holder for lock in store.deploy_locks()] == ["p"]
    assert store.begin_deployment(_record(), holder="d", lease=60, now=much_later).held_by is not None
    back = store.begin_deployment(_record(how="rollback", to="a" * 40), holder="r", lease=60, now=much_later,
                                  take_over=True)
    assert back.entry is not None and back.ended == (paused.id,)
    ended = store.deployment(paused.id)
    assert ended is not None and ended.status == "failed"
    assert ended.reason == f"probe critical; ended by rollback #{back.entry.id} (tester)"
    assert store.finish_deployment(back.entry, status="succeeded", now=much_later, holder="r")
    assert store.deploy_locks() == []
    assert store.last_succeeded_deployments(["web"])["web"].to_commit == "a" * 40
