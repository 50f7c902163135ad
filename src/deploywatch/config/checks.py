"""Config models for the data side: ``[warehouse]``, ``[store]``, ``[[checks]]`` and ``[gates.NAME]``.

Field-level rules live here; rules that need the SQL dialect (metrics, ``where``, table names) or
other checks (unique names, gate patterns) are checked after validation by
:func:`deploywatch.checks.validate.validate_checks`, so that SQL parsing is only paid for by configs
that have checks.
"""

from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import AfterValidator, Field, model_validator

from ..core.redact import register_url_secrets
from .file import DEFAULT_MEMORY_LIMIT
from .types import Duration, Finite, Model, Name, NonBlank, TimeZone, url_with_valid_port

__all__ = ["AnomalyConfig", "CheckConfig", "GateConfig", "StoreConfig", "WarehouseConfig", "slo_fraction"]

_CHECK_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.:-]*")
DEFAULT_WAREHOUSE_URL = "duckdb:///warehouse.duckdb"
DEFAULT_STATEMENT_TIMEOUT = 300


def _check_name(value: str) -> str:
    if not _CHECK_NAME.fullmatch(value):
        raise ValueError("expected a name of letters, digits, '.', '_', ':' and '-' (starting with a letter or digit)")
    return value


def _threshold(value: str) -> str:
    from .thresholds import parse_threshold

    parse_threshold(value)  # ThresholdError is a ValueError: pydantic reports it at this key
    return value


_SQL_URL_EXPECTED = "expected a SQLAlchemy URL such as 'duckdb:///warehouse.duckdb' or 'postgresql://user@host/db'"


def _slo(value: str) -> str:
    """``"95%"`` or ``"99.5%"``: a share of runs, above 0 and at most 100."""
    text = value.strip()
    try:
        number = float(text.removesuffix("%"))
    except ValueError:
        number = -1.0
    if not text.endswith("%") or not 0 < number <= 100:
        raise ValueError(f"expected a percentage above 0 and at most 100, such as '95%', not {value!r}")
    return text


def slo_fraction(slo: str) -> float:
    """An ``slo`` as a fraction: ``"95%"`` → 0.95."""
    return float(slo.strip().removesuffix("%")) / 100


def _sql_url(value: str) -> str:
    if "://" not in value or not value.split("://", 1)[0]:
        raise ValueError(_SQL_URL_EXPECTED)
    # SQLAlchemy would raise a bare ValueError on a bad port or an unclosed '[' when the URL is first used.
    # (spark://local[4] names a local Spark, not a host: the warehouse checks it.)
    if value.split("://", 1)[0].lower() != "spark":
        url_with_valid_port(value, "a SQLAlchemy URL")
    # Every credential the URL carries is masked wherever it shows up later (errors, findings, alerts).
    register_url_secrets(value)
    return value


def _memory_size(value: str) -> str:
    if not _MEMORY.fullmatch(value.strip()):
        raise ValueError("expected a size such as '64MB', '512MiB' or '2GB'")
    return value.strip()


_MEMORY = re.compile(r"(?i)\d+(?:\.\d+)?\s*(?:B|KB|MB|GB|TB|KiB|MiB|GiB|TiB)")
CheckName = Annotated[str, AfterValidator(_check_name)]
MemorySize = Annotated[str, AfterValidator(_memory_size)]
ThresholdText = Annotated[str, AfterValidator(_threshold)]
SqlUrl = Annotated[str, AfterValidator(_sql_url)]


class WarehouseConfig(Model):
    """``[warehouse]``: where checks run."""

    url: SqlUrl = DEFAULT_WAREHOUSE_URL
    dialect: NonBlank | None = None  # sqlglot dialect of the warehouse; derived from the URL when unset
    read_dialect: NonBlank | None = None  # dialect the checks' SQL is written in; the warehouse's by default
    timeout: Duration = DEFAULT_STATEMENT_TIMEOUT
    concurrency: Annotated[int, Field(ge=1, le=32)] = 4
    timezone: TimeZone = "UTC"
    read_only: bool | None = None  # DuckDB files open read-only unless this is false
    memory_limit: MemorySize = DEFAULT_MEMORY_LIMIT  # DuckDB only: working memory; more spills to disk


class StoreConfig(Model):
    """``[store]``: where runs, findings and metric history are kept."""

    url: SqlUrl | None = None  # default: sqlite:///<config dir>/.deploywatch/state.db


class AnomalyConfig(Model):
    """``checks[].anomaly``: flag values far from the check's own history."""

    sensitivity: Annotated[Finite, Field(gt=0)] = 3.0
    min_history: Annotated[int, Field(ge=2)] = 7
    window: Annotated[int, Field(ge=2, le=1000)] = 28
    direction: Literal["spike", "drop", "both"] = "both"
    seasonality: Literal["day_of_week"] | None = None
    min_change: Annotated[Finite, Field(ge=0)] = 0.0
    status: Literal["warning", "critical"] = "warning"

    @model_validator(mode="after")
    def _window_holds_history(self) -> AnomalyConfig:
        if self.window < self.min_history:
            raise ValueError(f"window ({self.window}) must be at least min_history ({self.min_history})")
        return self


class CheckConfig(Model):
    """``[[checks]]``: one metric on one table (optionally per group), or a custom query."""

    name: CheckName
    phase: Name | None = None
    description: str | None = None
    table: NonBlank | None = None
    where: NonBlank | None = None
    group_by: NonBlank | Annotated[list[NonBlank], Field(min_length=1)] | None = None
    metric: NonBlank | None = None
    sql: NonBlank | None = None
    query: NonBlank | None = None
    warn: ThresholdText | None = None
    critical: ThresholdText | None = None
    on_missing: Literal["unknown", "critical"] = "unknown"
    weight: Annotated[Finite, Field(gt=0)] = 1.0
    anomaly: AnomalyConfig | None = None
    slo: Annotated[str, AfterValidator(_slo)] | None = None  # "95%": the share of runs that should be ok
    expect_groups: Annotated[list[str | int], Field(min_length=1)] | None = None
    timeout: Duration | None = None

    @property
    def group_columns(self) -> tuple[str, ...]:
        """The ``group_by`` columns as a tuple (empty when the check is not grouped)."""
        if self.group_by is None:
            return ()
        return (self.group_by,) if isinstance(self.group_by, str) else tuple(self.group_by)

    @property
    def measure(self) -> str:
        """What is measured, as written: the metric, the ``sql`` expression or the query."""
        return self.metric or self.sql or self.query or ""

    @model_validator(mode="after")
    def _shape(self) -> CheckConfig:
        given = [k for k in ("metric", "sql", "query") if getattr(self, k) is not None]
        if len(given) != 1:
            found = f" (found {', '.join(given)})" if given else ""
            raise ValueError(f"set exactly one of metric, sql or query{found}")
        if self.query is not None:
            if self.table is not None or self.where is not None:
                raise ValueError("a query check selects its own rows: 'table' and 'where' do not apply")
        elif self.table is None:
            raise ValueError("'table' is required (or write a query = \"SELECT …\")")
        if self.expect_groups is not None and self.group_by is None:
            raise ValueError("'expect_groups' needs 'group_by'")
        if self.expect_groups is not None and len(self.group_columns) != 1:
            raise ValueError("'expect_groups' works with a single group_by column")
        return self


class GateConfig(Model):
    """``[gates.NAME]``: the checks that must pass before the next pipeline phase."""

    checks: Annotated[list[NonBlank], Field(min_length=1)]  # globs over check names, or phase names
    min_score: Annotated[Finite, Field(ge=0, le=100)] | None = None
    description: str | None = None

