"""The deploy ledger's table on SQLite and PostgreSQL: newest first, filters, the last succeeded entry, masking."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from deploywatch.core.errors import DeploywatchError
from deploywatch.store import Store
from deploywatch.store.deployments import DeploymentRecord

from .samples import CEST, T0, deployment_rows


def test_entries_come_back_newest_first_with_ids_in_insertion_order(store: Store) -> None:
    written = [store.record_deployment(record) for record in deployment_rows()]
    assert [r.id for r in written] == list(range(1, 9))
    listed = store.deployments()
    expected = sorted(written, key=lambda r: (r.started_at, r.id), reverse=True)
    assert listed == expected
    assert [r.id for r in store.deployments(limit=3)] == [r.id for r in expected[:3]]
    assert {r.service for r in store.deployments(["api"])} == {"api"}
    since = T0 + timedelta(hours=2)
    assert store.deployments(since=since) == [r for r in expected if r.started_at >= since]
    assert store.deployments(["nobody"]) == []


def test_the_last_succeeded_entry_skips_failures_and_breaks_ties_by_id(store: Store) -> None:
    for record in deployment_rows():
        store.record_deployment(record)
    last = store.last_succeeded_deployments()
    assert sorted(last) == ["api", "web"]  # batch never succeeded
    assert last["web"].to_commit == "2" * 40 and last["web"].how == "deploy"  # not the failed or rolled back ones
    assert last["api"].id == 6 and last["api"].to_commit == "1" * 40  # same instant as id 5: the later row wins
    assert store.last_succeeded_deployments(["web"]) == {"web": last["web"]}


def test_a_chained_entry_whose_from_is_no_longer_the_last_succeeded_one_is_refused(store: Store) -> None:
    first = DeploymentRecord(service="web", from_commit=None, to_commit="1" * 40, status="succeeded", how="record",
                             by="ci", started_at=T0, finished_at=T0)
    store.record_deployment(first, chained=True)
    stale = replace(first, to_commit="2" * 40)  # still says from None: read before the first was recorded

    with pytest.raises(DeploywatchError, match="another deploy of web was recorded meanwhile"):
        store.record_deployment(stale, chained=True)

    store.record_deployment(replace(stale, from_commit="1" * 40), chained=True)
    assert [r.to_commit for r in store.deployments(["web"])] == ["2" * 40, "1" * 40]


def test_secrets_are_masked_when_the_record_is_made(store: Store) -> None:
    record = DeploymentRecord(service="web", to_commit="a" * 40, status="failed", how="record",
                              by="https://me:pw@x.example", started_at=datetime(2026, 1, 1, 12, tzinfo=CEST),
                              url="https://bot:hunter2@ci.example.com/1", reason="token=s3cr3tvalue rejected",
                              output_tail="password=opensesame\nbye")
    for text in (record.url, record.reason, record.by, record.output_tail):
        assert text is not None and "***" in text
    stored = store.record_deployment(record)
    assert store.deployments() == [stored]
    assert "hunter2" not in repr(stored) and "opensesame" not in repr(stored) and "s3cr3t" not in repr(stored)
    assert stored.started_at == datetime(2026, 1, 1, 10, tzinfo=UTC)
    assert stored.duration_seconds is None


@pytest.mark.parametrize(("field", "value"), [("status", "ok"), ("how", "manual")])
def test_a_status_or_way_outside_the_ledger_vocabulary_is_refused(field: str, value: str) -> None:
    arguments = {"service": "web", "to_commit": "a" * 40, "status": "succeeded", "how": "record", "by": "me",
                 "started_at": T0, field: value}
    with pytest.raises(ValueError, match=field):
        DeploymentRecord(**arguments)  # type: ignore[arg-type]
