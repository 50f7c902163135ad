"""Drift: which commit each service runs, how far it is from the branch, and skew within groups.

The deployed commit comes from ``sources/``; ``engine`` measures over one ``history`` walk of ``git``; the workspace
ties them to a config.

``git.py`` is the only module that runs git. Importing this package is cheap: each name loads on first use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..core.lazy import lazy_attributes

if TYPE_CHECKING:
    from .engine import (
        DEFAULT_MAX_COMMITS,
        Deployed,
        DriftReport,
        RelevantCommit,
        ServiceDrift,
        ServiceSpec,
        State,
        measure_drift,
        record_drift,
        resolve_readings,
    )

__all__ = [
    "DEFAULT_MAX_COMMITS",
    "Deployed",
    "DriftReport",
    "RelevantCommit",
    "ServiceDrift",
    "ServiceSpec",
    "State",
    "measure_drift",
    "record_drift",
    "resolve_readings",
]

_LAZY = dict.fromkeys(__all__, "engine")

__getattr__, __dir__ = lazy_attributes(__name__, _LAZY)
