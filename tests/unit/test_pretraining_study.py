"""The pretraining study without training: its design, the gain from pretraining and the headline
computed from a synthetic results table, the gain chart, and a model for every arm."""

import numpy as np
import pandas as pd
import pytest

from dae_core.analysis import stats, study_plots
from dae_core.studies import designs, evidence
from dae_core.studies.store import PRETRAINED


def test_the_design_has_every_arm_at_every_budget_and_seed_after_its_pretraining():
    design = designs.pretraining_study()
    arms = designs.pretraining_arms()
    assert len(arms) == 14 and design.axis == "labels" and design.name == "pretraining"
    assert [m.key for m in design.members[:3]] == ["pretrain/mlp-ae", "pretrain/fashion-ae", "pretrain/fashion-mae"]
    assert len(design.members) == 3 + 14 * len(designs.PRETRAIN_BUDGETS) * 3
    assert set(designs.PRETRAIN_BUDGETS) >= {100, 300, 1000, 3000}
    pretrain = {m.key: m.config for m in design.members if m.arm == "pretrain"}
    assert pretrain["pretrain/fashion-mae"]["noise_kind"] == "patches"
    assert pretrain["pretrain/fashion-mae"]["noise_level"] >= 0.5  # a large share masked
    assert pretrain["pretrain/fashion-ae"]["noise_kind"] == "gaussian"
    assert {c["task"] for c in pretrain.values()} == {"fashion_ae", "mlp_ae"}
    assert all(c["train_size"] is None and c["epochs"] == designs.PRETRAIN_EPOCHS for c in pretrain.values())
    keys = [m.key for m in design.members]
    for member in design.members:  # a prerequisite always comes before the members that need it
        if member.needs:
            assert keys.index(member.needs) < keys.index(member.key)


def test_every_arm_at_a_seed_gets_the_same_labelled_subset_and_step_budget():
    design = designs.pretraining_study()
    for labels in designs.PRETRAIN_BUDGETS:
        for seed in range(3):
            members = [m for m in design.members if m.setting.get("labels") == labels and m.seed == seed]
            assert len(members) == 14
            # train_size + seed pick the subset (datasets.subset) and the validation images
            assert {(m.config["train_size"], m.config["seed"]) for m in members} == {(labels, seed)}
            assert {m.config["epochs"] * m.config["steps_per_epoch"] for m in members} == \
                {designs.label_epochs(labels) * designs.STEPS_PER_EPOCH}
            assert {m.config["batch_size"] for m in members} == {designs.STEP_BATCH}
    by_key = {m.key: m for m in design.members}
    member = by_key["probe:fashion-mae/labels=100/seed=2"]
    assert member.config["task"] == "probe" and member.needs == "pretrain/fashion-mae"
    assert member.setting == {"labels": 100, "architecture": "probe", "pretraining": "fashion-mae"}
    assert by_key["head:random/labels=300/seed=0"].config["encoder_weights"] == "random"
    assert by_key["head:random/labels=300/seed=0"].config["task"] == "frozen_head"
    assert by_key["finetune:mnist-ae/labels=100/seed=0"].config["encoder_from"] is None  # shipped task1-seed
    assert by_key["finetune:mnist-ae/labels=100/seed=0"].config["task"] == "task3"
    assert by_key["mlp:fashion-ae/labels=100/seed=0"].config["encoder_from"] == f"{PRETRAINED}pretrain/mlp-ae"
    assert by_key["mlp:random/labels=100/seed=0"].config["encoder_weights"] == "random"


def test_a_smaller_design_trains_only_the_pretraining_its_arms_need():
    design = designs.pretraining_study(seeds=2, budgets=(100,), arms=("probe:fashion-mae", "probe:random"),
                                       epochs_scale=0.1, pretrain_size=2000)
    assert [m.key for m in design.members] == ["pretrain/fashion-mae", "probe:fashion-mae/labels=100/seed=0",
                                               "probe:random/labels=100/seed=0", "probe:fashion-mae/labels=100/seed=1",
                                               "probe:random/labels=100/seed=1"]
    assert design.members[0].config["epochs"] == 5 and design.members[0].config["train_size"] == 2000
    with pytest.raises(ValueError, match="unknown"):
        designs.pretraining_study(arms=("probe:imagenet",))
    assert designs.arm_title("head:fashion-mae") == "frozen encoder + small head, Fashion-MNIST masked autoencoder"


def synthetic_results(seeds: int = 3, effects=None, noise: float = 0.002) -> pd.DataFrame:
    """A results table like evidence.results gives: one row per member, with known gains."""
    effects = effects or {("probe", "fashion-mae"): {100: 0.12, 300: 0.08, 1000: 0.03}}
    rng = np.random.default_rng(0)
    rows = []
    for arm in designs.pretraining_arms():
        architecture, pretraining = arm.split(":")
        for labels in (100, 300, 1000, 3000):
            for seed in range(seeds):
                accuracy = 0.6 + 0.05 * np.log10(labels) + 0.01 * seed  # seeds differ alike for every arm
                accuracy += effects.get((architecture, pretraining), {}).get(labels, 0.0)
                rows.append({"key": f"{arm}/labels={labels}/seed={seed}", "arm": arm, "labels": labels,
                             "architecture": architecture, "pretraining": pretraining, "seed": seed,
                             "accuracy": accuracy + rng.normal(0, noise), "run": f"run-{len(rows)}"})
    return pd.DataFrame(rows)


