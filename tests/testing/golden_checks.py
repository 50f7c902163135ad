"""The checks behind the golden SQL files (tests/checks/golden/<dialect>.sql), their tables and edge-case rows.

``CHECKS`` is one set of checks written in DuckDB SQL (``read_dialect = "duckdb"``); tests/checks/dialects_test.py
compiles it for every dialect into the golden files, and tests/checks/crossengine_test.py runs those files on
DuckDB. ``TABLES`` holds a few plain rows (the real-engine run asserts every check has a value on them);
``EDGE_TABLES`` has the same columns and rows that make dialects disagree when a spelling is wrong: NULLs, empty
strings, timestamps across midnight, DST changes and month ends, large and negative numbers, duplicates, groups.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from testing.warehouse import Table

GOLDEN = Path(__file__).parent.parent / "checks" / "golden"
NOW_ARG = "2026-11-23T09:00:00Z"
NOW = dt.datetime(2026, 11, 23, 9, 0, tzinfo=dt.UTC)

RECENT = "order_date >= DATE '{{ yesterday }}' - INTERVAL 7 DAY AND lower(status) <> 'test'"
ITEMS = '"Sales"."Order Items"'
SHIPMENTS = "sales.shipments"
# Every metric kind, a templated where with an INTERVAL, group_by (one and two columns), quoted identifiers,
# transpiled functions (count_if, approx_count_distinct), a custom query, and (on sales.shipments) the functions
# whose spelling differs most between warehouses: date and timestamp differences in days, hours and weeks, the
# day of the week, epoch seconds, integer division, string length, exact and approximate quantiles, booleans and
# NULL-skipping LEAST.
CHECKS: list[dict[str, Any]] = [
    {"name": "orders.rows", "table": "sales.orders", "where": RECENT, "metric": "row_count", "critical": "< 1"},
    {"name": "orders.paid", "table": "sales.orders", "where": RECENT,
     "metric": "percent(status IN ('paid', 'shipped'))"},
    {"name": "orders.big", "table": "sales.orders", "where": RECENT, "sql": "count_if(amount > 1000)"},
    {"name": "orders.customer_missing", "table": "sales.orders", "metric": "missing_count(customer_id)"},
    {"name": "orders.customer_missing_pct", "table": "sales.orders", "metric": "missing_percent(customer_id)"},
    {"name": "orders.duplicates", "table": "sales.orders", "metric": "duplicate_count(order_id)"},
    {"name": "orders.customers", "table": "sales.orders", "metric": "distinct_count(customer_id)"},
    {"name": "orders.customers_approx", "table": "sales.orders", "sql": "approx_count_distinct(customer_id)"},
    {"name": "orders.fresh", "table": "sales.orders", "metric": "freshness(created_at)", "warn": "> 6h"},
    {"name": "orders.min", "table": "sales.orders", "metric": "min(amount)"},
    {"name": "orders.max", "table": "sales.orders", "metric": "max(amount)"},
    {"name": "orders.avg", "table": "sales.orders", "metric": "avg(amount)"},
    {"name": "orders.sum", "table": "sales.orders", "metric": "sum(amount)"},
    {"name": "orders.stddev", "table": "sales.orders", "metric": "stddev(amount)"},
    {"name": "orders.per_customer", "table": "sales.orders",
     "metric": "ratio(sum(amount), count(DISTINCT customer_id))", "warn": "< 80%"},
    {"name": "orders.by_region", "table": "sales.orders", "group_by": "region", "metric": "row_count",
     "expect_groups": ["east", "west"]},
    {"name": "items.price_missing", "table": ITEMS, "group_by": ["region", '"Sales Channel"'],
     "metric": 'missing_percent("Unit Price")'},
    {"name": "items.priced", "table": ITEMS, "group_by": ["region", '"Sales Channel"'],
     "metric": 'ratio(count("Unit Price"), row_count)'},
    {"name": "items.custom", "query": "SELECT count(*) FROM sales.orders WHERE order_date = DATE '{{ yesterday }}'"},
    *({"name": f"shipments.{name}", "table": SHIPMENTS, "group_by": "carrier", "sql": sql} for name, sql in [
        ("transit_days", "avg(date_diff('day', shipped_on, delivered_on))"),
        ("transit_hours", "sum(date_diff('hour', shipped_at, delivered_at))"),
        ("transit_weeks", "sum(date_diff('week', shipped_on, delivered_on))"),
        ("transit_weeks_at", "sum(date_diff('week', shipped_at, delivered_at))"),
        ("delivery_weekdays", "sum(dayofweek(delivered_on))"),
        ("transit_seconds", "sum(epoch(delivered_at) - epoch(shipped_at))"),
        ("pairs", "sum(parcels // 2)"),
        ("quarters", "avg(parcels / 4)"),
        ("note_length", "avg(length(note))"),
        ("weight_p90", "quantile_cont(weight_grams, 0.9)"),
        ("weight_median_approx", "approx_quantile(weight_grams, 0.5)"),
        ("signed", "count_if(signed)"),
        ("capped_parcels", "sum(least(parcels, 3))"),
        ("delivery_months", "count(DISTINCT date_trunc('month', delivered_on))"),
    ]),
    {"name": "shipments.signed_pct", "table": SHIPMENTS, "group_by": "carrier", "metric": "percent(signed)"},
]

ORDERS_COLUMNS = {"order_id": "INTEGER", "customer_id": "INTEGER", "region": "VARCHAR", "status": "VARCHAR",
                  "amount": "DOUBLE PRECISION", "order_date": "DATE", "created_at": "TIMESTAMP"}
ITEMS_COLUMNS = {"region": "VARCHAR", '"Sales Channel"': "VARCHAR", '"Unit Price"': "DOUBLE PRECISION"}
SHIPMENTS_COLUMNS = {"shipment_id": "INTEGER", "carrier": "VARCHAR", "parcels": "INTEGER", "weight_grams": "BIGINT",
                     "note": "VARCHAR", "signed": "BOOLEAN", "shipped_on": "DATE", "delivered_on": "DATE",
                     "shipped_at": "TIMESTAMP", "delivered_at": "TIMESTAMP"}

D, T = dt.date, dt.datetime
TABLES = [
    Table("sales.orders", ORDERS_COLUMNS,
          [(1, 10, "east", "paid", 1200.0, D(2026, 11, 20), T(2026, 11, 22, 10)),
           (2, None, "west", "TEST", 5.0, D(2026, 11, 22), T(2026, 11, 22, 11))]),
    Table(ITEMS, ITEMS_COLUMNS, [("east", "web", 9.5), ("east", "web", None)]),
    Table(SHIPMENTS, SHIPMENTS_COLUMNS,
          [(1, "ups", 3, 1200, "leave at door", True, D(2026, 11, 20), D(2026, 11, 21), T(2026, 11, 20, 18),
            T(2026, 11, 21, 9, 30))]),
]

EDGE_TABLES = [
    Table("sales.orders", ORDERS_COLUMNS, [
        # the where keeps order_date >= 2026-11-15 (yesterday - 7 days) and a status that is not 'test' in any case
        (1, 10, "east", "paid", 1200.0, D(2026, 11, 15), T(2026, 11, 15, 23, 59, 59)),
        (2, 10, "east", "shipped", 1000.0, D(2026, 11, 14), T(2026, 11, 14, 0, 0)),  # a day before the window
        (3, None, "west", "TEST", 5.0, D(2026, 11, 22), T(2026, 11, 22, 11)),
        (4, 11, "west", "Test", -250.25, D(2026, 11, 22), T(2026, 11, 23, 0, 0, 0, 1)),
        (5, 12, None, None, 1000.5, D(2026, 11, 22), T(2026, 3, 29, 1, 30)),  # NULL status: lower(NULL) <> 'test'
        (5, 12, "", "", 0.0, D(2026, 11, 21), T(2026, 10, 25, 2, 30)),  # duplicate id, empty strings
        (6, None, "east", "paid", 9.007199254740992e15, D(2026, 11, 20), T(2026, 2, 28, 23, 59, 59, 999999)),
        (None, 13, "east", "refunded", None, None, None),
        (7, 14, "west", "PAID", -0.5, D(2026, 11, 23), T(2026, 11, 23, 8, 59, 59)),
    ]),
    Table(ITEMS, ITEMS_COLUMNS, [
        ("east", "web", 9.5), ("east", "web", None), ("east", "store", None), ("west", None, 0.0),
        ("west", None, -3.25), (None, "web", 1e12), ("", "", None),
    ]),
    Table(SHIPMENTS, SHIPMENTS_COLUMNS, [
        # across midnight, across the DST changes of Europe and the US (timestamps are naive), month and
        # leap-year ends, sub-second parts, a delivery before its shipment (a negative difference)
        (1, "ups", 3, 1200, "leave at door", True, D(2026, 1, 31), D(2026, 2, 28), T(2026, 3, 28, 23, 30),
         T(2026, 3, 29, 1, 30)),
        (2, "ups", 1, 9_007_199_254_740_993, "", False, D(2025, 12, 31), D(2026, 1, 1), T(2026, 10, 25, 0, 59, 59),
         T(2026, 10, 25, 1, 0)),
        (3, "ups", None, -5, None, None, D(2024, 2, 29), D(2025, 2, 28), T(2026, 11, 22, 23, 59, 59, 999000),
         T(2026, 11, 23, 0, 0, 0, 1000)),
        (4, "dhl", 7, 2, "héllo wörld", True, None, D(2026, 11, 22), None, T(2026, 11, 22, 10)),
        (5, "dhl", -7, 2, "ab", False, D(2026, 5, 31), D(2026, 6, 30), T(2026, 5, 31, 12), T(2026, 6, 5, 11)),
        (6, "dhl", 0, 750, "日本語", True, D(2026, 3, 8), D(2026, 3, 7), T(2026, 3, 8, 3, 0), T(2026, 3, 7, 22, 15)),
        (7, None, 5, 1000, "ab", True, D(2026, 11, 1), D(2026, 11, 30), T(2026, 11, 1, 1, 30), T(2026, 11, 30, 23)),
        (8, "", 2, 1000, "x", None, D(2026, 12, 31), D(2027, 1, 1), T(2026, 12, 31, 23, 0), T(2027, 1, 7, 1, 0)),
    ]),
]


def golden_statements(dialect: str) -> list[tuple[str, str, str]]:
    """``(id, kind, sql)`` of each statement in ``golden/<dialect>.sql``."""
    header = ("", "")
    found = []
    for line in (GOLDEN / f"{dialect}.sql").read_text(encoding="utf-8").splitlines():
        if line.startswith("-- s"):
            header = (line[3:].split(" ", 1)[0], line.split("(", 1)[1].split(")", 1)[0])
        elif line and not line.startswith("--"):
            assert line.endswith(";"), line
            found.append((*header, line[:-1]))
    return found
