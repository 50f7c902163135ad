"""Gates: a named set of checks that says PROCEED, PROCEED_WITH_WARNING or FAIL, with a quality score."""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..core.errors import UsageError
from ..core.findings import Finding
from ..core.status import Status
from ..core.text import plural
from .results import CanaryReport, CheckResult

if TYPE_CHECKING:
    from ..config import LoadedConfig
    from ..config.checks import CheckConfig
    from ..notify.model import AlertMode
    from .plan import Plan
    from .runner import RunTarget

__all__ = ["GATE_SCHEMA", "GateResult", "gate_checks", "gate_score", "judge_gate", "run_gate", "run_gate_plan"]

GATE_SCHEMA = "deploywatch.gate/v1"
PROCEED, PROCEED_WITH_WARNING, FAIL = "PROCEED", "PROCEED_WITH_WARNING", "FAIL"
_EXIT = {PROCEED: 0, PROCEED_WITH_WARNING: 1, FAIL: 2}
_SHARE = {Status.OK: 1.0, Status.WARNING: 0.5, Status.CRITICAL: 0.0, Status.UNKNOWN: 0.0}


@dataclass(frozen=True)
class GateResult:
    """A gate's verdict: ``status`` (PROCEED / PROCEED_WITH_WARNING / FAIL), score 0-100, why, and the checks."""

    gate: str
    status: str
    score: float
    message: str
    issues: tuple[str, ...]
    checks: tuple[CheckResult, ...] = ()
    run_id: str | None = None

    @property
    def can_proceed(self) -> bool:
        """True unless the verdict is FAIL."""
        return self.status != FAIL

    @property
    def exit_code(self) -> int:
        """PROCEED 0, PROCEED_WITH_WARNING 1, FAIL 2."""
        return _EXIT[self.status]

    def finding(self) -> Finding:
        """The verdict as a finding (kind ``gate``): PROCEED ok, PROCEED_WITH_WARNING warning, FAIL critical."""
        status = {PROCEED: Status.OK, PROCEED_WITH_WARNING: Status.WARNING}.get(self.status, Status.CRITICAL)
        details = {"gate": self.gate, "verdict": self.status, "score": self.score, "issues": list(self.issues[:20])}
        return Finding("gate", self.gate, status, f"gate {self.gate}: {self.message}", details, {"gate": self.gate})

    def as_json(self) -> dict[str, Any]:
        """``deploywatch.gate/v1``."""
        return {"schema": GATE_SCHEMA, "gate": self.gate, "verdict": self.status, "score": self.score,
                "message": self.message, "issues": list(self.issues), "checks": [c.as_json() for c in self.checks]}


def gate_score(results: Sequence[CheckResult]) -> float:
    """Weighted share of passing checks times 100 (ok 1, warning 0.5, critical/unknown 0); a grouped check
    counts once, with the mean of its groups."""
    by_check: dict[str, list[CheckResult]] = defaultdict(list)
    for result in results:
        by_check[result.name].append(result)
    total = sum(group[0].weight for group in by_check.values())
    if not total:
        return 0.0
    earned = sum(group[0].weight * sum(_SHARE[r.status] for r in group) / len(group) for group in by_check.values())
    return round(100 * earned / total, 1)


def judge_gate(name: str, results: Sequence[CheckResult], *, min_score: float | None = None,
               run_id: str | None = None) -> GateResult:
    """The verdict for a gate whose checks gave ``results``."""
    score = gate_score(results)
    bad = [r for r in results if r.status in (Status.CRITICAL, Status.UNKNOWN)]
    warned = [r for r in results if r.status is Status.WARNING]
    issues = tuple(f"{r.subject}: {r.status} ({r.reason})" if r.reason else f"{r.subject}: {r.status}"
                   for r in (*bad, *warned))
    checks = len({r.name for r in results})
    if bad or (min_score is not None and score < min_score):
        status = FAIL
        if bad:
            names = ", ".join(dict.fromkeys(r.subject for r in bad))
            message = (f"FAIL: {len(bad)} of {plural(len(results), 'result')} critical or unknown ({names}); "
                       f"score {score:g}")
        else:
            message = f"FAIL: score {score:g} is below the gate's min_score {min_score:g}"
    elif warned:
        status = PROCEED_WITH_WARNING
        message = f"PROCEED_WITH_WARNING: {plural(len(warned), 'warning')}; score {score:g}"
    else:
        status = PROCEED
        message = f"PROCEED: {'' if checks == 1 else 'all '}{plural(checks, 'check')} passed; score {score:g}"
    return GateResult(name, status, score, message, issues, tuple(results), run_id)


def run_gate(name: str, *, date: date | str | None = None, config: LoadedConfig | Path | str | None = None,
             now: datetime | None = None, record: bool = True, alert_mode: AlertMode | None = None) -> GateResult:
    """Run gate ``name`` in-process (``config``: a loaded config, a path, or None to find deploywatch.toml).

    Raises :class:`~deploywatch.core.errors.DeploywatchError` when it cannot run (bad config, unknown gate).
    """
    from ..config import COMMAND_SECTIONS, LoadedConfig
    from .runner import RunTarget, compile_checks
    from .validate import load_config

    loaded = config if isinstance(config, LoadedConfig) else load_config(config, sections=COMMAND_SECTIONS)
    checks, min_score = gate_checks(loaded, name)
    moment = now or datetime.now(UTC)
    started = (time.perf_counter(), datetime.now(UTC))
    plan, day = compile_checks(loaded, checks, now=moment, run_date=_as_date(date))
    return run_gate_plan(name, RunTarget.of(loaded), plan, day, min_score=min_score, now=moment, record=record,
                         alert_mode=alert_mode, started=started)


def gate_checks(loaded: LoadedConfig, name: str) -> tuple[list[CheckConfig], float | None]:
    """The checks of gate ``name`` and its ``min_score``; :class:`UsageError` for a gate that is not configured."""
    from .selection import select_checks

    gates = loaded.config.gates
    if name not in gates:
        known = ", ".join(gates) or "none are configured"
        raise UsageError(f"unknown gate {name!r} (gates: {known})")
    settings = gates[name]
    return select_checks(loaded.config.checks, patterns=settings.checks), settings.min_score


def run_gate_plan(name: str, target: RunTarget, plan: Plan, day: date, *, min_score: float | None, now: datetime,
                  record: bool = True, alert_mode: AlertMode | None = None,
                  started: tuple[float, datetime] | None = None) -> GateResult:
    """Run the compiled plan of gate ``name`` and judge it (stored with the verdict unless ``record`` is false)."""
    from .runner import RunSummary, run_plan

    verdict: list[GateResult] = []

    def judge(report: CanaryReport) -> RunSummary:
        verdict.append(judge_gate(name, report.results, min_score=min_score, run_id=report.run_id))
        return RunSummary(verdict[0].score, verdict[0].exit_code, {"gate": name, "verdict": verdict[0].status},
                          (verdict[0].finding(),))

    report = run_plan(target, plan, day, now=now, command="gate", record=record, summarize=judge,
                      alert_mode=alert_mode, started=started)
    return verdict[0] if verdict else judge_gate(name, report.results, min_score=min_score, run_id=report.run_id)


def _as_date(value: date | str | None) -> date | None:
    if value is None or isinstance(value, date):
        return value
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise UsageError(f"invalid date {value!r}: expected YYYY-MM-DD") from None
