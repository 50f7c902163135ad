"""The unified check's score and verdict rules."""

from __future__ import annotations

import pytest

from deploywatch.core.status import Status
from deploywatch.health import HealthItem, health_score, verdict_of

OK, WARN, CRIT, UNK = Status.OK, Status.WARNING, Status.CRITICAL, Status.UNKNOWN


def items(*statuses: Status, weights: tuple[float, ...] | None = None) -> list[HealthItem]:
    weights = weights or (1.0,) * len(statuses)
    return [HealthItem(f"item {n}", "check", s, "", weight=w) for n, (s, w) in enumerate(zip(statuses, weights,
                                                                                          strict=True))]


@pytest.mark.parametrize(("statuses", "weights", "score", "verdict"), [
    ((OK, OK, OK), None, 100.0, "OK"),
    ((OK, OK, OK, WARN), None, 87.5, "DEGRADED"),  # any warning degrades, even with a high score
    ((OK, OK, OK, UNK), None, 75.0, "DEGRADED"),  # unknown counts 0 and degrades
    ((OK, OK, OK, OK, CRIT), None, 80.0, "CRITICAL"),  # any critical item is critical
    ((OK, WARN, WARN), None, 66.7, "DEGRADED"),
    ((OK, UNK, UNK), None, 33.3, "CRITICAL"),  # below 50 is critical without a critical item
    ((WARN, WARN), None, 50.0, "DEGRADED"),
    ((OK, WARN), (3.0, 1.0), 87.5, "DEGRADED"),  # weights
    ((OK, UNK), (9.0, 1.0), 90.0, "DEGRADED"),
    ((CRIT, OK), (0.5, 9.5), 95.0, "CRITICAL"),
])
def test_score_and_verdict(statuses: tuple[Status, ...], weights: tuple[float, ...] | None, score: float,
                           verdict: str) -> None:
    found = items(*statuses, weights=weights)
    assert health_score(found) == score
    assert verdict_of(found, health_score(found)) == verdict


def test_nothing_scores_zero() -> None:
    assert health_score([]) == 0.0
