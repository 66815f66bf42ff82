"""The Compare page shows what dae_core computes for the chosen models, and says what to do
when a model file is missing."""

import shutil
from pathlib import Path

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from dae_core import settings
from dae_core.analysis import metrics, stats
from dae_core.data import datasets
from dae_core.models import catalog
from dae_core.models.builders import load_model

APP = str(Path(__file__).resolve().parents[2] / "app.py")


@pytest.fixture(scope="module")
def test_set():
    test = datasets.load_test_set("fashion-mnist")
    return test.x, test.y


def open_compare() -> AppTest:
    at = AppTest.from_file(APP, default_timeout=180)
    at.switch_page("pages/compare.py")
    return at.run()


def metric_value(at: AppTest, label: str) -> str:
    return next(m.value for m in at.metric if m.label == label)


def table_with(at: AppTest, column: str):
    """The shown table that has ``column`` (tables carry no key unless selectable)."""
    return next(df.value for df in at.dataframe if column in df.value.columns)


def test_compare_page_shows_the_figures_dae_core_computes(models_dir, test_set):
    at = open_compare()
    assert not at.exception
    assert at.selectbox(key="compare_model_a").value == "task2-seed (shipped)"
    assert at.selectbox(key="compare_model_b").value == "task3-seed (shipped)"
    x_test, y_test = test_set
    reports = {task: metrics.classifier_report(load_model(models_dir / f"{task}-seed.keras"),
                                                x_test, y_test) for task in ("task2", "task3")}
    for task, result in reports.items():
        assert metric_value(at, f"Test accuracy — {task}-seed") == f"{result.accuracy:.4f}"
    headline = table_with(at, "figure")
    figures = dict(zip(headline["figure"], headline["task2-seed"]))
    last_epoch = catalog.all_models(task="task2")[0].history[-1]
    assert figures["train accuracy, last epoch"] == pytest.approx(last_epoch["accuracy"])
    assert figures["validation loss, last epoch"] == pytest.approx(last_epoch["val_loss"])
    assert headline.loc[headline["figure"] == "test loss", "task3-seed"].item() == \
        pytest.approx(reports["task3"].loss, abs=1e-4)
    per_class = table_with(at, "better f1")
    assert list(per_class["class"][:10]) == list(datasets.FASHION_CLASSES)
    assert list(per_class["f1 task3-seed"]) == pytest.approx(list(reports["task3"].per_class["f1"]), abs=1e-6)
    assert set(per_class["better f1"]) <= {"task2-seed", "task3-seed", "="}
    mcnemar = stats.mcnemar(y_test, reports["task2"].y_pred, reports["task3"].y_pred)
    assert mcnemar.sentence("task2-seed", "task3-seed") in at.info[0].value
    assert f"{len(y_test):,}" in " ".join(c.value for c in at.caption)  # says which test set
    variants = table_with(at, "variant")
    assert len(variants) == 3 and variants["assignment test accuracy"].iloc[0] == 0.8266


def test_every_table_can_be_downloaded(models_dir):
    at = open_compare()
    keys = {button.key for button in at.get("download_button")}
    assert {"compare_csv_headline", "compare_csv_per_class", "compare_csv_variants",
            "compare_csv_confusion_task2-seed", "compare_csv_confusion_task3-seed"} <= keys


def test_a_newer_finished_run_can_be_picked(models_dir, monkeypatch):
    # The tiny models were shipped from runs kept beside them: those are finished runs.
    monkeypatch.setenv(settings.RUNS_DIR_ENV, str(models_dir.parent / "runs"))
    at = open_compare()
    run = next(e for e in catalog.all_models(task="task2") if e.source == "run")
    at.selectbox(key="compare_model_a").select(run.label).run()
    assert not at.exception
    assert any(m.label == f"Test accuracy — {run.name}" for m in at.metric)


def test_a_missing_model_file_says_what_to_do(tiny_models, use_models, tmp_path):
    broken = use_models(shutil.copytree(tiny_models, tmp_path / "models"))
    (broken / "task3-seed.keras").unlink()
    at = open_compare()
    assert not at.exception
    assert len(at.error) == 1
    assert "not found" in at.error[0].value and "train it first" in at.error[0].value


@pytest.fixture
def fresh_caches():
    """The page caches the test set for the process: start and leave with empty caches."""
    st.cache_resource.clear()
    st.cache_data.clear()
    yield
    st.cache_resource.clear()
    st.cache_data.clear()


def test_without_the_datasets_the_page_uses_the_bundled_test_set(models_dir, tmp_path, monkeypatch,
                                                                 fresh_caches):
    """A fresh clone evaluates on the same 10,000 test images as the README's figures."""
    monkeypatch.setenv(settings.DATA_DIR_ENV, str(tmp_path / "no-data"))
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "no-keras"))
    at = open_compare()
    assert not at.exception
    assert "Test images: 10,000 from the test set bundled with the project." in [c.value for c in at.caption]
    assert not at.warning and not at.error


def test_a_seeds_study_puts_means_and_intervals_beside_the_single_runs(models_dir, tmp_path, monkeypatch):
    import pandas as pd

    rows = [{"arm": arm, "seed": seed, "preset": preset, "accuracy": acc} for preset, arm, accs in
            (("seed", "task2", (0.921, 0.917, 0.924)), ("seed", "task3", (0.909, 0.911, 0.905)),
             ("improved", "task2", (0.95, 0.95, 0.95)))  # another preset's: not these models'
            for seed, acc in enumerate(accs)]
    (tmp_path / "studies" / "seeds").mkdir(parents=True)
    pd.DataFrame(rows).to_csv(tmp_path / "studies" / "seeds" / "results.csv", index=False)
    monkeypatch.setenv(settings.STUDIES_DIR_ENV, str(tmp_path / "studies"))
    at = open_compare()
    assert not at.exception
    summary = table_with(at, "high")
    task2 = summary[summary.arm == "task2"].iloc[0]
    assert task2["mean"] == pytest.approx(stats.mean_interval([0.921, 0.917, 0.924]).mean)
    assert any("does Task 3 beat Task 2?" in m.value and "task2 is ahead" in m.value for m in at.markdown)
    assert any("at the seed preset" in c.value for c in at.caption)
