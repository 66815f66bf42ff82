"""Issue 26's student, redone in Chromium on the session's server: every page reached from the
sidebar without an exception and without a request to any host but the app's; a finished run in
the Runs table with its configuration and its test figure named with its unit; the Studies demo
kept out of the sidebar's count, the Overview, the model pickers and the Runs page, then cleared
with one click; and, on a server without data or internet, Start disabled with the whole message."""

from __future__ import annotations

import re
import shutil
import time

import pytest

from dae_core import settings
from dae_core.models import catalog
from dae_core.store.runs import Run, list_runs
from dae_core.studies import runner
from dae_core.training.config import make_config
from tests.e2e.test_train_without_data import alert, fits, offline_app  # noqa: F401 (a fixture)
from tests.support import browser
from tests.support.browser import foreign_requests, image_src, open_page, wait_for_app, wait_for_image_change

pytestmark = [pytest.mark.browser, pytest.mark.data]

DEMO_TIMEOUT_S = 480  # 8 tiny members behind a TensorFlow import, on a loaded CPU
NAV = ["Train", "Runs", "Denoise", "Latent space", "Compare", "Garment", "Studies"]
TITLES = {"Overview": "DAE Lab", "Denoise": "Denoise a digit", "Compare": "Task 2 against Task 3",
          "Garment": "Try a garment"}  # a page's title where it is not its name in the sidebar
# The Runs table's first columns (the test figure beside the state), then the configuration.
RUNS_COLUMNS = ["run", "task", "preset", "state", "epochs", "test", "batch", "learning rate", "images",
                "noise", "start weights", "seed", "started"]


def finished_run(runs_dir: str, models_dir) -> Run:
    """A Task 2 run as the Train page leaves it (3 epochs, its test figures), the tiny model its model."""
    run = Run.create(make_config("task2", "seed", epochs=3, train_size=1000, seed=7).to_dict(), runs_dir)
    for epoch in (1, 2, 3):
        run.append_metric({"kind": "epoch", "epoch": epoch, "loss": 1 / epoch, "accuracy": 0.5 + epoch / 10,
                           "val_loss": 1.1 / epoch, "val_accuracy": 0.45 + epoch / 10})
    shutil.copy2(catalog.shipped_model_path("task2", "seed", models_dir), run.model_path)
    run.set_status("completed", epoch=3, epochs=3, started=time.time() - 75, finished=time.time(),
                   test={"accuracy": 0.8125, "loss": 0.5, "images": 10_000})
    return run


def sidebar_models(page) -> int:
    return int(re.search(r"Models: (\d+)", page.get_by_test_id("stSidebar").inner_text())[1])


def main_text(page) -> str:
    return page.get_by_test_id("stMain").inner_text()


def options(page, key: str) -> list[str]:
    """The choices of the selectbox keyed ``key``, read by opening it."""
    page.locator(f".st-key-{key}").get_by_test_id("stSelectbox").click()
    listed = page.get_by_role("option").all_inner_texts()
    page.keyboard.press("Escape")
    return listed


def go(page, title: str) -> None:
    """To a page by its link in the sidebar, as a student goes."""
    page.get_by_test_id("stSidebarNav").get_by_role("link", name=title).click()
    # its own title, not the last page's (seen drawn before the new page's run began)
    own = re.compile(f"^{re.escape(TITLES.get(title, title))}$")
    page.get_by_test_id("stHeading").locator("h1").filter(has_text=own).first.wait_for()
    wait_for_app(page)  # asserts that no exception is shown


def run_the_demo(page) -> None:
    page.locator(".st-key-studies_start_demo").get_by_role("button", name="Start the demo (8 tiny members)").click()
    start = time.time()
    while not page.get_by_text("Every member (8 rows)").count():
        assert time.time() - start < DEMO_TIMEOUT_S, "the demo did not finish"
        assert page.get_by_test_id("stException").count() == 0
        page.wait_for_timeout(500)
    wait_for_app(page)


