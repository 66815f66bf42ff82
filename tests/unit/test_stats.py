"""Study statistics: t intervals, paired tests, McNemar, group summaries and verdicts."""

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats as sps

from dae_core.analysis import stats
from dae_core.analysis.stats import Interval, McNemarResult, PairedTest

VALUES = [0.91, 0.93, 0.92, 0.95]


# --- mean_interval -------------------------------------------------------------------

def test_mean_interval_matches_hand_computation_and_scipy():
    ci = stats.mean_interval(VALUES)
    mean = sum(VALUES) / 4
    s = math.sqrt(sum((v - mean) ** 2 for v in VALUES) / 3)
    half = sps.t.ppf(0.975, 3) * s / math.sqrt(4)
    assert (ci.n, ci.mean, ci.std) == (4, pytest.approx(mean), pytest.approx(s))
    assert all(type(x) is float for x in (ci.mean, ci.low, ci.high, ci.std))  # not np.float64
    assert (ci.low, ci.high) == (pytest.approx(mean - half), pytest.approx(mean + half))
    assert ci.half_width == pytest.approx(half)
    assert (ci.low, ci.high) == pytest.approx(sps.t.interval(0.95, 3, loc=mean, scale=sps.sem(VALUES)))


def test_mean_interval_other_confidence_is_wider_at_99():
    ci90, ci99 = stats.mean_interval(VALUES, 0.90), stats.mean_interval(VALUES, 0.99)
    assert (ci90.low, ci90.high) == pytest.approx(
        sps.t.interval(0.90, 3, loc=np.mean(VALUES), scale=sps.sem(VALUES)))
    assert ci99.half_width > ci90.half_width


def test_mean_interval_single_value_has_no_spread():
    ci = stats.mean_interval([0.9])
    assert (ci.n, ci.mean, ci.low, ci.high) == (1, 0.9, 0.9, 0.9)
    assert math.isnan(ci.std) and ci.half_width == 0
    assert ci.format() == "0.9000 (n=1, no interval)"


def test_mean_interval_rejects_empty_and_nan():
    with pytest.raises(ValueError):
        stats.mean_interval([])
    with pytest.raises(ValueError):
        stats.mean_interval([0.9, float("nan")])


def test_interval_format():
    assert Interval(0.92171, 0.92, 0.9238, 3, 0.001).format() == "0.9217 ± 0.0019 (95% CI, n=3)"
    assert Interval(0.5, 0.4, 0.6, 5, 0.1, 0.99).format(2) == "0.50 ± 0.10 (99% CI, n=5)"


# --- paired_test ---------------------------------------------------------------------

def test_paired_test_matches_ttest_rel_and_hand_case():
    a, b = [0.92, 0.94, 0.93], [0.90, 0.93, 0.90]  # differences 0.02, 0.01, 0.03
    t = stats.paired_test(a, b)
    half = sps.t.ppf(0.975, 2) * 0.01 / math.sqrt(3)  # s of the differences is exactly 0.01
    assert t.n == 3 and t.mean_difference == pytest.approx(0.02)
    assert (t.low, t.high) == (pytest.approx(0.02 - half), pytest.approx(0.02 + half))
    assert t.p_value == pytest.approx(sps.ttest_rel(a, b).pvalue)
    # t = 0.02 / (0.01 / sqrt 3) = 2 sqrt 3 on 2 degrees of freedom
    assert t.p_value == pytest.approx(2 * sps.t.sf(2 * math.sqrt(3), 2))
    assert t.wilcoxon_p is None


def test_wilcoxon_appears_from_six_pairs():
    rng = np.random.default_rng(0)
    a = rng.normal(0.9, 0.01, 6)
    b = a - np.array([0.01, 0.02, 0.015, 0.03, 0.005, 0.025])  # a wins all six
    assert stats.paired_test(a[:5], b[:5]).wilcoxon_p is None
    t = stats.paired_test(a, b)
    assert t.wilcoxon_p == pytest.approx(2 / 2 ** 6)  # exact: only all-positive is as extreme
    assert t.p_value == pytest.approx(sps.ttest_rel(a, b).pvalue)


def test_paired_test_small_and_degenerate_cases():
    one = stats.paired_test([0.9], [0.8])
    assert (one.n, one.p_value, one.wilcoxon_p) == (1, None, None)
    assert one.low == one.high == pytest.approx(0.1)
    same = stats.paired_test([0.9, 0.8, 0.7] * 2, [0.9, 0.8, 0.7] * 2)
    assert (same.mean_difference, same.p_value, same.wilcoxon_p) == (0, 1.0, 1.0)
    with pytest.raises(ValueError):
        stats.paired_test([0.9, 0.8], [0.9])
    with pytest.raises(ValueError):
        stats.paired_test([], [])


