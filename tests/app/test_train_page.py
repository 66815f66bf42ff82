"""The Train page: settings from presets, its runs table and a run as the run store records it
(no datasets needed); before Start, whether the data can be reached and the values are within their
limits; a failed run's error, and its way off the page; a real tiny training started from the page,
and its results (``data``).

AppTest fires no ``run_every`` timers: the live view is checked by rerunning the page.
"""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from dae_core import settings
from dae_core.models import catalog
from dae_core.store.runs import Run, list_runs
from dae_core.tasks import task_title
from dae_core.training import jobs, run_table
from dae_core.training.config import make_config
from tests.support.offline import findable_data, offline_env

PAGE = str(Path(__file__).resolve().parents[2] / "pages" / "train.py")


@pytest.fixture
def runs_dir(models_dir, tmp_path):
    return tmp_path / "runs"


@pytest.fixture(autouse=True)
def keras_cache(tmp_path, monkeypatch):
    """Keras's cache as after a download of both datasets, so that the page finds data on any
    machine (tests that train name the real data first, in DAE_DATA_DIR)."""
    findable_data(tmp_path / "keras" / "datasets")
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras"))


@pytest.fixture
def offline(tmp_path, monkeypatch) -> Path:
    """No data folder, an empty Keras cache, every download refused; returns the data folder."""
    for name, value in offline_env(tmp_path / "offline").items():
        monkeypatch.setenv(name, value)
    return tmp_path / "offline" / "data"


def open_page(task: str | None = "task2") -> AppTest:
    """The page as a new session opens it, on ``task`` as a link's ?task= names it (None: no link)."""
    at = AppTest.from_file(PAGE, default_timeout=120)
    if task:
        at.query_params["task"] = task
    return at.run()


def recipe_caption(at: AppTest) -> str:
    return next(c.value for c in at.caption if c.value.startswith("Also set by"))


def test_the_page_opens_on_task1_as_the_assignment_does_or_on_the_task_a_link_names(runs_dir):
    at = open_page(task=None)
    assert not at.exception
    assert at.selectbox(key="train_task").value == "task1"
    assert at.number_input(key="train_epochs").value == make_config("task1", "seed").epochs
    assert not at.selectbox(key="train_noise").disabled  # an autoencoder's noise is its own setting
    assert open_page(task="task3").selectbox(key="train_task").value == "task3"
    assert open_page(task="nonsense").selectbox(key="train_task").value == "task1"


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


def test_task3_improved_loads_its_preset_and_offers_the_shipped_autoencoder_of_that_preset(use_models):
    use_models(settings.PROJECT_ROOT / "models")  # every shipped model: the Train page loads none
    at = open_page()
    at.selectbox(key="train_preset").set_value("improved").run()
    at.selectbox(key="train_task").set_value("task3").run()

    assert not at.exception
    improved = make_config("task3", "improved")
    assert at.number_input(key="train_epochs").value == improved.epochs
    assert at.number_input(key="train_batch_size").value == improved.batch_size
    # The recipe's hidden settings are stated, with the epochs as the widgets set them.
    assert "flips and shifts, a patch erased from 50% of the images, for 30 epochs, then plain images for the last 10" in recipe_caption(at)
    at.number_input(key="train_epochs").set_value(8).run()
    assert "for 6 epochs, then plain images for the last 2" in recipe_caption(at)
    encoder = at.selectbox(key="train_encoder")
    assert encoder.options == ["task1-improved (shipped)", "task1-seed (shipped)"]
    assert encoder.value == "task1-improved (shipped)"
    assert at.selectbox(key="train_start_from_task3_improved").options == [
        "new weights", "task3-improved (shipped)"]


def test_without_an_autoencoder_task3_says_how_to_get_one(use_models, tmp_path):
    use_models(tmp_path / "no-models")
    at = open_page()
    at.selectbox(key="train_task").set_value("task3").run()

    assert not at.exception
    assert at.warning[0].value == catalog.missing_model_hint("task1")
    assert at.button(key="train_start").disabled


def recorded_run(runs_dir: Path, task: str, state: str, epochs: int, done: int, **status) -> Run:
    """A run folder as a training writes it: config, metrics per epoch, status."""
    run = Run.create(make_config(task, "seed", epochs=epochs, train_size=300).to_dict(), runs_dir)
    metric = "mse" if task == "task1" else "accuracy"
    for epoch in range(1, done + 1):
        run.append_metric({"kind": "epoch", "epoch": epoch, "loss": 1 / epoch, "val_loss": 1.1 / epoch,
                           metric: 0.5 + epoch / 10, f"val_{metric}": 0.45 + epoch / 10})
    run.set_status(state, epoch=done, epochs=epochs, **status)
    return run


