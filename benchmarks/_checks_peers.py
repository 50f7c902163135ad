"""The contenders' side of the checks benchmark: their virtual environments, the configuration each
one reads for the same checks, and how each one's answer is turned back into values per check.

deploywatch gets ``deploywatch.toml``; Soda Core gets a data source file and SodaCL; Great
Expectations gets a plan that ``_checks_gx.py`` turns into suites. Every threshold comes from the
same ``Bound``, so the same checks fail everywhere; values are converted to deploywatch's units
(percent 0-100, freshness in seconds) before they are compared.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from _checks_spec import (
    NOW,
    PERCENT_METRICS,
    REGIONS,
    STATUS_PREDICATE,
    VALID_STATUSES,
    Bound,
    Check,
    Scenario,
    freshness_limit_iso,
)

SODA_REQUIREMENTS = ("soda-core-duckdb==3.5.6",)
# psycopg2 for GX's PostgreSQL data source; duckdb + duckdb-engine for the one attempt on DuckDB.
GX_REQUIREMENTS = ("great_expectations>=1,<2", "psycopg2-binary", "duckdb", "duckdb-engine")
PIP_TIMEOUT = 1800.0

Values = dict[str, Any]  # check name -> number, or {group: number}


# ------------------------------------------------------------------ virtual environments


@dataclass(frozen=True)
class Venv:
    """A peer's own virtual environment, or why there is none."""

    python: Path | None
    versions: dict[str, str]
    error: str | None = None


