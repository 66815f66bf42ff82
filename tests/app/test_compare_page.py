"""The Compare page shows the shipped models' figures on the 10,000 test images (the same as
their manifest records), says what each figure answers (which test is over the test images and
which over seeds, what mirror averaging and label smoothing change, where augmentation stops),
keeps the models' predictions on disk and what it computes from them in memory, draws one section
at a time, and says what to do when a model file is missing."""

import base64
import io
import json
import re
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PIL import Image
from scipy import stats as sps
from streamlit.testing.v1 import AppTest

from dae_core import settings
from dae_core.analysis import assignment, plots, predictions, report, stats
from dae_core.data import datasets
from dae_core.models import catalog
from dae_core.studies import evidence, store
from dashboard import loaders, runtime

APP = str(Path(__file__).resolve().parents[2] / "app.py")
A, B = "task2-seed", "task3-seed"


SECTIONS = ["Right and wrong images", "Training curves", "Per class", "Confusion matrices",
            "The assignment's variants"]


def open_compare(section: str | None = None) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=180)
    at.switch_page("pages/compare.py")
    at.run()
    return show_section(at, section) if section else at


def show_section(at: AppTest, section: str) -> AppTest:
    """Choose the tab ``section`` below the tests (the page runs only the open one)."""
    at.session_state["compare_section"] = section
    at.run()
    assert not at.exception, at.exception
    return at


@pytest.fixture(scope="module")
def page(shipped_models, tmp_path_factory) -> AppTest:
    """The page on the shipped models, for the tests that only read what it shows (each opens the
    section it reads: the folders stay set while the module's tests run)."""
    with pytest.MonkeyPatch.context() as env:
        env.setenv(settings.MODELS_DIR_ENV, str(shipped_models))
        env.setenv(settings.RUNS_DIR_ENV, str(tmp_path_factory.mktemp("runs")))
        at = open_compare()
        assert not at.exception, at.exception
        yield at


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
    at = show_section(page, "Per class")
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


def mcnemar_sentence(at: AppTest) -> str:
    return next(i.value for i in at.info if i.value.startswith("McNemar's test"))


def test_mcnemar_counts_agree_with_the_two_accuracies(models_dir, page):
    """Images only A gets right minus those only B gets right is A's right answers minus B's."""
    at = page
    sentence = mcnemar_sentence(at)
    a, b = map(int, re.search(rf"{A} alone is right on (\d+) and {B} alone on (\d+)", sentence).groups())
    right = {name: round(shipped(name).test["accuracy"] * 10_000) for name in (A, B)}
    assert a - b == right[A] - right[B] == 119
    expected = stats.McNemarResult(a, b, sps.binomtest(a, a + b).pvalue, 10_000)
    assert sentence == f"McNemar's test: {expected.sentence(A, B)}"
    assert sentence.endswith(f"{A} is better.")


def test_the_variants_table_shows_the_shipped_variants_beside_the_assignments(models_dir, page):
    at = show_section(page, "The assignment's variants")
    variants = table_with(at, "variant")
    assert list(variants["model"]) == ["frozen_ae-seed", "unfrozen_ae-seed", "frozen_ae_noisy-seed"]
    assert list(variants["test accuracy"]) == [shipped(name).test["accuracy"] for name in variants["model"]]
    assert list(variants["assignment test accuracy"]) == [0.8266, 0.8196, 0.8333]


def test_every_table_can_be_downloaded(models_dir, page):
    labels = {}
    for section in SECTIONS:
        labels.update({button.key: button.label for button in show_section(page, section).get("download_button")})
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


SEEDS = {"task2": (0.921, 0.917, 0.924), "task3": (0.909, 0.911, 0.905)}


@pytest.fixture
def seeds_study(tmp_path, monkeypatch) -> pd.DataFrame:
    """A seeds study at the seed preset (3 seeds), and one row of another preset's."""
    rows = [{"arm": arm, "seed": seed, "preset": preset, "accuracy": acc} for preset, arm, accs in
            (("seed", "task2", SEEDS["task2"]), ("seed", "task3", SEEDS["task3"]),
             ("improved", "task2", (0.95, 0.95, 0.95)))  # another preset's: not these models'
            for seed, acc in enumerate(accs)]
    (tmp_path / "studies" / "seeds").mkdir(parents=True)
    pd.DataFrame(rows).to_csv(tmp_path / "studies" / "seeds" / "results.csv", index=False)
    monkeypatch.setenv(settings.STUDIES_DIR_ENV, str(tmp_path / "studies"))
    return pd.DataFrame(rows[:6])


