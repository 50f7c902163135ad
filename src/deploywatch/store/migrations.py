"""The store's schema as numbered migrations, applied in order, once, under a lock, when a store is opened.

Each step is DDL written once for both databases: ``{ts}``, ``{double}`` and ``{serial}`` are replaced by the
dialect's types (:data:`.dialect.Dialect.types`), and the text is spelled as SQLAlchemy Core emitted it when
it still created these tables (SQLite keeps the text in ``sqlite_master``), so stores made before and after
read alike. Constraints and indexes are named, so a later step can alter or drop them by name.

Adding a table or column (the audit log …) is a new function appended to
:data:`MIGRATIONS`; applied steps are never edited. A store newer than the code is refused.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime

from ..core.errors import DeploywatchError
from .db import Database, Tx
from .segments import rebuild_segments

__all__ = ["LATEST_VERSION", "MIGRATIONS", "migrate", "read_version"]

Migration = Callable[[Tx], None]


def _table(tx: Tx, name: str, columns: Sequence[str], *, primary_key: str,
           foreign_keys: Sequence[tuple[str, str]] = (), indexes: Sequence[str] = ()) -> None:
    """CREATE TABLE ``name`` (then its indexes): ``columns`` as ``"name TYPE [NOT NULL]"`` with type tokens,
    ``foreign_keys`` as ``(column, table)`` referring to ``table(id)``, ``indexes`` as ``"col, col"``."""
    parts = [column.format(**tx.d.types) for column in columns]
    parts.append(f"CONSTRAINT pk_{name} PRIMARY KEY ({primary_key})")
    parts += [f"CONSTRAINT fk_{name}_{column}_{table} FOREIGN KEY({column}) REFERENCES {table} (id) "
              "ON DELETE CASCADE" for column, table in foreign_keys]
    tx.execute(f"CREATE TABLE {name} (\n\t" + ", \n\t".join(parts) + "\n)")
    for columns_of in indexes:
        names = "_".join(c.strip() for c in columns_of.split(","))
        tx.execute(f"CREATE INDEX ix_{name}_{names} ON {name} ({columns_of})")


def _schema_version(tx: Tx) -> None:
    _table(tx, "schema_version", ["version INTEGER NOT NULL", "applied_at {ts} NOT NULL"], primary_key="version")


def _v1_history(tx: Tx) -> None:
    """Runs, their findings, and metric values."""
    _table(tx, "runs", [
        "id VARCHAR NOT NULL", "command VARCHAR NOT NULL", "started_at {ts} NOT NULL", "finished_at {ts} NOT NULL",
        "run_date DATE", "status VARCHAR NOT NULL", "exit_code INTEGER NOT NULL", "score {double}",
        "details TEXT NOT NULL",
    ], primary_key="id", indexes=["command, started_at", "started_at"])
    _table(tx, "findings", [
        "id {serial} NOT NULL", "run_id VARCHAR NOT NULL", "kind VARCHAR NOT NULL", "subject VARCHAR NOT NULL",
        "status VARCHAR NOT NULL", "summary TEXT NOT NULL", "fingerprint VARCHAR NOT NULL", "details TEXT NOT NULL",
    ], primary_key="id", foreign_keys=[("run_id", "runs")], indexes=["run_id", "fingerprint"])
    _table(tx, "metrics", [
        "id {serial} NOT NULL", "run_id VARCHAR NOT NULL", "check_name VARCHAR NOT NULL",
        "group_key VARCHAR",  # NULL: the check is not grouped
        "metric TEXT NOT NULL", "run_date DATE NOT NULL", "measured_at {ts} NOT NULL", "value {double}",
        "status VARCHAR NOT NULL", "anomalous BOOLEAN NOT NULL",
    ], primary_key="id", foreign_keys=[("run_id", "runs")], indexes=["check_name, group_key, run_date", "run_id"])


def _v2_notifications(tx: Tx) -> None:
    """Alert state per sink and finding, the outbox, and silences."""
    _table(tx, "alert_state", [
        "sink VARCHAR NOT NULL", "fingerprint VARCHAR NOT NULL", "kind VARCHAR NOT NULL", "subject VARCHAR NOT NULL",
        "status VARCHAR NOT NULL",  # as last observed
        "firing BOOLEAN NOT NULL", "firing_since {ts}",
        "notified_status VARCHAR",  # the status the sink was last told; NULL: never
        "last_notified_at {ts}", "ok_streak INTEGER NOT NULL", "updated_at {ts} NOT NULL",
    ], primary_key="sink, fingerprint")
    _table(tx, "outbox", [
        "id VARCHAR NOT NULL", "run_id VARCHAR", "sink VARCHAR NOT NULL",
        "target INTEGER NOT NULL",  # which of the sink's URLs (Alertmanager); else 0
        "created_at {ts} NOT NULL",
        "state VARCHAR NOT NULL",  # pending, delivered, dead
        "attempts INTEGER NOT NULL", "next_attempt_at {ts} NOT NULL", "claimed_by VARCHAR", "claimed_until {ts}",
        "last_error TEXT", "delivered_at {ts}",
        "summary TEXT NOT NULL",  # one display line
        "payload TEXT NOT NULL",  # JSON {"notifications": [...]}: display-safe, never a secret
        "result TEXT",  # JSON: what the sink said (e.g. the GitHub issue)
    ], primary_key="id", indexes=["run_id", "state, next_attempt_at"])
    _table(tx, "silences", [
        "id VARCHAR NOT NULL",
        "matchers TEXT NOT NULL",  # JSON {"matchers": [{"name", "op", "value"}]}
        "comment TEXT NOT NULL", "created_by VARCHAR NOT NULL", "created_at {ts} NOT NULL",
        "starts_at {ts} NOT NULL", "ends_at {ts} NOT NULL",
        "expired_at {ts}",  # set by `silence expire` before ends_at
    ], primary_key="id")


def _v3_completions_and_jobs(tx: Tx) -> None:
    """Phase completions and their one-time triggers; the daemon's job runs and job locks."""
    _table(tx, "completions", [
        "phase VARCHAR NOT NULL", "processor VARCHAR NOT NULL", "run_date DATE NOT NULL",
        "first_reported_at {ts} NOT NULL", "last_reported_at {ts} NOT NULL",
        "reports INTEGER NOT NULL",  # how many times it was reported (duplicates count here)
        "source VARCHAR NOT NULL",  # cli, api …
        "details TEXT NOT NULL",
    ], primary_key="phase, processor, run_date")
    _table(tx, "phase_triggers", [
        "phase VARCHAR NOT NULL", "run_date DATE NOT NULL", "fired_at {ts} NOT NULL",
        "action TEXT NOT NULL",  # the on_complete command or URL, secrets masked
        "finished_at {ts}",
        "outcome VARCHAR",  # ok, failed; NULL while running (or if the process died)
        "detail TEXT",
    ], primary_key="phase, run_date")
    _table(tx, "job_runs", [
        "id VARCHAR NOT NULL", "job VARCHAR NOT NULL",
        "scheduled_for {ts}",  # NULL for a run triggered through the API
        '"trigger" VARCHAR NOT NULL',  # schedule, catch-up, api
        "started_at {ts} NOT NULL", "finished_at {ts}",
        "state VARCHAR NOT NULL",  # running, ok, failed, timeout, skipped, cancelled, abandoned
        "exit_code INTEGER",
        "run_id VARCHAR",  # the command's run in `runs`
        "error TEXT",
    ], primary_key="id", indexes=["job, started_at"])
    _table(tx, "job_locks", [
        "job VARCHAR NOT NULL", "holder VARCHAR NOT NULL", "acquired_at {ts} NOT NULL", "expires_at {ts} NOT NULL",
    ], primary_key="job")


