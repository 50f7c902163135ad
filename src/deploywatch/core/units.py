"""Metric values for people, in their unit's usual form.

Shared by the check output and the alert sinks (which must not import the checks engine)."""

from __future__ import annotations

import math
from typing import Any

from .durations import format_age

__all__ = ["format_number", "format_value"]


def format_number(value: Any) -> str:
    """A plain number: four significant digits, thousands separated (``1,204``, ``0.9132``); ``-`` for none."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        return "-"
    return f"{value:,.4g}" if abs(value) < 1e6 else f"{value:,.1f}"


def format_value(value: Any, unit: str) -> str:
    """A metric value in its unit's form: ``71.2%``, ``26h``, ``1,204``, ``0.913``; ``-`` when there is none
    (None, NaN, infinity), and any other non-number as text."""
    if value is None or isinstance(value, bool) or not isinstance(value, int | float):
        return "-" if value is None or isinstance(value, bool) else str(value)
    if not math.isfinite(value):
        return "-"
    if unit == "percent":
        return f"{value:.1f}%"
    if unit == "seconds":
        return format_age(value)
    if unit == "count" or isinstance(value, int):
        return f"{int(value):,}"
    if unit == "ratio":
        return f"{value:.3f}"
    return format_number(value)
