"""What the Studies page says, computed from the results: one headline per study, the differences
from the reference arm, the compact table and the per-comparison sentences, in plain arm names and
without an interval under 3 seeds."""

import re

import pandas as pd
import pytest

from dae_core import settings
from dae_core.analysis import robustness, stats
from dae_core.studies import designs, evidence

SHIPPED = settings.PROJECT_ROOT / "studies"


def internal_names(text: str) -> list[str]:
    """The arms' internal names in ``text`` (never shown to people; "from scratch" is plain words)."""
    return re.findall(r"random-init|mnist-ae|fashion-ae|(?<!from )\bscratch\b", text)


def shipped(name: str) -> pd.DataFrame:
    return pd.read_csv(SHIPPED / name / "results.csv")


def test_the_label_efficiency_headline_is_the_readmes_answer_computed_from_the_shipped_results():
    table = shipped("label-efficiency")
    headline = evidence.headline("label-efficiency", table, "labels")
    lead = stats.compare_arms(table, "arm", "scratch", "mnist-ae", ["seed"], "accuracy", by=["labels"]).iloc[0]
    assert headline.startswith("Does the autoencoder's encoder help? No: neither autoencoder's encoder beats "
                               "Task 3 from random weights at any of 6 budgets (100 to 48,000 labels")
    assert (f"Task 2 CNN from scratch leads Task 3 from the MNIST autoencoder by {100 * lead['mean_difference']:.1f} "
            f"points at 100 labels (95% CI {100 * lead['low']:.1f} to {100 * lead['high']:.1f})") in headline
    assert "4.9 points at 100 labels (95% CI 1.1 to 8.8)" in headline  # the README's figure
    assert not internal_names(headline)


def test_the_label_efficiency_headline_says_yes_when_an_encoder_pays_and_gives_no_interval_under_three_seeds():
    table = shipped("label-efficiency")
    boosted = table.assign(accuracy=table["accuracy"] + 0.08 * (table["arm"] == "mnist-ae") * (table["labels"] == 100))
    assert evidence.label_efficiency_headline(boosted).startswith(
        "Does the autoencoder's encoder help? Yes: Task 3 from the MNIST autoencoder leads Task 3 from random "
        "weights by 6.1 points at 100 labels (95% CI 2.2 to 10.0)")
    two = evidence.label_efficiency_headline(table[table.seed < 2])
    assert two.startswith("With 2 seeds per arm there is no interval yet (intervals need 3 seeds or more)")
    assert "CI" not in two and "help?" not in two
    demo = evidence.label_efficiency_headline(table[table.arm.isin(["scratch", "random-init"])])
    assert demo.startswith("Task 2 CNN from scratch leads Task 3 from random weights by 3.1 points at 100 labels")
    assert evidence.label_efficiency_headline(table.iloc[:0]).startswith("No member has finished")


def test_differences_are_each_arm_minus_the_reference_paired_by_seed():
    table = shipped("label-efficiency")
    diffs = evidence.differences(table, "random-init", "labels")
    assert set(diffs["arm"]) == {"scratch", "mnist-ae", "fashion-ae"} and len(diffs) == 3 * 6
    row = diffs[(diffs.arm == "scratch") & (diffs.labels == 100)].iloc[0]
    by = table[table.labels == 100].pivot_table(index="seed", columns="arm", values="accuracy")
    test = stats.paired_test(by["scratch"], by["random-init"])
    assert (row["n"], row["mean"], row["low"], row["high"]) == (3, pytest.approx(test.mean_difference),
                                                                pytest.approx(test.low), pytest.approx(test.high))
    assert evidence.differences(table, "nobody", "labels").empty


def test_the_compact_table_is_budgets_by_arms_of_mean_and_half_width_in_points_under_plain_names():
    table = shipped("label-efficiency")
    compact = evidence.compact_table(table, "labels")
    assert list(compact.columns) == ["labels"] + [designs.ARM_TITLES[a] for a in ("scratch", "mnist-ae",
                                                                                 "random-init", "fashion-ae")]
    assert list(compact["labels"]) == [100, 300, 1000, 3000, 10_000, 48_000]
    ci = stats.mean_interval(table[(table.arm == "scratch") & (table.labels == 100)]["accuracy"])
    assert compact.iloc[0, 1] == f"{100 * ci.mean:.1f} ± {100 * ci.half_width:.1f}" == "73.0 ± 3.7"
    two = evidence.compact_table(table[table.seed < 2], "labels")
    assert two.iloc[0, 1].endswith("(n=2)") and "±" not in "".join(two.iloc[:, 1:].to_numpy().ravel())
    seeds = evidence.compact_table(shipped("seeds"))
    assert list(seeds["arm"]) == [designs.ARM_TITLES["task2"], designs.ARM_TITLES["task3"]]


def test_the_sentences_use_plain_names_and_give_no_interval_under_three_seeds():
    table = shipped("label-efficiency")
    sentences = evidence.findings(table, "labels")
    assert len(sentences) == 4 * 6  # four questions at six budgets
    assert "Task 2 CNN from scratch is ahead by 4.9 points (95% CI 1.1 to 8.8" in sentences[0]
    for sentence in sentences:
        answer = sentence.split("? ", 1)[1]  # the questions are the page's own words
        assert not internal_names(answer)
    few = evidence.findings(table[table.seed < 2], "labels")
    assert few and all("no interval: intervals need 3 seeds or more" in s and "CI" not in s for s in few)


