"""One run on a Ray cluster (a local one on loopback that declares a GPU it does not have): the run
asks for its GPU share and gets it, TensorFlow falls back to the CPU, the run records its node and
device, its records reach the run folder here while it trains, Stop ends it, and a killed worker is
resumed from the last checkpoint that came back, each epoch recorded once. A driver's runs on a GPU
share train one after another in one trainer process, which keeps the GPU Ray gave it."""

import os
import signal
import socket
import threading
import time

import ray

from dae_core.cli import remote as remote_cli
from dae_core.cli.values import LabParser
from dae_core.store.runs import Run
from dae_core.studies import designs, ray_executor, store
from dae_core.training import ray_cluster, remote, run_table
from dae_core.training.config import make_config


def tiny_run(tmp_path, data_dir, epochs: int) -> Run:
    config = make_config("task2", "seed", epochs=epochs, train_size=300, batch_size=50, data_dir=str(data_dir))
    return Run.create(config.to_dict(), tmp_path)


def in_background(run: Run, **options) -> tuple[threading.Thread, dict]:
    """The driver in a thread, as ``python -m dae_core train --ray`` runs it in its own process."""
    ended = {}
    thread = threading.Thread(target=lambda: ended.update(status=remote.train_on_ray(run, verbose=False, **options)))
    thread.start()
    return thread, ended


def wait_for(condition, thread: threading.Thread, timeout_s: float = 240.0):
    deadline = time.time() + timeout_s
    while time.time() < deadline and thread.is_alive():
        found = condition()
        if found:
            return found
        time.sleep(0.05)
    raise AssertionError("the run ended (or timed out) before that happened")


def epochs_recorded(run: Run) -> list[int]:
    return [r["epoch"] for r in run.metrics("epoch")]


def test_a_run_gets_its_gpu_share_trains_on_the_cpu_and_streams_its_records_live(cluster, data_dir, tmp_path):
    assert ray_cluster.gpu_share(None) == 1.0 and ray_cluster.slots(1.0) == 1 and ray_cluster.slots(0.5) == 2
    run = tiny_run(tmp_path, data_dir, epochs=3)
    thread, ended = in_background(run)
    wait_for(lambda: run.metrics("batch") or run.metrics("epoch"), thread)  # here, while it trains
    assert thread.is_alive() and run.state() == "running"
    assert ray.available_resources().get("GPU", 0) == 0  # its share is taken
    thread.join()
    status = ended["status"]
    assert status["state"] == "completed" and run.state() == "completed"
    assert (status["ray_gpus_asked"], status["ray_gpus"]) == (1.0, "0")  # asked for, and given
    assert status["device"].startswith("CPU")  # TensorFlow found no GPU behind it
    assert status["node"].startswith(socket.gethostname()) and status["pid"] == os.getpid()
    assert status["worker_pid"] != os.getpid()
    assert epochs_recorded(run) == [1, 2, 3] and status["test"]["accuracy"] > 0
    assert {"model.keras", "checkpoint-0003.keras", "tensorboard", "log.txt"} <= {p.name for p in run.path.iterdir()}
    assert "the Ray worker's log" in run.log_path.read_text()
    [row] = run_table.run_rows(tmp_path)
    assert row.where == f"{status['device']} on {status['node']}, Ray GPU 0"


def test_a_drivers_runs_on_a_gpu_share_train_in_one_process_that_keeps_its_gpu(cluster, data_dir, tmp_path):
    """Ray gives every GPU *task* a fresh process (TensorFlow imported again, seconds); a trainer is
    one process for a driver's runs, its GPU assigned as it started (TensorFlow reads it once)."""
    runs = [tiny_run(tmp_path, data_dir, epochs=1) for _ in range(2)]
    with ray_cluster.Trainers() as trainers:
        statuses = [remote.train_on_ray(run, gpus_per_run=1, verbose=False, trainers=trainers) for run in runs]
        [trainer] = trainers.idle[1.0]  # given back after each run
        visible = ray.get(trainer.call.remote(os.getenv, "CUDA_VISIBLE_DEVICES"))
        assert ray.available_resources().get("GPU", 0) == 0  # an idle trainer keeps its share
    assert [s["state"] for s in statuses] == ["completed"] * 2
    assert statuses[0]["worker_pid"] == statuses[1]["worker_pid"] != os.getpid()
    assert [s["ray_gpus"] for s in statuses] == ["0", "0"] and visible == "0"  # the GPU it was given, each run
    assert all(s["device"].startswith("CPU") for s in statuses)
    deadline = time.time() + 30
    while ray.available_resources().get("GPU", 0) < 1 and time.time() < deadline:  # ended: its share is free
        time.sleep(0.1)
    assert ray.available_resources().get("GPU", 0) == 1


