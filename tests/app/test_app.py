"""The entry point: navigation over every page, the sidebar status, the process settings
(TensorFlow loaded in the background, the Keras session kept), and errors a user can fix."""

import json
import subprocess
import sys
from pathlib import Path

import keras
import pytest
from streamlit.testing.v1 import AppTest

from dae_core.models import catalog, device
from dashboard import runtime

ROOT = Path(__file__).resolve().parents[2]
APP = str(ROOT / "app.py")
TITLES = {"pages/overview.py": "DAE Lab", "pages/train.py": "Train", "pages/runs.py": "Runs",
          "pages/denoise.py": "Denoise a digit",
          "pages/latent.py": "Latent space", "pages/compare.py": "Task 2 against Task 3",
          "pages/garment.py": "Try a garment", "pages/studies.py": "Studies"}
MODEL_PAGES = tuple(page for page in TITLES if page != "pages/studies.py")  # they read the models folder


def open_app(page: str | None = None) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=180)
    if page:
        at.switch_page(page)
    return at.run()


def test_the_sidebar_shows_the_device_and_the_model_count(models_dir):
    runtime.wait_for_tensorflow()
    at = open_app()
    assert not at.exception
    captions = [c.value for c in at.sidebar.caption]
    shipped = json.loads((models_dir / "manifest.json").read_text())["models"]
    assert captions == [f"Device: {device.device_description()}", f"Models: {len(shipped)}"]


def test_until_tensorflow_has_loaded_the_device_is_being_detected(models_dir, monkeypatch):
    monkeypatch.setattr(runtime, "device", lambda: None)
    at = open_app()
    assert not at.exception
    assert at.sidebar.caption[0].value == "Device: detecting…"
    assert "**Device:** detecting…" in " ".join(m.value for m in at.markdown)


@pytest.mark.parametrize("page", TITLES)
def test_every_page_opens_under_its_title(models_dir, page):
    at = open_app(page)
    assert not at.exception, at.exception
    assert at.title[0].value == TITLES[page]
    assert not at.error and not at.sidebar.warning


def test_a_deep_link_still_runs_the_entry_point(models_dir):
    """On a fresh process Streamlit would run pages/overview.py alone (its old multipage
    mode); runtime.run_through_app hands it back to app.py."""
    at = open_app("pages/overview.py")
    shipped = json.loads((models_dir / "manifest.json").read_text())["models"]
    assert at.sidebar.caption[-1].value == f"Models: {len(shipped)}"  # app.py's sidebar


@pytest.fixture
def damaged_manifest(models_dir):
    """The shipped models' manifest with task1's entry (model 3) broken, for the test only: the
    model files stay where the pages have cached their results."""
    manifest = models_dir / "manifest.json"
    good = manifest.read_text()
    entries = [entry if entry["task"] != "task1" else {"name": "broken"} for entry in json.loads(good)["models"]]
    manifest.write_text(json.dumps({"models": entries}))
    yield manifest
    manifest.write_text(good)


@pytest.mark.parametrize("page", MODEL_PAGES)
def test_a_damaged_manifest_is_named_once_and_the_pages_go_on(damaged_manifest, page):
    """A bad entry is left out with a warning naming the file and the fix; the good ones work on."""
    at = open_app(page)
    assert not at.exception, at.exception
    assert [w.value for w in at.sidebar.warning] == [
        f"{damaged_manifest}, model 3: task, preset, file missing or wrong, so it is left out. "
        f"Fix: {catalog.RESTORE_HINT}."]
    shipped = len(json.loads(damaged_manifest.read_text())["models"])
    assert f"Models: {shipped - 1}" in [c.value for c in at.sidebar.caption]
    assert at.title[0].value == TITLES[page]


def test_the_keras_session_is_kept_after_a_script_run(models_dir, monkeypatch):
    """Streamlit clears it after each run once keras is imported (as it is here), which
    empties TensorFlow's kernel cache: the next model call would be 30-60 times slower."""
    cleared = []
    monkeypatch.setattr(keras.backend, "clear_session", lambda *a, **k: cleared.append(1))
    at = open_app("pages/denoise.py")
    assert not at.exception and not cleared
    assert at.selectbox(key="denoise_model").value == "task1-seed (shipped)"


OVERVIEW_WITHOUT_TENSORFLOW = """
import sys
from streamlit.testing.v1 import AppTest
from dashboard import runtime
runtime.start_tensorflow = lambda: None  # what app.py starts after the page, in the background
at = AppTest.from_file("app.py", default_timeout=120).run()
assert not at.exception, at.exception
assert at.title[0].value == "DAE Lab"
print(sorted(m for m in ("tensorflow", "keras") if m in sys.modules))
"""


def test_the_overview_is_drawn_without_importing_tensorflow(models_dir):
    """The first page of a cold start must not wait seconds for TensorFlow's import."""
    done = subprocess.run([sys.executable, "-c", OVERVIEW_WITHOUT_TENSORFLOW], cwd=ROOT,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.strip().splitlines()[-1] == "[]"
