"""A tiny training started from the Train page: its live curve gains points, then it completes
with its test figures; the page is then saved as a screenshot, train.png."""

import time

import pytest

from dashboard.browser import open_page, save_screenshot, wait_for_app

pytestmark = [pytest.mark.browser, pytest.mark.data]

SETTINGS = {"train_epochs": 4, "train_batch_size": 32, "train_size": 600}  # long enough to watch
TRAINING_TIMEOUT_S = 420  # TensorFlow import, 2 epochs, validation and test on a loaded CPU

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


def test_training_curve_grows_then_completes(page, app_url):
    open_page(page, app_url, "train")
    for key, value in SETTINGS.items():
        set_number(page, key, value)
        wait_for_app(page)
    page.locator(".st-key-train_start button").click()

    done = page.get_by_test_id("stAlertContentSuccess").filter(has_text="Completed 4 epochs")
    looks = []  # (seconds, points in the chart, progress text)
    start = time.time()
    while not done.count():
        assert time.time() - start < TRAINING_TIMEOUT_S, f"not completed; looks so far: {looks[-10:]}"
        assert page.get_by_test_id("stException").count() == 0
        assert page.get_by_test_id("stAlertContentError").count() == 0, \
            page.get_by_test_id("stAlertContentError").first.inner_text()
        progress = page.get_by_test_id("stProgress")
        text = progress.first.inner_text() if progress.count() else ""
        points = page.evaluate(POINTS)
        if not looks or looks[-1][1:] != (points, text):
            looks.append((round(time.time() - start, 1), points, text))
        page.wait_for_timeout(250)
    seen = [points for _, points, _ in looks if points >= 0]
    assert seen and max(seen) > min(seen), f"the live chart never gained points: {looks}"
    assert any("epoch" in text for *_, text in looks), f"no epoch progress shown: {looks}"

    wait_for_app(page)
    heading = page.get_by_test_id("stHeading").filter(has_text="Task 2: CNN classifier")
    assert heading.count() == 1, "the run shown is not the page's default task (Task 2)"
    assert page.evaluate(POINTS) >= 8  # 4 epochs of train and validation loss
    accuracy = page.get_by_test_id("stMetric").filter(
        has=page.get_by_test_id("stMetricLabel").get_by_text("Test accuracy", exact=True))
    assert 0.0 <= float(accuracy.get_by_test_id("stMetricValue").inner_text()) <= 1.0
    assert page.get_by_test_id("stDataFrame").count() >= 1  # the past runs table
    save_screenshot(page, "train")
