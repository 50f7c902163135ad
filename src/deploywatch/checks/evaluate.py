"""From what the warehouse returned to statuses: thresholds, missing data, groups and anomalies."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from datetime import date, datetime, time
from typing import Any
from zoneinfo import ZoneInfo

from ..config.thresholds import Unit, parse_threshold
from ..core.redact import clip
from ..core.status import Status, worst
from .anomaly import AnomalyResult, score
from .plan import PlannedCheck
from .results import NULL_GROUP, CheckResult, format_value, group_label
from .warehouse import GroupKey, ScanOutcome

__all__ = ["History", "evaluate"]

# (check name, group label, run date, weekday or None, limit) -> earlier values, oldest first
History = Callable[[str, str | None, date, int | None, int], Sequence[float]]


def evaluate(planned: Sequence[PlannedCheck], outcomes: Sequence[ScanOutcome], *, now: datetime, run_date: date,
             timezone: str, history: History | None) -> list[CheckResult]:
    """One result per check, or per check and group, in config order."""
    by_scan = {outcome.scan.id: outcome for outcome in outcomes}
    results: list[CheckResult] = []
    for check in planned:
        outcome = by_scan[check.scan.id]
        results.extend(_evaluate_one(check, outcome, now=now, run_date=run_date, timezone=timezone, history=history))
    return results


def _evaluate_one(check: PlannedCheck, outcome: ScanOutcome, *, now: datetime, run_date: date, timezone: str,
                  history: History | None) -> list[CheckResult]:
    config = check.config
    alias = check.alias or "m0"
    error = outcome.error or outcome.metric_errors.get(alias)
    if error is not None:
        return [_result(check, None, None, _missing(check), error)]
    columns = check.config.group_columns
    rows = outcome.values
    results = []
    if not columns:
        value = rows.get((), {}).get(alias)
        results.append(_judge(check, None, value, now=now, run_date=run_date, timezone=timezone, history=history))
        return results
    if not rows:
        return [_result(check, None, None, _missing(check), "no rows matched, so there are no groups")]
    for key in sorted(rows, key=lambda k: tuple(str(v) for v in k)):
        group = _group(columns, key)
        results.append(_judge(check, group, rows[key].get(alias), now=now, run_date=run_date, timezone=timezone,
                              history=history))
    for expected in config.expect_groups or ():
        if not any(str(key[0]) == str(expected) for key in rows):
            results.append(_result(check, expected, None, _missing(check), f"no rows for group {expected!r}"))
    return results


def _group(columns: Sequence[str], key: GroupKey) -> Any:
    values = [NULL_GROUP if v is None else v for v in key]
    if len(columns) == 1:
        return values[0]
    return dict(zip(columns, values, strict=True))


def _missing(check: PlannedCheck) -> Status:
    return Status.CRITICAL if check.config.on_missing == "critical" else Status.UNKNOWN


def _result(check: PlannedCheck, group: Any, value: float | None, status: Status, reason: str,
            anomaly: AnomalyResult | None = None) -> CheckResult:
    config = check.config
    return CheckResult(config.name, config.phase, config.table, group, config.measure, value, check.unit, status,
                       config.warn, config.critical, reason, anomaly, config.weight)


def _judge(check: PlannedCheck, group: Any, raw: Any, *, now: datetime, run_date: date, timezone: str,
           history: History | None) -> CheckResult:
    value, problem = _number(check, raw, now, timezone)
    if value is None:
        return _result(check, group, None, _missing(check), problem)
    unit: Unit = check.unit  # type: ignore[assignment]
    config = check.config
    status, reason = Status.OK, ""
    for level, text in ((Status.CRITICAL, config.critical), (Status.WARNING, config.warn)):
        if text is not None and parse_threshold(text).breached(value, unit):
            status, reason = level, f"{format_value(value, unit)} {text.strip()}"
            break
    anomaly = None
    if config.anomaly is not None:
        anomaly_config = config.anomaly
        if history is None:
            anomaly = AnomalyResult(Status.UNKNOWN, False, None, None, None, 0,
                                    "no history store for anomaly detection")
        else:
            weekday = run_date.weekday() if anomaly_config.seasonality == "day_of_week" else None
            past = history(config.name, group_label(group), run_date, weekday, anomaly_config.window)
            anomaly = score(float(value), past, anomaly_config, lambda v: format_value(v, unit))
        if anomaly.status is not Status.OK:
            reason = "; ".join(r for r in (reason, anomaly.reason) if r)
        status = worst((status, anomaly.status))
    return _result(check, group, value, status, reason, anomaly)


def _number(check: PlannedCheck, raw: Any, now: datetime, timezone: str) -> tuple[float | int | None, str]:
    """The metric's value as a number (freshness: seconds since the newest timestamp), or why not."""
    if raw is None:
        where = f" where {check.config.where}" if check.config.where else ""
        what = ("no timestamps: no rows matched, or every value is NULL" if check.freshness
                else "the metric is NULL")
        return None, f"{what} (in {check.config.table or 'the query result'}{where})"
    if check.freshness:
        newest = _instant(raw, timezone)
        if newest is None:
            return None, f"freshness needs a date or timestamp column, got {type(raw).__name__} {raw!r}"
        return max(0.0, (now - newest).total_seconds()), ""
    if isinstance(raw, bool) or not isinstance(raw, int | float):
        return None, f"the metric is not a number: {type(raw).__name__} {clip(str(raw), 41)!r}"
    if isinstance(raw, float) and math.isnan(raw):
        return None, "the metric is NaN"
    if isinstance(raw, float) and math.isinf(raw):
        return None, "the metric is infinite"
    return raw, ""


def _instant(value: Any, timezone: str) -> datetime | None:
    """A timestamp as an aware datetime; naive values are in the warehouse time zone, dates start at midnight."""
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=ZoneInfo(timezone))
    if isinstance(value, date):
        return datetime.combine(value, time(), tzinfo=ZoneInfo(timezone))
    if isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            return None
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=ZoneInfo(timezone))
    return None


