"""A tiny training started from the Train page: its live curve gains points, then it completes
with its test figures; the page is then saved as a screenshot, train.png. And a training
killed mid-way: the page says so, still after a reload, and Resume follows it to the end."""

import os
import signal
import time

import pytest

from dae_core import settings
from dae_core.store.runs import list_runs
from tests.support.browser import open_page, save_screenshot, wait_for_app

pytestmark = [pytest.mark.browser, pytest.mark.data]

# Long enough to watch: the charts appear with the first records, so a short run on a loaded
# machine could show them only once, already whole.
SETTINGS = {"train_epochs": 8, "train_batch_size": 32, "train_size": 600}
TRAINING_TIMEOUT_S = 420  # TensorFlow import, 8 short epochs, validation and test on a loaded CPU

# Points in the live loss chart, or -1 while it is not drawn.
POINTS = """() => {
  const chart = document.querySelector('.st-key-train_live_loss .js-plotly-plot');
  if (!chart || !chart.data) return -1;
  return chart.data.reduce((n, trace) => n + (trace.x ? trace.x.length : 0), 0);
}"""


def set_number(page, key: str, value) -> None:
    field = page.locator(f".st-key-{key} input")
    field.fill(str(value))
    field.press("Enter")
    page.wait_for_function(f"() => document.querySelector('.st-key-{key} input').value === '{value}'")


def look(page, looks: list, start: float) -> None:
    """One look at a training run's page, no error on it: (seconds, points in the live chart,
    progress text) appended to ``looks`` when it differs from the last; then a pause."""
    assert page.get_by_test_id("stException").count() == 0
    assert page.get_by_test_id("stAlertContentError").count() == 0, \
        page.get_by_test_id("stAlertContentError").first.inner_text()
    progress = page.get_by_test_id("stProgress")
    text = progress.first.inner_text() if progress.count() else ""
    points = page.evaluate(POINTS)
    if not looks or looks[-1][1:] != (points, text):
        looks.append((round(time.time() - start, 1), points, text))
    page.wait_for_timeout(250)


def test_training_curve_grows_then_completes(page, app_url):
    open_page(page, app_url, "train?task=task2")
    for key, value in SETTINGS.items():
        set_number(page, key, value)
        wait_for_app(page)
    page.locator(".st-key-train_start button").click()

    done = page.get_by_test_id("stAlertContentSuccess").filter(has_text="Completed 8 epochs")
    looks = []  # (seconds, points in the chart, progress text)
    start = time.time()
    while not done.count():
        assert time.time() - start < TRAINING_TIMEOUT_S, f"not completed; looks so far: {looks[-10:]}"
        look(page, looks, start)
    seen = [points for _, points, _ in looks if points >= 0]
    assert seen and max(seen) > min(seen), f"the live chart never gained points: {looks}"
    assert any("epoch" in text for *_, text in looks), f"no epoch progress shown: {looks}"

    wait_for_app(page)
    heading = page.get_by_test_id("stHeading").filter(has_text="Task 2: CNN classifier")
    assert heading.count() == 1, "the run shown is not the task the link named (Task 2)"
    assert page.evaluate(POINTS) >= 16  # 8 epochs of train and validation loss
    accuracy = page.get_by_test_id("stMetric").filter(
        has=page.get_by_test_id("stMetricLabel").get_by_text("Test accuracy", exact=True))
    assert 0.0 <= float(accuracy.get_by_test_id("stMetricValue").inner_text()) <= 1.0
    assert page.get_by_test_id("stDataFrame").count() >= 1  # the past runs table
    save_screenshot(page, "train")


def alert(page, kind: str, text: str):
    return page.get_by_test_id(f"stAlertContent{kind}").filter(has_text=text)


def test_a_killed_run_is_shown_after_a_reload_and_resume_follows_it_to_the_end(page, app_url, server_env):
    open_page(page, app_url, "train?task=task2")
    for key, value in {"train_epochs": 3, "train_batch_size": 100, "train_size": 300}.items():
        set_number(page, key, value)
        wait_for_app(page)
    before = {run.id for run in list_runs(server_env[settings.RUNS_DIR_ENV])}
    page.locator(".st-key-train_start button").click()
    deadline = time.time() + TRAINING_TIMEOUT_S
    while not (new := [r for r in list_runs(server_env[settings.RUNS_DIR_ENV]) if r.id not in before]) \
            or not new[0].latest_checkpoint():  # killed (not politely) once an epoch is saved
        assert time.time() < deadline, "no epoch saved in time"
        time.sleep(0.2)
    [run] = new
    os.kill(run.status()["pid"], signal.SIGKILL)

    alert(page, "Error", "can be resumed").wait_for(timeout=15_000)  # the live view sees it
    page.reload()  # a new session: it shows the newest run, failed, with Resume
    alert(page, "Error", "can be resumed").wait_for(timeout=30_000)
    assert run.id in page.get_by_test_id("stHeading").filter(has_text="Task 2").inner_text()
    page.locator(".st-key-train_resume").get_by_role("button", name="Resume from the last epoch").click()
    page.locator(".st-key-train_stop button").first.wait_for(timeout=30_000)  # followed live
    alert(page, "Success", "Completed 3 epochs").wait_for(timeout=TRAINING_TIMEOUT_S * 1000)
    assert page.get_by_test_id("stException").count() == 0
    assert [r["epoch"] for r in run.metrics("epoch")] == [1, 2, 3]
