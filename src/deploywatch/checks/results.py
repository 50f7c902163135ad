"""A check's result (per group) and the canary report, with their JSON forms."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from ..core.findings import Finding
from ..core.redact import mask
from ..core.status import Status
from ..core.units import format_value
from .anomaly import AnomalyResult
from .plan import Plan

__all__ = ["CANARY_SCHEMA", "CanaryReport", "CheckResult", "format_value", "group_label"]

CANARY_SCHEMA = "deploywatch.canary/v1"
NULL_GROUP = "(null)"


def group_label(group: Any) -> str | None:
    """How a group is named in subjects and the store: the value as text, columns joined by ", "."""
    if group is None:
        return None
    if isinstance(group, dict):
        return ", ".join(f"{k}={_text(v)}" for k, v in group.items())
    return _text(group)


def _text(value: Any) -> str:
    if isinstance(value, date | datetime):
        return value.isoformat()
    return str(value)


@dataclass(frozen=True)
class CheckResult:
    """One check (or one group of a grouped check): its value, status and why."""

    name: str
    phase: str | None
    table: str | None
    group: Any  # None, a scalar (one group_by column) or {column: value}
    metric: str
    value: float | int | None
    unit: str
    status: Status
    warn: str | None
    critical: str | None
    reason: str
    anomaly: AnomalyResult | None = None
    weight: float = 1.0

    def __post_init__(self) -> None:
        # The reason may quote the warehouse (its URL, its error): masked before anything prints, stores or sends it.
        object.__setattr__(self, "reason", mask(self.reason))

    @property
    def subject(self) -> str:
        """``name`` or ``name[group]``: the finding's subject."""
        label = group_label(self.group)
        return self.name if label is None else f"{self.name}[{label}]"

    @property
    def shown_value(self) -> str:
        """The value for people: ``71.2%``, ``26h``, ``1,204``."""
        return format_value(self.value, self.unit)

    def as_json(self) -> dict[str, Any]:
        """The ``checks[]`` entry of ``deploywatch.canary/v1``."""
        group = {k: _json(v) for k, v in self.group.items()} if isinstance(self.group, dict) else _json(self.group)
        return {"name": self.name, "phase": self.phase, "table": self.table, "group": group, "metric": self.metric,
                "value": self.value, "status": str(self.status), "warn": self.warn, "critical": self.critical,
                "reason": self.reason or None, "anomaly": self.anomaly.as_json() if self.anomaly and
                self.anomaly.mean is not None else None}

    def finding(self) -> Finding:
        """This result as a finding (kind ``check``)."""
        summary = f"{self.subject} {self.status}: {self.reason or self.shown_value}"
        details = {**self.as_json(), "unit": self.unit}
        labels = {"check": self.name, **({"phase": self.phase} if self.phase else {}),
                  **({"table": self.table} if self.table else {})}
        label = group_label(self.group)
        if label is not None:
            labels["group"] = label
        return Finding("check", self.subject, self.status, summary, details, labels)


def _json(value: Any) -> Any:
    if isinstance(value, date | datetime):
        return value.isoformat()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


@dataclass(frozen=True)
class CanaryReport:
    """The results of one run of checks."""

    run_id: str
    run_date: date
    now: datetime
    results: tuple[CheckResult, ...]
    plan: Plan
    seconds: float
    statements: int

    @property
    def status(self) -> Status:
        """The worst status of any result (unknown when there are none)."""
        from ..core.status import worst

        return worst(r.status for r in self.results)

    def as_json(self) -> dict[str, Any]:
        """``deploywatch.canary/v1``."""
        return {"schema": CANARY_SCHEMA, "status": str(self.status), "checks": [r.as_json() for r in self.results]}
