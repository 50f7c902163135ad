"""The unified check: the score and verdict (``score``), liveness probes and phase completion.

Importing this package is cheap: each name loads on first use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..core.lazy import lazy_attributes

if TYPE_CHECKING:
    from .score import (
        CHECK_SCHEMA,
        HealthItem,
        HealthReport,
        collectors_for,
        health_score,
        prepare_collectors,
        run_health,
        verdict_of,
    )

__all__ = [
    "CHECK_SCHEMA",
    "HealthItem",
    "HealthReport",
    "collectors_for",
    "health_score",
    "prepare_collectors",
    "run_health",
    "verdict_of",
]

_LAZY = dict.fromkeys(__all__, "score")

__getattr__, __dir__ = lazy_attributes(__name__, _LAZY)
