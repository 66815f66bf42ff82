"""Latent space page in the browser: the map is drawn, a box dragged on it shows the selected
digits with their reconstructions (what AppTest cannot do), the interpolation strip is there, and
the digit picked on the Denoise page is on the map as a star."""

import pytest

from tests.support import browser
from tests.support.browser import image_src, open_page, wait_for_app, wait_for_image_change

pytestmark = [pytest.mark.browser, pytest.mark.data]

MAP = ".st-key-latent_map_pca"


def captions(page) -> list[str]:
    return page.get_by_test_id("stImageCaption").all_inner_texts()


def trace_names(page) -> list[str]:
    return page.evaluate(f"() => document.querySelector('{MAP} .js-plotly-plot').data.map(t => t.name)")


def drag_box(page, start: tuple[float, float], end: tuple[float, float]) -> None:
    """Press, drag and release over the map's plot area (its drag mode is box selection);
    ``start`` and ``end`` are fractions of the plot area's size."""
    area = page.locator(f"{MAP} .nsewdrag").first
    area.scroll_into_view_if_needed()
    box = area.bounding_box()
    x0, y0, x1, y1 = (box["x"] + start[0] * box["width"], box["y"] + start[1] * box["height"],
                      box["x"] + end[0] * box["width"], box["y"] + end[1] * box["height"])
    page.mouse.move(x0, y0)
    page.mouse.down()
    page.mouse.move(x1, y1, steps=10)
    page.mouse.up()


def test_map_selection_shows_digits_and_the_interpolation_strip_is_there(page, app_url):
    open_page(page, app_url, "latent")
    assert page.get_by_test_id("stHeading").locator("h1").first.inner_text().strip() == "Latent space"
    page.locator(f"{MAP} .js-plotly-plot .main-svg").first.wait_for()
    assert sorted(trace_names(page)) == [str(d) for d in range(10)]  # no star: no digit on Denoise yet
    assert any("decoded along the straight line" in c for c in captions(page))
    assert sum("nearest of the 10,000 test digits" in c for c in captions(page)) == 2
    assert not any(" selected" in c for c in captions(page))

    drag_box(page, (0.05, 0.05), (0.95, 0.95))  # nearly the whole map: many digits
    page.wait_for_function("() => [...document.querySelectorAll('[data-testid=\"stImageCaption\"]')]"
                           ".some(c => / selected/.test(c.innerText))", timeout=120_000)
    wait_for_app(page)
    shown = next(c for c in captions(page) if " selected" in c)
    assert shown.split()[0].isdigit() and int(shown.split()[0]) > 24 and "the first 24" in shown


def test_the_digit_from_the_denoise_page_is_a_star_on_the_map(page, app_url):
    open_page(page, app_url, "denoise")
    before = image_src(page, "Denoised")  # read before the click: the rerun can be quicker than the next read
    browser.choose_radio(page, "denoise_source", "MNIST test digit")
    wait_for_image_change(page, "Denoised", before)
    page.get_by_test_id("stSidebarNav").get_by_role("link", name="Latent space").click()  # same session
    page.wait_for_url(f"{app_url}/latent")
    wait_for_app(page)
    page.locator(f"{MAP} .js-plotly-plot .main-svg").first.wait_for()
    assert trace_names(page)[-1] == "your digit"
    assert page.get_by_text("★ the digit from the Denoise page").count() == 1
