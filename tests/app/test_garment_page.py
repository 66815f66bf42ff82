"""The Garment page shows both classifiers' top-3 as dae_core computes them, for a test image
and for an uploaded photo, and keeps working after a bad upload."""

import functools
import io
import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from streamlit.testing.v1 import AppTest

from dae_core import settings
from dae_core.analysis.metrics import top_classes
from dae_core.data import datasets
from dae_core.images import imaging
from dae_core.models import catalog
from dae_core.models.builders import load_model
from dae_core.store.runs import Run
from dae_core.training.config import make_config

PAGE = str(Path(__file__).resolve().parents[2] / "pages" / "garment.py")
TASKS = ("task2", "task3")


def open_page() -> AppTest:
    return AppTest.from_file(PAGE, default_timeout=120).run()


@functools.cache
def model_of(model_file: Path):
    return load_model(model_file)


def expected_top3(model_file: Path, image: np.ndarray):
    probs = model_of(model_file).predict(image[None, ..., None], verbose=0)
    return top_classes(probs[0])


def top3_tables(at: AppTest) -> list:
    """The shown top-3 tables, Task 2's then Task 3's (AppTest finds a table by key only
    when it takes selections, so by position)."""
    return [table.value for table in at.dataframe]


def assert_shows(at: AppTest, models_dir: Path, image: np.ndarray, files: tuple[Path, ...] = ()) -> None:
    """Both top-3 tables are those of ``files`` (default: the shipped seed models) for ``image``."""
    assert len(top3_tables(at)) == len(TASKS)
    for file, shown in zip(files or [models_dir / f"{task}-seed.keras" for task in TASKS], top3_tables(at)):
        expected = expected_top3(file, image)
        assert list(shown["class"]) == list(expected["class"])
        assert list(shown["probability"]) == pytest.approx(list(expected["probability"]), abs=1e-5)


def photo_png() -> bytes:
    """A dark trouser-like shape photographed on a light, slightly grey background."""
    photo = np.full((400, 300), 230, np.uint8)
    photo[40:360, 90:140] = 40
    photo[40:360, 160:210] = 40
    photo[40:90, 90:210] = 40
    buffer = io.BytesIO()
    Image.fromarray(photo).convert("RGB").save(buffer, format="PNG")
    return buffer.getvalue()


def test_both_classifiers_side_by_side_for_a_test_image(models_dir, test_set):
    at = open_page()
    assert not at.exception
    assert [at.selectbox(key=f"garment_model_{t}").value for t in TASKS] == \
        ["task2-seed (shipped)", "task3-seed (shipped)"]
    at.radio(key="garment_source").set_value("Fashion-MNIST test image").run()
    at.number_input(key="garment_index").set_value(5).run()
    assert not at.exception
    x_test = test_set("fashion-mnist").x
    assert_shows(at, models_dir, x_test[5, ..., 0])
    assert "Fashion-MNIST form" in at.image[0].captions


def test_random_button_picks_a_test_image(models_dir, test_set):
    at = open_page()
    at.radio(key="garment_source").set_value("Fashion-MNIST test image").run()
    at.button(key="garment_random").click().run()
    assert not at.exception
    index = at.number_input(key="garment_index").value
    test = test_set("fashion-mnist")
    assert f"Test image {index}: {datasets.FASHION_CLASSES[test.y[index]]}" in [c.value for c in at.caption]
    assert_shows(at, models_dir, test.x[index, ..., 0])


def test_uploaded_photo_is_classified_in_fashion_mnist_form(models_dir):
    at = open_page()
    at.file_uploader(key="garment_upload").upload("trousers.png", photo_png(), "image/png").run()
    assert not at.exception and not at.error
    assert_shows(at, models_dir, imaging.prepare_upload(photo_png(), "fashion")[0])


def test_bad_upload_gets_one_message_and_the_page_goes_on(models_dir):
    at = open_page()
    at.file_uploader(key="garment_upload").upload("cut.png", photo_png()[:300], "image/png").run()
    assert not at.exception
    assert len(at.error) == 1 and "truncated" in at.error[0].value
    at.radio(key="garment_source").set_value("Fashion-MNIST test image").run()
    assert not at.exception and len(top3_tables(at)) == 2


def test_a_missing_classifier_says_what_to_do_and_the_other_still_works(use_models, models_copy, test_set):
    only_task2 = use_models(models_copy("task2"))
    manifest = [m for m in catalog.read_manifest(only_task2) if m["task"] == "task2"]
    (only_task2 / "manifest.json").write_text(json.dumps({"models": manifest}))
    at = open_page()
    at.radio(key="garment_source").set_value("Fashion-MNIST test image").run()
    assert not at.exception
    assert at.warning[0].value == catalog.missing_model_hint("task3")
    [table] = top3_tables(at)  # Task 2's
    expected = expected_top3(only_task2 / "task2-seed.keras", test_set("fashion-mnist").x[0, ..., 0])
    assert list(table["class"]) == list(expected["class"])


def test_a_finished_run_can_be_picked(models_dir, tmp_path, test_set):
    """A run folder as the run store writes it, its model the shipped improved Task 2 one."""
    run = Run.create(make_config("task2", "improved").to_dict(), tmp_path / "runs")
    shutil.copy2(settings.PROJECT_ROOT / "models" / "task2-improved.keras", run.model_path)
    run.set_status("completed", epoch=40, epochs=40, test={"accuracy": 0.9473})
    at = open_page()
    picker = at.selectbox(key="garment_model_task2")
    assert picker.options == ["task2-seed (shipped)", f"{run.id} (run)"]
    picker.select(f"{run.id} (run)").run()
    at.radio(key="garment_source").set_value("Fashion-MNIST test image").run()
    at.number_input(key="garment_index").set_value(12).run()
    assert not at.exception
    image = test_set("fashion-mnist").x[12, ..., 0]
    assert_shows(at, models_dir, image, (run.model_path, models_dir / "task3-seed.keras"))
    shipped = expected_top3(models_dir / "task2-seed.keras", image)["probability"]
    assert list(top3_tables(at)[0]["probability"]) != pytest.approx(list(shipped), abs=1e-5)  # another model
