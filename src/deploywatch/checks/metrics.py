"""Metrics: ``row_count``, ``percent(<predicate>)``, ``ratio(<agg>, <agg>)`` … compiled to one SQL aggregate.

Each metric becomes a single aggregate expression (a sqlglot tree) so that every metric on the same
(table, where, group_by) can share one ``SELECT``. Arguments are parsed in the dialect the checks are
written in; the statement is generated in the warehouse's dialect. ``freshness(col)`` selects
``MAX(col)``; the age is taken against ``--now`` in Python, so runs are reproducible.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import TYPE_CHECKING

import sqlglot
from sqlglot import exp
from sqlglot.errors import SqlglotError

from ..config.thresholds import Unit
from ..core.text import plural

if TYPE_CHECKING:
    from collections.abc import Callable

__all__ = ["METRICS", "CompiledMetric", "MetricError", "compile_metric", "compile_sql_metric"]


class MetricError(ValueError):
    """A metric that is not known, has the wrong arguments, or is not an aggregate."""


@dataclass(frozen=True)
class CompiledMetric:
    """A metric as one aggregate expression; ``freshness`` marks a ``MAX(col)`` to turn into an age."""

    text: str
    expression: exp.Expr
    unit: Unit
    freshness: bool = False


def _count_star() -> exp.Expr:
    return exp.Count(this=exp.Star())


def _percent_of(numerator: exp.Expr) -> exp.Expr:
    # 100.0 * n / NULLIF(COUNT(*), 0): an empty selection gives NULL (unknown), never 0% or 100%.
    scaled = exp.Mul(this=exp.Literal.number("100.0"), expression=exp.paren(numerator, copy=False))
    return exp.Div(this=scaled, expression=exp.Nullif(this=_count_star(), expression=exp.Literal.number(0)))


def _missing(column: exp.Expr) -> exp.Expr:
    return exp.Sub(this=_count_star(), expression=exp.Count(this=column))


def _matching(predicate: exp.Expr) -> exp.Expr:
    case = exp.Case(ifs=[exp.If(this=predicate, true=exp.Literal.number(1))])
    return exp.Count(this=case)


def _distinct(column: exp.Expr) -> exp.Expr:
    return exp.Count(this=exp.Distinct(expressions=[column]))


def _ratio(numerator: exp.Expr, denominator: exp.Expr) -> exp.Expr:
    return exp.Div(this=exp.cast(exp.paren(numerator, copy=False), "DOUBLE"),
                   expression=exp.Nullif(this=denominator, expression=exp.Literal.number(0)))


# name -> (argument kinds, builder, unit). "column" is a column expression, "predicate" a condition,
# "aggregate" an aggregate expression (which may itself be a metric such as row_count).
_Builder = tuple[tuple[str, ...], "Callable[..., exp.Expr]", Unit]
_BUILDERS: dict[str, _Builder] = {
    "row_count": ((), _count_star, "count"),
    "missing_count": (("column",), _missing, "count"),
    "missing_percent": (("column",), lambda c: _percent_of(_missing(c)), "percent"),
    "percent": (("predicate",), lambda p: _percent_of(_matching(p)), "percent"),
    "ratio": (("aggregate", "aggregate"), _ratio, "ratio"),
    "duplicate_count": (("column",), lambda c: exp.Sub(this=exp.Count(this=c), expression=_distinct(c.copy())),
                        "count"),
    "distinct_count": (("column",), _distinct, "count"),
    "freshness": (("column",), lambda c: exp.Max(this=c), "seconds"),
    "min": (("column",), lambda c: exp.Min(this=c), "number"),
    "max": (("column",), lambda c: exp.Max(this=c), "number"),
    "avg": (("column",), lambda c: exp.Avg(this=c), "number"),
    "sum": (("column",), lambda c: exp.Sum(this=c), "number"),
    "stddev": (("column",), lambda c: exp.Stddev(this=c), "number"),
}
METRICS = tuple(_BUILDERS)


@functools.lru_cache(maxsize=4096)
def compile_metric(text: str, dialect: str) -> CompiledMetric:
    """Compile ``metric = "…"``; raise :class:`MetricError` naming what is wrong.

    Cached: many checks share a metric (``row_count`` on every table), and validation compiles them too.
    Callers must not modify the returned expression (copy it first).
    """
    name, args = _split_call(text)
    if name not in _BUILDERS:
        raise MetricError(f"unknown metric {name!r}: expected one of {', '.join(METRICS)} "
                          "(or write any aggregate as sql = \"…\")")
    kinds, build, unit = _BUILDERS[name]
    if len(args) != len(kinds):
        shape = f"{name}({', '.join(f'<{k}>' for k in kinds)})" if kinds else name
        takes = plural(len(kinds), "argument") if kinds else "no arguments"
        raise MetricError(f"{name} takes {takes}: {shape}")
    parsed = [_argument(arg, kind, dialect, name) for arg, kind in zip(args, kinds, strict=True)]
    expression = build(*parsed)
    return CompiledMetric(text.strip(), expression, unit, freshness=name == "freshness")


@functools.lru_cache(maxsize=4096)
def compile_sql_metric(text: str, dialect: str) -> CompiledMetric:
    """Compile ``sql = "<aggregate expression>"``: any expression whose columns all sit inside aggregates.
    Cached like :func:`compile_metric`."""
    expression = _parse(text, dialect, "sql")
    _require_aggregate(expression, "sql")
    return CompiledMetric(text.strip(), expression, "number")


def _argument(text: str, kind: str, dialect: str, metric: str) -> exp.Expr:
    if kind == "aggregate":
        name, _ = _split_call(text, strict=False)
        if name in _BUILDERS and name not in ("freshness",):
            return compile_metric(text, dialect).expression
        expression = _parse(text, dialect, metric)
        _require_aggregate(expression, metric)
        return expression
    expression = _parse(text, dialect, metric)
    if any(isinstance(node, exp.AggFunc) for node in expression.walk()):
        raise MetricError(f"{metric}() takes a {kind}, not an aggregate: {text.strip()!r}")
    return expression


def _parse(text: str, dialect: str, where: str) -> exp.Expr:
    try:
        expression = sqlglot.parse_one(text, read=dialect)
    except SqlglotError as exc:
        raise MetricError(f"{where}: cannot parse {text.strip()!r} as {dialect} SQL: {_first_line(exc)}") from None
    if expression is None or isinstance(expression, exp.Query | exp.Command) or expression.find(exp.Query):
        raise MetricError(f"{where}: expected an expression, not a statement or subquery: {text.strip()!r}")
    if expression.find(exp.Window):
        raise MetricError(f"{where}: window functions are not aggregates: {text.strip()!r}")
    return expression


def _require_aggregate(expression: exp.Expr, where: str) -> None:
    if not expression.find(exp.AggFunc):
        raise MetricError(f"{where}: expected an aggregate such as count(col), avg(col) or sum(col), "
                          f"got {expression.sql()!r}")
    for column in expression.find_all(exp.Column):
        if not column.find_ancestor(exp.AggFunc):
            raise MetricError(f"{where}: column {column.sql()!r} is outside an aggregate")


def _first_line(exc: Exception) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


def _split_call(text: str, *, strict: bool = True) -> tuple[str, list[str]]:
    """``"ratio(count(a), row_count)"`` -> ``("ratio", ["count(a)", "row_count"])``; a bare name has no args."""
    body = text.strip()
    head, paren, rest = body.partition("(")
    name = head.strip().lower()
    if not paren:
        if strict and not name.replace("_", "").isalnum():
            raise MetricError(f"invalid metric {text.strip()!r}: expected a name such as row_count or a call "
                              "such as missing_count(col)")
        return name, []
    if not rest.rstrip().endswith(")"):
        if strict:
            raise MetricError(f"invalid metric {text.strip()!r}: unbalanced parentheses")
        return "", []
    inner = rest.rstrip()[:-1]
    args: list[str] = []
    current: list[str] = []
    depth, quote = 0, ""
    for char in inner:
        if quote:
            quote = "" if char == quote else quote
        elif char in "'\"`":
            quote = char
        elif char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
            if depth < 0:
                if strict:
                    raise MetricError(f"invalid metric {text.strip()!r}: a metric is one call such as "
                                      "missing_count(col); write other expressions as sql = \"…\"")
                return "", []
        elif char == "," and depth == 0:
            args.append("".join(current))
            current = []
            continue
        current.append(char)
    if depth != 0 or quote:
        if strict:
            raise MetricError(f"invalid metric {text.strip()!r}: unbalanced parentheses or quotes")
        return "", []
    args.append("".join(current))
    args = [a.strip() for a in args]
    if args == [""]:
        args = []
    if any(not a for a in args):
        raise MetricError(f"invalid metric {text.strip()!r}: empty argument")
    return name, args
