"""The compiler: checks -> one aggregate ``SELECT`` per (table, where, group_by), in the warehouse dialect.

Identical aggregates are computed once (``row_count`` used by five checks is one ``COUNT(*)``). Expressions go
through :func:`~.portable.portable` first, so that they mean in the warehouse what they meant as written.
Custom ``query`` checks run as written, one statement each.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import sqlglot
from sqlglot import exp
from sqlglot.errors import SqlglotError

from ..config.checks import CheckConfig
from .metrics import CompiledMetric, MetricError, compile_metric, compile_sql_metric
from .plan import CheckSpec, Plan, PlannedCheck, Scan
from .portable import portable
from .template import render

__all__ = ["compile_check_metric", "compile_plan", "parse_group", "parse_table", "parse_where",
           "single_metric_statement"]


def parse_table(text: str, dialect: str) -> exp.Table:
    """A table name (``schema.table``, quoted parts allowed) as a sqlglot table."""
    try:
        table = exp.to_table(text.strip(), dialect=dialect)
    except SqlglotError as exc:
        raise MetricError(f"invalid table name {text!r}: {str(exc).splitlines()[0]}") from None
    if not isinstance(table, exp.Table) or not table.name:
        raise MetricError(f"invalid table name {text!r}")
    return table


def parse_where(text: str, dialect: str) -> exp.Expr:
    """A ``where`` condition (already rendered) as a sqlglot expression."""
    return _row_expression(text, dialect, "a where condition filters rows and cannot use aggregates",
                           parse=lambda: sqlglot.condition(text, dialect=dialect))


def _row_expression(text: str, dialect: str, aggregate_error: str, parse: Callable[[], exp.Expr]) -> exp.Expr:
    """Parse a per-row expression (a filter or a grouping), refusing aggregates."""
    try:
        expression = parse()
    except SqlglotError as exc:
        raise MetricError(f"cannot parse {text.strip()!r} as {dialect} SQL: {str(exc).splitlines()[0]}") from None
    if expression.find(exp.AggFunc):
        raise MetricError(f"{aggregate_error}: {text.strip()!r}")
    return expression


def parse_group(text: str, dialect: str) -> exp.Expr:
    """A ``group_by`` column (any per-row expression) as a sqlglot expression."""
    return _row_expression(text, dialect, "group_by cannot be an aggregate",
                           parse=lambda: sqlglot.parse_one(text, read=dialect))


def compile_check_metric(check: CheckConfig, read_dialect: str) -> CompiledMetric:
    """The compiled ``metric`` or ``sql`` of a check."""
    if check.metric is not None:
        return compile_metric(check.metric, read_dialect)
    return compile_sql_metric(check.sql or "", read_dialect)


def compile_plan(checks: Sequence[CheckConfig], *, variables: dict[str, str], read_dialect: str, dialect: str,
                 default_timeout: float) -> Plan:
    """Place every check in a statement; raise :class:`MetricError` (or ``TemplateError``) on bad SQL."""
    scans: dict[tuple[str, str, tuple[str, ...]], Scan] = {}
    ordered: list[Scan] = []
    planned: list[PlannedCheck] = []
    parsed_where: dict[str, exp.Expr | None] = {}
    parsed_tables: dict[str, exp.Table] = {}
    sql_cache: dict[int, tuple[exp.Expr, str]] = {}
    column_sql: dict[str, dict[str, str]] = {}  # scan id -> a metric column's SQL -> its alias (dedupe)
    for check in checks:
        spec = CheckSpec.from_config(check)
        timeout = float(check.timeout or default_timeout)
        if check.query is not None:
            scan = Scan(f"s{len(ordered) + 1}", "query", None, None, check.group_columns,
                        statement=render(check.query, variables).strip().rstrip(";"), timeout=timeout)
            ordered.append(scan)
            planned.append(PlannedCheck(spec, scan, None))
            scan.checks.append(planned[-1])
            continue
        table_text = check.table or ""
        if table_text not in parsed_tables:
            parsed_tables[table_text] = parse_table(table_text, read_dialect)
        table = parsed_tables[table_text]
        where_text = render(check.where, variables) if check.where else None
        where = None
        if where_text is not None:
            if where_text not in parsed_where:
                parsed_where[where_text] = portable(parse_where(where_text, read_dialect), dialect)
            where = parsed_where[where_text]
        groups = tuple(portable(parse_group(g, read_dialect), dialect) for g in check.group_columns)
        key = (_sql(table, dialect, sql_cache), _sql(where, dialect, sql_cache) if where is not None else "",
               tuple(g.sql(dialect=dialect) for g in groups))
        found = scans.get(key)
        if found is None:
            scan = Scan(f"s{len(ordered) + 1}", "scan", check.table, where_text, check.group_columns,
                        columns={f"g{i}": g for i, g in enumerate(groups)}, table_expression=table,
                        where_expression=where)
            scans[key] = scan
            ordered.append(scan)
        else:
            scan = found
        scan.timeout = max(scan.timeout, timeout)
        metric = compile_check_metric(check, read_dialect)
        alias = _add_column(scan, portable(metric.expression, dialect), dialect, sql_cache,
                            column_sql.setdefault(scan.id, {}))
        planned.append(PlannedCheck(spec, scan, alias, metric.unit, metric.freshness))
        scan.checks.append(planned[-1])
    for scan in ordered:
        if scan.kind == "scan":
            scan.statement = _statement(scan, dialect)
    return Plan(ordered, planned, dialect)


def _add_column(scan: Scan, expression: exp.Expr, dialect: str, cache: dict[int, tuple[exp.Expr, str]],
                added: dict[str, str]) -> str:
    """The alias of ``expression`` in ``scan``: the column already computing the same SQL (``added``), or a new one."""
    text = _sql(expression, dialect, cache)
    found = added.get(text)
    if found is not None:
        return found
    alias = f"m{len(scan.aliases)}"
    scan.columns[alias] = expression
    scan.aliases.append(alias)
    added[text] = alias
    return alias


def _sql(expression: exp.Expr, dialect: str, cache: dict[int, tuple[exp.Expr, str]] | None = None) -> str:
    """``expression.sql(dialect)``, once per expression object while ``cache`` (one compile's) lives."""
    if cache is None:
        return expression.sql(dialect=dialect)
    cached = cache.get(id(expression))
    if cached is None or cached[0] is not expression:
        cached = (expression, expression.sql(dialect=dialect))
        cache[id(expression)] = cached
    return cached[1]


def single_metric_statement(scan: Scan, alias: str, dialect: str) -> str:
    """A statement computing only the metric column ``alias`` of ``scan`` (to isolate a failing metric).

    A scan kept between runs has no sqlglot trees; it is compiled afresh through its ``recompile``.
    """
    source = scan if scan.table_expression is not None or scan.recompile is None else scan.recompile()
    return _statement(source, dialect, [alias])


def _statement(scan: Scan, dialect: str, metrics: Sequence[str] | None = None) -> str:
    assert scan.table_expression is not None
    chosen = [alias for alias in scan.columns if alias.startswith("m") and (metrics is None or alias in metrics)]
    groups = [e.copy() for alias, e in scan.columns.items() if alias.startswith("g")]
    parts = _distinct_parts(scan, chosen) if dialect == "duckdb" and not groups else [chosen]
    if len(parts) > 1:
        # One statement still, but each DISTINCT argument aggregated in its own sub-select: DuckDB runs
        # several COUNT(DISTINCT …) of one SELECT together, several times slower and with all their hash
        # tables in memory at once, while one per sub-select streams and spills within memory_limit.
        subqueries = [_select(scan, part, []).subquery(f"p{i}") for i, part in enumerate(parts)]
        part_of = {alias: i for i, part in enumerate(parts) for alias in part}
        # Built from nodes rather than strings: sqlglot would parse each string again.
        outer = exp.Select(
            expressions=[exp.Column(this=exp.to_identifier(alias), table=exp.to_identifier(f"p{part_of[alias]}"))
                         for alias in chosen],
            joins=[exp.Join(this=subquery, kind="CROSS") for subquery in subqueries[1:]])
        outer.set("from_", exp.From(this=subqueries[0]))
        return outer.sql(dialect=dialect)
    return _select(scan, chosen, groups).sql(dialect=dialect)


def _select(scan: Scan, metrics: Sequence[str], groups: list[exp.Expr]) -> exp.Select:
    assert scan.table_expression is not None
    columns = [e.copy().as_(alias) for alias, e in scan.columns.items()
               if (alias.startswith("g") and groups) or alias in metrics]
    select = exp.select(*columns).from_(scan.table_expression.copy())
    if scan.where_expression is not None:
        select = select.where(scan.where_expression.copy())
    if groups:
        select = select.group_by(*groups)
    return select


def _distinct_parts(scan: Scan, metrics: Sequence[str]) -> list[list[str]]:
    """The metric columns split by the DISTINCT arguments they aggregate: first every column without
    DISTINCT, then one part per distinct argument (set); a single part when there is nothing to split."""
    plain: list[str] = []
    by_argument: dict[tuple[str, ...], list[str]] = {}
    for alias in metrics:
        arguments = tuple(sorted({d.sql() for d in scan.columns[alias].find_all(exp.Distinct)}))
        if arguments:
            by_argument.setdefault(arguments, []).append(alias)
        else:
            plain.append(alias)
    parts = ([plain] if plain else []) + list(by_argument.values())
    return parts if len(parts) > 1 else [list(metrics)]