def test_the_runs_table_and_the_newest_run_come_from_the_runs_folder(runs_dir):
    autoencoder = recorded_run(runs_dir, "task1", "completed", 2, 2, device="CPU (2 cores)",
                               test={"psnr_denoised": 18.5, "psnr_noisy": 9.38})
    # run ids are creation times to the second, then the task: task2's sorts first, as the newest
    classifier = recorded_run(runs_dir, "task2", "completed", 3, 3, device="CPU (2 cores)",
                              test={"accuracy": 0.8125, "loss": 0.51})
    at = open_page()

    assert not at.exception and not at.error
    table = at.dataframe[0].value
    assert table[["run", "task", "preset", "state", "epochs", "test"]].to_dict("records") == [
        {"run": classifier.id, "task": "task2", "preset": "seed", "state": "completed", "epochs": "3/3",
         "test": "accuracy 81.25 %"},
        {"run": autoencoder.id, "task": "task1", "preset": "seed", "state": "completed", "epochs": "2/2",
         "test": "PSNR 18.50 dB"}]
    assert list(table.columns) == list(run_table.RunRow("x", "task2", "seed", "completed", 0, 0).as_row())
    # shown with the state and test figure beside the run, as on the Runs page: at the row's end
    # they lay past the right edge of a 1,400 px window
    assert list(at.dataframe[0].proto.column_order)[:6] == ["run", "task", "preset", "state", "epochs", "test"]
    # the newest run is shown, with its test figures and both curves
    assert at.subheader[0].value == f"{task_title('task2')} · seed · `{classifier.id}`"
    assert at.success[0].value == "Completed 3 epochs on CPU (2 cores)."
    assert [(m.label, m.value) for m in at.metric] == [("Test accuracy", "0.8125"), ("Test loss", "0.5100")]
    live = json.loads(next(c for c in at.get("plotly_chart") if c.proto.id.endswith("train_live_accuracy")).proto.spec)
    assert [trace["y"] for trace in live["data"]] == [pytest.approx([0.6, 0.7, 0.8]), pytest.approx([0.55, 0.65, 0.75])]
    assert at.multiselect(key="train_overlay").value == [classifier.id]
    assert at.multiselect(key="train_overlay").options == [classifier.id, autoencoder.id]


def test_a_killed_run_says_it_can_be_resumed(runs_dir):
    run = recorded_run(runs_dir, "task2", "running", 3, 1, pid=subprocess_pid())  # killed
    run.checkpoint_for(1).write_bytes(b"an epoch's checkpoint")
    at = open_page()  # a reload: a new session, nothing in its state

    assert not at.exception
    assert at.subheader[0].value == f"{task_title('task2')} · seed · `{run.id}`"
    assert [e.value for e in at.error] == [
        f"Failed: the training process ended unexpectedly. See {run.log_path}. "
        "It can be resumed from its last epoch."]
    assert at.button(key="train_resume").label == "Resume from the last epoch"
    assert at.dataframe[0].value[["run", "state", "epochs", "test"]].to_dict("records") == [
        {"run": run.id, "state": "failed", "epochs": "1/3", "test": ""}]


def subprocess_pid() -> int:
    """The pid of a process that has ended (and been reaped)."""
    done = subprocess.Popen([sys.executable, "-c", "pass"])
    done.wait()
    return done.pid


def test_start_trains_in_a_process_and_the_page_shows_its_test_accuracy(runs_dir, data_dir):
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


def test_a_run_can_continue_from_a_shipped_model(runs_dir, data_dir):
    at = open_page()
    start_from = at.selectbox(key="train_start_from_task2_seed")
    assert start_from.value == "new weights"
    shipped = catalog.all_models(task="task2")[0]
    start_from.set_value(shipped.label).run()
    at.number_input(key="train_epochs").set_value(1)
    at.number_input(key="train_size").set_value(300)
    at.button(key="train_start").click().run()

    assert not at.exception and not at.error
    [run] = list_runs(runs_dir)
    assert run.config()["init_from"] == str(shipped.path.absolute())
    assert jobs.wait(run, 240) == "completed", run.log_path.read_text()


