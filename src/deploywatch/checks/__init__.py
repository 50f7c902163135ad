"""Data checks: metrics, thresholds, anomaly detection against the store's history, and gates.

Metrics compile to one aggregate statement per (table, where, group_by).

``run_canary`` and ``run_gate`` are the in-process entry points a pipeline step can call. Submodules load
on first use: a run from a kept plan (:mod:`.plancache`) needs neither pydantic nor sqlglot.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from ..core.lazy import lazy_attributes

if TYPE_CHECKING:
    from ..config import LoadedConfig
    from .gate import GateResult, run_gate
    from .results import CanaryReport, CheckResult

__all__ = ["CanaryReport", "CheckResult", "GateResult", "run_canary", "run_gate"]

_LAZY = {"CanaryReport": "results", "CheckResult": "results", "GateResult": "gate", "run_gate": "gate"}


__getattr__, __dir__ = lazy_attributes(__name__, _LAZY)


def run_canary(*, config: LoadedConfig | Path | str | None = None, phases: tuple[str, ...] = (),
               checks: tuple[str, ...] = (), date: date | None = None, now: datetime | None = None,
               record: bool = True) -> CanaryReport:
    """Run the selected checks (all by default) in-process and return their results; stored unless ``record`` is
    false."""
    from ..config import COMMAND_SECTIONS, LoadedConfig
    from .runner import run_checks
    from .selection import select_checks
    from .validate import load_config

    loaded = config if isinstance(config, LoadedConfig) else load_config(config, sections=COMMAND_SECTIONS)
    selected = select_checks(loaded.config.checks, phases=phases, patterns=checks)
    return run_checks(loaded, selected, now=now or datetime.now(UTC), run_date=date, record=record)
