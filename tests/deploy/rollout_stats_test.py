"""The Mann-Whitney U test against known values and independent oracles: every ordering of small samples counted
by brute force, and the exact distribution for the normal approximation."""

from __future__ import annotations

import itertools
import math
import random

import pytest

from deploywatch.deploy.rollout_stats import exact_u_counts, mann_whitney_u, ranks

MALES = [19, 22, 16, 29, 24]  # scipy.stats.mannwhitneyu's documented example (Conover's)
FEMALES = [20, 11, 17, 12]


def brute_force_p(canary: list[float], baseline: list[float], alternative: str) -> float:
    """P(U >= u) (or <=) over every way of splitting the pooled values into groups of the same sizes."""
    pooled = canary + baseline

    def u_of(group: tuple[int, ...]) -> float:
        inside = [pooled[i] for i in group]
        outside = [pooled[i] for i in range(len(pooled)) if i not in group]
        return sum(1.0 if a > b else 0.5 if a == b else 0.0 for a in inside for b in outside)

    observed = u_of(tuple(range(len(canary))))
    splits = list(itertools.combinations(range(len(pooled)), len(canary)))
    hits = [s for s in splits if (u_of(s) >= observed if alternative == "greater" else u_of(s) <= observed)]
    return len(hits) / len(splits)


def test_the_documented_example_gives_u_17_and_the_exact_p_value() -> None:
    result = mann_whitney_u(MALES, FEMALES)
    assert result.u == 17.0 and result.method == "exact"
    assert result.p_value == pytest.approx(7 / 126)  # scipy: two-sided 0.1111 = 2 x 7/126
    assert result.effect_size == pytest.approx(2 * 17 / 20 - 1)
    assert (result.n_canary, result.n_baseline) == (5, 4)


def test_the_normal_approximation_of_the_documented_example(monkeypatch: pytest.MonkeyPatch) -> None:
    """The textbook form: z = (U - n1 n2 / 2 - 1/2) / sqrt(n1 n2 (n + 1) / 12) = 6.5 / sqrt(50 / 3)."""
    import deploywatch.deploy.rollout_stats as stats

    monkeypatch.setattr(stats, "EXACT_LIMIT", 0)
    result = mann_whitney_u(MALES, FEMALES)
    assert result.method == "normal"
    assert result.p_value == pytest.approx(0.5 * math.erfc(6.5 / math.sqrt(50 / 3) / math.sqrt(2)))
    assert result.p_value == pytest.approx(0.0556734, abs=1e-6)


@pytest.mark.parametrize(("n1", "n2"), [(1, 1), (2, 3), (3, 3), (4, 2), (5, 4)])
def test_the_exact_distribution_equals_counting_every_ordering(n1: int, n2: int) -> None:
    counts = [0] * (n1 * n2 + 1)
    for group in itertools.combinations(range(n1 + n2), n1):
        counts[sum(1 for a in group for b in range(n1 + n2) if b not in group and a > b)] += 1
    assert exact_u_counts(n1, n2) == counts
    assert sum(counts) == math.comb(n1 + n2, n1)


@pytest.mark.parametrize("seed", range(8))
@pytest.mark.parametrize("alternative", ["greater", "less"])
def test_exact_p_values_equal_the_brute_force_oracle(seed: int, alternative: str) -> None:
    rng = random.Random(seed)
    values = rng.sample(range(1000), 9)
    canary, baseline = [float(v) for v in values[:4]], [float(v) for v in values[4:]]
    result = mann_whitney_u(canary, baseline, alternative=alternative)  # type: ignore[arg-type]
    assert result.method == "exact"
    assert result.p_value == pytest.approx(brute_force_p(canary, baseline, alternative))


def test_the_normal_approximation_is_close_to_the_exact_distribution_for_larger_samples() -> None:
    rng = random.Random(7)
    values = rng.sample(range(10_000), 40)
    canary, baseline = [v + 1500.0 for v in values[:20]], [float(v) for v in values[20:]]
    exact = mann_whitney_u(canary, baseline)
    canary_tied = [*canary, canary[0]]  # one tie forces the normal approximation
    approx = mann_whitney_u(canary_tied, baseline)
    assert exact.method == "exact" and approx.method == "normal"
    assert approx.p_value == pytest.approx(exact.p_value, abs=0.02)


def test_ties_share_ranks_and_equal_samples_give_no_evidence() -> None:
    assert ranks([3.0, 1.0, 3.0, 2.0]) == [3.5, 1.0, 3.5, 2.0]
    same = mann_whitney_u([1.0] * 5, [1.0] * 5)
    assert same.p_value == 1.0 and same.effect_size == 0.0


def test_the_tie_corrected_normal_p_is_close_to_the_permutation_oracle() -> None:
    canary, baseline = [3.0, 4.0, 4.0, 5.0, 6.0, 6.0], [1.0, 2.0, 2.0, 3.0, 4.0, 5.0]
    result = mann_whitney_u(canary, baseline)
    assert result.method == "normal"
    assert result.p_value == pytest.approx(brute_force_p(canary, baseline, "greater"), abs=0.015)


def test_no_samples_on_a_side_is_refused() -> None:
    with pytest.raises(ValueError, match="samples on both sides"):
        mann_whitney_u([], [1.0])
