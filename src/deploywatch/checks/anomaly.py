"""Anomaly detection: the z-score of a new value against the check's own history.

The training window is the last ``window`` values before the current run date (one per date, the
latest of that date; values once flagged as anomalies left out), never the current point. With
``seasonality = "day_of_week"`` only the same weekday counts. Fewer than ``min_history`` values is
``unknown`` ("not enough history"), never ``ok``. A change smaller than ``min_change`` is not an
anomaly however large its z-score (a flat history makes any change infinitely unlikely).
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

from ..core.status import Status
from ..core.text import plural

__all__ = ["AnomalyResult", "AnomalySettings", "score"]


class AnomalySettings(Protocol):
    """What scoring reads from ``checks[].anomaly`` (the config model, or the plan's plain copy)."""

    @property
    def sensitivity(self) -> float: ...
    @property
    def min_history(self) -> int: ...
    @property
    def window(self) -> int: ...
    @property
    def direction(self) -> str: ...
    @property
    def seasonality(self) -> str | None: ...
    @property
    def min_change(self) -> float: ...
    @property
    def status(self) -> str: ...


@dataclass(frozen=True)
class AnomalyResult:
    """The verdict on one value: its z-score against ``history_size`` earlier values."""

    status: Status
    anomalous: bool
    mean: float | None
    stddev: float | None
    z: float | None
    history_size: int
    reason: str

    def as_json(self) -> dict[str, float | None]:
        """``{"mean", "stddev", "z"}`` for JSON output (an infinite z is reported as null)."""
        z = self.z if self.z is None or math.isfinite(self.z) else None
        return {"mean": self.mean, "stddev": self.stddev, "z": z}


def score(value: float, history: Sequence[float], config: AnomalySettings,
          show: Callable[[float], str] | None = None) -> AnomalyResult:
    """Judge ``value`` against ``history`` (oldest first; only the last ``window`` values are used);
    ``show`` formats values in the metric's unit for the reason."""
    show = show or _number
    window = list(history)[-config.window:]
    if len(window) < config.min_history:
        return AnomalyResult(Status.UNKNOWN, False, None, None, None, len(window),
                             f"not enough history for anomaly detection: {len(window)} of "
                             f"{plural(config.min_history, 'value')}{' on this weekday' if config.seasonality else ''}")
    mean = statistics.fmean(window)
    stddev = statistics.stdev(window)
    change = value - mean
    # A history that never varied makes any change infinitely unlikely: z is ±inf (min_change still applies).
    z = change / stddev if stddev > 0 else (0.0 if change == 0 else math.copysign(math.inf, change))
    outside = ((config.direction in ("spike", "both") and z > config.sensitivity)
               or (config.direction in ("drop", "both") and z < -config.sensitivity))
    anomalous = outside and abs(change) >= config.min_change and change != 0
    if not anomalous:
        return AnomalyResult(Status.OK, False, mean, stddev, z, len(window), "")
    word = "spike" if change > 0 else "drop"
    shown_z = f"z = {z:+.1f}" if math.isfinite(z) else "the history never varied"
    reason = (f"anomaly ({word}): {show(value)} against a mean of {show(mean)} ± {_number(stddev)} "
              f"over {plural(len(window), 'value')}, {shown_z} (sensitivity {config.sensitivity:g})")
    return AnomalyResult(Status(config.status), True, mean, stddev, z, len(window), reason)


def _number(value: float) -> str:
    if value == int(value) and abs(value) < 1e15:
        return f"{int(value):,}"
    if abs(value) >= 100:
        return f"{value:,.1f}"
    digits = max(0, 2 - math.floor(math.log10(abs(value))))  # three significant digits, never 1e+03
    return f"{value:.{digits}f}"