def test_the_students_path(page, app_url, server_env, e2e_models_dir):
    runs_dir = server_env[settings.RUNS_DIR_ENV]
    run = finished_run(runs_dir, e2e_models_dir)
    requested = []
    page.on("request", lambda request: requested.append(request.url))

    open_page(page, app_url)  # the Overview: a map of the tasks and a first path
    text = main_text(page)
    assert "New here? A first path" in text and "The assignment's tasks, page by page" in text
    models = sidebar_models(page)
    for title in NAV:  # every page, each drawn without an exception
        go(page, title)
        if title == "Runs":
            table = page.get_by_test_id("stDataFrame").first
            heads = table.locator("[role=columnheader]").all_inner_texts()
            assert heads[:len(RUNS_COLUMNS)] == RUNS_COLUMNS, heads  # in view at 1,400 px, the test figure too
            cells = table.locator("[role=row]").nth(1).locator("[role=gridcell]").all_inner_texts()
            assert cells[:6] == [run.id, "task2", "seed", "completed", "3/3", "accuracy 81.25 %"], cells
            assert [c.replace(",", "") for c in cells[6:12]] == ["1000", "0.001", "1000", "", "new", "7"], cells
        elif title == "Denoise":  # a test digit: its PSNR and SSIM, and what a good value is
            before = image_src(page, "Denoised")  # read before the click: the rerun can be quicker than the next read
            browser.choose_radio(page, "denoise_source", "MNIST test digit")
            wait_for_image_change(page, "Denoised", before)
            assert "about 20 dB and an SSIM of 0.85 or more look clean" in main_text(page)
        elif title == "Compare":
            text = main_text(page)
            assert "McNemar's test, over the test images" in text and "over training seeds" in text

    # Studies: the demo trains beside the ordinary runs, never among them
    run_the_demo(page)
    text = main_text(page)
    assert "no interval yet (intervals need 3 seeds or more)" in text  # the demo has 2 seeds
    assert not {"random-init", "mnist-ae"} & set(re.findall(r"[\w-]+", text))  # plain arm names
    demo = {r.id for r in list_runs(runner.demo_runs_dir(runs_dir))}
    assert len(demo) == 8 and not demo & {r.id for r in list_runs(runs_dir)}
    assert sidebar_models(page) == models

    def shows_demo(listed) -> set:
        return {run_id for run_id in demo if any(run_id in item for item in listed)}

    go(page, "Overview")
    assert sidebar_models(page) == models and not shows_demo([main_text(page)])
    go(page, "Compare")
    assert not shows_demo(options(page, "compare_model_a") + options(page, "compare_model_b"))
    assert any(run.id in item for item in options(page, "compare_model_a"))  # an ordinary run is listed
    go(page, "Garment")
    assert not shows_demo(options(page, "garment_model_task2") + options(page, "garment_model_task3"))
    open_page(page, app_url, "train?task=task2")  # the demo's tasks (the page opens on Task 1)
    assert not shows_demo(options(page, "train_start_from_task2_seed") + [main_text(page)])
    go(page, "Runs")
    assert not shows_demo([main_text(page)])

    go(page, "Studies")  # one click clears the demo, and nothing else
    page.locator(".st-key-studies_clear_demo").get_by_role("button", name="Clear the demo").click()
    page.get_by_text("Demo cleared.").wait_for()
    wait_for_app(page)
    assert not runner.demo_runs_dir(runs_dir).exists() and run.exists()

    icons = page.eval_on_selector_all("link[rel~='icon']", "links => links.map(link => link.href)")
    assert requested and foreign_requests(icons + requested, app_url) == []


def test_without_data_start_is_disabled_and_says_what_to_do_in_full(page, offline_app):  # noqa: F811
    url, env = offline_app
    requested = []
    page.on("request", lambda request: requested.append(request.url))
    open_page(page, url, "train?task=task2")
    missing = alert(page, "Warning", "Fashion-MNIST is not on this machine")
    assert missing.count() == 1 and fits(missing)
    text = missing.inner_text()
    assert text.startswith("Fashion-MNIST is not on this machine, and it cannot be downloaded now (")
    assert 'enter FOLDER under "Data folder" above' in text and text.endswith("the run downloads Fashion-MNIST itself.")
    assert page.locator(".st-key-train_start button").is_disabled()
    assert page.locator(".st-key-train_data_dir input").input_value() == env[settings.DATA_DIR_ENV]
    assert foreign_requests(requested, url) == []
