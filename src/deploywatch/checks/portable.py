"""Spellings that keep a check's meaning in every warehouse: sqlglot trees rewritten before SQL is generated.

sqlglot writes a few expressions in some dialects with another meaning than the one they were read with;
the cross-engine guard (tests/checks/crossengine_test.py) finds them by running each dialect's SQL, read
back, on DuckDB. Each rewrite here keeps the meaning of the SQL as the checks were written:

- ``count_if(p)`` is ``COUNT(CASE WHEN p THEN 1 END)`` in every dialect, so a count with no matching row is 0
  everywhere. DuckDB's ``count_if`` is NULL when no row is TRUE or FALSE (no rows, or ``p`` NULL on each);
  BigQuery's ``COUNTIF`` and Snowflake's and Trino's ``COUNT_IF`` are 0; sqlglot's PostgreSQL spelling,
  ``SUM(CASE … ELSE 0 END)``, is NULL on no rows.
- ``least``/``greatest`` that skip NULLs (as DuckDB, PostgreSQL and Spark define them) keep skipping them where
  the target's ``LEAST`` is NULL when any argument is (BigQuery, Trino): sqlglot writes a plain ``LEAST`` there.
  Each argument is coalesced with the others, so a NULL one is replaced by another and only all NULL is NULL.
- ``date_diff('week', a, b)`` (DuckDB: the days between the two dates, divided by 7 and truncated) is written as
  that, since sqlglot's spelling counts week boundaries on BigQuery (weeks from Sunday) and Snowflake (from
  Monday) and elapsed time on PostgreSQL and Trino (so 6 days 2 hours across a week's end is 0, not 1).
- ``dayofweek(x)`` (DuckDB: Sunday 0 … Saturday 6) is ``DAY_OF_WEEK(x) % 7`` on Trino and
  ``EXTRACT(DAYOFWEEK FROM x) - 1`` on BigQuery (whose own numberings start at Sunday 1), and ``EXTRACT(DOW FROM
  x)`` on PostgreSQL (not ``DAY_OF_WEEK``, which it lacks).
- ``epoch(ts)`` (DuckDB: seconds as a double, with the fraction) is microseconds / 1e6 where sqlglot's spelling
  truncates to whole seconds (Snowflake ``EXTRACT(epoch_second …)``) or is not a function of the engine
  (BigQuery ``TIME_TO_UNIX``; ``UNIX_MICROS`` is).
"""

from __future__ import annotations

import functools
from collections.abc import Callable

import sqlglot
from sqlglot import exp

__all__ = ["portable"]


def portable(expression: exp.Expr, dialect: str) -> exp.Expr:
    """``expression`` with the rewrites of this module for ``dialect`` (a new tree when any applies)."""
    if not any(isinstance(node, _REWRITTEN) for node in expression.walk()):
        return expression
    return expression.transform(functools.partial(_rewrite_in_place, dialect=dialect))


def _rewrite_in_place(node: exp.Expr, dialect: str) -> exp.Expr:
    """:func:`_rewrite`, in parentheses when it became an operation inside another (``3 / epoch(ts)`` must not
    become ``3 / micros / 1000000``)."""
    rewritten = _rewrite(node, dialect)
    parent = node.parent
    if (rewritten is not node and isinstance(rewritten, exp.Binary)
            and isinstance(parent, exp.Binary | exp.Unary) and not isinstance(parent, exp.Paren)):
        return exp.paren(rewritten, copy=False)
    return rewritten


def _rewrite(node: exp.Expr, dialect: str) -> exp.Expr:
    if isinstance(node, exp.CountIf) and not isinstance(node.this, exp.Distinct):
        return exp.Count(this=exp.Case(ifs=[exp.If(this=node.this.copy(), true=exp.Literal.number(1))]))
    if isinstance(node, exp.Least | exp.Greatest) and node.args.get("ignore_nulls") and not _skips_nulls(
            type(node).__name__, dialect):
        arguments = [node.this, *node.expressions]
        coalesced = [exp.Coalesce(this=a.copy(), expressions=[b.copy() for b in arguments if b is not a])
                     for a in arguments]
        return type(node)(this=coalesced[0], expressions=coalesced[1:], ignore_nulls=True)
    if (isinstance(node, exp.DateDiff) and dialect != "duckdb" and node.text("unit").upper() == "WEEK"
            and not node.args.get("date_part_boundary")):
        days = exp.DateDiff(this=node.this.copy(), expression=node.expression.copy(), unit=exp.var("DAY"),
                            date_part_boundary=True)
        return exp.IntDiv(this=days, expression=exp.Literal.number(7))
    if isinstance(node, exp.DayOfWeek) and dialect in _WEEKDAY:
        return _WEEKDAY[dialect](node.this.copy())
    if isinstance(node, exp.TimeToUnix) and dialect in _EPOCH_MICROSECONDS:
        micros = _EPOCH_MICROSECONDS[dialect](node.this.copy())
        return exp.Div(this=micros, expression=exp.Literal.number(1_000_000))
    return node


_REWRITTEN = (exp.CountIf, exp.Least, exp.Greatest, exp.DateDiff, exp.DayOfWeek, exp.TimeToUnix)


def _iso_weekday_mod_7(day: exp.Expr) -> exp.Expr:
    """Sunday 0 … Saturday 6 from an ISO weekday (Monday 1 … Sunday 7), the only one Trino and Presto have."""
    return exp.Mod(this=exp.DayOfWeekIso(this=day), expression=exp.Literal.number(7))


# DuckDB's dayofweek (Sunday 0 … Saturday 6) where sqlglot writes another numbering, (DAY_OF_WEEK(x) % 7) + 1 on
# Trino and EXTRACT(DAYOFWEEK FROM x) on BigQuery (both Sunday 1 … Saturday 7), or a function the engine lacks,
# DAY_OF_WEEK(x) on PostgreSQL.
_WEEKDAY: dict[str, Callable[[exp.Expr], exp.Expr]] = {
    "trino": _iso_weekday_mod_7, "presto": _iso_weekday_mod_7, "athena": _iso_weekday_mod_7,
    "postgres": lambda day: exp.Extract(this=exp.var("DOW"), expression=day),
    "bigquery": lambda day: exp.Sub(this=exp.DayOfWeek(this=day), expression=exp.Literal.number(1)),
}

# Microseconds since the epoch, as each of these engines documents it.
_EPOCH_MICROSECONDS: dict[str, Callable[[exp.Expr], exp.Expr]] = {
    "snowflake": lambda ts: exp.Extract(this=exp.var("epoch_microsecond"), expression=ts),
    "bigquery": lambda ts: exp.UnixMicros(this=ts),
}


@functools.cache
def _skips_nulls(name: str, dialect: str) -> bool:
    """Whether ``dialect`` keeps a NULL-skipping ``Least``/``Greatest`` (``name``) as one: sqlglot's spelling for it,
    read back in the same dialect, still skips NULLs (Snowflake's ``LEAST_IGNORE_NULLS`` does; BigQuery's ``LEAST``
    does not)."""
    kind = exp.Least if name == "Least" else exp.Greatest
    written = kind(this=exp.column("a"), expressions=[exp.column("b")], ignore_nulls=True).sql(dialect=dialect)
    read = sqlglot.parse_one(written, read=dialect)
    return isinstance(read, kind) and bool(read.args.get("ignore_nulls"))
