"""The rollout's pure decision core: samples → a verdict with its reasons, verdicts → what the rollout does next.

Nothing here runs a command or reads a clock. A verdict is ``pass``, ``fail`` or ``inconclusive``: no samples,
fewer than ``min_samples``, or output that is not numbers is inconclusive, never a pass. :func:`decide` turns one
round of measurements into ``advance`` (every enforced analysis passed), ``fail`` (an enforced analysis failed
``consecutive_failures`` times in a row), ``pause`` (an enforced analysis was inconclusive) or ``remeasure`` (an
enforced analysis failed, but fewer times in a row than its limit). Shadow analyses are recorded, never enforced.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from ..config.thresholds import Threshold
from .rollout_stats import mann_whitney_u

__all__ = ["Decision", "Measurement", "Verdict", "decide", "judge_baseline", "judge_samples", "parse_samples"]

Verdict = Literal["pass", "fail", "inconclusive"]
Action = Literal["advance", "remeasure", "pause", "fail"]


@dataclass(frozen=True)
class Measurement:
    """One analysis measured once: its verdict, why (values, thresholds, counts), and the numbers behind it."""

    analysis: str
    verdict: Verdict
    why: str
    shadow: bool = False
    data: dict[str, Any] = field(default_factory=dict)

    def as_json(self) -> dict[str, Any]:
        """As a rollout step's JSON shows it."""
        return {"analysis": self.analysis, "verdict": self.verdict, "why": self.why, "shadow": self.shadow,
                **self.data}


@dataclass(frozen=True)
class Decision:
    """What the rollout does after a round of measurements, the failures in a row per analysis, and why."""

    action: Action
    failures: dict[str, int]
    why: str


_AGGREGATES: dict[str, Callable[[Sequence[float]], float]] = {
    "mean": statistics.fmean, "median": statistics.median, "max": max, "min": min}


def _number(value: float) -> str:
    return f"{value:.6g}"


def parse_samples(text: str) -> tuple[list[float], str | None]:
    """One number per non-empty line; (the numbers, None) or ([], why) when a line is not a finite number."""
    samples: list[float] = []
    for line in text.splitlines():
        if not line.strip():
            continue
        try:
            value = float(line.strip())
        except ValueError:
            return [], f"not a number: {line.strip()[:40]!r}"
        if not math.isfinite(value):
            return [], f"not a finite number: {line.strip()[:40]!r}"
        samples.append(value)
    return samples, None


def judge_samples(name: str, samples: Sequence[float], success: Threshold, *, aggregate: str = "mean",
                  min_samples: int = 1, shadow: bool = False) -> Measurement:
    """Pass when the ``aggregate`` of ``samples`` is one of the values ``success`` names; fewer than
    ``min_samples`` samples (none included) is inconclusive."""
    data: dict[str, Any] = {"samples": len(samples), "min_samples": min_samples, "success": success.text}
    if not samples:
        return Measurement(name, "inconclusive", f"no data: the command printed no number (success needs "
                                                 f"{success.text})", shadow, data)
    if len(samples) < min_samples:
        return Measurement(name, "inconclusive", f"{len(samples)} of min_samples {min_samples} samples: too few to "
                                                 "judge", shadow, data)
    value = float(_AGGREGATES[aggregate](samples))
    data |= {"aggregate": aggregate, "value": value}
    over = f"{aggregate} of {len(samples)} samples" if len(samples) > 1 else "the value"
    ok = success.breached(value, "number")  # `success` names the good values
    verdict: Verdict = "pass" if ok else "fail"
    return Measurement(name, verdict, f"{over} {_number(value)} {'meets' if ok else 'misses'} success "
                                      f"{success.text}", shadow, data)


def judge_baseline(name: str, canary: Sequence[float], baseline: Sequence[float], *, worse: str = "higher",
                   alpha: float = 0.05, min_samples: int = 1, shadow: bool = False) -> Measurement:
    """Fail when a one-sided Mann-Whitney U test says the canary's samples are worse (``higher`` or ``lower``)
    than the baseline's at ``alpha``; fewer than ``min_samples`` on either side is inconclusive."""
    data: dict[str, Any] = {"canary_samples": len(canary), "baseline_samples": len(baseline),
                            "min_samples": min_samples, "alpha": alpha, "worse": worse}
    short = [f"{side} has {n}" for side, n in (("canary", len(canary)), ("baseline", len(baseline)))
             if n < min_samples]
    if short:
        what = "no data" if not canary or not baseline else "too few samples"
        return Measurement(name, "inconclusive", f"{what}: {' and '.join(short)} of min_samples {min_samples}",
                           shadow, data)
    test = mann_whitney_u(canary, baseline, alternative="greater" if worse == "higher" else "less")
    data |= {"u": test.u, "p_value": test.p_value, "effect_size": round(test.effect_size, 6), "method": test.method,
             "canary_median": statistics.median(canary), "baseline_median": statistics.median(baseline)}
    regressed = test.p_value < alpha
    facts = (f"Mann-Whitney U={_number(test.u)} ({test.method}), p={_number(test.p_value)} "
             f"{'<' if regressed else '>='} alpha {_number(alpha)}, effect size {test.effect_size:+.3f}, canary "
             f"median {_number(data['canary_median'])} (n={len(canary)}) vs baseline "
             f"{_number(data['baseline_median'])} (n={len(baseline)})")
    if regressed:
        return Measurement(name, "fail", f"the canary is {worse} than the baseline: {facts}", shadow, data)
    return Measurement(name, "pass", f"no evidence the canary is {worse}: {facts}", shadow, data)


def decide(measurements: Sequence[Measurement], limits: Mapping[str, int],
           failures: Mapping[str, int]) -> Decision:
    """The next action (see the module) from one round of ``measurements``, each analysis's
    ``consecutive_failures`` in ``limits``, and the failures in a row so far; a pass resets its count."""
    counts = dict(failures)
    for m in measurements:
        counts[m.analysis] = counts.get(m.analysis, 0) + 1 if m.verdict == "fail" else 0
    enforced = [m for m in measurements if not m.shadow]
    failed = [m for m in enforced if m.verdict == "fail" and counts[m.analysis] >= limits.get(m.analysis, 1)]
    if failed:
        return Decision("fail", counts, "; ".join(
            f"{m.analysis} failed {counts[m.analysis]} of consecutive_failures {limits.get(m.analysis, 1)}: {m.why}"
            for m in failed))
    unsure = [m for m in enforced if m.verdict == "inconclusive"]
    if unsure:
        return Decision("pause", counts, "inconclusive: " + "; ".join(f"{m.analysis}: {m.why}" for m in unsure))
    again = [m for m in enforced if m.verdict == "fail"]
    if again:
        return Decision("remeasure", counts, "; ".join(
            f"{m.analysis} failed {counts[m.analysis]} of consecutive_failures {limits.get(m.analysis, 1)}, measuring "
            f"again: {m.why}" for m in again))
    passed = "; ".join(f"{m.analysis}: {m.why}" for m in enforced) or "no enforced analysis"
    shadows = [m for m in measurements if m.shadow]
    shadow = ("; shadow (not enforced): " + "; ".join(f"{m.analysis} {m.verdict}: {m.why}" for m in shadows)
              if shadows else "")
    return Decision("advance", counts, passed + shadow)
