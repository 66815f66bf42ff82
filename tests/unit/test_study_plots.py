"""The studies' figures carry the data they were given: one colour per arm in every figure, a band
only from 3 seeds on and clipped to what its quantity can be, differences in points, zero marked."""

import numpy as np
import pandas as pd
import pytest

from dae_core.analysis import stats, study_plots
from dae_core.studies import evidence


def lines(fig) -> dict:
    return {t.name: t for t in fig.data if t.mode == "lines+markers"}


def bands(fig) -> list:
    return [t for t in fig.data if t.fill == "toself"]


def members(seeds: int = 3, arms=("scratch", "random-init", "mnist-ae"), spread: float = 0.01) -> pd.DataFrame:
    """Label-efficiency-like members: scratch 5 points above random-init at 100 labels, mnist-ae level."""
    effect = {"scratch": {100: 0.05, 1000: 0.01}, "random-init": {}, "mnist-ae": {}}
    return pd.DataFrame([{"arm": arm, "labels": labels, "seed": seed,
                          "accuracy": 0.7 + 0.05 * (labels > 100) + spread * seed + effect[arm].get(labels, 0)
                          + 0.002 * ((seed * 7 + len(arm)) % 3)}
                         for arm in arms for labels in (100, 1000) for seed in range(seeds)])


def test_band_chart_draws_each_arms_mean_inside_its_interval_in_the_arms_colour():
    table = members()
    summary = stats.summarise(table, ["arm", "labels"], "accuracy")
    fig = study_plots.band_chart(summary, "labels", "arm", log_x=True, names={"scratch": "CNN"})
    line = lines(fig)["CNN"]
    assert fig.layout.xaxis.type == "log" and list(line.x) == [100, 1000]
    rows = summary[summary.arm == "scratch"]
    assert list(line.y) == pytest.approx(list(rows["mean"]))
    band = next(b for b in bands(fig) if b.legendgroup == "CNN")
    assert list(band.y) == pytest.approx(list(rows["high"]) + list(rows["low"])[::-1])
    assert line.line.color == band.fillcolor == study_plots.arm_color("scratch")


def test_a_band_is_clipped_to_what_accuracy_can_be():
    summary = pd.DataFrame({"arm": ["a", "a"], "labels": [100, 300], "n": [3, 3], "mean": [0.98, 0.5],
                            "low": [0.9, -0.2], "high": [1.3, 1.1], "std": [0.1, 0.3]})
    band = bands(study_plots.band_chart(summary, "labels", "arm"))[0]
    assert list(band.y) == [1.0, 1.0, 0.0, 0.9] and min(band.y) >= 0 and max(band.y) <= 1


def test_no_band_under_three_seeds_and_the_hover_says_why():
    summary = stats.summarise(members(seeds=2), ["arm", "labels"], "accuracy")
    fig = study_plots.band_chart(summary, "labels", "arm")
    assert not bands(fig) and len(lines(fig)) == 3
    assert all(c[0] == "intervals need 3 seeds or more" for t in fig.data for c in t.customdata)
    diffs = evidence.differences(members(seeds=2), "random-init", "labels")
    fig = study_plots.difference_chart(diffs, "labels", "random-init")
    assert not bands(fig) and len(lines(fig)) == 2


def test_the_difference_chart_draws_each_arm_minus_the_reference_in_points_with_zero_marked():
    table = members()
    diffs = evidence.differences(table, "random-init", "labels")
    names = {"scratch": "CNN from scratch", "random-init": "Task 3 from random weights", "mnist-ae": "Task 3 from MNIST"}
    fig = study_plots.difference_chart(diffs, "labels", "random-init", names)
    assert set(lines(fig)) == {"CNN from scratch", "Task 3 from MNIST"}  # the reference is the zero line
    scratch = table[table.arm == "scratch"].set_index(["labels", "seed"])["accuracy"]
    control = table[table.arm == "random-init"].set_index(["labels", "seed"])["accuracy"]
    expected = [stats.paired_test(scratch[b], control[b]) for b in (100, 1000)]
    np.testing.assert_allclose(lines(fig)["CNN from scratch"].y, [100 * t.mean_difference for t in expected])
    band = next(b for b in bands(fig) if b.legendgroup == "CNN from scratch")
    np.testing.assert_allclose(band.y, [100 * t.high for t in expected] + [100 * t.low for t in expected][::-1])
    assert [s.y0 for s in fig.layout.shapes] == [0]
    assert fig.layout.title.text.startswith("Difference from Task 3 from random weights")
    assert lines(fig)["CNN from scratch"].line.color == study_plots.arm_color("scratch")


def test_a_difference_band_is_clipped_to_what_a_difference_of_accuracies_can_be():
    diffs = pd.DataFrame({"arm": ["a"], "labels": [100], "n": [3], "mean": [0.6], "low": [-0.3], "high": [1.4]})
    band = bands(study_plots.difference_chart(diffs, "labels", "b"))[0]
    assert list(band.y) == [100.0, -30.0]


def test_an_arm_keeps_its_colour_in_every_figure():
    assert study_plots.arm_color("scratch") == study_plots.arm_color("task2") == study_plots.arm_color("task2-seed")
    assert study_plots.arm_color("mnist-ae") == study_plots.arm_color("probe:mnist-ae") == study_plots.arm_color("task3")
    assert study_plots.arm_color("random-init") == study_plots.arm_color("random")
    arms = ["scratch", "mnist-ae", "random-init", "fashion-ae", "fashion-mae", "frozen_ae", "unfrozen_ae",
            "frozen_ae_noisy"]
    assert len({study_plots.arm_color(a) for a in arms}) == len(arms)
    assert study_plots.arm_color("something new") == study_plots.arm_color("something new")  # fixed, not random
    # the same arm, charted alone or with others, in the same colour
    alone = stats.summarise(members(arms=("mnist-ae",)), ["arm", "labels"], "accuracy")
    both = stats.summarise(members(), ["arm", "labels"], "accuracy")
    colours = [lines(study_plots.band_chart(s, "labels", "arm"))["mnist-ae"].line.color for s in (alone, both)]
    assert colours[0] == colours[1]


def test_robustness_chart_has_a_panel_per_noise_and_a_line_per_model_in_its_tasks_colour():
    table = pd.DataFrame([{"model": m, "noise": k, "level": lv, "accuracy": 0.5}
                          for m in ("task2-seed", "task3-seed", "task3-improved")
                          for k in ("gaussian", "masking") for lv in (0.0, 0.3)])
    fig = study_plots.robustness_chart(table)
    assert len(fig.data) == 6 and [a.text for a in fig.layout.annotations] == ["gaussian", "masking"]
    assert sum(trace.showlegend for trace in fig.data) == 3
    by_model = {t.name: t for t in fig.data}
    assert by_model["task3-seed"].line.color == by_model["task3-improved"].line.color == study_plots.arm_color("task3")
    assert (by_model["task3-seed"].line.dash, by_model["task3-improved"].line.dash) == ("solid", "dash")
    assert list(fig.layout.yaxis.range) == [0, 1]
