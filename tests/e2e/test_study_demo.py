"""The Studies page in a real browser: the demo study started with one click runs in its own
process, the progress bar follows it member by member, and its results appear at the end."""

import re
import time

import pytest

from tests.support.browser import open_page, wait_for_app

pytestmark = [pytest.mark.browser, pytest.mark.data]

STUDY_TIMEOUT_S = 480  # 8 tiny members behind a TensorFlow import, on a loaded CPU


def test_the_demo_study_progresses_to_the_end(page, app_url):
    open_page(page, app_url, "studies")
    # by its name: the button's help adds a second button (the tooltip's) inside its keyed element
    page.locator(".st-key-studies_start_demo").get_by_role("button", name="Start the demo (8 tiny members)").click()
    seen, start = [], time.time()
    while not seen or seen[-1] != 8:
        assert time.time() - start < STUDY_TIMEOUT_S, f"the demo did not finish; members seen done: {seen}"
        assert page.get_by_test_id("stException").count() == 0
        progress = page.get_by_test_id("stProgress")
        match = re.search(r"(\d+)/8 members done", progress.first.inner_text()) if progress.count() else None
        if match and (not seen or int(match[1]) != seen[-1]):
            seen.append(int(match[1]))
        page.wait_for_timeout(300)
    assert len(seen) >= 2, f"the page never showed the study in progress, only {seen}"
    # When the study's process ends, the page reruns once and shows the results.
    page.get_by_text("Every member (8 rows)").wait_for(timeout=120_000)
    wait_for_app(page)
    assert page.get_by_test_id("stPlotlyChart").count() >= 1  # accuracy against labels, with bands
