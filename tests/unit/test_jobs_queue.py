"""The queue of this machine's trainings: a run on a Ray cluster neither holds this machine's
training lock nor waits for it, so it is ahead of no run here and nothing here is ahead of it."""

import os

import pytest

from dae_core.store.runs import Run
from dae_core.training import jobs


def active(tmp_path, state: str, **fields) -> Run:
    run = Run.create({"task": "task2", "preset": "seed", "epochs": 3}, tmp_path)
    run.set_status(state, pid=os.getpid(), **fields)  # this process: alive, so the run is active
    return run


@pytest.mark.parametrize("state", ["running", "queued"])
def test_an_active_ray_run_is_not_ahead_of_a_queued_local_run(tmp_path, state):
    active(tmp_path, state, ray="127.0.0.1:6379", ray_gpus_asked=1.0)
    local = active(tmp_path, "queued")
    info = jobs.progress(local)
    assert info.queue_position == 0 and info.message == "Starting: loading TensorFlow and the data..."


def test_a_queued_ray_run_has_no_place_in_this_machines_queue(tmp_path):
    active(tmp_path, "running")
    on_ray = active(tmp_path, "queued", ray="auto", ray_gpus_asked=0.0)
    assert jobs.queue_position(on_ray) == 0
    assert jobs.progress(on_ray).message.startswith("Queued: waiting for the Ray cluster at auto")


def test_a_local_run_is_still_ahead_of_a_queued_local_run(tmp_path):
    active(tmp_path, "running")
    assert jobs.queue_position(active(tmp_path, "queued")) == 1


def test_a_ray_run_is_off_the_queue_before_its_process_starts(tmp_path, monkeypatch):
    """Its driver connects to the cluster seconds after it starts: the launch says where it trains."""
    seen = {}
    monkeypatch.setattr(jobs, "spawn", lambda args, log: seen.update(Run(tmp_path / run.id).status()) or os.getpid())
    run = Run.create({"task": "task2", "preset": "seed", "epochs": 3}, tmp_path)
    jobs._launch(run, ["train", "--run-dir", str(run.path), "--ray", "head:6379", "--gpus-per-run", "1"])
    assert seen == {"state": "queued", "ray": "head:6379", "updated": seen["updated"]}
    local = active(tmp_path, "queued")
    assert jobs.queue_position(local) == 0


def test_a_former_ray_run_resumed_here_is_in_the_queue_from_its_launch(tmp_path, monkeypatch):
    monkeypatch.setattr(jobs, "spawn", lambda args, log: os.getpid())
    active(tmp_path, "running")
    run = Run.create({"task": "task2", "preset": "seed", "epochs": 3}, tmp_path)
    run.set_status("stopped", epoch=1, ray="head:6379", node="gpu-1 (10.0.0.7)", ray_gpus="0", device="GPU: H100")
    run.checkpoint_for(1).write_bytes(b"an epoch's checkpoint")
    jobs.resume(run)  # "Resume on this machine"
    assert jobs.queue_position(run) == 1 and not {"ray", "node", "ray_gpus", "device"} & set(run.status())
