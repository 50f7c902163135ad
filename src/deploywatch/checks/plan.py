"""What a run executes: statements (:class:`Scan`) and the checks placed in them (:class:`PlannedCheck`).

Plain data without sqlglot or pydantic, so that a plan can be kept between runs (see
:mod:`.plancache`) and run without importing either; :mod:`.compiler` builds plans from the config.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ..config.checks import AnomalyConfig, CheckConfig

__all__ = ["AnomalySpec", "CheckSpec", "Plan", "PlannedCheck", "Scan"]


@dataclass(frozen=True)
class AnomalySpec:
    """``checks[].anomaly`` as plain data (see :class:`~deploywatch.config.checks.AnomalyConfig`)."""

    sensitivity: float = 3.0
    min_history: int = 7
    window: int = 28
    direction: str = "both"
    seasonality: str | None = None
    min_change: float = 0.0
    status: str = "warning"

    @classmethod
    def from_config(cls, config: AnomalyConfig) -> AnomalySpec:
        """The validated config's values."""
        return cls(config.sensitivity, config.min_history, config.window, config.direction, config.seasonality,
                   config.min_change, config.status)


@dataclass(frozen=True)
class CheckSpec:
    """What running and judging a check needs from its ``[[checks]]`` entry, as plain data."""

    name: str
    phase: str | None
    table: str | None
    where: str | None  # as written (before templating)
    group_columns: tuple[str, ...]
    measure: str  # the metric, the sql expression or the query, as written
    warn: str | None
    critical: str | None
    on_missing: str = "unknown"
    weight: float = 1.0
    anomaly: AnomalySpec | None = None
    expect_groups: tuple[str | int, ...] | None = None

    @classmethod
    def from_config(cls, config: CheckConfig) -> CheckSpec:
        """The validated check's values."""
        return cls(config.name, config.phase, config.table, config.where, config.group_columns, config.measure,
                   config.warn, config.critical, config.on_missing, config.weight,
                   AnomalySpec.from_config(config.anomaly) if config.anomaly is not None else None,
                   tuple(config.expect_groups) if config.expect_groups is not None else None)


@dataclass
class PlannedCheck:
    """A check placed in the plan: which scan computes it, under which column alias, in which unit."""

    config: CheckSpec
    scan: Scan
    alias: str | None  # the metric's column in the scan's result; None for query checks
    unit: str = "number"  # count, percent, ratio, seconds or number
    freshness: bool = False  # the column is MAX(timestamp), reported as its age in seconds


@dataclass
class Scan:
    """One statement: a table scan (all its metrics at once) or a custom query."""

    id: str
    kind: str  # "scan" or "query"
    table: str | None
    where: str | None  # rendered
    group_by: tuple[str, ...]
    statement: str = ""
    aliases: list[str] = field(default_factory=list)  # the metric columns, in select order (after the groups)
    checks: list[PlannedCheck] = field(default_factory=list)
    timeout: float = 0.0
    # Compiler state (sqlglot trees), to build one-metric statements when a statement fails. A plan kept
    # between runs has none; ``recompile`` then gives the same scan compiled afresh.
    columns: dict[str, Any] = field(default_factory=dict)  # alias (g0…, m0…) -> its expression
    table_expression: Any = None
    where_expression: Any = None
    recompile: Callable[[], Scan] | None = field(default=None, repr=False, compare=False)


@dataclass
class Plan:
    """Every statement to run and every check placed in one of them, in config order."""

    scans: list[Scan]
    checks: list[PlannedCheck]
    dialect: str
