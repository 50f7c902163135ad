"""Thresholds such as ``"< 80"``, ``">= 95%"`` or ``"> 12h"``, and the bands they draw.

A check may have a ``warn`` and a ``critical`` threshold; each names the values that are bad
(``critical = "< 50"``: below 50 is critical). A percentage means points on a 0-100 scale for the
percent metrics and a fraction for every other metric (``ratio(…) < 80%`` is ``< 0.8``); a duration
means seconds, for freshness and any metric measured in seconds.
"""

from __future__ import annotations

import functools
import math
import operator
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from ..core.durations import parse_duration

__all__ = ["Threshold", "ThresholdError", "Unit", "parse_threshold"]

Unit = Literal["count", "percent", "ratio", "seconds", "number"]

_OPERATORS: dict[str, Callable[[float, float], bool]] = {
    "<=": operator.le, ">=": operator.ge, "!=": operator.ne, "<": operator.lt, ">": operator.gt, "=": operator.eq,
}
_FORM = re.compile(r"\s*(<=|>=|!=|==|<|>|=)\s*(\S.*?)\s*")
_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")


class ThresholdError(ValueError):
    """A threshold that cannot be parsed, or does not fit the metric it is set on."""


@dataclass(frozen=True)
class Threshold:
    """One comparison: the metric value is bad when ``value OP bound`` holds."""

    text: str
    op: str
    bound: float  # as written: 80 for "80%", 43200 for "12h"
    kind: Literal["number", "percent", "duration"]

    def limit(self, unit: Unit) -> float:
        """The bound on the metric's own scale (a percentage is a fraction except on percent metrics)."""
        if self.kind == "percent" and unit != "percent":
            return self.bound / 100
        return self.bound

    def breached(self, value: float, unit: Unit) -> bool:
        """True when ``value`` (on the metric's scale) is on the bad side of this threshold."""
        return _OPERATORS[self.op](value, self.limit(unit))

    def check_unit(self, unit: Unit) -> None:
        """Raise :class:`ThresholdError` when the threshold cannot apply to a metric of ``unit``."""
        if self.kind == "percent" and unit in ("count", "seconds"):
            raise ThresholdError(f"a percentage ({self.text!r}) does not apply to a {unit} metric; write a number, "
                                 "or measure a share with percent(…) or ratio(…)")
        if self.kind == "duration" and unit not in ("seconds", "number"):
            raise ThresholdError(f"a duration ({self.text!r}) applies to freshness and other metrics in seconds, "
                                 f"not to a {unit} metric")


@functools.lru_cache(maxsize=1024)  # every group of every check re-reads its thresholds
def parse_threshold(text: str) -> Threshold:
    """Parse ``"< 80"``, ``">= 99.5%"``, ``"> 12h"``, ``"!= 0"``; raise :class:`ThresholdError` when malformed."""
    match = _FORM.fullmatch(text)
    if not match:
        raise ThresholdError(f"invalid threshold {text!r}: expected an operator (<, <=, >, >=, =, !=) and a number, "
                             "a percentage or a duration, such as '< 80', '>= 99.5%' or '> 12h'")
    op, operand = match.groups()
    op = "=" if op == "==" else op
    kind: Literal["number", "percent", "duration"] = "number"
    if operand.endswith("%"):
        kind, operand = "percent", operand[:-1].strip()
    if _NUMBER.fullmatch(operand):
        bound = float(operand)
        if not math.isfinite(bound):
            raise ThresholdError(f"invalid threshold {text!r}: the number must be finite")
    elif kind == "number":
        try:
            bound = float(parse_duration(operand))
        except ValueError:
            raise ThresholdError(f"invalid threshold {text!r}: {operand!r} is not a number, a percentage "
                                 "or a duration such as '12h'") from None
        kind = "duration"
    else:
        raise ThresholdError(f"invalid threshold {text!r}: {operand!r}% is not a number")
    return Threshold(text.strip(), op, bound, kind)
