"""Damaged files under the Studies, Compare and Denoise pages (issue 25): a shipped study's
results.csv or about.json, the models manifest, a model file, the classical denoisers' parameters.
Each page stays up, names the damaged file, and the rest of it works. No datasets."""

import shutil
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from dae_core import settings
from dae_core.analysis import classical

ROOT = Path(__file__).resolve().parents[2]
APP = str(ROOT / "app.py")
CUT_JSON, BINARY = '{"command": "python -m dae', bytes(range(256)) * 4


def open_page(page: str) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=180)
    at.switch_page(f"pages/{page}.py")
    at.run()
    assert not at.exception, at.exception
    return at


def shown(at: AppTest) -> str:
    return "\n".join(e.value for kind in ("error", "warning", "info", "caption", "markdown") for e in at.get(kind))


@pytest.fixture
def studies(tmp_path, monkeypatch) -> Path:
    """A copy of the shipped studies folder, for a test to damage."""
    folder = tmp_path / "studies"
    shutil.copytree(settings.PROJECT_ROOT / "studies", folder)
    monkeypatch.setenv(settings.STUDIES_DIR_ENV, str(folder))
    return folder


@pytest.mark.parametrize("damaged, content", [("results.csv", BINARY), ("results.csv", b"a,b\n1,2\n"),
                                              ("about.json", CUT_JSON.encode())])
def test_the_studies_page_names_a_damaged_shipped_study_and_shows_the_others(models_dir, studies, damaged,
                                                                              content):
    path = studies / "seeds" / damaged
    path.write_bytes(content)
    at = open_page("studies")
    at.segmented_control(key="studies_name").set_value("seeds").run()
    assert not at.exception, at.exception
    assert str(path) in shown(at) and "damaged" in shown(at)
    at.segmented_control(key="studies_name").set_value("label-efficiency").run()
    assert not at.exception, at.exception
    assert str(path) not in shown(at) and at.get("plotly_chart")  # another study draws its figure


def test_the_compare_page_names_a_damaged_seeds_study_and_compares_the_models(models_dir, studies):
    path = studies / "seeds" / "results.csv"
    path.write_bytes(BINARY)
    at = open_page("compare")
    assert str(path) in shown(at)
    assert any("accuracy" in m.label.lower() for m in at.metric)  # the pair is still compared


@pytest.mark.parametrize("damage", ["manifest", "model"])
def test_the_compare_page_names_a_damaged_manifest_or_model_file(use_models, models_copy, damage):
    folder = use_models(models_copy("task2", "task3"))
    path = folder / ("manifest.json" if damage == "manifest" else "task2-seed.keras")
    path.write_bytes(b'{"models": [' if damage == "manifest" else BINARY)
    at = open_page("compare")
    assert str(path) in shown(at), shown(at)


def test_the_denoise_page_names_damaged_classical_parameters_and_still_denoises(models_dir, tmp_path,
                                                                                monkeypatch):
    path = tmp_path / "classical_params.json"
    path.write_text(classical.PARAMS_FILE.read_text()[:300])  # cut short
    monkeypatch.setattr(classical, "PARAMS_FILE", path)
    classical.load_params.cache_clear()
    try:
        at = open_page("denoise")
        at.radio(key="denoise_source").set_value("MNIST test digit").run()
        assert not at.exception, at.exception
        assert str(path) in "\n".join(e.value for e in at.error)
        assert any(m.label == "PSNR denoised, dB" for m in at.metric)  # the autoencoder's side stands
    finally:
        classical.load_params.cache_clear()


@pytest.mark.parametrize("damage", ["manifest", "model"])
def test_the_denoise_page_names_a_damaged_manifest_or_model_file(use_models, models_copy, damage):
    folder = use_models(models_copy("task1"))
    path = folder / ("manifest.json" if damage == "manifest" else "task1-seed.keras")
    path.write_bytes(BINARY)
    at = open_page("denoise")
    assert str(path) in shown(at), shown(at)