def test_the_seeds_headline_gives_both_means_and_the_paired_difference():
    table = shipped("seeds")
    headline = evidence.headline("seeds", table)
    task2, task3 = (table[table.arm == a]["accuracy"].mean() for a in ("task2", "task3"))
    assert headline.startswith(f"Over 3 seeds at the seed preset, Task 2 CNN reaches {task2:.4f} test accuracy and "
                               f"Task 3 (MNIST autoencoder's encoder, fine-tuned) {task3:.4f}: Task 2 CNN is ahead "
                               "by 1.5 points (95% CI -0.1 to 3.1; paired t-test p = 0.056)")
    assert "no interval yet" in evidence.headline("seeds", table[table.seed < 2])


def test_the_variants_headline_ranks_them_and_claims_no_interval_from_one_seed():
    headline = evidence.headline("variants", shipped("variants"))
    assert headline.startswith("From best to worst, with 1 seed each (no 95% intervals: intervals need 3 seeds "
                               "or more): autoencoder under the Task 2 CNN, all retrained 0.9058;")
    assert "CI" not in headline and "±" not in headline


def test_the_robustness_headline_names_the_most_robust_model_per_noise_kind():
    table = shipped("robustness")
    headline = robustness.headline(table)
    assert headline == evidence.headline("robustness", table)
    assert headline.startswith("Under each noise kind's heaviest level, the most accuracy is kept by task3-seed "
                               "for 2 of the 5 kinds (gaussian 0.5: 0.343 against task2-seed's 0.185;")
    assert headline.endswith("single models, no intervals.")


def test_the_pretraining_headline_and_sentences_come_from_the_gains():
    table = pd.DataFrame([{"arm": f"probe:{p}", "architecture": "probe", "pretraining": p, "labels": labels,
                           "seed": seed, "accuracy": 0.6 + 0.01 * seed + (0.1 if p == "fashion-ae" else 0)
                           + 0.003 * ((seed * len(p)) % 5)}
                          for p in ("fashion-ae", "random") for labels in (100, 300) for seed in range(3)])
    gains = evidence.pretraining_gains(table)
    assert evidence.headline("pretraining", table, "labels") == evidence.pretraining_headline(gains)
    sentences = evidence.gain_sentences(gains)
    assert len(sentences) == 2 and sentences[0].startswith(
        "With 100 labels, a linear probe on the in-domain autoencoder's frozen encoder: 9.7 points over the same model from random weights (95% CI 9.0 to 10.4; 3 seeds).")
    assert "95% CI" in sentences[0]
    few = evidence.gain_sentences(evidence.pretraining_gains(table[table.seed < 2]))
    assert all("no interval: intervals need 3 seeds or more; 2 seeds" in s for s in few)


def test_each_arm_is_set_against_the_same_arm_of_another_study_paired_by_seed():
    reference = shipped("seeds")
    shifted = reference.assign(accuracy=reference.accuracy + [0.001, -0.002, 0.004, 0.0, 0.05, 0.05])
    table = evidence.against(shifted, reference).set_index("arm")
    task2 = reference[reference.arm == "task2"].accuracy
    assert table.loc["task2", "difference"] == pytest.approx((0.001 + 0.004 + 0.05) / 3)
    assert table.loc["task2", "reference_mean"] == pytest.approx(task2.mean())
    assert table.loc["task2", "n"] == 3
    assert table.loc["task3", "difference"] == pytest.approx((-0.002 + 0.0 + 0.05) / 3)
    # A copy of the reference lies inside its own interval; a 10-point drop does not.
    assert evidence.against(reference, reference)["within"].all()
    assert not evidence.against(reference.assign(accuracy=reference.accuracy - 0.1), reference)["within"].any()


def test_a_seeds_study_of_one_autoencoder_reads_its_psnr_with_its_interval():
    design = designs.seeds_study(tasks=("task1",))
    assert design.value == "psnr_denoised" and {m.arm for m in design.members} == {"task1"}
    with pytest.raises(ValueError, match="autoencoders or classifiers"):
        designs.seeds_study(tasks=("task1", "task2"))
    table = pd.DataFrame({"arm": "task1", "seed": [0, 1, 2], "preset": "seed", "psnr_denoised": [16.0, 16.2, 16.1]})
    headline = evidence.headline("seeds", table, value="psnr_denoised")
    assert headline.startswith("Over 3 seeds, Task 1 autoencoder reaches 16.1000 test psnr_denoised (95% CI")


def test_a_design_in_another_precision_changes_only_the_precision():
    from dae_core.studies import store

    design = designs.seeds_study()
    bfloat16 = store.with_precision(design, "bfloat16")
    assert {m.config["precision"] for m in bfloat16.members} == {"bfloat16"}
    assert [{**m.config, "precision": "auto"} for m in bfloat16.members] == [m.config for m in design.members]