def test_after_a_kill_a_reload_shows_the_failure_and_resume_follows_the_run_to_the_end(runs_dir, data_dir):
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
    assert at.subheader[0].value == f"{task_title('task2')} · seed · `{run.id}`"
    assert at.error and "can be resumed" in at.error[0].value
    at.button(key="train_resume").click().run()
    assert not at.exception and run.is_active() and at.button(key="train_stop").label == "Stop"
    assert jobs.wait(run, 300) == "completed", run.log_path.read_text()
    at.run()
    assert run.status()["epoch"] == 3 and [r["epoch"] for r in run.metrics("epoch")] == [1, 2, 3]
    assert ("Test accuracy", f"{run.status()['test']['accuracy']:.4f}") in [(m.label, m.value) for m in at.metric]
    assert not at.error


def start_button(at: AppTest):
    return at.button(key="train_start")


def test_without_the_data_start_is_disabled_and_the_page_says_in_full_what_to_do(runs_dir, offline, tmp_path):
    at = open_page()

    assert not at.exception and start_button(at).disabled
    keras = tmp_path / "offline" / "keras" / "datasets"
    assert [e.value for e in at.warning] == [
        "Fashion-MNIST is not on this machine, and it cannot be downloaded now "
        f"(storage.googleapis.com: [Errno 111] Connection refused). Looked in: folder {offline}; Keras cache "
        f"{keras}. Fix: put its four IDX files (train-images-idx3-ubyte.gz, train-labels-idx1-ubyte.gz, "
        "t10k-images-idx3-ubyte.gz, t10k-labels-idx1-ubyte.gz) or fashion-mnist.npz in a folder, as "
        'FOLDER/fashion-mnist/, and enter FOLDER under "Data folder" above (or set DAE_DATA_DIR=FOLDER '
        "before starting the lab); or connect this machine to the internet, and the run downloads "
        "Fashion-MNIST itself."]
    assert at.text_input(key="train_data_dir").value == str(offline)  # DAE_DATA_DIR, shown
    assert not any(keras.parent.rglob("*.*"))  # nothing was downloaded

    at.text_input(key="train_data_dir").set_value(str(tmp_path / "nowhere")).run()
    assert [e.value for e in at.warning] == [
        f"The data folder {tmp_path / 'nowhere'} does not exist. Fix: name a folder that holds fashion-mnist/ "
        "with its four IDX files (train-images-idx3-ubyte.gz, train-labels-idx1-ubyte.gz, t10k-images-idx3-ubyte.gz, "
        "t10k-labels-idx1-ubyte.gz) or fashion-mnist.npz, or leave the data folder empty."]
    data = findable_data(tmp_path / "datasets")
    at.text_input(key="train_data_dir").set_value(str(data)).run()
    assert not at.warning and not start_button(at).disabled
    assert f"Data: Fashion-MNIST, from folder {data}." in [c.value for c in at.caption]


def test_a_value_past_its_limit_disables_start_and_is_named(runs_dir):
    at = open_page()
    at.number_input(key="train_epochs").set_value(5000)
    at.number_input(key="train_lr").set_value(0.5)
    start_button(at).click().run()  # typed, then Start at once: the click comes with the values

    assert not at.exception and not list_runs(runs_dir)
    assert at.number_input(key="train_epochs").value == 5000  # what was typed stays, and is what counts
    assert [e.value for e in at.error] == [
        "Epochs must be 1 to 1,000; 5,000 was entered. Learning rate must be 0.00001 to 0.1; 0.5 was "
        "entered. Fix the value named, then start."]
    assert start_button(at).disabled
    at.number_input(key="train_epochs").set_value(1000)
    at.number_input(key="train_lr").set_value(0.1).run()
    assert not at.error and not start_button(at).disabled


def test_a_failed_run_shows_its_error_without_empty_charts_and_can_be_archived(runs_dir):
    error = ("DataError: fashion-mnist full data not found. Tried: folder /nowhere (no "
             "train-images-idx3-ubyte.gz or fashion-mnist.npz). Fix: set DAE_DATA_DIR to a folder holding them")
    run = recorded_run(runs_dir, "task2", "failed", 3, 0, error=error)
    at = open_page()

    assert not at.exception
    assert [e.value for e in at.error] == [f"Failed: {error}. See {run.log_path}."]
    assert not at.get("plotly_chart")  # neither its live curves nor the overlay: no epoch to draw
    assert "No whole epoch recorded by the runs chosen: nothing to plot." in [c.value for c in at.caption]
    assert "Or delete it on the [Runs page](runs)." in [m.value for m in at.markdown]
    at.button(key="train_archive").click().run()

    assert not at.exception and run.meta().archived and run.exists()
    assert at.info[0].value == f"Run {run.id} archived: the Runs page shows it with 'Archived runs too'."
    assert not at.subheader and not at.error and not at.dataframe  # off this page, kept on the Runs page
