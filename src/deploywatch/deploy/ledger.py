"""The deploy ledger's rules: what a recorded deploy shipped, who made it, and its JSON (``deployments/v1``)."""

from __future__ import annotations

import getpass
import os
from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from ..core.durations import format_timestamp
from ..core.errors import UsageError
from ..core.paths import ServicePaths
from ..store.deployments import DeployLock, DeploymentRecord

if TYPE_CHECKING:
    from ..config import LoadedConfig
    from ..drift.git import Repo
    from ..store import Store

__all__ = ["DEPLOYMENTS_SCHEMA", "RECORD_STATUSES", "deployment_json", "deployments_document", "lock_json",
           "record_deployment", "shipped_commits", "who"]

DEPLOYMENTS_SCHEMA = "deploywatch.deployments/v1"
RECORD_STATUSES = ("succeeded", "failed")


def shipped_commits(repo: Repo, paths: ServicePaths, from_commit: str | None, to_commit: str) -> list[str]:
    """The service's relevant commits in ``from..to``, newest first: ``git rev-list --no-merges --full-history
    FROM..TO -- <pathspecs>`` from drift's one history walk. None known without ``from_commit`` (a first entry)."""
    from ..drift.history import History

    if from_commit is None or from_commit == to_commit:
        return []
    history = History(repo, to_commit, [from_commit], [paths])
    return [history.shas[i] for i in history.relevant_behind(0, from_commit)]


def who(repo: Repo) -> str:
    """Who deploys from here: git's ``user.name``, else ``$USER`` (the login name), else ``unknown``."""
    name = repo.user_name()
    if name:
        return name
    if os.environ.get("USER"):
        return os.environ["USER"]
    try:
        return getpass.getuser()
    except Exception:
        return "unknown"


def record_deployment(loaded: LoadedConfig, store: Store, repo: Repo, service: str, commit: str, *, now: datetime,
                      status: str = "succeeded", url: str | None = None, by: str | None = None,
                      reason: str | None = None) -> DeploymentRecord:
    """Record a deploy done elsewhere (CI, Argo CD, by hand): ``commit`` resolved in the repository, ``from`` the
    service's last succeeded entry, the relevant commits in between. Unknown service, commit or status: UsageError."""
    services = loaded.config.services
    if service not in services:
        known = ", ".join(services) or "none"
        raise UsageError(f"unknown service {service!r}; configured: {known}")
    if status not in RECORD_STATUSES:
        raise UsageError(f"status must be {' or '.join(RECORD_STATUSES)}, not {status!r}")
    to_commit = repo.resolve(commit)
    if to_commit is None:
        raise UsageError(f"unknown commit {commit!r}: not in the repository {repo.path} (run git fetch?)")
    previous = store.last_succeeded_deployments([service]).get(service)
    from_commit = previous.to_commit if previous else None
    known_from = from_commit if from_commit is None or repo.resolve(from_commit) else None  # gone: shipped unknown
    record = DeploymentRecord(service=service, from_commit=from_commit, to_commit=to_commit, status=status,
                              how="record", by=by or who(repo), started_at=now, finished_at=now, url=url,
                              reason=reason,
                              relevant_commits=tuple(shipped_commits(repo, loaded.service_paths(service),
                                                                     known_from, to_commit)))
    return store.record_deployment(record, chained=True)  # a record made meanwhile: refused, not mis-chained


def deployment_json(record: DeploymentRecord) -> dict[str, Any]:
    """One entry as ``deploywatch.deployments/v1`` shows it (timestamps ISO 8601 UTC, texts already masked)."""
    return {"id": record.id, "service": record.service, "from_commit": record.from_commit,
            "to_commit": record.to_commit, "status": record.status, "step": record.step, "reason": record.reason,
            "started_at": format_timestamp(record.started_at),
            "finished_at": format_timestamp(record.finished_at) if record.finished_at else None,
            "duration_seconds": record.duration_seconds, "by": record.by, "how": record.how, "url": record.url,
            "relevant_commits": list(record.relevant_commits), "output_tail": record.output_tail}


def lock_json(lock: DeployLock) -> dict[str, Any]:
    """A service's deploy lock as ``deployments/v1`` shows it: who holds it, since when, until when."""
    return {"service": lock.service, "holder": lock.holder, "acquired_at": format_timestamp(lock.acquired_at),
            "expires_at": format_timestamp(lock.expires_at)}


def deployments_document(records: Sequence[DeploymentRecord]) -> dict[str, Any]:
    """The ``deploywatch.deployments/v1`` document of ``records``."""
    return {"schema": DEPLOYMENTS_SCHEMA, "deployments": [deployment_json(r) for r in records]}