def ensure_venv(home: Path, requirements: tuple[str, ...], packages: tuple[str, ...],
                log: Callable[[str], None], no_deps: tuple[str, ...] = ()) -> Venv:
    """Create ``home`` with ``pip install requirements`` (then ``pip install --no-deps no_deps``: packages
    whose declared requirements would refuse the others) unless it already holds exactly them."""
    python = home / "bin" / "python"
    marker = home / "dwbench-requirements.txt"
    wanted = "\n".join(requirements + tuple(f"--no-deps {r}" for r in no_deps))
    if not (python.is_file() and marker.is_file() and marker.read_text() == wanted):
        log(f"  creating {home.name}: pip install {' '.join(requirements)} (once) …")
        started = time.perf_counter()
        base = getattr(sys, "_base_executable", sys.executable)
        pip = [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
        for cmd in ([base, "-m", "venv", "--clear", str(home)], [*pip, *requirements],
                    *([[*pip, "--no-deps", *no_deps]] if no_deps else [])):
            try:
                proc = subprocess.run(cmd, capture_output=True, text=True, timeout=PIP_TIMEOUT, check=False)
            except subprocess.TimeoutExpired:
                return Venv(None, {}, f"{' '.join(cmd[:4])} … timed out after {PIP_TIMEOUT:g}s")
            if proc.returncode != 0:
                return Venv(None, {}, f"{' '.join(cmd[:4])} … failed: {proc.stderr.strip()[-800:]}")
        marker.write_text(wanted)
        log(f"  {home.name} ready in {time.perf_counter() - started:.0f}s")
    script = "import importlib.metadata as m, json, sys; print(json.dumps({p: m.version(p) for p in sys.argv[1:]}))"
    proc = subprocess.run([str(python), "-c", script, *packages], capture_output=True, text=True, timeout=120,
                          check=False)
    if proc.returncode != 0:
        return Venv(None, {}, f"cannot read versions in {home}: {proc.stderr.strip()[-500:]}")
    return Venv(python, json.loads(proc.stdout))


# ------------------------------------------------------------------ deploywatch


def _metric_expression(check: Check) -> str:
    col = check.column
    return {
        "valid_percent": f"percent({STATUS_PREDICATE})",
        "conversion_ratio": f"ratio(count({col}), count(*))",
        "row_count": "row_count",
    }.get(check.metric, f"{check.metric}({col})")


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else repr(value)


def deploywatch_threshold(check: Check, bound: Bound) -> str:
    side = ">" if bound.upper else "<"
    if check.metric == "freshness":
        return f"{side} {int(bound.value // 3600)}h"
    suffix = "%" if check.metric in PERCENT_METRICS else ""
    return f"{side} {_number(bound.value)}{suffix}"


def write_deploywatch_config(scenario: Scenario, bounds: dict[str, Bound], database: Path, *,
                             url: str | None = None, schema: str | None = "main") -> Path:
    """``deploywatch.toml`` beside the DuckDB file (warehouse path relative to it), store beside it too.
    ``url``: another warehouse (``spark://local[*]``), whose tables are named with ``schema`` (None: bare)."""
    url = url or "duckdb:///" + database.name
    lines = ["# Written by benchmarks/checks.py; regenerated on every run.", "[warehouse]",
             f"url = {json.dumps(url)}", "", "[store]",
             f"url = {json.dumps(f'sqlite:///state-{scenario.name}.db')}", ""]
    for check in scenario.checks:
        table = f"{schema}.{check.table}" if schema else check.table
        lines += ["[[checks]]", f"name = {json.dumps(check.name)}", f"table = {json.dumps(table)}"]
        if check.where:
            lines.append(f"where = {json.dumps(check.where)}")
        lines.append(f"metric = {json.dumps(_metric_expression(check))}")
        if check.group_by:
            lines.append(f"group_by = {json.dumps(check.group_by)}")
        lines += [f"critical = {json.dumps(deploywatch_threshold(check, bounds[check.name]))}", ""]
    path = database.parent / f"deploywatch-{scenario.name}.toml"
    path.write_text("\n".join(lines))
    return path


def deploywatch_values(doc: dict[str, Any]) -> tuple[Values, dict[str, str]]:
    """Values and statuses by check name from ``deploywatch.canary/v1`` (per-group entries nested)."""
    values: Values = {}
    statuses: dict[str, str] = {}
    for entry in doc.get("checks", []):
        name, group = entry.get("name"), entry.get("group")
        if group is None:
            values[name] = entry.get("value")
            statuses[name] = str(entry.get("status"))
        else:
            key = ",".join(map(str, group)) if isinstance(group, list) else str(group)
            values.setdefault(name, {})[key] = entry.get("value")
            statuses[name] = _worst(statuses.get(name), str(entry.get("status")))
    return values, statuses


def _worst(a: str | None, b: str) -> str:
    order = ["ok", "warning", "unknown", "critical"]
    return b if a is None or (b in order and a in order and order.index(b) > order.index(a)) else a


# ------------------------------------------------------------------ Soda Core


def _soda_bound(check: Check, bound: Bound, spark: bool = False) -> str:
    if check.metric == "freshness":
        return f"freshness({check.column}) < {int(bound.value // 3600)}h"
    if check.metric == "valid_percent":  # Soda counts the invalid rows: valid < B  <=>  invalid > 100 - B
        return f"invalid_percent({check.column}) <= {_number(round(100 - bound.value, 6))}"
    side = "<=" if bound.upper else ">="
    metric = {"row_count": "row_count", "distinct_count": f"distinct_{check.column}",
              "conversion_ratio": "conversion"}.get(check.metric, f"{check.metric}({check.column})")
    if spark and check.metric == "stddev":
        metric = f"stddev_{check.column}"
    return f"{metric} {side} {_number(bound.value)}"


def _soda_check(check: Check, bound: Bound, spark: bool = False) -> list[str]:
    if check.metric == "conversion_ratio":
        where = f" WHERE {check.where}" if check.where else ""
        return ["  - group by:", f"      name: {check.name}", "      query: |",
                f"        SELECT {check.group_by}, CAST(COUNT({check.column}) AS DOUBLE) / COUNT(*) AS conversion",
                f"        FROM {check.table}{where} GROUP BY {check.group_by}",
                "      fields:", f"        - {check.group_by}", "      checks:",
                f"        - {_soda_bound(check, bound)}:", f"            name: {check.name}"]
    lines = [f"  - {_soda_bound(check, bound, spark)}:", f"      name: {check.name}"]
    if check.metric == "valid_percent":
        lines.append(f"      valid values: [{', '.join(VALID_STATUSES)}]")
    if check.metric == "distinct_count":
        lines.append(f"      distinct_{check.column} expression: COUNT(DISTINCT {check.column})")
    if spark and check.metric == "stddev":  # Soda on Spark: "Unsupported metric stddev"; a user metric instead
        lines.append(f"      stddev_{check.column} expression: STDDEV_SAMP({check.column})")
    return lines


def write_soda_files(scenario: Scenario, bounds: dict[str, Bound], database: Path) -> tuple[Path, Path]:
    """``soda-<scenario>.yml`` (the DuckDB data source) and ``checks-<scenario>.yml`` (SodaCL) beside
    the Soda venv's database."""
    config = database.parent / f"soda-{scenario.name}.yml"
    config.write_text(f"data_source {scenario.name}:\n  type: duckdb\n  path: {database}\n  read_only: true\n")
    checks = database.parent / f"checks-{scenario.name}.yml"
    checks.write_text(sodacl(scenario, bounds))
    return config, checks


def sodacl(scenario: Scenario, bounds: dict[str, Bound], *, spark: bool = False) -> str:
    """The scenario's checks in SodaCL. A filtered table becomes a table filter (``checks for t [day]``),
    which is how SodaCL computes all of a filtered table's metrics in one query. ``spark``: for Soda's
    spark-df data source, which has no ``stddev`` (a user-defined metric computes it)."""
    lines = ["# Written by benchmarks/checks.py; regenerated on every run."]
    for table, where in dict.fromkeys((c.table, c.where) for c in scenario.checks):
        target = table
        if where:
            target = f"{table} [day]"
            lines += [f"filter {target}:", f"  where: {where}", ""]
        lines.append(f"checks for {target}:")
        for check in scenario.checks:
            if (check.table, check.where) == (table, where):
                lines += _soda_check(check, bounds[check.name], spark)
        lines.append("")
    return "\n".join(lines)


def soda_values(scenario: Scenario, results: dict[str, Any]) -> tuple[Values, dict[str, str]]:
    """Values in deploywatch's units from Soda's scan results file (``-srf``)."""
    by_name = {c.name: c for c in scenario.checks}
    values: Values = {}
    statuses: dict[str, str] = {}
    for entry in results.get("checks", []):
        match = re.fullmatch(r"(.*) \[(.*)\]", entry.get("name", ""))
        name, group = (match.group(1), match.group(2)) if match else (entry.get("name"), None)
        check = by_name.get(name)
        if check is None:
            continue
        outcome = {"pass": "ok", "warn": "warning", "fail": "critical"}.get(entry.get("outcome"), "unknown")
        if check.group_by and group is None:  # the parent of the per-group checks
            continue
        value = (entry.get("diagnostics") or {}).get("value")
        if isinstance(value, int | float):
            if check.metric == "freshness":
                value = value / 1000  # Soda reports milliseconds
            elif check.metric == "valid_percent":
                value = 100 - value
        if group is None:
            values[name] = value
            statuses[name] = outcome
        else:
            values.setdefault(name, {})[group] = value
            statuses[name] = _worst(statuses.get(name), outcome)
    return values, statuses


# ------------------------------------------------------------------ Great Expectations


def gx_plan(scenario: Scenario, bounds: dict[str, Bound], oracle: Values, connection_string: str) -> dict[str, Any]:
    """Assets and expectations equivalent to the scenario's checks (GX has no group-by: one
    expectation per region with a row condition; no freshness: max(col) against now - limit)."""
    assets: dict[tuple[str, str | None], str] = {}
    expectations: list[dict[str, Any]] = []
    rows = {(c.table, c.where): oracle[c.name] for c in scenario.checks if c.metric == "row_count"}
    for check in scenario.checks:
        key = (check.table, check.where)
        asset = assets.setdefault(key, check.table + ("_day" if check.where else ""))
        for kind, kwargs in _gx_expectations(check, bounds[check.name], rows.get(key)):
            expectations.append({"asset": asset, "check": check.name, "type": kind, "kwargs": kwargs})
    asset_specs = [{"name": name, "query": f"SELECT * FROM {table} WHERE {where}"} if where
                   else {"name": name, "table": table} for (table, where), name in assets.items()]
    return {"connection_string": connection_string, "assets": asset_specs, "expectations": expectations}


def _gx_expectations(check: Check, bound: Bound, rows: int | None) -> list[tuple[str, dict[str, Any]]]:
    col, b = check.column, bound.value
    between = {"min_value": b} if not bound.upper else {"max_value": b}
    fraction_ok = 1.0 if not rows else max(0.0, 1 - b / rows)
    simple = {"min": "ExpectColumnMinToBeBetween", "max": "ExpectColumnMaxToBeBetween",
              "avg": "ExpectColumnMeanToBeBetween", "sum": "ExpectColumnSumToBeBetween",
              "stddev": "ExpectColumnStdevToBeBetween", "distinct_count": "ExpectColumnUniqueValueCountToBeBetween"}
    if check.metric in simple:
        return [(simple[check.metric], {"column": col, **between})]
    if check.metric == "row_count":
        return [("ExpectTableRowCountToBeBetween", between)]
    if check.metric == "missing_count":
        return [("ExpectColumnValuesToNotBeNull", {"column": col, "mostly": fraction_ok})]
    if check.metric == "missing_percent":
        return [("ExpectColumnValuesToNotBeNull", {"column": col, "mostly": 1 - b / 100})]
    if check.metric == "valid_percent":
        return [("ExpectColumnValuesToBeInSet", {"column": col, "value_set": list(VALID_STATUSES),
                                                 "mostly": b / 100})]
    if check.metric == "duplicate_count":  # GX counts every row of a repeated value: twice the repeats here
        return [("ExpectColumnValuesToBeUnique", {"column": col, "mostly": max(0.0, 1 - 2 * b / rows) if rows
                                                  else 1.0})]
    if check.metric == "freshness":
        return [("ExpectColumnMaxToBeBetween", {"column": col, "min_value": freshness_limit_iso(bound)})]
    if check.metric == "conversion_ratio":  # share of non-NULL converted_at <= B  <=>  share of NULL >= 1 - B
        return [("ExpectColumnValuesToBeNull", {"column": col, "mostly": 1 - b,
                                                "row_condition": f'col("{check.group_by}")=="{region}"',
                                                "condition_parser": "great_expectations"})
                for region in REGIONS]
    raise ValueError(f"no Great Expectations equivalent for {check.metric}")


def gx_values(scenario: Scenario, plan: dict[str, Any],
              out: dict[str, Any]) -> tuple[Values, dict[str, str], list[str]]:
    """Values in deploywatch's units from ``_checks_gx.py``'s output, statuses, and GX's own errors."""
    by_name = {c.name: c for c in scenario.checks}
    values: Values = {}
    statuses: dict[str, str] = {}
    errors: list[str] = []
    group_index: dict[str, int] = {}
    for spec, result in zip(plan["expectations"], out["results"], strict=True):
        check = by_name[spec["check"]]
        if result is None or result.get("exception"):
            errors.append(f"{check.name}: {(result or {}).get('exception') or 'no result'}")
        value = _gx_value(check, result or {})
        status = "ok" if (result or {}).get("success") else "critical"
        if check.group_by:
            index = group_index.get(check.name, 0)
            group_index[check.name] = index + 1
            values.setdefault(check.name, {})[REGIONS[index]] = value
            statuses[check.name] = _worst(statuses.get(check.name), status)
        else:
            values[check.name] = value
            statuses[check.name] = status
    return values, statuses, errors


def _gx_value(check: Check, result: dict[str, Any]) -> Any:
    observed, unexpected, percent = (result.get(k) for k in ("observed_value", "unexpected_count",
                                                            "unexpected_percent"))
    if check.metric == "missing_count":
        return unexpected
    if check.metric == "missing_percent":
        return percent
    if check.metric == "valid_percent":
        return None if percent is None else 100 - percent
    if check.metric == "duplicate_count":
        return None if unexpected is None else unexpected / 2
    if check.metric == "conversion_ratio":
        return None if percent is None else percent / 100
    if check.metric == "freshness" and isinstance(observed, str):
        stamp = datetime.fromisoformat(observed)
        return (NOW - (stamp if stamp.tzinfo else stamp.replace(tzinfo=NOW.tzinfo))).total_seconds()
    return observed