def _v4_deployments(tx: Tx) -> None:
    """The deploy ledger: one row per deployment, read newest first per service."""
    _table(tx, "deployments", [
        "id {serial} NOT NULL", "service VARCHAR NOT NULL",
        "from_commit VARCHAR",  # the commit that ran before (the previous succeeded entry); NULL: not known
        "to_commit VARCHAR NOT NULL",
        "status VARCHAR NOT NULL",  # started, succeeded, failed, rolled_back, abandoned
        "step VARCHAR",  # where a deploy failed: preflight, deploy, verify, post_deploy, rollback
        "reason TEXT",  # masked
        "how VARCHAR NOT NULL",  # deploy, rollback, record
        "deployed_by VARCHAR NOT NULL",  # masked
        "url TEXT",  # masked: the CI job or build that deployed
        "started_at {ts} NOT NULL", "finished_at {ts}",
        "output_tail TEXT",  # the deploy command's last lines, masked
        "relevant_commits TEXT NOT NULL",  # JSON list of the service's commits in from..to, newest first
    ], primary_key="id", indexes=["service, started_at", "service, status, started_at", "started_at"])


def _v5_generation(tx: Tx) -> None:
    """One row counting the write transactions that changed something (see :meth:`.Database.generation`)."""
    _table(tx, "store_generation", ["id INTEGER NOT NULL", "n BIGINT NOT NULL"], primary_key="id")
    tx.execute("INSERT INTO store_generation (id, n) VALUES (1, 0)")


def _v6_drift_segments(tx: Tx) -> None:
    """Drift samples folded per service into runs of one status (:mod:`.segments`), built from the findings."""
    _table(tx, "drift_segments", [
        "id {serial} NOT NULL",  # a service's segments are numbered oldest first
        "service VARCHAR NOT NULL", "first_at {ts} NOT NULL", "last_at {ts} NOT NULL", "status VARCHAR NOT NULL",
        "runs INTEGER NOT NULL", "peak_relevant INTEGER", "last_relevant INTEGER", "last_age {double}",
        "samples TEXT NOT NULL",  # JSON [[microseconds since the epoch, relevant behind, drift age seconds], ...]
    ], primary_key="id", indexes=["service, first_at", "last_at"])
    rebuild_segments(tx)


