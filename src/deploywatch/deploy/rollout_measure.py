"""Measuring a rollout's analyses: a command's numbers, the service's data checks or probes, turned into verdicts.

Commands run with ``/bin/sh -c`` in the repository's work tree, with a timeout, while the deploy lock's lease is
renewed; a command that fails, times out or prints something that is not a number gives no data (inconclusive),
never a pass. The verdicts come from :mod:`.rollout_core`.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

from ..config.services import fill_command
from ..config.thresholds import parse_threshold
from ..core.procs import Outcome, run_shell
from ..core.redact import clip
from ..core.status import Status
from .rollout_core import Measurement, judge_baseline, judge_samples, parse_samples
from .shell import command_env

if TYPE_CHECKING:
    from ..config import LoadedConfig
    from ..config.rollout import AnalysisConfig
    from .rollout_baseline import StepSamples

__all__ = ["measure", "run_ticking"]

T = TypeVar("T")


def run_ticking(work: Callable[[], T], tick: Callable[[], None]) -> T:
    """Run ``work`` in a thread, calling ``tick`` every quarter second until it returns (the lock's lease is
    renewed while a slow command runs)."""
    box: dict[str, T] = {}
    failure: list[BaseException] = []

    def target() -> None:
        try:
            box["value"] = work()
        except BaseException as exc:  # handed to the caller's thread
            failure.append(exc)

    thread = threading.Thread(target=target, name="deploywatch-analysis", daemon=True)
    thread.start()
    while thread.is_alive():
        tick()
        thread.join(0.25)
    if failure:
        raise failure[0]
    return box["value"]


def _samples(command: str, *, cwd: Path, values: dict[str, str], timeout: float,
             tick: Callable[[], None]) -> tuple[list[float], str | None]:
    """The numbers ``command`` printed, or ([], why there are none to trust)."""
    outcome: Outcome = run_ticking(lambda: run_shell(command, timeout=timeout, cwd=cwd, env=command_env(values)),
                                   tick)
    if outcome.returncode != 0:
        why = outcome.problem or f"exited {outcome.returncode}"
        tail = outcome.stderr_tail()
        return [], clip(f"the command {why}" + (f": {tail}" if tail else ""), 300)
    samples, problem = parse_samples(outcome.stdout.decode("utf-8", errors="replace"))
    return samples, (f"the command printed {problem}" if problem else None)


def measure(loaded: LoadedConfig, analysis: AnalysisConfig, *, cwd: Path, values: dict[str, str],
            baseline_values: dict[str, str], now: datetime, tick: Callable[[], None],
            step: StepSamples | None = None) -> Measurement:
    """Measure ``analysis`` once; ``values`` fill its template for the canary, ``baseline_values`` for the stable
    revision (``baseline_compare``); a checks or probes analysis with ``baseline_compare`` compares this ``step``'s
    values with the stored ones from before the deploy (:mod:`.rollout_baseline`)."""
    name = analysis.title
    if analysis.command is not None:
        canary, problem = _samples(fill_command(analysis.command, values), cwd=cwd, values=values,
                                   timeout=float(analysis.timeout), tick=tick)
        if problem:
            return Measurement(name, "inconclusive", f"no data: {problem}", analysis.shadow)
        if analysis.baseline_compare:
            baseline, problem = _samples(fill_command(analysis.command, baseline_values), cwd=cwd,
                                         values=baseline_values, timeout=float(analysis.timeout), tick=tick)
            if problem:
                return Measurement(name, "inconclusive", f"no baseline data: {problem}", analysis.shadow)
            return judge_baseline(name, canary, baseline, worse=analysis.worse, alpha=analysis.alpha,
                                  min_samples=analysis.min_samples, shadow=analysis.shadow)
        assert analysis.success is not None
        return judge_samples(name, canary, parse_threshold(analysis.success), aggregate=analysis.aggregate,
                             min_samples=analysis.min_samples, shadow=analysis.shadow)
    if analysis.baseline_compare:
        from .rollout_baseline import compare_with_baseline

        assert step is not None
        return run_ticking(lambda: compare_with_baseline(loaded, analysis, step, now), tick)
    return run_ticking(lambda: _health(loaded, analysis, now), tick)


def _health(loaded: LoadedConfig, analysis: AnalysisConfig, now: datetime) -> Measurement:
    """Data checks or probes as an analysis: every result ok (a warning counts as ok, as after a deploy) passes,
    critical fails, unknown or no result at all is inconclusive."""
    from ..checks.selection import matches
    from ..health.probes import probe_configs, run_probes
    from .verify import measure_checks

    results: list[tuple[str, Status, str]] = []
    if analysis.checks:
        checks = [c for c in loaded.config.checks if any(matches(p, c) for p in analysis.checks)]
        if checks:
            results = [(subject, status, why) for subject, status, why, _ in measure_checks(loaded, checks, now)]
    else:
        probes = [p for p in probe_configs(loaded) if p.name in analysis.probes]
        results = [(f"probe {r.name}", r.status, r.summary) for r in run_probes(probes, cwd=loaded.base_dir)]
    return _verdict(analysis, results)


def _verdict(analysis: AnalysisConfig, results: Sequence[tuple[str, Status, str]]) -> Measurement:
    name = analysis.title
    data = {"results": [{"subject": s, "status": str(st), "why": w} for s, st, w in results]}
    if not results:
        return Measurement(name, "inconclusive", f"no data: {name} matched nothing to run", analysis.shadow, data)
    bad = [f"{s} {st}: {w}" for s, st, w in results if st is Status.CRITICAL]
    unsure = [f"{s} unknown: {w}" for s, st, w in results if st is Status.UNKNOWN]
    if bad:
        return Measurement(name, "fail", f"{len(bad)} of {len(results)} critical: " + "; ".join(bad[:5]),
                           analysis.shadow, data)
    if unsure:
        return Measurement(name, "inconclusive", "no data: " + "; ".join(unsure[:5]), analysis.shadow, data)
    return Measurement(name, "pass", f"{len(results)} of {len(results)} ok", analysis.shadow, data)
