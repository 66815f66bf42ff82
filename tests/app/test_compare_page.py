"""The Compare page shows the shipped models' figures on the 10,000 test images (the same as
their manifest records), and says what to do when a model file is missing."""

import re
from pathlib import Path

import pandas as pd
import pytest
from scipy import stats as sps
from streamlit.testing.v1 import AppTest

from dae_core import settings
from dae_core.analysis import assignment, stats
from dae_core.data import datasets
from dae_core.models import catalog
from dashboard import loaders

APP = str(Path(__file__).resolve().parents[2] / "app.py")
A, B = "task2-seed", "task3-seed"


def open_compare() -> AppTest:
    at = AppTest.from_file(APP, default_timeout=180)
    at.switch_page("pages/compare.py")
    return at.run()


@pytest.fixture(scope="module")
def page(shipped_models, tmp_path_factory) -> AppTest:
    """One run of the page on the shipped models, for the tests that only read what it shows."""
    with pytest.MonkeyPatch.context() as env:
        env.setenv(settings.MODELS_DIR_ENV, str(shipped_models))
        env.setenv(settings.RUNS_DIR_ENV, str(tmp_path_factory.mktemp("runs")))
        at = open_compare()
    assert not at.exception, at.exception
    return at


def shipped(name: str) -> catalog.ModelEntry:
    return next(e for e in catalog.all_models() if e.name == name)


def metric(at: AppTest, label: str):
    return next(m for m in at.metric if m.label == label)


def table_with(at: AppTest, column: str):
    """The shown table that has ``column`` (tables carry no key unless selectable)."""
    return next(df.value for df in at.dataframe if column in df.value.columns)


def test_the_test_figures_are_those_the_manifest_records(models_dir, page):
    at = page
    assert not at.exception
    assert at.selectbox(key="compare_model_a").value == f"{A} (shipped)"
    assert at.selectbox(key="compare_model_b").value == f"{B} (shipped)"
    theirs = assignment.figure("test_accuracy")
    for name, their_accuracy in ((A, theirs.task2), (B, theirs.task3)):
        recorded = shipped(name).test["accuracy"]
        shown = metric(at, f"Test accuracy — {name}")
        assert shown.value == f"{recorded:.4f}"
        assert shown.delta == f"{recorded - their_accuracy:+.4f} against the assignment's"
    headline = table_with(at, "figure").set_index("figure")
    assert headline.loc["test loss", B] == pytest.approx(shipped(B).test["loss"], abs=1e-5)
    last_epoch = shipped(A).history[-1]
    assert headline.loc["train accuracy, last epoch", A] == pytest.approx(last_epoch["accuracy"])
    assert headline.loc["validation loss, last epoch", A] == pytest.approx(last_epoch["val_loss"])
    assert headline.loc["test accuracy", "assignment Task 2"] == 0.9160
    assert "Test images: 10,000 from " in " ".join(c.value for c in at.caption)


def test_per_class_figures_name_the_better_model_and_average_to_the_recorded_f1(models_dir, page):
    at = page
    per_class = table_with(at, "better f1")
    assert list(per_class["class"]) == [*datasets.FASHION_CLASSES, "macro avg"]
    assert list(per_class["support"][:10]) == [1000] * 10
    macro = per_class.iloc[-1]
    assert macro[f"f1 {A}"] == pytest.approx(shipped(A).test["macro_f1"], abs=1e-6)
    assert macro[f"f1 {B}"] == pytest.approx(shipped(B).test["macro_f1"], abs=1e-6)
    for _, row in per_class.iterrows():
        a, b = row[f"recall {A}"], row[f"recall {B}"]
        assert row["better recall"] == (A if a > b else B if b > a else "=")
    # recall per class is right / 1000: the classes' right answers add up to the test accuracy
    assert (per_class[f"recall {A}"][:10] * 1000).round().sum() == round(shipped(A).test["accuracy"] * 10_000)


