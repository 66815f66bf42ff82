"""A run on a Ray cluster as the Train page and the command line start it: ``python -m dae_core
train ... --ray ADDRESS`` in its own process (the page's through ``dashboard/ray_backend.py``),
joining a local cluster on loopback that declares a GPU; Stop and Resume as for a local run."""

import os
import socket
import subprocess
import sys
import time

import pytest

from dae_core.settings import PROJECT_ROOT
from dae_core.store.runs import list_runs
from dae_core.training import jobs, ray_cluster, run_table
from dae_core.training.config import make_config
from dashboard import ray_backend


@pytest.fixture
def address(cluster, monkeypatch):
    """The cluster's address, for training processes started from here: they keep to loopback too
    (Ray 2.60 would take 127.0.0.1 for this machine's network address)."""
    monkeypatch.setenv(ray_cluster.LOOPBACK_ENV, "0")
    return cluster


def test_the_train_page_starts_a_run_on_the_cluster_stops_and_resumes_it_there(address, data_dir, tmp_path):
    config = make_config("task2", "seed", epochs=12, train_size=300, batch_size=50, data_dir=str(data_dir))
    run = ray_backend.start(config, ray_backend.Backend(address, 0.5), tmp_path)
    deadline = time.time() + 240
    while not run.metrics("epoch") and time.time() < deadline:  # its curves, while it trains
        assert run.state() in ("queued", "running"), run.log_path.read_text()[-2000:]
        time.sleep(0.1)
    assert run.state() == "running" and jobs.progress(run).device.startswith("CPU")
    jobs.stop(run)  # the Stop button
    assert jobs.wait(run, timeout_s=120) == "stopped"
    status = run.status()
    assert (status["ray"], status["ray_gpus_asked"], status["ray_gpus"]) == (address, 0.5, "0")
    assert status["pid"] != os.getpid() and status["epoch"] < 12 and run.can_resume()
    ray_backend.resume(run)  # the Resume button: on the cluster it trained on
    assert jobs.wait(run, timeout_s=300) == "completed", run.log_path.read_text()[-2000:]
    assert [r["epoch"] for r in run.metrics("epoch")] == list(range(1, 13))
    [row] = run_table.run_rows(tmp_path)
    assert row.where.endswith(", Ray GPU 0") and " on " in row.where


def test_the_command_line_trains_on_the_cluster_and_keeps_the_run_here(address, data_dir, tmp_path):
    command = [sys.executable, "-m", "dae_core", "train", "task2", "--epochs", "1", "--train-size", "300",
               "--batch-size", "50", "--data-dir", str(data_dir), "--runs-dir", str(tmp_path),
               "--ray", address, "--gpus-per-run", "0"]
    done = subprocess.run(command, cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert f"training on the Ray cluster at {address}" in done.stdout
    [run] = list_runs(tmp_path)
    status = run.status()
    assert status["state"] == "completed" and status["ray_gpus"] == "" and status["node"]
    assert run.model_path.exists() and f"run {run.id}: completed" in done.stdout


def test_an_address_where_no_cluster_answers_is_said_at_once(tmp_path):
    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        port = unused.getsockname()[1]  # nothing listens there once closed
    command = [sys.executable, "-m", "dae_core", "train", "task2", "--epochs", "1", "--runs-dir", str(tmp_path),
               "--ray", f"127.0.0.1:{port}"]
    done = subprocess.run(command, cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 2 and f"cannot reach the Ray cluster at '127.0.0.1:{port}'" in done.stderr
    assert "ray start --head" in done.stderr and not list_runs(tmp_path)  # no run left behind


def test_a_former_ray_run_resumed_here_no_longer_names_the_cluster(tmp_path, monkeypatch):
    from dae_core.cli import remote as remote_cli
    from dae_core.cli.values import LabParser
    from dae_core.store.runs import Run
    from dae_core.training import train

    run = Run.create(make_config("task2", "seed", epochs=3, train_size=300).to_dict(), tmp_path)
    run.set_status("failed", epoch=1, epochs=3, device="GPU: NVIDIA H100", node="gpu-1 (10.0.0.7)", ray="head:6379",
                   ray_gpus="0", ray_gpus_asked=1.0, worker_pid=7, lost_workers=1, error="the Ray worker was lost")
    seen = []
    monkeypatch.setattr(train, "train_run", lambda run, resume, verbose: seen.append(resume) or run.status())
    parser = LabParser(prog="resume")
    remote_cli.add_ray_arguments(parser)
    status = remote_cli.train_run(parser.parse_args([]), run, resume=True)  # `resume RUN`, no --ray
    assert seen == [True] and run_table.trained_on(status) == ""  # until the training records this machine's
    assert {k: status.get(k) for k in ("state", "epoch", "error")} == {"state": "failed", "epoch": 1,
                                                                      "error": "the Ray worker was lost"}
    assert not {*ray_cluster.STATUS_FIELDS, "device"} & set(status)
