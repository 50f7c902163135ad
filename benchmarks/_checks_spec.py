"""What the checks benchmark measures: the two scenarios, their tables and checks, and the SQL of the floor.

Every contender runs the same checks; this module says what each check means (the floor's SQL is the
definition) and how its failing or passing threshold is placed once the values are known. The
configurations of the tools themselves (deploywatch TOML, SodaCL, the Great Expectations plan) are
written by ``_checks_peers``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

# The data ends on DAY; "now" for freshness is fixed so that every run and every tool sees the same value.
DAY = date(2026, 11, 22)
NOW = datetime(2026, 11, 23, 6, 0, tzinfo=UTC)
NOW_ISO = NOW.isoformat().replace("+00:00", "Z")
REGIONS = ("north", "south", "east", "west", "central", "coastal", "mountain", "islands")
VALID_STATUSES = ("paid", "shipped", "delivered", "refunded")
STATUS_PREDICATE = "status IN (" + ", ".join(f"'{s}'" for s in VALID_STATUSES) + ")"
# Metrics whose failing threshold is "any at all" (critical when > 0).
ZERO_TOLERANCE = frozenset({"missing_count", "duplicate_count"})
PERCENT_METRICS = frozenset({"missing_percent", "valid_percent"})


@dataclass(frozen=True)
class Table:
    """One generated table: ``rows`` rows over ``days`` days ending on ``DAY``, from a seeded hash."""

    name: str
    rows: int
    days: int
    seed: int


@dataclass(frozen=True)
class Check:
    """One data check.

    ``metric`` is one of row_count, missing_count, missing_percent, valid_percent (percent of rows whose
    status is valid: a coverage predicate), freshness, duplicate_count, distinct_count, min, max, avg,
    sum, stddev, conversion_ratio (count(converted_at) / count(*), per ``group_by``). ``upper`` says
    which side the threshold is on (critical when the value is above it, else below it); ``fails``
    marks the checks the scenario means to fail.
    """

    name: str
    table: str
    metric: str
    column: str | None = None
    where: str | None = None
    group_by: str | None = None
    upper: bool = True
    fails: bool = False


@dataclass
class Scenario:
    """A set of tables and the checks on them."""

    name: str
    title: str
    tables: list[Table]
    checks: list[Check]
    database: str  # DuckDB file name (one per scenario)

    def statements(self) -> list[tuple[str, str | None, str | None]]:
        """The distinct (table, where, group_by) of the checks, in first-seen order."""
        return list(dict.fromkeys((c.table, c.where, c.group_by) for c in self.checks))


def day_filter(day: date = DAY) -> str:
    return f"event_date = DATE '{day.isoformat()}'"


def _basic_checks(table: str) -> list[Check]:
    """The checks every ``wide`` table has: rows, missing emails, valid statuses, freshness, duplicate ids."""
    return [
        Check(f"{table}.rows", table, "row_count", upper=False),
        Check(f"{table}.email_missing", table, "missing_count", "email"),
        Check(f"{table}.email_missing_pct", table, "missing_percent", "email"),
        Check(f"{table}.status_valid_pct", table, "valid_percent", "status", upper=False),
        Check(f"{table}.created_freshness", table, "freshness", "created_at"),
        Check(f"{table}.id_duplicates", table, "duplicate_count", "id"),
    ]


def wide(rows: int) -> Scenario:
    """Two tables of ``rows`` rows, 20 checks on whole tables (none meant to fail)."""
    tables = [Table("wide_orders", rows, 30, 11), Table("wide_events", rows, 30, 12)]
    o, e = (t.name for t in tables)
    checks = [
        *_basic_checks(o),
        Check(f"{o}.amount_min", o, "min", "amount", upper=False),
        Check(f"{o}.amount_max", o, "max", "amount"),
        Check(f"{o}.amount_avg", o, "avg", "amount", upper=False),
        Check(f"{o}.amount_sum", o, "sum", "amount", upper=False),
        Check(f"{o}.amount_stddev", o, "stddev", "amount", upper=False),
        Check(f"{o}.customers_distinct", o, "distinct_count", "customer_id", upper=False),
        *_basic_checks(e),
        Check(f"{e}.amount_avg", e, "avg", "amount", upper=False),
        Check(f"{e}.conversion_by_region", e, "conversion_ratio", "converted_at", group_by="region"),
    ]
    return Scenario("wide", f"wide: 2 tables x {rows:,} rows, {len(checks)} checks", tables, checks, "wide.duckdb")


def many(rows: int, tables: int = 10) -> Scenario:
    """``tables`` tables of ``rows`` rows over 10 days, 10 checks each on the last day; 33 of 100 fail."""
    where = day_filter()
    made = [Table(f"part_{k:02d}", rows, 10, 100 + k) for k in range(tables)]
    checks: list[Check] = []
    for k, t in enumerate(made):
        n = t.name
        checks += [
            Check(f"{n}.rows", n, "row_count", where=where, upper=False),
            Check(f"{n}.email_missing", n, "missing_count", "email", where=where, fails=True),
            Check(f"{n}.email_missing_pct", n, "missing_percent", "email", where=where),
            Check(f"{n}.status_valid_pct", n, "valid_percent", "status", where=where, upper=False, fails=True),
            Check(f"{n}.created_freshness", n, "freshness", "created_at", where=where),
            Check(f"{n}.id_duplicates", n, "duplicate_count", "id", where=where, fails=True),
            Check(f"{n}.customers_distinct", n, "distinct_count", "customer_id", where=where, upper=False),
            Check(f"{n}.amount_min", n, "min", "amount", where=where, upper=False),
            Check(f"{n}.amount_max", n, "max", "amount", where=where, fails=k < 3),
            Check(f"{n}.amount_avg", n, "avg", "amount", where=where, upper=False),
        ]
    failing = sum(c.fails for c in checks)
    title = (f"many: {tables} tables x {rows:,} rows, {len(checks)} checks filtered to {DAY.isoformat()}, "
             f"{failing} failing")
    return Scenario("many", title, made, checks, "many.duckdb")


# ------------------------------------------------------------------ the floor's SQL (the definitions)


def aggregate_sql(check: Check) -> str:
    """The aggregate expression of one check, valid in DuckDB and PostgreSQL alike."""
    col = check.column
    return {
        "row_count": "COUNT(*)",
        "missing_count": f"COUNT(*) - COUNT({col})",
        "missing_percent": f"100.0 * (COUNT(*) - COUNT({col})) / NULLIF(COUNT(*), 0)",
        "valid_percent": f"100.0 * COUNT(*) FILTER (WHERE {STATUS_PREDICATE}) / NULLIF(COUNT(*), 0)",
        "freshness": f"MAX({col})",  # the runner turns it into seconds before NOW
        "duplicate_count": f"COUNT({col}) - COUNT(DISTINCT {col})",
        "distinct_count": f"COUNT(DISTINCT {col})",
        "min": f"MIN({col})",
        "max": f"MAX({col})",
        "avg": f"AVG({col})",
        "sum": f"SUM({col})",
        "stddev": f"STDDEV_SAMP({col})",
        "conversion_ratio": f"CAST(COUNT({col}) AS DOUBLE PRECISION) / NULLIF(COUNT(*), 0)",
    }[check.metric]


def spark_aggregate_sql(check: Check) -> str:
    """The same aggregate as a Spark SQL expert writes it: ``100D`` (a double; ``100.0`` is a DECIMAL in Spark,
    which would round the percentages), ``count_if``, and ``NULLIF`` because ANSI mode (Spark 4's default)
    raises on a division by zero."""
    col = check.column
    return {
        "missing_percent": f"100D * (COUNT(*) - COUNT({col})) / NULLIF(COUNT(*), 0)",
        "valid_percent": f"100D * COUNT_IF({STATUS_PREDICATE}) / NULLIF(COUNT(*), 0)",
        "conversion_ratio": f"COUNT({col}) / NULLIF(COUNT(*), 0)",  # "/" is always a double division in Spark
    }.get(check.metric) or aggregate_sql(check)


def _select(checks: list[Check], table: str, where: str | None, group_by: str | None,
            dialect: str = "duckdb") -> dict[str, object]:
    columns = [(spark_aggregate_sql if dialect == "spark" else aggregate_sql)(c) for c in checks]
    if group_by:
        columns.insert(0, group_by)
    sql = f"SELECT {', '.join(columns)} FROM {table}"
    if where:
        sql += f" WHERE {where}"
    if group_by:
        sql += f" GROUP BY {group_by}"
    return {"sql": sql, "grouped": bool(group_by),
            "outputs": [{"check": c.name, "freshness": c.metric == "freshness"} for c in checks]}


def floor_statements(scenario: Scenario, dialect: str = "duckdb") -> list[dict[str, object]]:
    """One hand-written aggregate SELECT per (table, where, group_by): what no checker can beat. ``dialect``:
    ``duckdb`` (also valid in PostgreSQL) or ``spark``."""
    out = []
    for table, where, group_by in scenario.statements():
        same = [c for c in scenario.checks if (c.table, c.where, c.group_by) == (table, where, group_by)]
        out.append(_select(same, table, where, group_by, dialect))
    return out


def naive_statements(scenario: Scenario) -> list[dict[str, object]]:
    """One SELECT per check (what a checker that does not batch runs)."""
    return [_select([c], c.table, c.where, c.group_by) for c in scenario.checks]


# ------------------------------------------------------------------ thresholds


@dataclass(frozen=True)
class Bound:
    """A critical threshold: the check fails when the value is above (``upper``) or below ``value``."""

    upper: bool
    value: float

    def violated_by(self, value: float) -> bool:
        return value > self.value if self.upper else value < self.value


def place_bound(check: Check, value: float) -> Bound:
    """A threshold that ``value`` clearly violates when the check is meant to fail, else clearly meets."""
    if check.metric == "freshness":
        hours = value / 3600
        limit = hours / 2 if check.fails else hours * 2 + 24
        return Bound(True, math.ceil(limit) * 3600.0)
    if check.fails:
        if check.upper:
            return Bound(True, 0.0 if check.metric in ZERO_TOLERANCE else _round(value * 0.9))
        return Bound(False, 99.9 if check.metric in PERCENT_METRICS else _round(value * 1.1))
    if check.upper:
        limit = min(99.0, value * 2 + 1) if check.metric in PERCENT_METRICS else value * 2 + 10
        if check.metric == "conversion_ratio":
            limit = 0.99
        return Bound(True, _round(limit))
    return Bound(False, _round(value / 2))


def _round(value: float) -> float:
    """Thresholds people would write: integers when large, two decimals otherwise."""
    return float(round(value)) if abs(value) >= 100 else round(value, 2)


def freshness_limit_iso(bound: Bound) -> str:
    """The oldest acceptable timestamp for a freshness bound (for tools that check max(col) instead)."""
    return (NOW - timedelta(seconds=bound.value)).replace(tzinfo=None).isoformat()
