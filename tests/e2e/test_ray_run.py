"""A run started from the Train page with "Run on: a Ray cluster", in a real browser: the session's
server trains it on a local cluster on loopback that declares a GPU it does not have (started here;
the server's training process joins it by the address typed on the page). Its progress and live
curve grow while the worker trains, Stop on the page ends it, and the page says where it trained:
the cluster, the node, TensorFlow's device and the GPU Ray gave it."""

import time

import pytest

from dae_core import settings
from dae_core.store.runs import list_runs
from tests.e2e.test_training_run import alert, look, set_number
from tests.support.browser import open_page, wait_for_app

pytestmark = [pytest.mark.browser, pytest.mark.data]

# 600 images in batches of 8: an epoch lasts about a second (0.2 s in batches of 50), so the curve
# is seen growing and Stop lands long before the last epoch; it is stopped after two or three.
SETTINGS = {"train_epochs": 40, "train_batch_size": 8, "train_size": 600}
TRAINING_TIMEOUT_S = 420  # the driver's imports, the worker's TensorFlow, then 2 epochs on a loaded CPU


def test_a_ray_run_is_followed_live_stopped_from_the_page_and_says_where_it_trained(page, app_url, server_env,
                                                                                    cluster):
    open_page(page, app_url, "train?task=task2")
    for key, value in SETTINGS.items():
        set_number(page, key, value)
        wait_for_app(page)
    page.locator(".st-key-train_run_on").get_by_text("a Ray cluster").click()
    address = page.locator(".st-key-train_ray_address input")
    address.wait_for()
    address.fill(cluster)
    address.press("Enter")
    wait_for_app(page)
    before = {run.id for run in list_runs(server_env[settings.RUNS_DIR_ENV])}
    page.locator(".st-key-train_start button").click()
    deadline = time.time() + TRAINING_TIMEOUT_S
    while not (new := [r.id for r in list_runs(server_env[settings.RUNS_DIR_ENV]) if r.id not in before]):
        assert time.time() < deadline, "no run was started"
        time.sleep(0.2)
    # The page shows the new run (not a run an earlier test left completed) before it is watched.
    page.get_by_test_id("stHeading").filter(has_text=new[0]).wait_for(timeout=60_000)

    looks = []  # (seconds, points in the live chart, progress text) while it trains
    start = time.time()
    while not (drawn := [n for _, n, _ in looks if n > 0]) or drawn[-1] <= drawn[0]:
        assert time.time() - start < TRAINING_TIMEOUT_S, f"no growing curve; looks so far: {looks[-10:]}"
        assert alert(page, "Success", "Completed").count() == 0, f"it ended unseen; looks: {looks}"
        look(page, looks, start)
    assert any("epoch" in text and "CPU" in text for *_, text in looks), f"no epoch progress shown: {looks}"
    training = page.get_by_text(f"Trains on the Ray cluster at {cluster}")
    assert "Ray GPU 0" in training.first.inner_text()
    [run] = [r for r in list_runs(server_env[settings.RUNS_DIR_ENV]) if r.id not in before]
    while not run.latest_checkpoint():  # a whole epoch first, so that the stopped run can resume
        assert time.time() - start < TRAINING_TIMEOUT_S, "no epoch came back in time"
        time.sleep(0.2)

    page.locator(".st-key-train_stop button").first.click()  # a fragment rerun may leave the old one a moment
    alert(page, "Warning", "Stopped after epoch").wait_for(timeout=120_000)
    [run] = [r for r in list_runs(server_env[settings.RUNS_DIR_ENV]) if r.id not in before]
    status = run.status()
    assert status["state"] == "stopped" and status["epoch"] < SETTINGS["train_epochs"]
    trained = page.get_by_text(f"Trained on the Ray cluster at {cluster}")
    trained.first.wait_for(timeout=30_000)
    assert f"({status['device']} on {status['node']}, Ray GPU 0)" in trained.first.inner_text()
    assert page.locator(".st-key-train_resume_here button").count() >= 1
    assert page.get_by_test_id("stException").count() == 0