def test_a_seeds_study_puts_means_and_intervals_beside_the_single_runs(models_dir, seeds_study):
    at = open_compare()
    assert not at.exception
    summary = table_with(at, "high").set_index("arm")
    assert summary.loc["task2", "n"] == 3  # the improved preset's rows left out
    assert summary.loc["task2", "mean"] == pytest.approx(stats.mean_interval(SEEDS["task2"]).mean)
    assert summary.loc["task3", "high"] == pytest.approx(stats.mean_interval(SEEDS["task3"]).high)
    findings = evidence.findings(seeds_study)
    assert findings and "p = " in findings[0]
    assert "\n".join(f"- Over seeds (paired t-test): {f}" for f in findings) in [m.value for m in at.markdown]
    assert ("Over several seeds at the seed preset (the seeds study): mean test accuracy with its 95% interval."
            in [c.value for c in at.caption])


def test_each_p_value_says_which_test_it_is_and_over_what(models_dir, seeds_study):
    """McNemar's p is under "over the test images, these two models", the seeds study's under
    "over training seeds, the two recipes", and a caption says why both can hold."""
    at = open_compare()
    assert not at.exception
    markdown = [m.value for m in at.markdown]
    mcnemar_label = markdown.index("**McNemar's test, over the test images, for these two trained models**")
    seeds_label = markdown.index("**The seeds study's paired t-test, over training seeds, for the two recipes**")
    findings = next(i for i, m in enumerate(markdown) if m.startswith("- Over seeds (paired t-test): "))
    assert mcnemar_label < seeds_label < findings
    assert mcnemar_sentence(at).startswith(f"McNemar's test: On the same 10,000 test images, {A} alone is right on")
    assert "(p = " in mcnemar_sentence(at)
    why = next(c.value for c in at.caption if c.value.startswith("Why both can hold"))
    assert "these two models on 10,000 images" in why and "each seed is one observation" in why
    # the seed models neither average over the mirror nor smooth their labels: no such notes
    assert not any(m.startswith(("**Mirror averaging.**", "**Label smoothing.**")) for m in markdown)
    assert report.ONE_VIEW_FIGURE not in list(table_with(at, "figure")["figure"])


def test_without_a_seeds_study_the_page_says_how_to_run_it(models_dir, tmp_path, monkeypatch):
    monkeypatch.setenv(settings.STUDIES_DIR_ENV, str(tmp_path / "no-studies"))
    at = open_compare()
    assert not at.exception
    assert ("Not run at the seed preset: how far another seed would land is what the seeds study measures "
            "(`python -m dae_core study seeds --preset seed`, then the Studies page).") in [c.value for c in at.caption]
    assert not any(c.value.startswith("Why both can hold") for c in at.caption)


# --- a pair like the improved preset's, from kept predictions (no model is run) ------------------

MIRRORED = {"task2": "task2-mirror", "task3": "task3-mirror"}
SMOOTHING, EPOCHS, CLEAN = 0.1, 40, 0.25  # the improved preset's: plain images after epoch 30
RIGHT = {"task2-mirror": (9500, 9450), "task3-mirror": (9400, 9390)}  # right answers: mean, image alone


def probabilities(y: np.ndarray, right: int) -> np.ndarray:
    """(N, 10) probabilities that get the first ``right`` labels right and the rest wrong."""
    probs = np.full((len(y), 10), 0.02, np.float32)
    guess = np.where(np.arange(len(y)) < right, y, (y + 1) % 10)
    probs[np.arange(len(y)), guess] = 0.82
    return probs


