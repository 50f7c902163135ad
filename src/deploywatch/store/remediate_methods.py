"""The :class:`~deploywatch.store.database.Store`'s remediation methods: the audit log and the guardrails' state."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from contextlib import AbstractContextManager
from datetime import datetime
from typing import Any

from . import remediation as queries
from .db import Tx
from .remediation import AuditRecord, LockClaim

__all__ = ["RemediateMethods"]


class RemediateMethods:
    """Each method one transaction around one query function of :mod:`.remediation` (mixed into ``Store``)."""

    def _reading(self) -> AbstractContextManager[Tx]:
        raise NotImplementedError

    def _writing(self) -> AbstractContextManager[Tx]:
        raise NotImplementedError

    def remediation_states(self) -> dict[str, dict[str, Any]]:
        """Every remediation state by subject (``fleet``, ``service:NAME``, ``rule:NAME``)."""
        with self._reading() as conn:
            return queries.read_states(conn)

    def record_remediation(self, records: Sequence[AuditRecord], states: Mapping[str, Mapping[str, Any]],
                           now: datetime) -> list[AuditRecord]:
        """Append audit rows and write the changed states in one transaction; the rows with their ids."""
        with self._writing() as conn:
            added = [queries.insert_audit(conn, record) for record in records]
            for subject, state in states.items():
                queries.write_state(conn, subject, state, now)
            return added

    def audit_log(self, *, since: datetime | None = None, kind: str | None = None, subject: str | None = None,
                  decisions: tuple[str, ...] = (), limit: int = 1000) -> list[AuditRecord]:
        """The newest ``limit`` audit rows matching, oldest first (:func:`.remediation.read_audit`)."""
        with self._reading() as conn:
            return queries.read_audit(conn, since=since, kind=kind, subject=subject, decisions=decisions,
                                      limit=limit)

    def claim_remediation_lock(self, holder: str, now: datetime, until: datetime) -> LockClaim:
        """Take the remediation run lock (one remediation acts at a time): :class:`.remediation.LockClaim`."""
        with self._writing() as conn:
            return queries.claim_lock(conn, holder, now, until)

    def renew_remediation_lock(self, holder: str, now: datetime, until: datetime) -> bool:
        """Extend ``holder``'s remediation run lock to ``until``; False when it no longer holds it."""
        with self._writing() as conn:
            return queries.renew_lock(conn, holder, now, until)

    def release_remediation_lock(self, holder: str) -> bool:
        """Release ``holder``'s remediation run lock."""
        with self._writing() as conn:
            return queries.release_lock(conn, holder)
