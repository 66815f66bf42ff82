"""The Denoise page in a 1,000 px window with the sidebar open: the canvas lies whole inside the
main area and takes a stroke at its right edge, the PSNR and SSIM figures are shown whole (also at
820 px), nothing scrolls sideways, and no image is a /media/ URL that a later run could delete."""

import re

import numpy as np
import pytest

from tests.e2e.test_denoise_input import shown_digit
from tests.support import browser
from tests.support.browser import SCREENSHOTS, draw_stroke, image_src, open_page, wait_for_app, wait_for_image_change

pytestmark = [pytest.mark.browser, pytest.mark.data]

NARROW = {"width": 1000, "height": 900}

# Each metric's label, value and delta with the width it needs (scrollWidth, its own and its
# children's) against the width it has: a text cut with an ellipsis needs more than it has.
METRICS = """() => [...document.querySelectorAll(
    '[data-testid="stMetricLabel"], [data-testid="stMetricValue"], [data-testid="stMetricDelta"]')]
  .map(e => ({text: e.innerText.trim(),
              cut: [e, ...e.querySelectorAll('*')].some(n => n.scrollWidth > n.clientWidth + 1)}))"""


def box_inside(inner: dict, outer: dict) -> bool:
    return (outer["x"] <= inner["x"] and inner["x"] + inner["width"] <= outer["x"] + outer["width"]
            and inner["width"] > 0)


def assert_metrics_whole(page) -> None:
    metrics = page.evaluate(METRICS)
    assert len(metrics) == 10, metrics  # 4 labels, 4 values, 2 deltas
    assert [m for m in metrics if m["cut"]] == []
    values = [m["text"] for m in metrics if re.fullmatch(r"[+-]?\d+\.\d+( dB)?", m["text"])]
    assert len(values) == 6, metrics  # 4 values, 2 deltas, each a whole number with its decimals


def test_denoise_fits_a_1000_px_window(page, app_url):
    missing = []
    page.on("response", lambda r: r.status == 404 and "/media/" in r.url and missing.append(r.url))
    page.set_viewport_size(NARROW)
    open_page(page, app_url, "denoise")
    assert page.get_by_test_id("stSidebar").bounding_box()["width"] > 200  # the sidebar is open
    main = page.get_by_test_id("stMainBlockContainer").bounding_box()

    canvas = page.locator(".st-key-denoise_canvas canvas").last
    canvas.scroll_into_view_if_needed()
    assert box_inside(canvas.bounding_box(), main), (canvas.bounding_box(), main)
    draw_stroke(page, [(0.96, 0.15), (0.96, 0.5), (0.96, 0.85)])  # along its right edge: a "1"
    wait_for_image_change(page, "Denoised", None)
    rows, cols = np.nonzero(shown_digit(page, "MNIST form") > 0.5)
    assert rows.size and np.ptp(rows) > 3 * np.ptp(cols), "the stroke at the canvas's right edge is missing"
    assert_metrics_whole(page)

    before = image_src(page, "MNIST form")  # read before the click: the rerun can be quicker than the next read
    browser.choose_radio(page, "denoise_source", "MNIST test digit")
    # the digit's MNIST form changes (a barely trained model may denoise both to the same blur)
    wait_for_image_change(page, "MNIST form", before)
    assert_metrics_whole(page)
    assert page.evaluate("() => document.documentElement.scrollWidth") <= NARROW["width"]
    for chart in page.get_by_test_id("stPlotlyChart").all():
        assert box_inside(chart.bounding_box(), main)
    sources = page.eval_on_selector_all('[data-testid="stMain"] img', "images => images.map(i => i.src)")
    assert sources and all(src.startswith("data:image/") for src in sources)

    height = page.evaluate("() => document.querySelector('[data-testid=\"stMain\"]').scrollHeight")
    page.set_viewport_size({"width": NARROW["width"], "height": height})  # the whole page, to look at
    wait_for_app(page)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=SCREENSHOTS / "denoise-1000px.png", animations="disabled")

    page.set_viewport_size({"width": 820, "height": 900})
    page.wait_for_timeout(500)
    wait_for_app(page)
    assert_metrics_whole(page)
    assert missing == []