def _v7_remediation(tx: Tx) -> None:
    """Remediation: the append-only audit log of every decision, and the state its guardrails keep."""
    _table(tx, "remediation_audit", [
        "id {serial} NOT NULL", "at {ts} NOT NULL",
        "kind VARCHAR NOT NULL",  # redeploy, rule, breaker, switch
        "subject VARCHAR NOT NULL",  # a service, a rule's name, or "fleet"
        "decision VARCHAR NOT NULL",  # planned, acted, skipped, succeeded, failed, tripped, reset, paused, resumed
        "guardrail VARCHAR",  # what stopped it: kill_switch, breaker, deny_window, max_per_run, …
        "reason TEXT NOT NULL",  # masked
        "dry_run BOOLEAN NOT NULL",
        "from_commit VARCHAR", "to_commit VARCHAR",
        "actor VARCHAR NOT NULL",  # masked: who or what ran it (a person, the daemon)
        "details TEXT",  # JSON, masked
    ], primary_key="id", indexes=["at", "kind, subject, at"])
    _table(tx, "remediation_state", [
        "subject VARCHAR NOT NULL",  # "fleet", "service:NAME", "rule:NAME"
        "state TEXT NOT NULL",  # JSON
        "updated_at {ts} NOT NULL",
    ], primary_key="subject")


def _v8_rollouts(tx: Tx) -> None:
    """Progressive rollouts: per deploy ledger entry, the step reached, its weight and what was measured."""
    _table(tx, "rollouts", [
        "entry_id INTEGER NOT NULL",  # the deployments row of the deploy that rolls out
        "service VARCHAR NOT NULL",
        "step_index INTEGER NOT NULL",  # index into the configured steps; -1 before the first weight is set
        "weight INTEGER NOT NULL",  # the new revision's share of traffic now (0-100)
        "holder VARCHAR NOT NULL",  # the deploy lock's holder that runs (or paused) it
        "request VARCHAR",  # promote: asked of the process that runs it, honoured before its next step
        "request_reason TEXT",  # masked
        "updated_at {ts} NOT NULL",
        "events TEXT NOT NULL",  # JSON list: weights set, verdicts, pauses, resumes, promotion, abort (masked)
    ], primary_key="entry_id", foreign_keys=[("entry_id", "deployments")], indexes=["service, updated_at"])


# Version n is MIGRATIONS[n - 1].
MIGRATIONS: tuple[Migration, ...] = (_v1_history, _v2_notifications, _v3_completions_and_jobs, _v4_deployments,
                                     _v5_generation, _v6_drift_segments, _v7_remediation, _v8_rollouts)
LATEST_VERSION = len(MIGRATIONS)

_HAS_TABLE = {
    "sqlite": "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?",
    "postgresql": "SELECT 1 FROM information_schema.tables WHERE table_schema = current_schema() AND table_name = ?",
}


def read_version(tx: Tx) -> int:
    """The store's schema version: the highest applied migration, 0 for an empty database."""
    if tx.first(_HAS_TABLE[tx.d.name], ("schema_version",)) is None:
        return 0
    return int(tx.scalar("SELECT max(version) FROM schema_version") or 0)


def _check_known(version: int, shown_url: str) -> None:
    if version > LATEST_VERSION:
        raise DeploywatchError(
            f"store {shown_url} has schema version {version}, newer than this deploywatch knows "
            f"({LATEST_VERSION}); upgrade deploywatch")


def migrate(db: Database) -> int:
    """Apply pending migrations in one transaction under a lock; return the schema version now in force.

    An up-to-date store costs one read and takes no lock. Waiting for the lock is bounded by the store's timeout.
    """
    with db.reading("open") as tx:
        version = read_version(tx)
    _check_known(version, db.url.shown)
    if version == LATEST_VERSION:
        db.counts_generations = True
        return version
    with db.writing("open") as tx:
        tx.lock("deploywatch.store.migrations")  # SQLite: BEGIN IMMEDIATE already serialises
        if tx.first(_HAS_TABLE[tx.d.name], ("schema_version",)) is None:
            _schema_version(tx)
        version = read_version(tx)  # another process may have migrated while we waited for the lock
        _check_known(version, db.url.shown)
        for number in range(version + 1, LATEST_VERSION + 1):
            MIGRATIONS[number - 1](tx)
            tx.execute("INSERT INTO schema_version (version, applied_at) VALUES (?, ?)",
                       (number, tx.d.ts(datetime.now(UTC))))
    db.counts_generations = True
    return LATEST_VERSION