def test_mcnemar_counts_agree_with_the_two_accuracies(models_dir, page):
    """Images only A gets right minus those only B gets right is A's right answers minus B's."""
    at = page
    sentence = at.info[0].value
    a, b = map(int, re.search(rf"{A} alone is right on (\d+) and {B} alone on (\d+)", sentence).groups())
    right = {name: round(shipped(name).test["accuracy"] * 10_000) for name in (A, B)}
    assert a - b == right[A] - right[B] == 119
    expected = stats.McNemarResult(a, b, sps.binomtest(a, a + b).pvalue, 10_000)
    assert sentence == f"McNemar's test: {expected.sentence(A, B)}"
    assert sentence.endswith(f"{A} is better.")


def test_the_variants_table_shows_the_shipped_variants_beside_the_assignments(models_dir, page):
    at = page
    variants = table_with(at, "variant")
    assert list(variants["model"]) == ["frozen_ae-seed", "unfrozen_ae-seed", "frozen_ae_noisy-seed"]
    assert list(variants["test accuracy"]) == [shipped(name).test["accuracy"] for name in variants["model"]]
    assert list(variants["assignment test accuracy"]) == [0.8266, 0.8196, 0.8333]


def test_every_table_can_be_downloaded(models_dir, page):
    at = page
    labels = {button.key: button.label for button in at.get("download_button")}
    for name in ("headline", "per_class", "variants", f"confusion_{A}", f"confusion_{B}"):
        assert labels[f"compare_csv_{name}"] == f"Download {name}.csv"


def test_a_missing_model_file_says_what_to_do(use_models, models_copy):
    folder = use_models(models_copy("task3"))  # no task2-seed.keras
    at = open_compare()
    assert not at.exception
    assert [e.value for e in at.error] == [
        f"model file {folder / 'task2-seed.keras'} not found; train it first or pick another."]


@pytest.fixture
def fresh_test_sets():
    """The page keeps the test sets for the process: load them afresh, in and after the test."""
    loaders.load_test_set.clear()
    yield
    loaders.load_test_set.clear()


def test_without_the_datasets_the_page_uses_the_bundled_test_set(models_dir, tmp_path, monkeypatch,
                                                                 fresh_test_sets):
    """A fresh clone evaluates on the same 10,000 test images as the README's figures."""
    monkeypatch.setenv(settings.DATA_DIR_ENV, str(tmp_path / "no-data"))
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "no-keras"))
    at = open_compare()
    assert not at.exception
    assert "Test images: 10,000 from the test set bundled with the project." in [c.value for c in at.caption]
    assert metric(at, f"Test accuracy — {A}").value == f"{shipped(A).test['accuracy']:.4f}"
    assert not at.warning and not at.error


def test_a_seeds_study_puts_means_and_intervals_beside_the_single_runs(models_dir, tmp_path, monkeypatch):
    rows = [{"arm": arm, "seed": seed, "preset": preset, "accuracy": acc} for preset, arm, accs in
            (("seed", "task2", (0.921, 0.917, 0.924)), ("seed", "task3", (0.909, 0.911, 0.905)),
             ("improved", "task2", (0.95, 0.95, 0.95)))  # another preset's: not these models'
            for seed, acc in enumerate(accs)]
    (tmp_path / "studies" / "seeds").mkdir(parents=True)
    pd.DataFrame(rows).to_csv(tmp_path / "studies" / "seeds" / "results.csv", index=False)
    monkeypatch.setenv(settings.STUDIES_DIR_ENV, str(tmp_path / "studies"))
    at = open_compare()
    assert not at.exception
    summary = table_with(at, "high").set_index("arm")
    assert summary.loc["task2", "n"] == 3  # the improved preset's rows left out
    assert summary.loc["task2", "mean"] == pytest.approx(stats.mean_interval([0.921, 0.917, 0.924]).mean)
    assert summary.loc["task3", "high"] == pytest.approx(stats.mean_interval([0.909, 0.911, 0.905]).high)
    finding = stats.verdict(stats.paired_test([0.909, 0.911, 0.905], [0.921, 0.917, 0.924]), "task3", "task2")
    assert "task2 is ahead by 1.2 points" in finding
    assert f"- does Task 3 beat Task 2? {finding}" in [m.value for m in at.markdown]
    assert ("Over several seeds at the seed preset (the seeds study): mean test accuracy with its 95% interval."
            in [c.value for c in at.caption])
