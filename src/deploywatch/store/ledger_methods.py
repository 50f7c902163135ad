"""The :class:`~deploywatch.store.database.Store`'s deploy ledger methods: entries, locks and transitions."""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractContextManager
from datetime import datetime

from . import deployments as deployment_queries
from .db import Tx
from .deployments import DeploymentRecord
from .records import FindingRecord, RunRecord

__all__ = ["LedgerMethods"]


class LedgerMethods:
    """Each method one transaction around one query function of :mod:`.deployments` (mixed into ``Store``)."""

    def _reading(self) -> AbstractContextManager[Tx]:
        raise NotImplementedError

    def _writing(self) -> AbstractContextManager[Tx]:
        raise NotImplementedError

    def import_history(self, runs: Sequence[tuple[RunRecord, Sequence[FindingRecord]]],
                       deployments: Sequence[DeploymentRecord] = ()) -> None:
        """Store many runs (with findings) and ledger entries in one transaction: a replayed past, e.g. the demo's."""
        from . import queries

        with self._writing() as conn:
            for run, findings in runs:
                queries.insert_run(conn, run, findings, ())
            for record in deployments:
                deployment_queries.insert(conn, record)

    def record_deployment(self, record: DeploymentRecord, *, chained: bool = False) -> DeploymentRecord:
        """Add one ledger entry in one transaction; return it with its id. ``chained``: refuse it when the
        service's last succeeded entry is no longer ``record.from_commit`` (see :func:`.deployments.insert`)."""
        with self._writing() as conn:
            return deployment_queries.insert(conn, record, chained=chained)

    def deployments(self, services: Sequence[str] = (), *, since: datetime | None = None,
                    limit: int = 100) -> list[DeploymentRecord]:
        """The newest ``limit`` ledger entries (of ``services``; started at ``since`` or later), newest first."""
        with self._reading() as conn:
            return deployment_queries.read(conn, services, since=since, limit=limit)

    def last_succeeded_deployments(self, services: Sequence[str] = ()) -> dict[str, DeploymentRecord]:
        """The newest succeeded ledger entry of every service (of ``services``), by service."""
        with self._reading() as conn:
            return deployment_queries.last_succeeded(conn, services)

    def begin_deployment(self, record: DeploymentRecord, *, holder: str, lease: float, now: datetime,
                         take_over: bool = False) -> deployment_queries.Begun:
        """Take the service's deploy lock and add its ``started`` entry in one transaction (:func:`.deployments.begin`);
        a live lock held by another comes back in ``held_by`` with nothing written."""
        with self._writing() as conn:
            return deployment_queries.begin(conn, record, holder=holder, lease=lease, now=now, take_over=take_over)

    def finish_deployment(self, entry: DeploymentRecord, *, status: str, now: datetime, holder: str,
                          step: str | None = None, reason: str | None = None, output_tail: str | None = None,
                          expect: Sequence[str] = ("started",), release: bool = True) -> bool:
        """One ledger transition of ``entry`` (and, with ``release`` and unless paused, the lock released) in one
        transaction; False when the entry was ended meanwhile (nothing changed)."""
        with self._writing() as conn:
            changed = deployment_queries.finish(conn, entry, status=status, now=now, holder=holder, step=step,
                                                reason=reason, output_tail=output_tail, expect=expect)
            if release and status != "paused":
                deployment_queries.release(conn, entry.service, holder)
            return changed

    def reap_deployments(self, now: datetime) -> list[int]:
        """Mark deploys whose process died (lease expired) ``abandoned`` and drop their locks; their ids."""
        with self._writing() as conn:
            return deployment_queries.reap(conn, now)

    def renew_deploy_lock(self, service: str, holder: str, until: datetime) -> bool:
        """Extend ``holder``'s deploy lock on ``service``; False when it no longer holds it (taken over)."""
        with self._writing() as conn:
            return deployment_queries.renew(conn, service, holder, until)

    def deploy_locks(self, services: Sequence[str] = ()) -> list[deployment_queries.DeployLock]:
        """The deploy locks (live or expired) of ``services`` (all when empty)."""
        with self._reading() as conn:
            return deployment_queries.read_locks(conn, services)

    def deployment_counts(self) -> list[tuple[str, str, str, int]]:
        """Ledger entries per (service, how, status), with their count."""
        with self._reading() as conn:
            return deployment_queries.counts(conn)

    def deployment(self, entry_id: int) -> DeploymentRecord | None:
        """The ledger entry with ``entry_id``, if any."""
        with self._reading() as conn:
            return deployment_queries.read_one(conn, entry_id)
