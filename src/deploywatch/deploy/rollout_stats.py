"""The one-sided Mann-Whitney U test a rollout's ``baseline_compare`` judges canary samples against the baseline's.

``U`` counts the (canary, baseline) pairs in which the canary's value is the larger (a tie counts one half), as
``scipy.stats.mannwhitneyu(canary, baseline).statistic`` does. The p-value is exact (the distribution of ``U``
from the Gaussian binomial coefficient) when there are no ties and the samples are small, else the normal
approximation with the tie correction and a continuity correction (scipy's ``method="asymptotic"``).
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

__all__ = ["EXACT_LIMIT", "UTest", "exact_u_counts", "mann_whitney_u", "ranks"]

EXACT_LIMIT = 400  # n1 * n2 up to which a tie-free test is exact


@dataclass(frozen=True)
class UTest:
    """A test's result: ``u`` (the canary's statistic), the one-sided ``p_value`` that the canary is worse, the
    method, and the effect size as the rank-biserial correlation (``2U / (n1 n2) - 1``: +1 every canary value is
    higher, -1 every one lower, 0 no difference)."""

    u: float
    p_value: float
    method: Literal["exact", "normal"]
    n_canary: int
    n_baseline: int
    alternative: Literal["greater", "less"]

    @property
    def effect_size(self) -> float:
        """The rank-biserial correlation."""
        return 2 * self.u / (self.n_canary * self.n_baseline) - 1

    @property
    def common_language(self) -> float:
        """``U / (n1 n2)``: the chance a canary sample is higher than a baseline one (ties counting half)."""
        return self.u / (self.n_canary * self.n_baseline)


def ranks(values: Sequence[float]) -> list[float]:
    """1-based ranks, ties sharing the average of the ranks they span."""
    order = sorted(range(len(values)), key=lambda i: values[i])
    result = [0.0] * len(values)
    start = 0
    while start < len(order):
        end = start
        while end + 1 < len(order) and values[order[end + 1]] == values[order[start]]:
            end += 1
        for position in range(start, end + 1):
            result[order[position]] = (start + end) / 2 + 1
        start = end + 1
    return result


def exact_u_counts(n1: int, n2: int) -> list[int]:
    """How many of the ``C(n1 + n2, n1)`` orderings give each ``U`` from 0 to ``n1 n2`` (no ties): the
    coefficients of the Gaussian binomial ``[n1 + n2 choose n1]_q``, built one factor at a time."""
    poly = [1]
    for i in range(1, n1 + 1):
        grown = poly + [0] * (n2 + i)  # times (1 - q^(n2+i))
        for k in range(len(poly) - 1, -1, -1):
            grown[k + n2 + i] -= poly[k]
        for k in range(i, len(grown)):  # divided by (1 - q^i): a running sum with stride i
            grown[k] += grown[k - i]
        poly = grown[: i * n2 + 1]
    return poly


def mann_whitney_u(canary: Sequence[float], baseline: Sequence[float], *,
                   alternative: Literal["greater", "less"] = "greater") -> UTest:
    """Test whether ``canary`` tends to be greater (or, ``less``, smaller) than ``baseline``; both non-empty."""
    n1, n2 = len(canary), len(baseline)
    if n1 == 0 or n2 == 0:
        raise ValueError("the Mann-Whitney U test needs samples on both sides")
    ranked = ranks([*canary, *baseline])
    u = sum(ranked[:n1]) - n1 * (n1 + 1) / 2
    tied = [t for t in Counter([*canary, *baseline]).values() if t > 1]
    if not tied and n1 * n2 <= EXACT_LIMIT:
        counts = exact_u_counts(n1, n2)
        total = math.comb(n1 + n2, n1)
        at = int(u)
        tail = sum(counts[at:]) if alternative == "greater" else sum(counts[: at + 1])
        return UTest(u, min(1.0, tail / total), "exact", n1, n2, alternative)
    n = n1 + n2
    mean = n1 * n2 / 2
    tie_term = sum(t ** 3 - t for t in tied) / (n * (n - 1)) if n > 1 else 0.0
    variance = n1 * n2 / 12 * ((n + 1) - tie_term)
    if variance <= 0:  # every value equal: no evidence either way
        return UTest(u, 1.0, "normal", n1, n2, alternative)
    sd = math.sqrt(variance)
    if alternative == "greater":
        z = (u - mean - 0.5) / sd
        p = 0.5 * math.erfc(z / math.sqrt(2))
    else:
        z = (u - mean + 0.5) / sd
        p = 0.5 * math.erfc(-z / math.sqrt(2))
    return UTest(u, min(1.0, p), "normal", n1, n2, alternative)