@pytest.fixture
def mirrored_pair(shipped_models, use_models, tmp_path, monkeypatch, test_set):
    """Two classifiers listed as mirror-averaging, label-smoothed, augmented ones, whose test
    predictions are already kept on disk; running a model fails the test."""
    folder = tmp_path / "mirrored"
    folder.mkdir()
    test = test_set("fashion-mnist")
    key = predictions.test_set_key(test.x, test.y)
    monkeypatch.setenv(settings.CACHE_DIR_ENV, str(tmp_path / "cache"))
    entries = []
    for task, name in MIRRORED.items():
        shutil.copy2(shipped_models / f"{task}-seed.keras", folder / f"{name}.keras")
        history = [{"epoch": e, "loss": 0.9 - 0.01 * e, "accuracy": 0.8 + 0.004 * e,
                    "val_loss": 0.7, "val_accuracy": 0.9} for e in range(1, EPOCHS + 1)]
        entries.append({"name": name, "task": task, "preset": "improved", "file": f"{name}.keras",
                        "test": {}, "history": history,
                        "config": {"task": task, "preset": "improved", "epochs": EPOCHS, "augment": True,
                                   "clean_fraction": CLEAN, "label_smoothing": SMOOTHING, "arch": "improved"}})
        mean, alone = RIGHT[name]
        kept = predictions.Predictions(probabilities(test.y, mean), one_view=probabilities(test.y, alone))
        predictions.write_cache(predictions.cache_file(folder / f"{name}.keras", key), kept)
    (folder / "manifest.json").write_text(json.dumps({"models": entries}))
    use_models(folder)

    def no_model(*args, **kwargs):
        raise AssertionError("the kept predictions should have been used")
    monkeypatch.setattr(predictions, "compute", no_model)
    return folder


def chart(at: AppTest, key: str) -> dict:
    return json.loads(next(c for c in at.get("plotly_chart") if c.proto.id.endswith(key)).proto.spec)


def test_mirror_averaging_is_explained_beside_the_image_alone_figures(mirrored_pair):
    at = open_compare()
    assert not at.exception, at.exception
    a, b = MIRRORED["task2"], MIRRORED["task3"]
    theirs = assignment.figure("test_accuracy")
    assert metric(at, f"Test accuracy — {a}").value == "0.9500"
    alone = metric(at, f"Image alone — {a}")
    assert (alone.value, alone.delta) == ("0.9450", f"{0.9450 - theirs.task2:+.4f} against the assignment's")
    assert metric(at, f"Image alone — {b}").value == "0.9390"
    note = next(m.value for m in at.markdown if m.value.startswith("**Mirror averaging.**"))
    assert f"{a} and {b} predict the mean of the class probabilities for each image and for its mirror image" in note
    assert f"From the image alone: {a} 0.9450 (the mirror adds +0.50 points), {b} 0.9390" in note
    assert f'(the table\'s row "{report.ONE_VIEW_FIGURE}") beside theirs' in note
    headline = table_with(at, "figure").set_index("figure")
    assert headline.loc[report.ONE_VIEW_FIGURE, a] == pytest.approx(0.945)
    assert headline.loc[report.ONE_VIEW_FIGURE, "assignment Task 2"] == theirs.task2
    assert headline.loc["test accuracy", a] == pytest.approx(0.95)


def test_label_smoothing_explains_a_test_loss_below_the_training_loss(mirrored_pair):
    at = open_compare()
    assert not at.exception, at.exception
    a = MIRRORED["task2"]
    headline = table_with(at, "figure").set_index("figure")
    test_loss, train_loss = headline.loc["test loss", a], headline.loc["train loss, last epoch", a]
    assert test_loss < train_loss
    note = next(m.value for m in at.markdown if m.value.startswith("**Label smoothing.**"))
    assert "trained with label smoothing 0.1: each training target gives the right class 0.91 and each other class 0.01" in note
    assert f"which no model can bring below {report.smoothed_loss_floor(SMOOTHING):.3f}" in note  # 0.500
    assert f"{a}'s test loss {test_loss:.3f} sits below its training loss {train_loss:.3f}" in note


