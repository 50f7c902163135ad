"""Stores written by the SQLAlchemy Store of older versions (tests/store/data/) are read and migrated, and today's
Store writes the very same rows, schema included, on SQLite and PostgreSQL."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from deploywatch.store import Store
from deploywatch.store.migrations import LATEST_VERSION

from .conftest import Raw, raw
from .samples import answers, deployment_rows, history_runs, write_samples

DATA = Path(__file__).parent / "data"
# Ordered so that rows compare in a fixed order; job run ids are uuid4 and applied_at is the migration's clock.
TABLES = {"schema_version": "version", "runs": "id", "findings": "id", "metrics": "id",
          "alert_state": "sink, fingerprint", "outbox": "id", "silences": "id",
          "completions": "phase, processor, run_date", "phase_triggers": "phase, run_date",
          "job_runs": "job, scheduled_for, state", "job_locks": "job", "deployments": "id",
          "store_generation": "id", "drift_segments": "id", "remediation_audit": "id", "remediation_state": "subject",
          "rollouts": "entry_id"}
UNSTABLE = {("schema_version", "applied_at"), ("job_runs", "id")}


def backend_of(url: str) -> str:
    return "postgresql" if url.startswith("postgresql") else "sqlite"


def load_golden(url: str, version: int) -> None:
    """Fill the empty database of ``url`` with the golden store of schema ``version``."""
    writer = "sqlalchemy" if version <= 3 else "deploywatch"  # the SQLAlchemy store wrote versions 1 to 3
    text = (DATA / f"{writer}-v{version}.{backend_of(url)}.sql").read_text(encoding="utf-8")
    if url.startswith("sqlite"):
        Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    with raw(url) as db:
        # pg_dump's \restrict lines are psql commands, not SQL.
        db.script("\n".join(line for line in text.splitlines() if not line.startswith("\\")))


def catalog(db: Raw) -> list[tuple[Any, ...]]:
    """The schema as the database describes it: tables, columns, types, defaults, keys and indexes."""
    if not db.postgres:
        return db.rows("SELECT type, name, tbl_name, sql FROM sqlite_master ORDER BY type, name")
    return [
        *db.rows("SELECT table_name, column_name, data_type, is_nullable, column_default, ordinal_position "
                 "FROM information_schema.columns WHERE table_schema = 'public' ORDER BY 1, ordinal_position"),
        *db.rows("SELECT tablename, indexname, indexdef FROM pg_indexes WHERE schemaname = 'public' ORDER BY 2"),
        *db.rows("SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid) FROM pg_constraint "
                 "WHERE connamespace = 'public'::regnamespace ORDER BY 2"),
    ]


def table_rows(db: Raw) -> dict[str, list[tuple[Any, ...]]]:
    """Every stored value (with its SQLite storage class), but for the unstable columns."""
    found = {}
    for table, order in TABLES.items():
        if db.postgres:
            columns = [r[0] for r in db.rows("SELECT column_name FROM information_schema.columns WHERE "
                                             "table_schema = 'public' AND table_name = ? ORDER BY ordinal_position",
                                             (table,))]
        else:
            columns = [r[1] for r in db.rows(f"PRAGMA table_info({table})")]
        kept = [f'"{c}"' for c in columns if (table, c) not in UNSTABLE]
        typed = [] if db.postgres else [f"typeof({c})" for c in kept]
        found[table] = db.rows(f"SELECT {', '.join(kept + typed)} FROM {table} ORDER BY {order}")
    return found


@pytest.fixture
def second_url(store_url: str, request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A second empty store of the same backend as ``store_url``."""
    if backend_of(store_url) == "sqlite":
        return f"sqlite:///{tmp_path / 'second' / 'state.db'}"
    from testing.postgres import database_for_test

    return database_for_test(request)


def test_the_current_golden_store_is_read_as_written(store_url: str, second_url: str) -> None:
    load_golden(store_url, LATEST_VERSION)
    with Store.open(second_url) as fresh:
        write_samples(fresh)
        expected = answers(fresh)
    with Store.open(store_url) as old:
        assert old.schema_version() == LATEST_VERSION
        assert answers(old) == expected
    assert len(expected["runs"]) == 5 and len(expected["outbox"]) == 3 and len(expected["job_runs"]) == 2
    assert len(expected["deployments"]) == 8


def test_todays_store_writes_the_same_rows_and_schema_as_the_golden_one(store_url: str, second_url: str) -> None:
    load_golden(store_url, LATEST_VERSION)
    with Store.open(second_url) as fresh:
        write_samples(fresh)
    with raw(store_url) as golden, raw(second_url) as today:
        assert catalog(today) == catalog(golden)
        expected, actual = table_rows(golden), table_rows(today)
        for table in TABLES:
            assert actual[table] == expected[table], table
        # schema_version, runs, findings, metrics, alert_state, outbox, silences, completions, phase_triggers,
        # job_runs, job_locks, deployments, store_generation, drift_segments rollouts (remediation: none)
        assert sum(len(rows) for rows in actual.values()) == \
            LATEST_VERSION + 5 + 3 + 13 + 2 + 3 + 1 + 2 + 1 + 2 + 1 + 8 + 1 + 1 + 1


def test_a_version_1_golden_store_is_migrated(store_url: str, second_url: str) -> None:
    load_golden(store_url, 1)
    with Store.open(second_url) as fresh:
        for run, findings, metrics in history_runs():
            fresh.record_run(run, findings, metrics)
        expected = answers(fresh)
    with Store.open(store_url) as old:
        assert old.schema_version() == LATEST_VERSION
        assert answers(old) == expected
        write_samples_after = [run.id for run in old.runs(limit=100)]
    assert len(write_samples_after) == 4
    with raw(store_url) as migrated, raw(second_url) as today:
        assert catalog(migrated) == catalog(today)
        versions = [r[0] for r in migrated.rows("SELECT version FROM schema_version ORDER BY version")]
        assert versions == list(range(1, LATEST_VERSION + 1))


def test_a_version_3_golden_store_is_migrated_to_the_ledger(store_url: str, second_url: str) -> None:
    load_golden(store_url, 3)
    with Store.open(store_url) as old:
        assert old.schema_version() == LATEST_VERSION
        assert old.deployments() == [] and old.last_succeeded_deployments() == {}
        write_samples_ledger = deployment_rows()
        for record in write_samples_ledger:
            old.record_deployment(record)
        migrated_answers = (old.deployments(limit=100), old.last_succeeded_deployments())
    with Store.open(second_url) as fresh:
        for record in deployment_rows():
            fresh.record_deployment(record)
        assert (fresh.deployments(limit=100), fresh.last_succeeded_deployments()) == migrated_answers
    with raw(store_url) as migrated, raw(second_url) as today:
        assert catalog(migrated) == catalog(today)
