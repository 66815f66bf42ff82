"""The Train page with "Run on: a Ray cluster", a local one on loopback that declares a GPU it does
not have: the page starts the run there, follows its progress and curves while it trains, Stop ends
it, the run's page says where it trained (cluster, node, device, the Ray GPU it was given), and
"Resume on this machine" finishes it here, the status then naming this machine only. The Runs page
says where one selected run trained. AppTest fires no ``run_every`` timers: the live view is checked
by rerunning the page, as its timer would.
"""

import json
import os
import socket
import time
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from dae_core.store.runs import Run, list_runs
from dae_core.training import jobs, run_table
from dae_core.training.config import make_config
from dashboard import ray_backend

ROOT = Path(__file__).resolve().parents[2]
PAGE = str(ROOT / "pages" / "train.py")
# A tiny run: 600 images in batches of 8, about a second an epoch (0.2 s in batches of 50: it could
# end before Stop lands), stopped after its second epoch or so, the rest trained here.
EPOCHS = 15
SETTINGS = {"train_epochs": EPOCHS, "train_batch_size": 8, "train_size": 600}


@pytest.fixture
def runs_dir(models_dir, tmp_path):
    return tmp_path / "runs"


def live_points(at: AppTest) -> int:
    """Points in the live loss chart (train and validation, epochs and batches)."""
    chart = next(c for c in at.get("plotly_chart") if c.proto.id.endswith("train_live_loss"))
    return sum(len(trace.get("x") or ()) for trace in json.loads(chart.proto.spec)["data"])


def captions(at: AppTest) -> list[str]:
    return [c.value for c in at.caption]


def wait_until(condition, run: Run, timeout_s: float = 300.0) -> None:
    deadline = time.time() + timeout_s
    while not condition():
        assert run.is_active() and time.time() < deadline, run.log_path.read_text()[-3000:]
        time.sleep(0.1)


def test_a_run_on_the_cluster_is_followed_live_stopped_and_resumed_here(cluster, runs_dir, data_dir,
                                                                          monkeypatch):
    monkeypatch.setenv("RAY_ADDRESS", cluster)  # the address field's default
    at = AppTest.from_file(PAGE, default_timeout=120)
    at.query_params["task"] = "task2"  # the page opens on Task 1: a classifier is quicker to check
    at.run()
    for key, value in SETTINGS.items():
        at.number_input(key=key).set_value(value)
    at.radio(key="train_run_on").set_value(ray_backend.CLUSTER).run()
    assert at.text_input(key="train_ray_address").value == cluster
    assert at.number_input(key="train_gpus_per_run").value is None  # auto: one GPU, the cluster has one
    at.button(key="train_start").click().run()
    assert not at.exception and not at.error
    [run] = list_runs(runs_dir)
    assert run.is_active() and at.button(key="train_stop").label == "Stop"

    wait_until(lambda: run.metrics("epoch"), run)  # the first epoch came back from the worker
    at.run()  # what the page's timer does each second
    first = live_points(at)
    [bar] = at.get("progress")
    assert "epoch" in bar.proto.text and "CPU" in bar.proto.text  # TensorFlow found no GPU behind it
    status = run.status()
    place = f"{status['device']} on {status['node']}, Ray GPU 0"
    assert status["node"].startswith(socket.gethostname()) and status["ray_gpus_asked"] == 1.0
    assert (f"Trains on the Ray cluster at {cluster} ({place}); its records, Stop and Resume go through "
            "this machine.") in captions(at)
    wait_until(lambda: len(run.metrics("epoch")) >= 2, run)
    at.run()
    assert live_points(at) > first  # the curves grow while it trains

    at.button(key="train_stop").click().run()
    assert jobs.wait(run, timeout_s=120) == "stopped", run.log_path.read_text()[-3000:]
    at.run()
    stopped_at = run.status()["epoch"]
    assert not at.exception and 2 <= stopped_at < EPOCHS
    assert at.warning[0].value.startswith(f"Stopped after epoch {stopped_at}/{EPOCHS}")
    assert (f"Trained on the Ray cluster at {cluster} ({place}); its records, Stop and Resume go "
            "through this machine.") in captions(at)
    [row] = run_table.run_rows(runs_dir)
    assert row.where == place  # the runs table's "trained on"

    at.button(key="train_resume_here").click().run()  # its cluster gone or busy: the rest here
    assert not at.exception and run.is_active()
    assert not {"ray", "node", "ray_gpus", "worker_pid"} & set(run.status())
    assert jobs.wait(run, timeout_s=300) == "completed", run.log_path.read_text()[-3000:]
    at.run()
    status = run.status()
    assert [r["epoch"] for r in run.metrics("epoch")] == list(range(1, EPOCHS + 1))
    assert status["pid"] != os.getpid() and status["device"] == f"CPU ({os.cpu_count()} cores)"
    assert not {"ray", "node", "ray_gpus", "ray_gpus_asked", "worker_pid"} & set(status)
    assert at.success[0].value == f"Completed {EPOCHS} epochs on {status['device']}."
    assert not [c for c in captions(at) if "Ray cluster" in c]
    [row] = run_table.run_rows(runs_dir)
    assert row.where == status["device"]


def test_the_runs_page_says_where_a_selected_run_trained(runs_dir):
    config = make_config("task2", "seed", epochs=2, train_size=300).to_dict()
    remote, local = Run.create(config, runs_dir), Run.create(config, runs_dir)
    remote.set_status("completed", epoch=2, epochs=2, device="CPU (2 cores)", node="gpu-1 (10.0.0.7)",
                      ray="10.0.0.5:6379", ray_gpus="0", test={"accuracy": 0.8})
    local.set_status("stopped", epoch=1, epochs=2, device="CPU (2 cores)")
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    at.switch_page("pages/runs.py")
    at.run()
    at.multiselect(key="runs_selected").set_value([remote.id]).run()
    assert not at.exception
    assert (f"`{remote.id}` trained on CPU (2 cores) on gpu-1 (10.0.0.7), Ray GPU 0 (the Ray cluster at "
            "10.0.0.5:6379).") in captions(at)
    at.multiselect(key="runs_selected").set_value([local.id]).run()
    assert f"`{local.id}` trained on CPU (2 cores)." in captions(at)