def test_the_gain_is_pretrained_minus_random_weights_paired_by_seed():
    table = synthetic_results()
    gains = evidence.pretraining_gains(table)
    assert list(gains.columns) == ["architecture", "pretraining", "labels", "n", "mean", "low", "high", "p_value"]
    assert len(gains) == (3 * 3 + 1) * 4  # 3 pretrainings x 3 CNN architectures + the MLP's one, x 4 budgets
    assert "random" not in set(gains["pretraining"])
    row = gains[(gains.architecture == "probe") & (gains.pretraining == "fashion-mae") & (gains.labels == 100)].iloc[0]
    rows = table[(table.architecture == "probe") & (table.labels == 100)].set_index(["pretraining", "seed"])
    expected = stats.paired_test(rows.loc["fashion-mae"]["accuracy"], rows.loc["random"]["accuracy"])
    assert row["n"] == 3 and row["mean"] == pytest.approx(expected.mean_difference)
    assert (row["low"], row["high"]) == (pytest.approx(expected.low), pytest.approx(expected.high))
    assert row["mean"] == pytest.approx(0.12, abs=0.01) and row["low"] > 0
    untouched = gains[(gains.architecture == "finetune") & (gains.labels == 100)]
    assert (untouched["low"] < 0).all() and (untouched["high"] > 0).all()
    assert evidence.pretraining_gains(table.iloc[:0]).empty


def test_the_headline_names_the_largest_gain_with_its_interval_and_where_nothing_pays():
    gains = evidence.pretraining_gains(synthetic_results())
    headline = evidence.pretraining_headline(gains)
    best = gains[(gains.architecture == "probe") & (gains.pretraining == "fashion-mae") & (gains.labels == 100)].iloc[0]
    assert headline.startswith(f"Pretraining pays {100 * best['mean']:.1f} points at 100 labels (95% CI "
                               f"{100 * best['low']:.1f} to {100 * best['high']:.1f}) for a linear probe on the "
                               "in-domain masked autoencoder's frozen encoder")
    assert "at 3,000 labels" in headline  # where it fades
    assert "nothing measurable when" in headline and "the whole CNN is fine-tuned" in headline
    assert "the encoder is frozen under a linear head" not in headline


def test_the_headline_says_so_when_nothing_pays_or_when_pretraining_costs():
    nothing = evidence.pretraining_headline(evidence.pretraining_gains(synthetic_results(effects={(0, 0): {}})))
    assert nothing.startswith("No pretraining pays measurably at 100 labels")
    gains = evidence.pretraining_gains(synthetic_results(effects={("finetune", "mnist-ae"): {100: -0.05}}))
    worst = gains.loc[gains["mean"].idxmin()]
    assert (worst["architecture"], worst["pretraining"], worst["labels"]) == ("finetune", "mnist-ae", 100)
    assert (f"it costs {-100 * worst['mean']:.1f} points for the Task 3 CNN fine-tuned from the MNIST "
            "autoencoder at 100 labels") in evidence.pretraining_headline(gains)


def test_the_headline_gives_no_interval_under_three_seeds():
    for seeds in (1, 2):
        headline = evidence.pretraining_headline(evidence.pretraining_gains(synthetic_results(seeds=seeds)))
        assert headline.startswith(f"With {seeds} seed") and "no interval" in headline
        assert "CI" not in headline and "pays" not in headline
    assert "no gain to report" in evidence.pretraining_headline(evidence.pretraining_gains(pd.DataFrame()))


def test_the_gain_chart_draws_a_panel_per_architecture_a_band_and_line_per_pretraining_with_zero_marked():
    gains = evidence.pretraining_gains(synthetic_results())
    fig = study_plots.gain_chart(gains, architectures=designs.ARCHITECTURE_TITLES, pretrainings=designs.PRETRAINING_TITLES)
    lines = [t for t in fig.data if t.mode == "lines+markers"]
    assert len(lines) == 10 and len(fig.data) == 20  # a band under every line
    titles = [a.text for a in fig.layout.annotations]
    assert titles == [designs.ARCHITECTURE_TITLES[a] for a in ("probe", "head", "finetune", "mlp")]
    panels = {designs.ARCHITECTURE_TITLES[a]: axis for a, axis in zip(("probe", "head", "finetune", "mlp"),
                                                                      ("x", "x2", "x3", "x4"))}
    assert fig.layout.xaxis.type == "log" and list(fig.layout.xaxis.tickvals) == [100, 300, 1000, 3000]
    assert [s.y0 for s in fig.layout.shapes] == [0] * 4  # zero marked in each panel
    probe = next(t for t in lines if t.name == "Fashion-MNIST masked autoencoder"
                 and t.xaxis == panels["frozen encoder + linear head"])
    row = gains[(gains.architecture == "probe") & (gains.pretraining == "fashion-mae")].sort_values("labels")
    np.testing.assert_allclose(probe.y, 100 * row["mean"])  # in points
    np.testing.assert_allclose(probe.x, row["labels"])
    same_pretraining = [t for t in lines if t.name == "Fashion-MNIST masked autoencoder"]
    assert len({t.line.color for t in same_pretraining}) == 1 and len({t.xaxis for t in same_pretraining}) == 3
    assert sorted(t.name for t in lines if t.showlegend) == sorted(  # one legend entry per pretraining
        designs.PRETRAINING_TITLES[p] for p in ("mnist-ae", "fashion-ae", "fashion-mae"))


@pytest.mark.parametrize("task", ["probe", "frozen_head", "mlp", "mlp_ae"])
def test_every_new_task_builds_from_random_weights(task):
    from dae_core.training.config import make_config
    from dae_core.training.train import build_model

    config = make_config(task, "seed", **({} if task == "mlp_ae" else {"encoder_weights": "random"}))
    model = build_model(config, steps_per_epoch=10)
    expected = (None, 28, 28, 1) if task == "mlp_ae" else (None, 10)
    assert model.output_shape == expected
    if task in ("probe", "frozen_head"):
        assert not model.get_layer("encoder").trainable
