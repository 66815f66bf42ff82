"""Damaged run folders in the runs folder (issue 25): the sidebar, the Overview and the Train
page stay up, and the Train page names the damaged run instead of a traceback. No datasets."""

import json
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from dae_core.models import catalog
from dashboard.navigation import PAGES

APP = str(Path(__file__).resolve().parents[2] / "app.py")
GOOD = {"task": "task2", "preset": "seed", "epochs": 3}


@pytest.fixture
def damaged_runs(models_dir, tmp_path):
    """Four runs, each with one damaged file; the newest (shown first on Train) has a cut config."""
    runs = tmp_path / "runs"
    damages = {"20260104-000000-task2-seed": {"config.json": b'{"task": "ta'},
               "20260103-000000-task2-seed": {"config.json": b"[]"},
               "20260102-000000-task2-seed": {"status.json": b'{"epoch": "two", "epochs": "x", "test": [1, 2]}'},
               "20260101-000000-task2-seed": {"metrics.jsonl": bytes(range(256)) + b"\n[1, 2]\nnull\n"}}
    for run_id, files in damages.items():
        folder = runs / run_id
        folder.mkdir(parents=True)
        (folder / "config.json").write_text(json.dumps(GOOD))
        (folder / "status.json").write_text(json.dumps({"state": "completed", "epoch": 3, "epochs": 3}))
        (folder / "model.keras").write_bytes(b"never loaded by these pages")
        for name, content in files.items():
            (folder / name).write_bytes(content)
    catalog.clear_run_cache()
    return runs


def test_the_overview_stays_up_with_damaged_runs(damaged_runs):
    at = AppTest.from_file(APP, default_timeout=180).run()
    assert not at.exception, at.exception


def test_the_train_page_names_a_damaged_run_and_goes_on(damaged_runs):
    at = AppTest.from_file(APP, default_timeout=180)
    at.switch_page("pages/train.py")
    at.run()
    assert not at.exception, at.exception
    errors = " ".join(e.value for e in at.error)
    assert str(damaged_runs / "20260104-000000-task2-seed" / "config.json") in errors
    assert "damaged" in errors
    assert any(b.label == "Start training" for b in at.button)  # the rest of the page works


PAGE_FILES = [page.path for page in PAGES]


@pytest.mark.parametrize("page", PAGE_FILES)
def test_every_page_stays_up_with_damaged_runs_and_a_damaged_manifest(page, damaged_runs, use_models, models_copy):
    manifest = use_models(models_copy("task1", "task2", "task3")) / "manifest.json"
    manifest.write_bytes(b'{"models": [')  # cut
    at = AppTest.from_file(APP, default_timeout=180)
    at.switch_page(page)
    at.run()
    assert not at.exception, at.exception
    named = " ".join(e.value for kind in ("error", "warning", "info", "caption") for e in at.get(kind))
    assert str(manifest) in named, named  # the sidebar (or the page) names the damaged manifest
