import json
import os
import subprocess
import sys

import pytest

from dae_core.errors import NotFoundError
from dae_core.store.files import write_json_atomic
from dae_core.store.runs import Run, find_run, list_runs, pid_alive
from dae_core.training import run_table


def test_create_writes_config_and_queued_status(tmp_path):
    run = Run.create({"task": "task2", "preset": "seed", "epochs": 3}, tmp_path)
    assert run.config()["epochs"] == 3
    assert run.status()["state"] == "queued"
    assert run.id.endswith("task2-seed")
    second = Run.create({"task": "task2", "preset": "seed"}, tmp_path)
    assert second.path != run.path
    assert {r.id for r in list_runs(tmp_path)} == {run.id, second.id}


def test_status_changes_are_atomic_and_merge(tmp_path):
    run = Run.create({"task": "task1"}, tmp_path)
    run.set_status("running", epoch=1, pid=os.getpid())
    run.set_status("failed", error="boom")
    status = run.status()
    assert status["state"] == "failed" and status["epoch"] == 1 and status["error"] == "boom"
    assert not list(run.path.glob("*.tmp"))
    with pytest.raises(ValueError):
        run.set_status("dancing")


def test_metrics_skip_a_half_written_line(tmp_path):
    run = Run.create({"task": "task1"}, tmp_path)
    run.append_metric({"kind": "epoch", "epoch": 1, "loss": 0.5})
    run.append_metric({"kind": "batch", "epoch": 2, "step": 3})
    with open(run.path / "metrics.jsonl", "a") as f:
        f.write('{"kind": "epoch", "ep')  # a writer caught mid-line
    assert [r["epoch"] for r in run.metrics()] == [1, 2]
    assert len(run.metrics("epoch")) == 1


def test_truncate_metrics_keeps_finished_epochs(tmp_path):
    run = Run.create({"task": "task1"}, tmp_path)
    for epoch in (1, 2, 3):
        run.append_metric({"kind": "batch", "epoch": epoch, "step": 1})
        run.append_metric({"kind": "epoch", "epoch": epoch})
    run.truncate_metrics(2)
    assert [(r["kind"], r["epoch"]) for r in run.metrics()] == [
        ("batch", 1), ("epoch", 1), ("batch", 2), ("epoch", 2)]


def test_dead_process_reads_as_failed(tmp_path):
    run = Run.create({"task": "task1"}, tmp_path)
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    run.set_status("running", pid=proc.pid)
    assert not pid_alive(proc.pid)
    assert run.state() == "failed" and not run.is_active()
    run.set_status("running", pid=os.getpid())
    assert run.state() == "running"


def test_stop_flag_round_trip(tmp_path):
    run = Run.create({"task": "task1"}, tmp_path)
    assert not run.stop_requested()
    run.request_stop()
    assert run.stop_requested()
    run.clear_stop()
    assert not run.stop_requested()


def test_find_run_by_prefix_and_path(tmp_path):
    run = Run.create({"task": "task3", "preset": "improved"}, tmp_path)
    assert find_run(run.id[:12], tmp_path).path == run.path
    assert find_run(str(run.path), tmp_path).path == run.path
    with pytest.raises(LookupError):
        find_run("nope", tmp_path)


def test_find_run_refuses_folders_outside_the_runs_folder_and_ambiguous_prefixes(tmp_path):
    runs, outside = tmp_path / "runs", tmp_path / "victim"
    outside.mkdir()
    (outside / "config.json").write_text("{}")
    first = Run.create({"task": "task1"}, runs)
    Run.create({"task": "task1"}, runs)
    for ref in (str(outside), "../victim", str(runs / ".."), ""):
        with pytest.raises(NotFoundError):
            find_run(ref, runs)
    with pytest.raises(NotFoundError, match="give more of the id"):
        find_run(first.id[:8], runs)
    assert find_run(first.id, runs).path == first.path  # a full id is never ambiguous


def test_write_json_atomic_replaces(tmp_path):
    path = tmp_path / "x.json"
    write_json_atomic(path, {"a": 1})
    write_json_atomic(path, {"a": 2})
    assert json.loads(path.read_text()) == {"a": 2}


def test_a_full_disk_leaves_no_temporary_file_and_the_command_line_says_what_to_do(tmp_path, monkeypatch,
                                                                                  capsys):
    from dae_core.cli.main import main
    from dae_core.store import files
    from tests.support.offline import findable_data

    def full_disk(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(files.os, "fsync", full_disk)
    with pytest.raises(OSError):
        write_json_atomic(tmp_path / "status.json", {"state": "running"})
    assert list(tmp_path.iterdir()) == []
    data = findable_data(tmp_path / "data")  # the data check passes: the disk is what fails
    assert main(["train", "task2", "--epochs", "1", "--data-dir", str(data), "--runs-dir", str(tmp_path / "runs")]) == 2
    err = capsys.readouterr().err
    assert "No space left on device" in err and "free some disk space" in err
    assert not list((tmp_path / "runs").glob("*/.*.tmp"))


def test_an_autoencoders_test_figures_read_whole_with_their_noise_named(tmp_path):
    """Task 1's test record names its noise beside the figures: it is not a damaged status."""
    run = Run.create({"task": "task1", "preset": "seed", "epochs": 2}, tmp_path)
    test = {"images": 10000, "noise": "gaussian std 0.5", "psnr_noisy": 9.38, "psnr_denoised": 19.09}
    run.set_status("completed", epoch=2, epochs=2, test=test)
    assert run.status()["test"] == test and run.state() == "completed"
    assert run_table.row_of(run).test == "PSNR 19.09 dB"