# --- McNemar -------------------------------------------------------------------------

def test_mcnemar_three_against_none():
    y = np.array([0, 1, 2, 3, 4, 5])
    a = np.array([0, 1, 2, 3, 9, 9])  # right on 0-3
    b = np.array([0, 9, 9, 9, 9, 5])  # right on 0 and 5
    r = stats.mcnemar(y, a, b)
    assert (r.only_a_right, r.only_b_right, r.n_images) == (3, 1, 6)
    assert r.p_value == pytest.approx(0.625)  # 2 * P(X >= 3 | 4, 1/2) = 2 * 5/16
    r = stats.mcnemar(y[:4], a[:4], b[:4])
    assert (r.only_a_right, r.only_b_right) == (3, 0)
    assert r.p_value == 0.25 and not r.significant  # 2 * (1/2)^3


def test_mcnemar_without_discordant_pairs():
    y = np.arange(5)
    r = stats.mcnemar(y, y, y)
    assert (r.only_a_right, r.only_b_right, r.p_value, r.significant) == (0, 0, 1.0, False)


def test_mcnemar_sentence_names_the_better_model_only_when_significant():
    strong = McNemarResult(319, 200, 2e-7, 10_000)
    assert strong.significant
    assert strong.sentence("task2-seed", "task3-seed") == (
        "On the same 10,000 test images, task2-seed alone is right on 319 and task3-seed alone "
        "on 200 (p = 2e-07). A difference this large is unlikely by chance (p < 0.05): "
        "task2-seed is better.")
    assert McNemarResult(10, 40, 1e-5).sentence("x", "y").endswith("y is better.")
    weak = McNemarResult(12, 9, 0.66).sentence("x", "y")
    assert weak.startswith("On the same test images,")
    assert weak.endswith("could well be chance: neither model is shown to be better.")
    assert "better." in weak and "x is better" not in weak and "y is better" not in weak


def test_mcnemar_real_predictions_detect_a_clear_winner():
    rng = np.random.default_rng(1)
    y = rng.integers(0, 10, 2000)
    good = np.where(rng.random(2000) < 0.95, y, (y + 1) % 10)
    bad = np.where(rng.random(2000) < 0.80, y, (y + 1) % 10)
    r = stats.mcnemar(y, good, bad)
    assert r.significant and r.only_a_right > r.only_b_right
    assert r.p_value == pytest.approx(
        sps.binomtest(r.only_a_right, r.only_a_right + r.only_b_right).pvalue)


@pytest.mark.parametrize("k, n", [(0, 0), (0, 1), (1, 2), (3, 7), (3, 8), (4, 8), (100, 219), (119, 319),
                                  (413, 532), (4999, 10_000), (5000, 10_001), (10, 5000)])
def test_mcnemar_p_is_scipys_exact_binomial_test(k, n):
    """Summed in integers without scipy.stats (a second to import on a page): the same p."""
    expected = sps.binomtest(k, n).pvalue if n else 1.0
    assert stats.fair_binomial_p(k, n) == pytest.approx(expected, rel=1e-9, abs=1e-300)
    assert stats.fair_binomial_p(n - k, n) == stats.fair_binomial_p(k, n)


# --- summarise / compare_arms ----------------------------------------------------------

ACC = {("dae", 100): [0.71, 0.74, 0.72], ("dae", 1000): [0.86, 0.87, 0.88],
       ("scratch", 100): [0.62, 0.66, 0.61], ("scratch", 1000): [0.85, 0.88, 0.86]}


def members() -> pd.DataFrame:
    """2 arms x 2 label budgets x 3 seeds, listed out of order on purpose."""
    rows = [{"arm": arm, "labels": labels, "seed": seed, "accuracy": acc}
            for (arm, labels), accs in ACC.items() for seed, acc in enumerate(accs)]
    return pd.DataFrame(rows[::-1])


def test_summarise_matches_mean_interval():
    out = stats.summarise(members(), ["arm", "labels"], "accuracy")
    assert list(out.columns) == ["arm", "labels", "n", "mean", "low", "high", "std"]
    assert list(zip(out["arm"], out["labels"])) == sorted(ACC)
    for row in out.itertuples():
        ci = stats.mean_interval(ACC[(row.arm, row.labels)])
        assert row.n == 3
        assert (row.mean, row.low, row.high, row.std) == pytest.approx((ci.mean, ci.low, ci.high, ci.std))


def test_summarise_leaves_out_nan_members():
    table = members()
    table.loc[(table.arm == "dae") & (table.labels == 100) & (table.seed == 2), "accuracy"] = np.nan
    out = stats.summarise(table, ["arm", "labels"], "accuracy").set_index(["arm", "labels"])
    assert out.loc[("dae", 100), "n"] == 2
    assert out.loc[("dae", 100), "mean"] == pytest.approx(0.725)


