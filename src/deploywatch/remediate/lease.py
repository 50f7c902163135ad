"""The run lock of ``remediate --apply`` as a lease: renewed while the run works, lapsing soon after it dies.

One remediation acts at a time. The run holding the lock renews it every third of the lease (``[deploy]
lease``, as a deploy renews its service's lock) from a thread, so a long deploy or rule command keeps it; a run
killed with ``kill -9`` stops renewing and its lock lapses within one lease. The next run that takes a lapsed
lock appends ``abandoned`` rows to the audit log: one for the run, and one for each remediation it had started
(``acted``) and never finished.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from types import TracebackType
from typing import TYPE_CHECKING, Any

from ..core.errors import DeploywatchError
from ..store.remediation import AuditRecord, LockClaim

if TYPE_CHECKING:
    from ..store import Store

__all__ = ["RunLease", "abandoned_records"]

# How far back the audit log is searched for the acted rows of a run that stopped renewing its lock.
_AUDIT_LOOKED_AT = 500


class RunLease:
    """Holds the run lock for ``holder`` while the ``with`` block runs; ``claim`` says whether it was taken and
    ``lost`` turns True once a renewal found the lock taken over (the run then stops acting)."""

    def __init__(self, store: Store, holder: str, seconds: float, clock: Callable[[], datetime]) -> None:
        self.store, self.holder, self.seconds, self.clock = store, holder, seconds, clock
        self.claim = LockClaim()
        self.lost = False
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def _until(self) -> datetime:
        return self.clock() + timedelta(seconds=self.seconds)

    def __enter__(self) -> RunLease:
        self.claim = self.store.claim_remediation_lock(self.holder, self.clock(), self._until())
        if self.claim.held_by is None:
            self._thread = threading.Thread(target=self._renew, name="deploywatch-remediate-lease", daemon=True)
            self._thread.start()
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        if self._thread is None:
            return
        self._stop.set()
        self._thread.join(timeout=self.seconds)
        self.store.release_remediation_lock(self.holder)

    def _renew(self) -> None:
        while not self._stop.wait(self.seconds / 3):
            try:
                held = self.store.renew_remediation_lock(self.holder, self.clock(), self._until())
            except DeploywatchError:  # a store that does not answer: try again; the lock lapses if it never does
                continue
            if not held:
                self.lost = True
                return


def abandoned_records(store: Store, lapsed: Mapping[str, Any], *, at: datetime, actor: str) -> list[AuditRecord]:
    """The ``abandoned`` audit rows for a run whose lock lapsed: the run itself, then each remediation it started
    (an ``acted`` row of that run) that has no outcome."""
    holder = str(lapsed.get("holder"))
    rows = store.audit_log(decisions=("acted", "succeeded", "failed", "abandoned"), limit=_AUDIT_LOOKED_AT)
    open_: dict[tuple[str, str], AuditRecord] = {}
    for row in rows:
        if row.details.get("run") != holder:
            continue
        if row.decision == "acted":
            open_[(row.kind, row.subject)] = row
        else:
            open_.pop((row.kind, row.subject), None)
    reason = (f"the run of {holder} (since {lapsed.get('since')}) stopped renewing its lock; it lapsed at "
              f"{lapsed.get('until')}")
    found = [AuditRecord(at=at, kind="run", subject="fleet", decision="abandoned", reason=reason, actor=actor,
                         details={"run": holder, "interrupted": [f"{k} {s}" for k, s in open_]})]
    for (kind, subject), acted in open_.items():
        found.append(AuditRecord(at=at, kind=kind, subject=subject, decision="abandoned",
                                 reason=f"interrupted: {reason}", actor=actor, from_commit=acted.from_commit,
                                 to_commit=acted.to_commit, details={"run": holder, "acted_id": acted.id}))
    return found
