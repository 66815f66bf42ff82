"""jobs: real tiny trainings launched as separate processes, followed through their run folders.

The datasets come from $DAE_DATA_DIR, which the training process inherits (the
configs carry no data_dir). Each test has its own runs folder, hence its own lock.
"""

from __future__ import annotations

import os
import signal
import time
import zipfile

import pytest

from dae_core.analysis import metrics
from dae_core.data import datasets
from dae_core.models import device
from dae_core.models.builders import load_model
from dae_core.store.runs import Run
from dae_core.training import jobs, preflight
from dae_core.training.config import make_config

pytestmark = pytest.mark.data
WAIT_S = 240  # two cores shared with other work: generous


def tiny(**overrides):
    values = dict(train_size=300, epochs=2, batch_size=100)
    return make_config("task2", "seed", **{**values, **overrides})


def wait_until(predicate, run: Run, timeout_s: float = WAIT_S, poll_s: float = 0.05):
    deadline = time.time() + timeout_s
    while time.time() < deadline:
        if predicate():
            return
        if run.state() in ("completed", "failed", "stopped"):
            break
        time.sleep(poll_s)
    raise AssertionError(f"{run.id}: condition not met; state {run.state()}; log:\n"
                         + (run.log_path.read_text() if run.log_path.exists() else ""))


def epoch_numbers(run: Run) -> list[int]:
    return [r["epoch"] for r in run.metrics("epoch") if not r.get("partial")]


def test_start_training_runs_to_completion_in_its_own_process(data_dir, tmp_path):
    run = jobs.start_training(tiny(), tmp_path)

    assert run.path.parent == tmp_path and run.config()["train_size"] == 300
    assert run.status()["pid"] != os.getpid()
    assert jobs.active_run(tmp_path).path == run.path  # a reloaded page finds it
    assert jobs.wait(run, WAIT_S) == "completed", run.log_path.read_text()
    status = run.status()
    assert epoch_numbers(run) == [1, 2]
    assert status["epoch"] == 2 and status["epochs"] == 2
    gpus = device.gpu_names()  # what train.setup_device writes
    assert status["device"] == (f"{len(gpus)} x GPU ({', '.join(gpus)})" if gpus else device.device_description())
    assert run.model_path.exists() and run.log_path.exists()
    test = datasets.load_test_set("fashion-mnist")  # the figures are the saved model's on the test set
    report = metrics.classifier_report(load_model(run.model_path), test.x, test.y)
    assert status["test"]["images"] == 10_000 and status["test"]["accuracy"] == report.accuracy
    assert status["test"]["loss"] == pytest.approx(report.loss, abs=1e-5)
    info = jobs.progress(run)
    assert (info.state, info.epoch, info.epochs, info.test) == ("completed", 2, 2, status["test"])
    assert info.message == f"Completed 2 epochs on {status['device']}."
    assert jobs.active_run(tmp_path) is None


def test_stop_ends_a_run_cleanly_and_keeps_the_model(data_dir, tmp_path):
    run = jobs.start_training(tiny(epochs=50, batch_size=10), tmp_path)
    wait_until(lambda: len(run.metrics("epoch")) >= 1, run)
    info = jobs.progress(run)
    assert info.state == "running" and "epoch" in info.message and "/50" in info.message

    jobs.stop(run)

    assert jobs.wait(run, WAIT_S) == "stopped", run.log_path.read_text()
    status = run.status()
    assert run.model_path.exists()
    assert 1 <= status["epoch"] < 50 and "accuracy" in status["test"]
    assert "Stopped" in jobs.progress(run).message


def test_a_second_training_waits_in_the_queue_then_runs(data_dir, tmp_path):
    first = jobs.start_training(tiny(epochs=3), tmp_path)
    wait_until(lambda: first.status().get("state") == "running", first)

    second = jobs.start_training(tiny(epochs=1), tmp_path)

    assert second.state() == "queued"
    info = jobs.progress(second)
    assert info.queue_position == 1 and info.message == (
        "Queued: one training at a time on this machine, 1 ahead of it. "
        "It starts by itself when they end (or stop them).")
    assert jobs.active_run(tmp_path).path == first.path  # the page follows the running one
    assert [r.path for r in jobs.active_runs(tmp_path)] == [first.path, second.path]
    assert jobs.wait(first, WAIT_S) == "completed"
    assert jobs.wait(second, WAIT_S) == "completed", second.log_path.read_text()
    assert second.status()["started"] >= first.status()["finished"]


def test_a_killed_run_shows_failed_and_resumes_from_its_last_epoch(data_dir, tmp_path):
    run = jobs.start_training(tiny(epochs=8, batch_size=50), tmp_path)
    wait_until(lambda: run.status().get("epoch", 0) >= 2, run)

    os.kill(run.status()["pid"], signal.SIGKILL)
    killed_time = time.time()

    wait_until(lambda: run.state() == "failed", run, timeout_s=10)
    killed_at = run.status()["epoch"]
    assert 2 <= killed_at < 8 and run.can_resume()
    assert "resumed" in jobs.progress(run).message

    jobs.resume(run)

    assert jobs.wait(run, WAIT_S) == "completed", run.log_path.read_text()
    assert epoch_numbers(run) == list(range(1, 9))  # numbering continues, nothing twice
    records = run.metrics("epoch")
    assert all((r["time"] < killed_time) == (r["epoch"] <= killed_at) for r in records)  # not redone
    assert run.status()["epoch"] == 8 and run.model_path.exists()


def test_task3_without_an_autoencoder_is_refused_with_the_fix(tmp_path, monkeypatch):
    monkeypatch.setenv("DAE_MODELS_DIR", str(tmp_path / "no-models"))

    with pytest.raises(jobs.JobError, match="Task 1 autoencoder.*Fix"):
        jobs.start_training(make_config("task3", "seed", epochs=1), tmp_path / "runs")
    assert not (tmp_path / "runs").exists() or not any((tmp_path / "runs").iterdir())


def test_continuing_from_a_missing_model_is_refused_with_the_fix(tmp_path, monkeypatch):
    config = make_config("task2", "seed", epochs=1, init_from=str(tmp_path / "gone.keras"))
    with pytest.raises(jobs.JobError, match="continue from.*Fix"):
        jobs.start_training(config, tmp_path / "runs")
    (tmp_path / "there.keras").write_bytes(b"")  # there, but no .keras archive: refused before any work
    config = make_config("task2", "seed", epochs=1, init_from="there.keras")
    monkeypatch.chdir(tmp_path)
    with pytest.raises(jobs.JobError, match="not a Keras model file"):
        preflight.check_config(config)
    with zipfile.ZipFile(tmp_path / "there.keras", "w") as archive:
        archive.writestr("config.json", "{}")
    assert preflight.check_config(config).init_from == str(tmp_path / "there.keras")


def test_only_stopped_or_failed_runs_with_a_checkpoint_resume(tmp_path):
    run = Run.create(tiny().to_dict(), tmp_path)
    run.set_status("completed", epoch=2)
    with pytest.raises(jobs.JobError, match="completed"):
        jobs.resume(run)
    run.set_status("stopped", epoch=1)
    with pytest.raises(jobs.JobError, match="no epoch checkpoint"):
        jobs.resume(run)


def test_format_duration():
    assert jobs.format_duration(80) == "1:20"
    assert jobs.format_duration(3725) == "1:02:05"
    assert jobs.format_duration(-3) == "0:00"