def test_compare_arms_matches_paired_test():
    out = stats.compare_arms(members(), "arm", "dae", "scratch", ["seed"], "accuracy")
    assert list(out.columns) == ["labels", "n", "mean_difference", "low", "high", "p_value", "wilcoxon_p"]
    assert list(out["labels"]) == [100, 1000]
    for row in out.itertuples():
        t = stats.paired_test(ACC[("dae", row.labels)], ACC[("scratch", row.labels)])
        assert row.n == 3
        assert (row.mean_difference, row.low, row.high, row.p_value) == pytest.approx(
            (t.mean_difference, t.low, t.high, t.p_value))
        assert math.isnan(row.wilcoxon_p)
    # the sign follows a - b
    back = stats.compare_arms(members(), "arm", "scratch", "dae", ["seed"], "accuracy")
    assert list(back["mean_difference"]) == pytest.approx(list(-out["mean_difference"]))


def test_compare_arms_leaves_out_members_without_a_pair():
    table = members()
    # dae seed 1 at 100 labels lost; scratch gains an unpaired seed 7 at 1000 labels
    table = table[~((table.arm == "dae") & (table.labels == 100) & (table.seed == 1))]
    extra = pd.DataFrame([{"arm": "scratch", "labels": 1000, "seed": 7, "accuracy": 0.99}])
    table = pd.concat([table, extra], ignore_index=True)
    out = stats.compare_arms(table, "arm", "dae", "scratch", ["seed"], "accuracy").set_index("labels")
    assert list(out["n"]) == [2, 3]
    t = stats.paired_test([0.71, 0.72], [0.62, 0.61])  # seeds 0 and 2
    assert out.loc[100, "mean_difference"] == pytest.approx(t.mean_difference)
    assert out.loc[100, "p_value"] == pytest.approx(t.p_value)
    t = stats.paired_test(ACC[("dae", 1000)], ACC[("scratch", 1000)])  # seed 7 ignored
    assert out.loc[1000, "mean_difference"] == pytest.approx(t.mean_difference)


def test_compare_arms_explicit_by_and_errors():
    table = members().assign(run_id=lambda t: range(len(t)))  # a column that must not group
    out = stats.compare_arms(table, "arm", "dae", "scratch", ["seed"], "accuracy", by=["labels"])
    assert list(out["n"]) == [3, 3]
    one = stats.compare_arms(table[table.labels == 100], "arm", "dae", "scratch", ["seed"],
                             "accuracy", by=[])
    assert list(one.columns)[0] == "n" and one["n"].tolist() == [3]
    single = stats.compare_arms(table[table.seed == 0], "arm", "dae", "scratch", ["seed"],
                                "accuracy", by=["labels"])
    assert single["n"].tolist() == [1, 1] and single["p_value"].isna().all()
    dup = pd.concat([members(), members().iloc[:1]])
    with pytest.raises(ValueError, match="ambiguous"):
        stats.compare_arms(dup, "arm", "dae", "scratch", ["seed"], "accuracy")


# --- verdict -------------------------------------------------------------------------

def test_verdict_significant():
    text = stats.verdict(PairedTest(3, 0.012, 0.004, 0.020, 0.02, None), "A", "B")
    assert text == ("Across 3 seeds, A is ahead by 1.2 points (95% CI 0.4 to 2.0; paired t-test "
                    "p = 0.02): the difference is unlikely to be chance.")


def test_verdict_chance_and_flipped_leader():
    text = stats.verdict(PairedTest(5, -0.003, -0.011, 0.005, 0.41, None), "A", "B")
    assert text == ("Across 5 seeds, B is ahead by 0.3 points (95% CI -0.5 to 1.1; paired t-test "
                    "p = 0.41): the difference could well be chance.")


def test_verdict_single_seed_and_real_test():
    one = stats.paired_test([0.9], [0.8])
    assert stats.verdict(one, "A", "B") == "Only one seed: no interval can be given; run more seeds."
    t = stats.paired_test([0.92, 0.94, 0.93], [0.90, 0.93, 0.90])
    assert "A is ahead by 2.0 points" in stats.verdict(t, "A", "B")
    assert "could well be chance" in stats.verdict(t, "A", "B")  # p = 0.074, interval spans 0
    strong = stats.paired_test([0.92, 0.94, 0.93, 0.95], [0.90, 0.919, 0.911, 0.93])
    assert "unlikely to be chance" in stats.verdict(strong, "A", "B")
    # the sentence agrees with the interval: significant exactly when it excludes 0
    for test in (t, strong):
        assert test.p_value < 0.05 and test.low > 0 or test.p_value >= 0.05 and test.low <= 0
