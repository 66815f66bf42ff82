"""The Train page in a real browser on a machine without the datasets and without the internet
(issue 26 point 3): before Start it says in full what to do and Start is disabled; a run that
failed for want of data shows its error, with no empty charts, and
is archived with one click; a value typed past a field's limit never trains (issue 25)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from dae_core import settings
from dae_core.store.runs import Run, list_runs
from dae_core.training import jobs
from dae_core.training.config import make_config
from tests.support import browser
from tests.support.browser import open_page, wait_for_app
from tests.support.offline import findable_data, offline_env

pytestmark = pytest.mark.browser

STARTUP_TIMEOUT_S = 120
FAILED_RUN_TIMEOUT_S = 180  # the training process imports TensorFlow, then finds no data


@pytest.fixture(scope="module")
def offline_app(tmp_path_factory):
    """A server with no data folder, an empty Keras cache, downloads refused, the shipped
    models and an empty runs folder; (its URL, its environment)."""
    root = tmp_path_factory.mktemp("offline-app")
    env = {k: v for k, v in os.environ.items() if not k.startswith("DAE_")}
    env.update(offline_env(root), TF_CPP_MIN_LOG_LEVEL="2", PYTHONUNBUFFERED="1")
    env.update({settings.RUNS_DIR_ENV: str(root / "runs"), settings.MODELS_DIR_ENV: str(settings.PROJECT_ROOT / "models")})
    port = browser.free_port()
    with open(root / "streamlit.log", "w") as log:
        proc = browser.start_app(port, env, log)
    try:
        browser.wait_healthy(f"http://127.0.0.1:{port}", proc, STARTUP_TIMEOUT_S)
        yield f"http://127.0.0.1:{port}", env
    finally:
        browser.stop(proc)


@pytest.fixture(scope="module")
def failed_run(offline_app) -> Run:
    """A run prepared beside the server and trained by the training process as the page starts it,
    failed for want of data (as when the data folder goes away after Start: `train TASK` itself
    refuses before a run exists)."""
    env = offline_app[1]
    runs = env[settings.RUNS_DIR_ENV]
    prepared = Run.create(make_config("task2", epochs=1, train_size=300).to_dict(), runs)
    failed = subprocess.run([sys.executable, "-m", "dae_core", "train", "--run-dir", str(prepared.path),
                             "--runs-dir", runs], env=env, capture_output=True, text=True,
                            timeout=FAILED_RUN_TIMEOUT_S)
    assert failed.returncode != 0, failed.stdout
    [run] = list_runs(runs)
    return run


def alert(page, kind: str, text: str):
    return page.get_by_test_id(f"stAlertContent{kind}").filter(has_text=text)


def fits(locator) -> bool:
    """Whether the element's text fits its width: no word runs past its edge, cut off. (Its height
    may exceed by a paragraph's bottom margin: Streamlit's alert sets it so.)"""
    return locator.evaluate("e => e.scrollWidth <= e.clientWidth + 1")


def test_without_data_start_is_disabled_and_a_failed_run_shows_its_error_and_is_archived(page, offline_app,
                                                                                        failed_run):
    url, env = offline_app
    run = failed_run

    open_page(page, url, "train?task=task2")
    wait_for_app(page)
    assert page.get_by_test_id("stException").count() == 0
    missing = alert(page, "Warning", "Fashion-MNIST is not on this machine")
    assert missing.count() == 1 and fits(missing)
    text = missing.inner_text()
    assert 'enter FOLDER under "Data folder" above' in text and text.endswith("the run downloads Fashion-MNIST itself.")
    assert page.locator(".st-key-train_start button").is_disabled()
    assert page.locator(".st-key-train_data_dir input").input_value() == env[settings.DATA_DIR_ENV]

    error = alert(page, "Error", "Failed: DataError")  # the newest run: the failed one, its error whole
    assert error.count() == 1 and fits(error)
    assert error.inner_text().startswith("Failed: DataError: fashion-mnist full data not found. Tried: folder ")
    assert error.inner_text().endswith(f"See {run.log_path}.")  # (st.error shows markdown: "--" is a dash)
    assert page.get_by_test_id("stPlotlyChart").count() == 0  # no empty charts, no cut titles

    page.locator(".st-key-train_archive").get_by_role("button", name="Archive this run").click()
    alert(page, "Info", f"Run {run.id} archived").wait_for()
    wait_for_app(page)
    assert run.meta().archived and alert(page, "Error", "Failed").count() == 0


def test_a_value_past_its_limit_never_trains(page, offline_app, tmp_path):
    url, env = offline_app
    before = {r.id for r in list_runs(env[settings.RUNS_DIR_ENV])}
    open_page(page, url, "train?task=task2")
    wait_for_app(page)
    folder = page.locator(".st-key-train_data_dir input")
    folder.fill(str(findable_data(tmp_path / "data")))
    folder.press("Enter")
    page.wait_for_function("() => !document.querySelector('.st-key-train_start button').disabled")

    epochs = page.locator(".st-key-train_epochs input")
    epochs.fill("5000")
    page.locator(".st-key-train_start button").click()  # at once: the field's value goes with the click
    alert(page, "Error", "Epochs must be 1 to 1,000; 5,000 was entered.").wait_for()
    wait_for_app(page)
    assert page.locator(".st-key-train_start button").is_disabled() and epochs.input_value() == "5000"
    assert {r.id for r in list_runs(env[settings.RUNS_DIR_ENV])} == before  # nothing started
    assert page.get_by_test_id("stException").count() == 0


def test_the_failed_runs_message_is_never_cut(failed_run):
    message = jobs.progress(failed_run).message  # what the Train page shows
    assert "Connection refused" in message and ".." not in message, message
