"""What the store keeps, as plain frozen dataclasses: runs, their findings, and metric values.

This module imports nothing heavy, so code that only builds records (collectors, the CLI) does not pay for a
database driver.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from ..core.redact import mask_values

if TYPE_CHECKING:
    from collections.abc import Sequence

    from ..core.findings import Finding

__all__ = ["FindingRecord", "MetricPoint", "MetricRecord", "RunRecord", "finding_records"]


def _require_aware(name: str, value: datetime) -> None:
    """Reject naive datetimes early: the store cannot know which zone they meant."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be a tz-aware datetime (UTC), got naive {value.isoformat()}")


@dataclass(frozen=True, slots=True)
class RunRecord:
    """One execution of a command (``drift``, ``canary``, ``gate``, ``check`` …) and its outcome."""

    id: str  # uuid4 hex, made by the caller
    command: str
    started_at: datetime  # tz-aware; comes back from the store in UTC
    finished_at: datetime
    run_date: date | None  # the pipeline date the run was about (``--date``)
    status: str  # "ok" | "warning" | "critical" | "unknown"
    exit_code: int
    score: float | None = None
    details: Mapping[str, Any] = field(default_factory=dict)  # JSON-able extra information

    def __post_init__(self) -> None:
        _require_aware("RunRecord.started_at", self.started_at)
        _require_aware("RunRecord.finished_at", self.finished_at)
        # details may quote a reason (the unified check's items): masked before the store or the API sees it
        object.__setattr__(self, "details", mask_values(self.details))


@dataclass(frozen=True, slots=True)
class FindingRecord:
    """One finding a run emitted (see DESIGN.md: kind, subject, status, summary, fingerprint)."""

    run_id: str
    kind: str  # "drift" | "check" | …
    subject: str  # a service name, "check_name" or "check_name[group]"
    status: str
    summary: str
    fingerprint: str  # computed by the caller
    details: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class MetricRecord:
    """One measured value of a check's metric (for one group, or for the whole table when ``group`` is None)."""

    run_id: str
    check: str
    group: str | None
    metric: str  # the metric expression text, e.g. "percent(vegas_line IS NOT NULL)"
    run_date: date
    measured_at: datetime  # tz-aware
    value: float | None  # None when it could not be computed
    status: str
    anomalous: bool = False

    def __post_init__(self) -> None:
        _require_aware("MetricRecord.measured_at", self.measured_at)


@dataclass(frozen=True, slots=True)
class MetricPoint:
    """A stored metric value as history queries return it (``measured_at`` always tz-aware UTC)."""

    run_id: str
    check: str
    group: str | None
    run_date: date
    measured_at: datetime
    value: float | None
    status: str
    anomalous: bool


def finding_records(run_id: str, findings: Sequence[Finding]) -> list[FindingRecord]:
    """The store rows of ``findings``, as run ``run_id`` found them."""
    return [FindingRecord(run_id=run_id, kind=f.kind, subject=f.subject, status=str(f.status), summary=f.summary,
                          fingerprint=f.fingerprint, details=dict(f.details)) for f in findings]