def test_the_curves_mark_where_each_model_stops_augmenting(mirrored_pair):
    at = open_compare("Training curves")
    assert not at.exception, at.exception
    switch = EPOCHS - round(EPOCHS * CLEAN)  # 30: the last epoch on augmented images
    for key in ("compare_curves_accuracy", "compare_curves_loss"):
        lines = [s for s in chart(at, key)["layout"]["shapes"] if s["type"] == "line"]
        assert [line["x0"] for line in lines] == [switch, switch]
    texts = [a["text"] for a in chart(at, "compare_curves_loss")["layout"]["annotations"]]
    assert texts == [f"{name}: plain images from here" for name in MIRRORED.values()]
    caption = next(c.value for c in at.caption if c.value.startswith("Dotted lines"))
    assert caption.startswith(f"Dotted lines ({MIRRORED['task2']} after epoch {switch}, "
                              f"{MIRRORED['task3']} after epoch {switch}): up to there the training images")
    assert "losses of a model trained with label smoothing are against smoothed labels" in caption


def test_the_seed_models_curves_have_no_switch(models_dir, page):
    at = show_section(page, "Training curves")
    assert not any(c.value.startswith("Dotted lines") for c in at.caption)
    assert not chart(at, "compare_curves_loss")["layout"].get("shapes")


def test_predictions_are_kept_on_disk_and_a_damaged_cache_file_is_predicted_afresh(models_copy, use_models,
                                                                                   tmp_path, monkeypatch):
    """The first open predicts and keeps both models' predictions; a later open (another server: the
    memory cleared) reads them; a damaged file is predicted again, never shown as an error."""
    use_models(models_copy("task2", "task3"))
    cache = tmp_path / "cache"
    monkeypatch.setenv(settings.CACHE_DIR_ENV, str(cache))
    first = open_compare()
    assert not first.exception
    kept = sorted((cache / "predictions").glob("*.npz"))
    assert len(kept) == 2
    sentence = mcnemar_sentence(first)

    loaders._kept.clear()  # a restarted server: only the disk remembers
    compute = predictions.compute
    monkeypatch.setattr(predictions, "compute", lambda *a, **k: pytest.fail("predicted again"))
    assert mcnemar_sentence(open_compare()) == sentence

    loaders._kept.clear()
    kept[0].write_bytes(kept[0].read_bytes()[:100])  # cut short
    ran = []
    monkeypatch.setattr(predictions, "compute", lambda *a, **k: ran.append(a[0]) or compute(*a, **k))
    again = open_compare()
    assert not again.exception and not again.error
    assert mcnemar_sentence(again) == sentence
    assert len(ran) == 1
    assert predictions.read_cache(kept[0], 10_000) is not None  # replaced by a whole one


# --- one section at a time, and what is computed kept in memory ---------------------------------

def images(at: AppTest) -> list[tuple[str, Image.Image]]:
    """The shown images (st.image): caption and picture."""
    shown = []
    for element in at.get("image"):
        for image in element.proto.imgs:
            header, data = image.url.split(",", 1)
            assert header == "data:image/png;base64"
            shown.append((image.caption, Image.open(io.BytesIO(base64.b64decode(data))).convert("RGB")))
    return shown


