"""The :class:`~deploywatch.store.database.Store`'s progressive rollout methods, mixed into ``Store``."""

from __future__ import annotations

from contextlib import AbstractContextManager
from datetime import datetime
from typing import Any

from . import rollouts as rollout_queries
from .db import Tx
from .deployments import DeploymentRecord

__all__ = ["RolloutMethods"]


class RolloutMethods:
    """Each method one transaction around one query function of :mod:`.rollouts`."""

    def _reading(self) -> AbstractContextManager[Tx]:
        raise NotImplementedError

    def _writing(self) -> AbstractContextManager[Tx]:
        raise NotImplementedError

    def start_rollout(self, entry: DeploymentRecord, holder: str, now: datetime, event: dict[str, Any]) -> None:
        """Add the rollout row of ``entry`` (no weight set yet)."""
        with self._writing() as conn:
            rollout_queries.start(conn, entry, holder, now, event)

    def rollout_event(self, entry_id: int, now: datetime, event: dict[str, Any], *, step_index: int | None = None,
                      weight: int | None = None, clear_request: bool = False) -> None:
        """Append an event to a rollout (and move it to ``step_index`` at ``weight``)."""
        with self._writing() as conn:
            rollout_queries.add_event(conn, entry_id, now, event, step_index=step_index, weight=weight,
                                      clear_request=clear_request)

    def set_rollout_weight(self, entry_id: int, now: datetime, weight: int) -> None:
        """Record the weight in force (0 after an abort or a rollback)."""
        with self._writing() as conn:
            rollout_queries.update(conn, entry_id, now, weight=weight)

    def request_rollout(self, entry_id: int, what: str, reason: str, now: datetime) -> bool:
        """Ask the running rollout to ``what`` (promote) before its next step."""
        with self._writing() as conn:
            return rollout_queries.request(conn, entry_id, what, reason, now)

    def latest_rollout(self, service: str) -> rollout_queries.RolloutRecord | None:
        """The service's newest rollout, with its ledger entry."""
        with self._reading() as conn:
            return rollout_queries.latest(conn, service)

    def latest_rollouts(self) -> list[rollout_queries.RolloutRecord]:
        """Every service's newest rollout, by service name."""
        with self._reading() as conn:
            return rollout_queries.latest_per_service(conn)

    def check_samples(self, check: str, *, since: datetime | None, until: datetime,
                      limit: int) -> list[rollout_queries.StoredSample]:
        """Stored values of ``check`` measured in ``[since, until)``, newest first (a baseline or canary's)."""
        with self._reading() as conn:
            return rollout_queries.check_samples(conn, check, since=since, until=until, limit=limit)

    def probe_samples(self, probe: str, *, since: datetime | None, until: datetime,
                      limit: int) -> list[rollout_queries.StoredSample]:
        """Stored values of ``probe`` from runs started in ``[since, until)``, newest first."""
        with self._reading() as conn:
            return rollout_queries.probe_samples(conn, probe, since=since, until=until, limit=limit)

    def resume_rollout(self, entry: DeploymentRecord, *, old_holder: str, holder: str, lease: float,
                       now: datetime) -> bool:
        """Take a paused rollout over (lock and entry back to ``started``); False when it was no longer paused."""
        with self._writing() as conn:
            return rollout_queries.resume(conn, entry, old_holder=old_holder, holder=holder, lease=lease, now=now)
