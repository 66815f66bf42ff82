"""The Train page's "Run on" choice (dashboard/ray_backend.py): this machine unless a cluster is
picked; the cluster's address from $RAY_ADDRESS, else "auto"; the options the training gets; what
the page says of a run on a cluster (queued, where it trained) and where Resume sends it."""

import os

from streamlit.testing.v1 import AppTest

from dae_core.store.runs import Run
from dae_core.training import jobs
from dae_core.training.config import make_config
from dashboard import ray_backend


def choosing():
    import streamlit as st

    from dashboard import ray_backend

    st.session_state.backend = ray_backend.choose("t")


def test_runs_train_here_unless_a_cluster_is_picked_by_its_address(monkeypatch):
    monkeypatch.delenv("RAY_ADDRESS", raising=False)
    at = AppTest.from_function(choosing).run()
    assert at.session_state.backend == ray_backend.Backend() and at.session_state.backend.cli_args() == []
    at.radio(key="t_run_on").set_value(ray_backend.CLUSTER).run()
    assert at.text_input(key="t_ray_address").value == "auto"
    assert at.session_state.backend.cli_args() == ["--ray", "auto"]  # GPUs: Ray's default share
    at.text_input(key="t_ray_address").set_value("10.0.0.5:6379").run()
    at.number_input(key="t_gpus_per_run").set_value(0.5).run()
    assert at.session_state.backend.cli_args() == ["--ray", "10.0.0.5:6379", "--gpus-per-run", "0.5"]


def test_the_address_comes_from_ray_address(monkeypatch):
    monkeypatch.setenv("RAY_ADDRESS", "head:6379")
    at = AppTest.from_function(choosing).run()
    at.radio(key="t_run_on").set_value(ray_backend.CLUSTER).run()
    assert at.session_state.backend == ray_backend.Backend("head:6379")


def ray_run(tmp_path, **status) -> Run:
    run = Run.create(make_config("task2", "seed", epochs=3, train_size=300).to_dict(), tmp_path)
    run.set_status(status.pop("state", "queued"), **status)
    return run


def test_a_queued_ray_run_waits_for_the_cluster_not_for_this_machine(tmp_path):
    here = ray_run(tmp_path, state="running", pid=os.getpid())  # a local training holds this machine
    waiting = ray_run(tmp_path, pid=os.getpid(), ray="10.0.0.5:6379", ray_gpus_asked=1.0)
    assert jobs.progress(waiting).message == ("Queued: waiting for the Ray cluster at 10.0.0.5:6379 to give it "
                                              "a CPU and 1 GPU. It starts by itself when the cluster has room "
                                              "(or stop it).")
    waiting.set_status("queued", node="gpu-1 (10.0.0.7)", ray_gpus="0", worker_pid=1)  # its worker said
    assert jobs.progress(waiting).message == "Starting on gpu-1 (10.0.0.7): loading TensorFlow and the data..."
    assert jobs.progress(ray_run(tmp_path, pid=os.getpid())).message.startswith(
        "Queued: one training at a time on this machine, ")  # a local one still waits for `here`
    assert here.state() == "running"


def test_where_a_run_trained_and_where_resume_sends_it(tmp_path, monkeypatch):
    sent = []
    monkeypatch.setattr(jobs, "resume", lambda run, extra_args=(): sent.append(list(extra_args)) or run)
    run = ray_run(tmp_path, state="stopped", epoch=1, epochs=3, device="CPU (2 cores)", node="gpu-1 (10.0.0.7)",
                  ray="10.0.0.5:6379", ray_gpus="0", ray_gpus_asked=0.5, worker_pid=7, lost_workers=1)
    run.checkpoint_for(1).write_bytes(b"an epoch's checkpoint")
    assert ray_backend.where(run) == "on the Ray cluster at 10.0.0.5:6379 (CPU (2 cores) on gpu-1 (10.0.0.7), Ray GPU 0)"
    ray_backend.resume(run)  # the Resume button: where it trained, with the share it asked for
    assert sent.pop() == ["--ray", "10.0.0.5:6379", "--gpus-per-run", "0.5"] and run.status()["ray"]
    ray_backend.resume(run, ray_backend.Backend())  # "Resume on this machine"
    assert sent.pop() == [] and ray_backend.where(run) is None
    assert {"state": "stopped", "epoch": 1, "epochs": 3} == {k: v for k, v in run.status().items() if k != "updated"}
    ray_backend.resume(run)  # from now on, where it trained is here
    assert sent.pop() == []