def test_stop_ends_the_remote_run_after_its_batch_and_keeps_the_model(cluster, data_dir, tmp_path):
    run = tiny_run(tmp_path, data_dir, epochs=40)
    thread, ended = in_background(run)
    wait_for(lambda: run.metrics("epoch"), thread)
    run.request_stop()  # what the Stop button and `python -m dae_core stop` do
    thread.join(timeout=120)
    assert ended["status"]["state"] == "stopped" and run.state() == "stopped"
    assert ended["status"]["epoch"] < 40 and run.model_path.exists() and run.can_resume()


def test_a_killed_worker_is_resumed_from_its_last_checkpoint_each_epoch_once(cluster, data_dir, tmp_path):
    run = tiny_run(tmp_path, data_dir, epochs=8)
    thread, ended = in_background(run, retries=1)
    wait_for(lambda: (run.status().get("epoch") or 0) >= 2, thread)
    killed = run.status()["worker_pid"]
    os.kill(killed, signal.SIGKILL)  # a worker of the cluster this test started
    thread.join(timeout=240)
    status = ended["status"]
    assert status["state"] == "completed" and status["worker_pid"] != killed
    assert status["lost_workers"] == 1
    assert epochs_recorded(run) == list(range(1, 9))


def test_without_retries_a_lost_worker_leaves_a_failed_run_that_resumes_here(cluster, data_dir, tmp_path):
    run = tiny_run(tmp_path, data_dir, epochs=6)
    parser = LabParser(prog="train")
    remote_cli.add_ray_arguments(parser)
    args = parser.parse_args(["--ray", "auto", "--gpus-per-run", "0"])  # this process is connected
    thread, ended = in_background(run, retries=0, gpus_per_run=args.gpus_per_run)
    wait_for(lambda: (run.status().get("epoch") or 0) >= 1, thread)
    os.kill(run.status()["worker_pid"], signal.SIGKILL)
    thread.join(timeout=240)
    assert ended["status"]["state"] == "failed" and "worker was lost" in ended["status"]["error"]
    assert run.can_resume()
    status = remote_cli.train_run(args, run, resume=True)
    assert status["state"] == "completed" and (status["ray_gpus_asked"], status["ray_gpus"]) == (0.0, "")
    assert epochs_recorded(run) == list(range(1, 7))


def test_study_members_ask_for_a_gpu_share_too_and_train_in_one_trainer(cluster, data_dir, tmp_path):
    members = designs.label_efficiency(data_dir=str(data_dir), seeds=2, budgets=(100,), arms=("scratch",),
                                       epochs_scale=0.1, steps_per_epoch=5).members
    study = store.Study.open(store.Design("two", "?", members), runs_dir=tmp_path)
    assert len(members) == 2 and ray_executor.run_on_ray(study, None, verbose=False) == []
    statuses = [study.run_of(member.key).status() for member in members]
    assert all(s["ray_gpus"] == "0" and s["device"].startswith("CPU") for s in statuses)
    assert statuses[0]["pid"] == statuses[1]["pid"] != os.getpid()  # one GPU: one trainer, one after another


def test_a_damaged_checkpoint_the_worker_sets_aside_is_set_aside_here_too(cluster, data_dir, tmp_path):
    run = tiny_run(tmp_path, data_dir, epochs=2)
    run.set_status("stopped", epoch=1, epochs=2)
    run.checkpoint_for(1).write_bytes(b"cut short")  # no zip: the worker's check_resumable sets it aside
    status = remote.train_on_ray(run, resume=True, gpus_per_run=0, verbose=False)
    assert status["state"] == "failed" and "checkpoint-0001.keras" in status["error"]
    assert sorted(p.name for p in run.path.glob("checkpoint-*")) == ["checkpoint-0001.keras.damaged"]
    assert run.path.joinpath("checkpoint-0001.keras.damaged").read_bytes() == b"cut short"
    assert "kept as checkpoint-0001.keras.damaged" in status["note"] and not run.can_resume()
