"""Run a Great Expectations 1.x validation the way its users script it, and print what it observed as JSON.

    <gx venv>/bin/python _checks_gx.py PLAN.json

Runs in its own virtual environment (benchmarks/.work/gx-venv). An ephemeral data context, one SQL
data source, one asset per (table, filter) (a query asset when filtered), one expectation suite and
validation definition per asset, default result format (SUMMARY), run in turn.

PLAN: {"connection_string", "assets": [{"name", "table" | "query"}], "expectations": [{"asset", "type",
"kwargs"}], "prepare_duckdb": {"database", "tables": {name: parquet}, "limit"} (optional)}. Prints
{"version", "results": [{"success", "observed_value", "unexpected_count", "unexpected_percent",
"element_count", "exception"}] in plan order, "seconds"} or {"version", "error"} when the run raised.
"""

from __future__ import annotations

import json
import re
import sys
import time
import traceback
from typing import Any


def _prepare_duckdb(spec: dict[str, Any]) -> None:
    import duckdb

    with duckdb.connect(spec["database"]) as conn:
        for name, path in spec["tables"].items():
            source = f"read_parquet('{path}') LIMIT {spec['limit']}"
            conn.execute(f"CREATE OR REPLACE TABLE {name} AS SELECT * FROM {source}")


def _describe(info: dict[str, Any]) -> str:
    """"IndexError: list index out of range (in resolve_metric_bundle, file.py:1084)" from GX's exception info."""
    lines = str(info.get("exception_traceback") or "").splitlines()
    first = next((i for i, line in enumerate(lines) if re.match(r"^[A-Za-z_.]+(Error|Exception)\b", line)), None)
    if first is None:
        return str(info.get("exception_message") or "").strip()
    frames = [re.search(r'File "(?:.*/)?([^/"]+)", line (\d+), in (\S+)', line) for line in lines[:first]]
    frame = next((f for f in reversed(frames) if f), None)
    return lines[first].strip() + (f" (in {frame.group(3)}, {frame.group(1)}:{frame.group(2)})" if frame else "")


def _exception(result: Any) -> str | None:
    info = getattr(result, "exception_info", None) or {}
    if info.get("raised_exception"):
        return _describe(info)
    for value in info.values():  # keyed by metric id when a metric could not be resolved
        if isinstance(value, dict) and value.get("raised_exception"):
            return _describe(value)
    return None


def run(plan: dict[str, Any]) -> dict[str, Any]:
    """Validate every asset's suite; collect each expectation's observed numbers in plan order."""
    import great_expectations as gx
    import great_expectations.expectations as gxe

    started = time.perf_counter()
    context = gx.get_context(mode="ephemeral")
    source = context.data_sources.add_sql("warehouse", connection_string=plan["connection_string"])
    results: list[dict[str, Any] | None] = [None] * len(plan["expectations"])
    for asset_spec in plan["assets"]:
        if "query" in asset_spec:
            asset = source.add_query_asset(asset_spec["name"], query=asset_spec["query"])
        else:
            asset = source.add_table_asset(asset_spec["name"], table_name=asset_spec["table"])
        batch = asset.add_batch_definition_whole_table("all")
        suite = context.suites.add(gx.ExpectationSuite(f"{asset_spec['name']}_suite"))
        for index, spec in enumerate(plan["expectations"]):
            if spec["asset"] == asset_spec["name"]:
                expectation = getattr(gxe, spec["type"])(**spec["kwargs"], meta={"index": index})
                suite.add_expectation(expectation)
        validation = context.validation_definitions.add(
            gx.ValidationDefinition(name=f"{asset_spec['name']}_validation", data=batch, suite=suite))
        for result in validation.run().results:
            found = result.result or {}
            results[int(result.expectation_config.meta["index"])] = {
                "success": bool(result.success),
                "observed_value": found.get("observed_value"),
                "unexpected_count": found.get("unexpected_count"),
                "unexpected_percent": found.get("unexpected_percent"),
                "element_count": found.get("element_count"),
                "exception": _exception(result),
            }
    return {"version": gx.__version__, "results": results, "seconds": time.perf_counter() - started}


def main(argv: list[str]) -> int:
    with open(argv[1], encoding="utf-8") as handle:
        plan = json.load(handle)
    if plan.get("prepare_duckdb"):
        _prepare_duckdb(plan["prepare_duckdb"])
    try:
        out = run(plan)
    except Exception as exc:  # reported, not hidden: the benchmark prints it
        import great_expectations as gx

        frames = traceback.extract_tb(exc.__traceback__)
        where = ""
        if frames:
            where = f" in {frames[-1].name} ({frames[-1].filename.rsplit('/', 1)[-1]}:{frames[-1].lineno})"
        out = {"version": gx.__version__, "error": f"{type(exc).__name__}: {exc}{where}"}
    json.dump(out, sys.stdout, default=str)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
