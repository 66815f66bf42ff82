"""Statistics for studies: intervals over seeds, paired arm comparisons, McNemar's test.

Pure numpy/scipy/pandas (no TensorFlow), so pages and the CLI can import it at once.
Values are 1-D: ``(n,)`` floats, one per member (training run); ``a[i]`` and ``b[i]`` of
a paired comparison share seed ``i``, i.e. the same data subset and initial shuffle.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    import pandas as pd

# scipy.stats and pandas take a while to import: they are imported inside the functions that use them,
# so importing this module stays near-instant (numpy only).
# Below 6 pairs the exact two-sided Wilcoxon p can never drop below 0.05 (n=5: 2/32),
# so reporting it would only suggest a check that cannot succeed.
WILCOXON_MIN_N = 6
# Below 3 seeds a 95% t interval is too wide to mean anything (2 seeds: t = 12.7 times the
# standard error): figures are shown without one, and without a claim.
INTERVAL_MIN_SEEDS = 3


@dataclass(frozen=True)
class Interval:
    """Mean of ``n`` values with its Student-t confidence interval.

    With ``n == 1`` there is no spread to estimate: ``std`` is NaN and ``low == high == mean``.
    """
    mean: float
    low: float
    high: float
    n: int
    std: float  # sample standard deviation (ddof=1)
    confidence: float = 0.95

    @property
    def half_width(self) -> float:
        return (self.high - self.low) / 2

    def format(self, decimals: int = 4) -> str:
        """``"0.9217 ± 0.0021 (95% CI, n=3)"``; a single value says it has no interval."""
        if self.n < 2:
            return f"{self.mean:.{decimals}f} (n=1, no interval)"
        return (f"{self.mean:.{decimals}f} ± {self.half_width:.{decimals}f} "
                f"({self.confidence:.0%} CI, n={self.n})")


def _values(values) -> np.ndarray:
    arr = np.asarray(values, dtype=np.float64).ravel()
    if not np.all(np.isfinite(arr)):
        raise ValueError("values must be finite (drop failed members first)")
    return arr


def mean_interval(values, confidence: float = 0.95) -> Interval:
    """Student-t interval of the mean of ``values`` ``(n,)``: mean ± t_{(1+c)/2, n-1} · s/√n.

    Raises ValueError for no values or non-finite ones; n == 1 gives std NaN and low == high.
    """
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must lie in (0, 1), got {confidence}")
    from scipy import special  # stdtrit is scipy.stats.t.ppf, without scipy.stats' slower import

    arr = _values(values)
    if arr.size == 0:
        raise ValueError("mean_interval needs at least one value")
    mean = float(arr.mean())
    if arr.size == 1:
        return Interval(mean, mean, mean, 1, float("nan"), confidence)
    std = float(arr.std(ddof=1))
    half = float(special.stdtrit(arr.size - 1, 0.5 + confidence / 2) * std / np.sqrt(arr.size))
    return Interval(mean, mean - half, mean + half, int(arr.size), std, confidence)


@dataclass(frozen=True)
class PairedTest:
    """Arm a against arm b over paired seeds; differences are a - b.

    ``p_value`` (paired t-test) is None below 2 pairs; ``wilcoxon_p`` is None below 6.
    """
    n: int
    mean_difference: float
    low: float
    high: float
    p_value: float | None
    wilcoxon_p: float | None
    confidence: float = 0.95


def paired_test(a, b, confidence: float = 0.95) -> PairedTest:
    """Paired comparison of ``a`` ``(n,)`` and ``b`` ``(n,)``, where index i is seed i for both.

    Pairing removes the seed-to-seed spread that both arms share, so it sees smaller effects
    than comparing two independent intervals. Identical arms (all differences 0) get p = 1.
    """
    from scipy import special

    a, b = _values(a), _values(b)
    if a.shape != b.shape:
        raise ValueError(f"paired values need equal lengths, got {a.size} and {b.size}")
    diff = a - b
    ci = mean_interval(diff, confidence)  # raises for n == 0
    p_value = wilcoxon_p = None
    if ci.n >= 2:
        # scipy gives NaN (0/0) when every difference is zero; no difference at all means p = 1.
        same = bool(np.all(diff == 0))
        # scipy.stats.ttest_rel's p, from the t distribution's CDF (scipy.special: no scipy.stats import)
        t = ci.mean / (ci.std / np.sqrt(ci.n)) if ci.std > 0 else np.copysign(np.inf, ci.mean)
        p_value = 1.0 if same else float(2 * special.stdtr(ci.n - 1, -abs(t)))
        if ci.n >= WILCOXON_MIN_N:
            from scipy import stats

            wilcoxon_p = 1.0 if same else float(stats.wilcoxon(diff, method="exact").pvalue)
    return PairedTest(ci.n, ci.mean, ci.low, ci.high, p_value, wilcoxon_p, confidence)


@dataclass(frozen=True)
class McNemarResult:
    """Discordant pairs of two classifiers on the same images and the exact McNemar p."""
    only_a_right: int
    only_b_right: int
    p_value: float
    n_images: int | None = None  # test images compared, for the sentence

    @property
    def significant(self) -> bool:
        return self.p_value < 0.05

    def sentence(self, name_a: str, name_b: str) -> str:
        """The result in plain words; names the better model only when significant."""
        a, b, p = self.only_a_right, self.only_b_right, self.p_value
        images = f"{self.n_images:,} test images" if self.n_images is not None else "test images"
        base = (f"On the same {images}, {name_a} alone is right on {a} and {name_b} alone "
                f"on {b} (p = {p:.3g}). ")
        if not self.significant:
            return base + "That difference could well be chance: neither model is shown to be better."
        better = name_a if a > b else name_b
        return base + f"A difference this large is unlikely by chance (p < 0.05): {better} is better."


def mcnemar(y_true, pred_a, pred_b) -> McNemarResult:
    """McNemar's test on paired predictions ``(N,)`` of two models for labels ``(N,)``.

    Exact two-sided binomial test on the discordant pairs (valid for any count);
    images both get right or both get wrong say nothing about which model is better.
    """
    y_true, pred_a, pred_b = map(np.asarray, (y_true, pred_a, pred_b))
    a_right, b_right = pred_a == y_true, pred_b == y_true
    only_a = int(np.sum(a_right & ~b_right))
    only_b = int(np.sum(~a_right & b_right))
    return McNemarResult(only_a, only_b, fair_binomial_p(only_a, only_a + only_b), int(y_true.size))


def fair_binomial_p(k: int, n: int) -> float:
    """The exact two-sided p of ``k`` successes in ``n`` trials of chance 1/2: ``scipy.stats.
    binomtest(k, n).pvalue``, summed in integers (no scipy.stats to import: a second of a page's
    time; a few ms at n = 10,000). Twice the smaller tail, at most 1."""
    if n == 0 or 2 * k == n:
        return 1.0
    k = min(k, n - k)
    term = total = 1  # C(n, 0)
    for i in range(1, k + 1):
        term = term * (n - i + 1) // i  # C(n, i), exact
        total += term
    return min(1.0, 2 * total / 2 ** n)


def summarise(table: pd.DataFrame, by: list[str], value: str, confidence: float = 0.95) -> pd.DataFrame:
    """Per group of ``by``: columns ``by + [n, mean, low, high, std]``, sorted by ``by``.

    ``table`` has one row per member. NaN values (failed or unfinished members) are left out
    and not counted in ``n``; a group with none left is dropped. NaN keys form their own group.
    """
    import pandas as pd

    rows = []
    for key, group in table.groupby(list(by), sort=True, dropna=False):
        values = group[value].dropna()
        if len(values):
            ci = mean_interval(values, confidence)
            rows.append([*key, ci.n, ci.mean, ci.low, ci.high, ci.std])
    return pd.DataFrame(rows, columns=[*by, "n", "mean", "low", "high", "std"])


def compare_arms(table: pd.DataFrame, arm_column: str, a, b, pair_on: list[str], value: str,
                 by: list[str] | None = None, confidence: float = 0.95) -> pd.DataFrame:
    """Arm ``a`` against arm ``b``, paired on ``pair_on`` (e.g. seed), per group of ``by``.

    ``by`` defaults to every other column of ``table`` (pass it when the table carries extra
    columns such as run ids). Returns ``by + [n, mean_difference, low, high, p_value,
    wilcoxon_p]`` sorted by ``by``; missing p-values are NaN. Members whose pair is missing
    (or whose value is NaN) are left out of their group; a group with no pair is dropped.
    Raises ValueError if an arm has two members with the same pairing key.
    """
    import pandas as pd

    pair_on = list(pair_on)
    by = [c for c in table.columns if c not in {arm_column, value, *pair_on}] if by is None else list(by)
    keys = [*by, *pair_on]
    sides = [table.loc[table[arm_column] == arm, keys + [value]].dropna(subset=[value]) for arm in (a, b)]
    if any(side.duplicated(keys).any() for side in sides):
        raise ValueError(f"an arm has several members for the same {keys}: pairs are ambiguous")
    pairs = sides[0].merge(sides[1], on=keys, suffixes=("_a", "_b")).sort_values(keys)
    columns = [*by, "n", "mean_difference", "low", "high", "p_value", "wilcoxon_p"]
    if by:
        groups = pairs.groupby(by, sort=True, dropna=False)
    else:  # nothing to group on: one comparison over all pairs, if there are any
        groups = [((), pairs)] if len(pairs) else []
    rows = []
    for key, group in groups:
        t = paired_test(group[f"{value}_a"], group[f"{value}_b"], confidence)
        p_values = [np.nan if p is None else p for p in (t.p_value, t.wilcoxon_p)]
        rows.append([*key, t.n, t.mean_difference, t.low, t.high, *p_values])
    return pd.DataFrame(rows, columns=columns)


def verdict(test: PairedTest, name_a: str, name_b: str, unit: str = "points", scale: float = 100,
            decimals: int = 1) -> str:
    """A paired comparison in plain words; differences are multiplied by ``scale``
    (accuracy 0.012 -> 1.2 points). The interval is shown from the leader's side."""
    if test.n < 2:
        return "Only one seed: no interval can be given; run more seeds."
    diff, low, high = (scale * x for x in (test.mean_difference, test.low, test.high))
    leader, trailer = name_a, name_b
    if diff < 0:  # speak of the leader's advantage, so flip the interval too
        leader, trailer, diff, low, high = name_b, name_a, -diff, -high, -low
    f = lambda x: f"{x:.{decimals}f}"  # noqa: E731
    lead = f"{leader} is ahead by {f(diff)} {unit}" if diff else f"{leader} and {trailer} are level"
    # p < 1 - confidence exactly when the t interval excludes 0, so sentence and interval agree.
    chance = ("is unlikely to be chance" if test.p_value < 1 - test.confidence
              else "could well be chance")
    return (f"Across {test.n} seeds, {lead} ({test.confidence:.0%} CI {f(low)} to {f(high)}; "
            f"paired t-test p = {test.p_value:.2g}): the difference {chance}.")
