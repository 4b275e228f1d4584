"""Statistics for the human study (paper §6, equation 1, Figure 9).

Pure functions on plain numbers so every figure in the analysis can be checked
by hand. The unit of analysis is the participant: trials of one person are not
independent, so intervals and tests resample or permute participants, and
only the Wilson interval (which assumes independent trials) works on trials.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

TRIALS_PER_PARTICIPANT = 20  # N in equation (1)


def equation1_accuracy(correct_per_participant: Sequence[int], trials: int = TRIALS_PER_PARTICIPANT) -> float:
    """Equation (1): Σ_i correct_i / (M × N), M participants, N pairs each (nan when M = 0)."""
    m = len(correct_per_participant)
    if m == 0:
        return float("nan")
    return float(sum(correct_per_participant)) / (m * trials)


def wilson_interval(successes: int, n: int, level: float = 0.95) -> tuple[float, float]:
    """Wilson score interval for a proportion; behaves at 0% and 100% where the normal one does not."""
    if n <= 0:
        return (float("nan"), float("nan"))
    from statsmodels.stats.proportion import proportion_confint

    lo, hi = proportion_confint(successes, n, alpha=1 - level, method="wilson")
    return (float(lo), float(hi))


def bootstrap_interval(
    scores: Sequence[float], trials: int = TRIALS_PER_PARTICIPANT, level: float = 0.95,
    n_boot: int = 10_000, seed: int = 0,
) -> tuple[float, float]:
    """Percentile bootstrap of equation (1) over participants (keeps each person's trials together)."""
    x = np.asarray(scores, dtype=float)
    if x.size < 2:
        return (float("nan"), float("nan"))
    rng = np.random.default_rng(seed)
    means = x[rng.integers(0, x.size, size=(n_boot, x.size))].mean(axis=1) / trials
    alpha = (1 - level) / 2
    return (float(np.quantile(means, alpha)), float(np.quantile(means, 1 - alpha)))


@dataclass(frozen=True)
class PermutationResult:
    difference: float  # mean(a) - mean(b)
    p_value: float
    exact: bool
    n_permutations: int


def permutation_test(
    a: Sequence[float], b: Sequence[float], n_resamples: int = 20_000, seed: int = 0,
    alternative: str = "two-sided",
) -> PermutationResult:
    """Two-sample permutation test of the difference in means (scipy; exact when it can enumerate).

    Exact means every relabelling of participants into groups of the observed
    sizes was tried, which happens when there are at most `n_resamples` of them.
    """
    from scipy import stats

    a_arr, b_arr = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    if a_arr.size == 0 or b_arr.size == 0:
        raise ValueError("permutation test needs at least one participant in each group")

    def diff(x: np.ndarray, y: np.ndarray, axis: int) -> np.ndarray:
        return np.mean(x, axis=axis) - np.mean(y, axis=axis)

    if min(a_arr.size, b_arr.size) == 1:  # scipy refuses one-person samples; enumerate the n+1 splits
        return _single_case_test(a_arr, b_arr, alternative)
    res = stats.permutation_test(
        (a_arr, b_arr), diff, permutation_type="independent", vectorized=True,
        n_resamples=n_resamples, alternative=alternative, rng=np.random.default_rng(seed),
    )
    total = math.comb(a_arr.size + b_arr.size, a_arr.size)
    exact = total <= n_resamples
    return PermutationResult(float(res.statistic), float(res.pvalue), exact, total if exact else n_resamples)


def _single_case_test(a: np.ndarray, b: np.ndarray, alternative: str) -> PermutationResult:
    """Exact test when one group has one participant: each person in turn plays the lone one."""
    pooled = np.concatenate([a, b])
    n, lone_is_a = pooled.size, a.size == 1
    sums = pooled.sum()
    lone = pooled  # every possible lone value
    rest = (sums - lone) / (n - 1)
    null = lone - rest if lone_is_a else rest - lone
    observed = float(a.mean() - b.mean())
    tol = 1e-9 * max(1.0, abs(observed))
    greater = float(np.mean(null >= observed - tol))
    less = float(np.mean(null <= observed + tol))
    p = {"greater": greater, "less": less}.get(alternative, min(1.0, 2 * min(greater, less)))
    return PermutationResult(observed, p, True, n)


def cohens_d(a: Sequence[float], b: Sequence[float]) -> float:
    """Standardised mean difference (a − b) / pooled SD; nan when it is undefined."""
    x, y = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    if x.size < 2 or y.size < 2:
        return float("nan")
    pooled = ((x.size - 1) * x.var(ddof=1) + (y.size - 1) * y.var(ddof=1)) / (x.size + y.size - 2)
    diff = x.mean() - y.mean()
    if pooled == 0:
        return float("nan") if diff == 0 else math.copysign(float("inf"), diff)
    return float(diff / math.sqrt(pooled))


def cliffs_delta(a: Sequence[float], b: Sequence[float]) -> float:
    """P(a > b) − P(a < b) over all pairs: a rank effect size that needs no normality."""
    x, y = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    if x.size == 0 or y.size == 0:
        return float("nan")
    cmp = np.sign(x[:, None] - y[None, :])
    return float(cmp.mean())


@dataclass(frozen=True)
class Detection:
    hit_rate: float
    false_alarm_rate: float
    dprime: float
    criterion: float


def dprime(hits: int, misses: int, false_alarms: int, correct_rejections: int) -> Detection:
    """Sensitivity d′ = z(H) − z(F) and criterion c = −(z(H) + z(F)) / 2.

    Convention: the signal is a pair of the same person, so a hit is "same"
    answered to a same pair and a false alarm is "same" answered to a pair of
    two people. Log-linear correction (Hautus 1995): 0.5 is added to the hit
    and false-alarm counts and 1 to the number of same and different pairs,
    for every participant, so perfect scores give finite values without
    favouring anyone. Positive c means a bias towards answering "different".
    """
    from scipy.stats import norm

    n_signal, n_noise = hits + misses, false_alarms + correct_rejections
    h = (hits + 0.5) / (n_signal + 1)
    f = (false_alarms + 0.5) / (n_noise + 1)
    zh, zf = float(norm.ppf(h)), float(norm.ppf(f))
    return Detection(h, f, zh - zf, -(zh + zf) / 2)


def participants_for_power(effect_size: float, power: float = 0.8, alpha: float = 0.05) -> int | None:
    """Participants per group a two-sided two-sample t-test needs to detect `effect_size` (Cohen's d).

    None when there is no finite, non-zero effect to detect.
    """
    if effect_size is None or not math.isfinite(effect_size) or abs(effect_size) < 1e-9:
        return None
    import warnings

    import statsmodels.tools.sm_exceptions  # noqa: F401 - imported first: it installs an "always" warning filter
    from statsmodels.stats.power import TTestIndPower

    analysis = TTestIndPower()
    d = abs(effect_size)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the root finder warns, and returns nan, for very large effects
        try:
            n = float(np.asarray(analysis.solve_power(effect_size=d, power=power, alpha=alpha, ratio=1.0)).item())
        except (ValueError, RuntimeError):
            n = float("nan")
        if math.isfinite(n) and n >= 2:
            return int(math.ceil(n - 1e-9))
        # large effects: the smallest group size (a t-test needs 2 per group) that reaches the power
        for size in range(2, 100_000):
            if analysis.power(effect_size=d, nobs1=size, alpha=alpha, ratio=1.0) >= power:
                return size
    return None


def holm(p_values: Sequence[float]) -> list[float]:
    """Holm–Bonferroni adjusted p-values (several comparisons on one study)."""
    if not p_values:
        return []
    from statsmodels.stats.multitest import multipletests

    return [float(p) for p in multipletests(list(p_values), method="holm")[1]]
