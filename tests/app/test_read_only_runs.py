"""A runs folder that cannot be written (read-only): the Train page's Start and the Studies page's
"Start the demo" say so in one message (what failed, which folder, what to do), never a
traceback, and lose nothing (the settings stay, the folder is as it was)."""

import os
import subprocess
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from dae_core import settings
from tests.support.offline import findable_data

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def read_only_runs(models_dir, tmp_path, monkeypatch) -> Path:
    """An empty runs folder nobody can write to: its mode, or for root (whom modes do not stop)
    the immutable attribute; skipped where neither holds."""
    runs = tmp_path / "runs"
    runs.mkdir()
    monkeypatch.setenv(settings.RUNS_DIR_ENV, str(runs))
    monkeypatch.setenv(settings.DATA_DIR_ENV, str(findable_data(tmp_path / "data")))
    runs.chmod(0o555)
    immutable = os.access(runs, os.W_OK) and subprocess.run(["chattr", "+i", str(runs)], capture_output=True).returncode == 0
    if os.access(runs, os.W_OK) and not immutable:
        pytest.skip("this user can write to any folder here")
    yield runs
    if immutable:
        subprocess.run(["chattr", "-i", str(runs)], check=True)
    runs.chmod(0o755)


def test_start_on_the_train_page_says_the_runs_folder_is_read_only(read_only_runs):
    at = AppTest.from_file(str(ROOT / "pages" / "train.py"), default_timeout=120)
    at.query_params["task"] = "task2"
    at.run()
    at.number_input(key="train_epochs").set_value(3)
    at.button(key="train_start").click().run()

    assert not at.exception
    [error] = at.error
    assert error.value.startswith(f"Nothing was started: {read_only_runs} cannot be written to (read-only) (")
    assert error.value.endswith(f"Fix: make {read_only_runs} writable, or set DAE_RUNS_DIR to a writable folder "
                                "and restart the lab; then start again (the settings are kept).")
    assert at.number_input(key="train_epochs").value == 3 and not at.button(key="train_start").disabled
    assert not any(read_only_runs.iterdir())


def test_start_the_demo_says_the_runs_folder_is_read_only(read_only_runs, monkeypatch):
    monkeypatch.setenv(settings.STUDIES_DIR_ENV, str(read_only_runs.parent / "studies"))
    at = AppTest.from_file(str(ROOT / "pages" / "studies.py"), default_timeout=120).run()
    at.segmented_control(key="studies_name").set_value("label-efficiency").run()
    at.button(key="studies_start_demo").click().run()

    assert not at.exception
    [error] = at.error
    assert error.value.startswith(f"Nothing was started: {read_only_runs} cannot be written to (read-only) (")
    assert f"at {read_only_runs / 'demo'}" in error.value
    assert not any(read_only_runs.iterdir())
