"""The Overview page says what is loaded and from where, with a card per model."""

import json
from pathlib import Path

from streamlit.testing.v1 import AppTest

from dae_core import settings
from dae_core.data import datasets
from dae_core.models import catalog, device
from dashboard import runtime
from dashboard.navigation import PAGES

APP = str(Path(__file__).resolve().parents[2] / "app.py")


def open_overview() -> AppTest:
    return AppTest.from_file(APP, default_timeout=180).run()  # the default page


def test_overview_shows_sources_device_and_links(models_dir, tmp_path, monkeypatch):
    data = tmp_path / "data"
    for name in datasets.DATASETS:  # where the datasets' files are, the Overview looks only
        (data / name).mkdir(parents=True)
        (data / name / datasets.IDX_FILES["train_images"]).touch()
    monkeypatch.setenv(settings.DATA_DIR_ENV, str(data))
    shipped = len(json.loads((models_dir / "manifest.json").read_text())["models"])
    runtime.wait_for_tensorflow()
    at = open_overview()
    assert not at.exception
    assert at.title[0].value == "DAE Lab"
    status = next(m.value for m in at.markdown if "**Device:**" in m.value)
    assert status.splitlines() == [
        f"- **Device:** {device.device_description()}",
        f"- **Models:** {shipped} shipped from `{models_dir}`, 0 finished runs from `{tmp_path / 'runs'}`",
        f"- **mnist:** full dataset, folder {data}",
        f"- **fashion-mnist:** full dataset, folder {data}"]
    assert {link.label for link in at.get("page_link")} == {"Train", "Runs", "Denoise", "Latent space", "Compare", "Garment", "Studies"}


def test_without_the_datasets_the_overview_says_the_test_sets_are_the_bundled_ones(models_dir, tmp_path,
                                                                                  monkeypatch):
    monkeypatch.setenv(settings.DATA_DIR_ENV, str(tmp_path / "no-data"))
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "no-keras"))
    at = open_overview()
    status = next(m.value for m in at.markdown if "**Device:**" in m.value)
    for name in datasets.DATASETS:
        assert (f"- **{name}:** the bundled test set only (training downloads the data through Keras "
                f"when online, or set {settings.DATA_DIR_ENV} to a folder holding it)") in status.splitlines()


def test_a_card_per_model_with_its_recorded_test_figures(models_dir):
    at = open_overview()
    names = " ".join(m.value for m in at.markdown)
    values = [(m.label, m.value) for m in at.metric]
    for entry in catalog.all_models():
        assert f"**{entry.name}**" in names
        if entry.task == "task1":
            assert ("PSNR denoised, dB", f"{entry.test['psnr_denoised']:.2f}") in values
        else:
            assert ("Test accuracy", f"{entry.test['accuracy']:.4f}") in values
            assert ("Test loss", f"{entry.test['loss']:.4f}") in values


def test_without_models_the_page_says_how_to_get_them(use_models, tmp_path):
    use_models(tmp_path / "none")
    at = open_overview()
    assert not at.exception
    assert "git checkout models/" in at.warning[0].value


def test_a_damaged_manifest_is_reported_not_raised(use_models, tmp_path):
    (use_models(tmp_path) / "manifest.json").write_text("{not json")
    at = open_overview()
    assert not at.exception
    assert not at.error and len(at.sidebar.warning) == 1 and catalog.RESTORE_HINT in at.sidebar.warning[0].value


def test_the_tasks_are_mapped_to_the_pages_that_show_them_and_a_first_path_is_suggested(models_dir):
    at = open_overview()
    assert not at.exception
    texts = [m.value for m in at.markdown]
    tasks = [text for text in texts if text.startswith("**Task ")]
    assert [text.split("**")[1] for text in tasks] == ["Task 1", "Task 2", "Task 3", "Task 4"]
    labels = [link.label for link in at.get("page_link")]
    # the first path, in order, each step a link to its page
    assert [c.value for c in at.caption if c.value.startswith("Step ")] == ["Step 1", "Step 2", "Step 3", "Step 4"]
    assert labels[:4] == ["Denoise", "Latent space", "Compare", "Studies"]
    # then each task's pages, each with what it shows of that task
    assert labels[4:15] == ["Denoise", "Latent space", "Train", "Compare", "Garment", "Train", "Compare",
                            "Garment", "Train", "Compare", "Studies"]
    # each task's Train link opens the page on that task
    trains = [link.proto.query_string for link in at.get("page_link")[4:15] if link.label == "Train"]
    assert trains == ["task=task1", "task=task2", "task=task3"]
    captions = [c.value for c in at.caption]
    assert "its denoising, with PSNR and SSIM beside classical filters" in captions
    assert "over many seeds: whether the difference holds" in captions
    assert {page.title for page in PAGES[1:]} <= set(labels[15:])  # and a card for every page


def test_variant_cards_are_explained_in_one_line(models_dir):
    at = open_overview()
    names = " ".join(m.value for m in at.markdown)
    assert "Variant: frozen autoencoder + Task 2 CNN" in names  # the shipped variants have cards
    (note,) = [c.value for c in at.caption if c.value.startswith("**Variant** cards:")]
    assert "reusing the Task 1 autoencoder" in note and "Compare" in note and "\n" not in note
