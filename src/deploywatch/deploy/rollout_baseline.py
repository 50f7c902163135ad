"""A checks or probes analysis with ``baseline_compare``: this step's values against the stable revision's stored ones.

The canary's samples are the values of each matched check (every group) or probe measured since the step began:
the ones this step's rounds measured (not stored: a canary's numbers must not become the next deploy's baseline)
and the ones other runs (the daemon's ``check``, ``canary`` or ``health``) stored meanwhile. The baseline's are the
same check's or probe's stored values from before the deploy started: the newest as many as the canary has (at
least ``min_samples``), or with ``baseline_window`` every one measured that long before the deploy. Both go to the
Mann-Whitney U test of :func:`.rollout_core.judge_baseline`; too few on either side is inconclusive, never a pass.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from ..core.durations import format_age, format_timestamp
from ..core.text import plural
from .rollout_core import Measurement, Verdict, judge_baseline

if TYPE_CHECKING:
    from ..config import LoadedConfig
    from ..config.rollout import AnalysisConfig
    from ..store.database import Store
    from ..store.rollouts import StoredSample

__all__ = ["MAX_SAMPLES", "StepSamples", "compare_with_baseline"]

MAX_SAMPLES = 10_000  # stored values read per side: a week of a grouped check every few minutes


@dataclass
class StepSamples:
    """What a baseline comparison needs beyond the config: the store, when the deploy started, when the step
    began, and the values this step's rounds measured so far (per check or probe name)."""

    store: Store
    deploy_started: datetime
    step_began: datetime
    measured: dict[str, list[float]] = field(default_factory=dict)


def compare_with_baseline(loaded: LoadedConfig, analysis: AnalysisConfig, step: StepSamples,
                          now: datetime) -> Measurement:
    """Measure the analysis's checks or probes once more, then compare each one's canary samples with its
    baseline; one verdict: fail when any regressed, inconclusive when any could not be judged, else pass."""
    kind, names = _measure(loaded, analysis, step, now)
    if not names:
        return Measurement(analysis.title, "inconclusive", f"no data: {analysis.title} matched nothing to run",
                           analysis.shadow)
    compared = [_compare(analysis, kind, name, step, now) for name in names]
    verdict: Verdict = ("fail" if any(m.verdict == "fail" for m in compared) else
                        "inconclusive" if any(m.verdict == "inconclusive" for m in compared) else "pass")
    shown = [m for m in compared if m.verdict == verdict] if verdict != "pass" else compared
    why = "; ".join(f"{m.analysis}: {m.why}" for m in shown[:5])
    return Measurement(analysis.title, verdict, why, analysis.shadow,
                       {"compared": [m.as_json() for m in compared]})


def _measure(loaded: LoadedConfig, analysis: AnalysisConfig, step: StepSamples,
             now: datetime) -> tuple[str, list[str]]:
    """Run the checks (nothing stored) or probes now, keeping every finite value; (kind, the names compared)."""
    from ..checks.runner import run_checks
    from ..checks.selection import matches
    from ..health.probes import probe_configs, run_probes

    values: list[tuple[str, float | int | None]]
    if analysis.checks:
        checks = [c for c in loaded.config.checks if any(matches(p, c) for p in analysis.checks)]
        if not checks:
            return "check", []
        report = run_checks(loaded, checks, now=now, record=False)
        values = [(r.name, r.value) for r in report.results]
        kind, names = "check", [c.name for c in checks]
    else:
        probes = [p for p in probe_configs(loaded) if p.name in analysis.probes]
        values = [(r.name, r.value) for r in run_probes(probes, cwd=loaded.base_dir)]
        kind, names = "probe", [p.name for p in probes]
    for name, value in values:
        if value is not None and not isinstance(value, bool) and math.isfinite(float(value)):
            step.measured.setdefault(name, []).append(float(value))
    return kind, names


def _stored(step: StepSamples, kind: str, name: str, *, since: datetime | None, until: datetime,
            limit: int) -> list[StoredSample]:
    read = step.store.check_samples if kind == "check" else step.store.probe_samples
    return read(name, since=since, until=until, limit=limit)


def _compare(analysis: AnalysisConfig, kind: str, name: str, step: StepSamples, now: datetime) -> Measurement:
    """One check's or probe's canary samples against its baseline, with where the baseline came from."""
    stored_canary = _stored(step, kind, name, since=max(step.step_began, step.deploy_started), until=now,
                            limit=MAX_SAMPLES)
    canary = [*step.measured.get(name, []), *(s.value for s in stored_canary)]
    if analysis.baseline_window is not None:
        since: datetime | None = step.deploy_started - timedelta(seconds=analysis.baseline_window)
        baseline = _stored(step, kind, name, since=since, until=step.deploy_started, limit=MAX_SAMPLES)
        chosen = f"within baseline_window {format_age(analysis.baseline_window)} before the deploy"
    else:
        baseline = _stored(step, kind, name, since=None, until=step.deploy_started,
                           limit=max(len(canary), analysis.min_samples))
        chosen = "the newest before the deploy"
    judged = judge_baseline(f"{kind} {name}", canary, [s.value for s in baseline], worse=analysis.worse,
                            alpha=analysis.alpha, min_samples=analysis.min_samples, shadow=analysis.shadow)
    source = _source(baseline, chosen, step.deploy_started)
    data = {**judged.data, kind: name, "canary_stored": len(stored_canary), **_baseline_json(baseline)}
    return Measurement(judged.analysis, judged.verdict, f"{judged.why}; baseline: {source}", judged.shadow, data)


def _source(baseline: Sequence[StoredSample], chosen: str, deploy_started: datetime) -> str:
    """Which runs and dates the baseline came from, for the verdict's why."""
    if not baseline:
        return f"no stored values {chosen} (it started {format_timestamp(deploy_started)})"
    runs = list(dict.fromkeys(s.run_id for s in baseline))
    shown = ", ".join(r[:8] for r in runs[:3]) + (f" and {len(runs) - 3} more" if len(runs) > 3 else "")
    oldest, newest = baseline[-1].measured_at, baseline[0].measured_at
    return (f"{plural(len(baseline), 'stored value')} ({chosen}) from {plural(len(runs), 'run')} "
            f"({shown}), measured {format_timestamp(oldest)} to {format_timestamp(newest)}")


def _baseline_json(baseline: Sequence[StoredSample]) -> dict[str, Any]:
    return {"baseline_runs": list(dict.fromkeys(s.run_id for s in baseline)),
            "baseline_from": format_timestamp(baseline[-1].measured_at) if baseline else None,
            "baseline_until": format_timestamp(baseline[0].measured_at) if baseline else None}