def test_only_the_open_section_runs_and_the_images_come_first_as_one_picture_per_model(models_dir):
    """The first view draws no chart: the right and wrong images are one PNG per model (a chart of 16
    images cost the browser seconds); another tab runs its section alone."""
    at = open_compare()
    assert not at.exception, at.exception
    assert [t.label for t in at.tabs] == SECTIONS
    assert not at.get("plotly_chart")
    shown = images(at)
    assert [caption.split(":")[0] for caption, _ in shown] == [A, B]
    assert "8 test images it gets right (top row) and 8 it gets wrong (bottom row)" in shown[0][0]
    right, wrong = (np.array(Image.new("RGB", (1, 1), color)).reshape(3) for color in
                    (plots.RIGHT_COLOR, plots.WRONG_COLOR))
    for _, picture in shown:
        pixels = np.asarray(picture)
        top, bottom = pixels[:len(pixels) // 2], pixels[len(pixels) // 2:]
        frames = {name: [int(np.all(half == color, axis=-1).sum()) for color in (right, wrong)]
                  for name, half in (("top", top), ("bottom", bottom))}
        assert frames["top"][0] > 8 * 400 and frames["top"][1] == 0  # 8 green frames, nothing red
        assert frames["bottom"][1] > 8 * 400 and frames["bottom"][0] == 0
    before = [np.asarray(picture) for _, picture in shown]
    at.number_input(key="compare_gallery_sample").set_value(1).run()
    assert not np.array_equal(np.asarray(images(at)[0][1]), before[0])  # other images

    show_section(at, "Confusion matrices")
    assert not at.get("image")
    charts = [c.proto.id for c in at.get("plotly_chart")]
    assert len(charts) == 2 and charts[0].endswith(f"compare_confusion_{A}") and charts[1].endswith(B)


def test_a_pair_seen_before_is_drawn_again_without_computing_or_tensorflow(models_dir, monkeypatch):
    """Another session (or a rerun) on a pair the server has shown: the comparison, its figures and
    image grids are kept in memory by model file, so nothing is computed again, and nothing waits for
    TensorFlow or loads a model."""
    first = open_compare()
    for section in SECTIONS:
        show_section(first, section)
    sentence = mcnemar_sentence(first)

    def computed(*args, **kwargs):
        raise AssertionError("computed again")
    for module, name in ((report, "comparison"), (plots, "training_curves"), (plots, "per_class_bars"),
                         (plots, "confusion_heatmap"), (predictions, "compute"), (predictions, "cached"),
                         (runtime, "wait_for_tensorflow"), (loaders, "load_predictor")):
        monkeypatch.setattr(module, name, computed)
    at = open_compare()
    assert not at.exception, at.exception
    assert mcnemar_sentence(at) == sentence
    assert len(images(at)) == 2
    for section in SECTIONS[1:]:
        show_section(at, section)
    assert table_with(at, "variant")["model"].tolist()[0] == "frozen_ae-seed"
    assert chart(show_section(at, "Confusion matrices"), f"compare_confusion_{A}")["data"][0]["type"] == "heatmap"


def test_a_retrained_model_file_is_compared_afresh(use_models, models_copy, monkeypatch, tmp_path):
    """The kept comparison is keyed by the model file: a file replaced under the same name (a new
    modification time and contents) is predicted and compared again."""
    folder = use_models(models_copy("task2", "task3"))
    monkeypatch.setenv(settings.CACHE_DIR_ENV, str(tmp_path / "cache"))
    sentence = mcnemar_sentence(open_compare())
    # task3-seed.keras replaced by the Task 2 model: the same predictions on both sides
    shutil.copyfile(folder / "task2-seed.keras", folder / "task3-seed.keras")  # a new modification time
    at = open_compare()
    assert not at.exception, at.exception
    assert mcnemar_sentence(at) != sentence
    assert f"{A} alone is right on 0 and {B} alone on 0 (p = 1)" in mcnemar_sentence(at)


def test_the_improved_pair_finds_its_own_seeds_study(mirrored_pair, tmp_path, monkeypatch):
    studies = tmp_path / "studies"
    monkeypatch.setenv(settings.STUDIES_DIR_ENV, str(studies))
    at = open_compare()
    assert ("Not run at the improved preset: how far another seed would land is what the seeds study measures "
            "(`python -m dae_core study seeds --preset improved --id seeds-improved --ship`, then the Studies "
            "page).") in [c.value for c in at.caption]
    improved = {"task2": (0.947, 0.946, 0.949), "task3": (0.944, 0.947, 0.945)}
    rows = [{"arm": arm, "seed": seed, "preset": "improved", "accuracy": acc}
            for arm, accs in improved.items() for seed, acc in enumerate(accs)]
    (studies / store.SEEDS_STUDIES["improved"]).mkdir(parents=True)
    pd.DataFrame(rows).to_csv(studies / store.SEEDS_STUDIES["improved"] / "results.csv", index=False)
    at = open_compare()
    assert not at.exception
    summary = table_with(at, "high").set_index("arm")
    assert summary.loc["task2", "n"] == 3
    assert summary.loc["task3", "mean"] == pytest.approx(stats.mean_interval(improved["task3"]).mean)
    assert ("Over several seeds at the improved preset (the seeds study): mean test accuracy with its 95% "
            "interval.") in [c.value for c in at.caption]
