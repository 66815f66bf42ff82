"""The Train page: settings from presets, a real tiny training started from the page, its results.

AppTest fires no ``run_every`` timers: the live view is checked by rerunning the page.
"""

import os
import signal
import time
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from dae_core.models import catalog
from dae_core.store.runs import list_runs
from dae_core.training import jobs
from dae_core.training.config import make_config

PAGE = str(Path(__file__).resolve().parents[2] / "pages" / "train.py")
pytestmark = pytest.mark.data


@pytest.fixture
def runs_dir(models_dir, data_dir, tmp_path):
    return tmp_path / "runs"


def open_page() -> AppTest:
    return AppTest.from_file(PAGE, default_timeout=120).run()


def recipe_caption(at: AppTest) -> str:
    return next(c.value for c in at.caption if c.value.startswith("Also set by"))


def test_settings_start_from_the_seed_preset(runs_dir):
    at = open_page()

    assert not at.exception
    seed = make_config("task2", "seed")
    assert at.selectbox(key="train_task").value == "task2"
    assert at.selectbox(key="train_preset").value == "seed"
    assert at.number_input(key="train_epochs").value == seed.epochs
    assert at.number_input(key="train_batch_size").value == seed.batch_size
    assert at.number_input(key="train_lr").value == pytest.approx(seed.learning_rate)
    assert at.selectbox(key="train_noise").value == seed.noise_kind
    assert at.slider(key="train_noise_level").value == pytest.approx(seed.noise_level)
    assert at.number_input(key="train_size").value == 48_000
    assert at.button(key="train_start").label == "Start training"
    assert not at.button(key="train_start").disabled
    assert not [s for s in at.selectbox if s.key == "train_encoder"]  # Task 2 needs none
    assert not at.error


def test_task3_improved_loads_its_preset_and_offers_the_shipped_autoencoder(runs_dir, tiny_models):
    at = open_page()
    at.selectbox(key="train_task").set_value("task3").run()
    at.selectbox(key="train_preset").set_value("improved").run()

    assert not at.exception
    improved = make_config("task3", "improved")
    assert at.number_input(key="train_epochs").value == improved.epochs
    assert at.number_input(key="train_batch_size").value == improved.batch_size
    # The recipe's hidden settings are stated, with the epochs as the widgets set them.
    assert "flips and shifts for 15 epochs, then plain images for the last 5" in recipe_caption(at)
    at.number_input(key="train_epochs").set_value(8).run()
    assert "for 6 epochs, then plain images for the last 2" in recipe_caption(at)
    shipped = catalog.all_models(task="task1", models_dir=tiny_models)[0]
    assert shipped.source == "shipped"
    encoder = at.selectbox(key="train_encoder")
    assert encoder.value == shipped.label and shipped.label in encoder.options


def test_without_an_autoencoder_task3_says_how_to_get_one(use_models, tmp_path, data_dir):
    use_models(tmp_path / "no-models")
    at = open_page()
    at.selectbox(key="train_task").set_value("task3").run()

    assert not at.exception
    assert at.warning[0].value == catalog.missing_model_hint("task1")
    assert at.button(key="train_start").disabled


def test_start_trains_in_a_process_and_the_page_shows_its_test_accuracy(runs_dir):
    at = open_page()
    at.number_input(key="train_epochs").set_value(1)
    at.number_input(key="train_batch_size").set_value(100)
    at.number_input(key="train_size").set_value(300)
    at.button(key="train_start").click().run()

    assert not at.exception and not at.error
    [run] = list_runs(runs_dir)
    assert run.config()["epochs"] == 1 and run.config()["train_size"] == 300
    assert run.is_active() and at.button(key="train_stop").label == "Stop"
    other_tab = open_page()  # a new session finds the live run
    assert any(run.id in s.value for s in other_tab.subheader)

    assert jobs.wait(run, 240) == "completed", run.log_path.read_text()
    at.run()

    assert not at.exception
    accuracy = run.status()["test"]["accuracy"]
    assert ("Test accuracy", f"{accuracy:.4f}") in [(m.label, m.value) for m in at.metric]
    assert not [b for b in at.button if b.key == "train_stop"]
    assert at.multiselect(key="train_overlay").value == [run.id]


def test_a_run_can_continue_from_a_shipped_model(runs_dir, tiny_models):
    at = open_page()
    start_from = at.selectbox(key="train_start_from_task2_seed")
    assert start_from.value == "new weights"
    shipped = catalog.all_models(task="task2", models_dir=tiny_models)[0]
    start_from.set_value(shipped.label).run()
    at.number_input(key="train_epochs").set_value(1)
    at.number_input(key="train_size").set_value(300)
    at.button(key="train_start").click().run()

    assert not at.exception and not at.error
    [run] = list_runs(runs_dir)
    assert run.config()["init_from"] == str(shipped.path.absolute())
    assert jobs.wait(run, 240) == "completed", run.log_path.read_text()


def test_after_a_kill_a_reload_shows_the_failure_and_resume_follows_the_run_to_the_end(runs_dir):
    config = make_config("task2", "seed", epochs=3, batch_size=100, train_size=300)
    run = jobs.start_training(config, runs_dir)
    deadline = time.time() + 240
    while not run.latest_checkpoint():  # killed (not politely) once an epoch is saved
        assert run.state() != "failed" and time.time() < deadline, run.log_path.read_text()
        time.sleep(0.2)
    os.kill(run.status()["pid"], signal.SIGKILL)
    while run.is_active():
        time.sleep(0.1)

    at = open_page()  # a reload: a new session, nothing in its state
    assert any(run.id in s.value for s in at.subheader)
    assert at.error and "can be resumed" in at.error[0].value
    at.button(key="train_resume").click().run()
    assert not at.exception and run.is_active() and at.button(key="train_stop").label == "Stop"
    assert jobs.wait(run, 300) == "completed", run.log_path.read_text()
    at.run()
    assert run.status()["epoch"] == 3 and [r["epoch"] for r in run.metrics("epoch")] == [1, 2, 3]
    assert any(m.label == "Test accuracy" for m in at.metric) and not at.error
