"""Every page opens at its own URL, finishes its script run without an exception, asks nothing
of any host but the app's own, and is saved as a full-page screenshot (see
tests.support.browser.SCREENSHOTS; test_training_run.py retakes train.png with a finished run on it)."""

import pytest

from dae_core.studies import evidence, store
from tests.support import browser
from tests.support.browser import (
    foreign_requests,
    image_src,
    open_page,
    save_screenshot,
    wait_for_app,
    wait_for_image_change,
)

pytestmark = [pytest.mark.browser, pytest.mark.data]

PAGES = [  # (name, URL path st.navigation gives it, its title)
    ("overview", "", "DAE Lab"),
    ("train", "train", "Train"),
    ("runs", "runs", "Runs"),
    ("denoise", "denoise", "Denoise a digit"),
    ("latent", "latent", "Latent space"),
    ("compare", "compare", "Task 2 against Task 3"),
    ("garment", "garment", "Try a garment"),
    ("studies", "studies", "Studies"),
]


def show_device(page) -> None:
    """Overview: drawn before TensorFlow has loaded; the device appears once it has, by itself."""
    sidebar = page.get_by_test_id("stSidebar")
    sidebar.get_by_text("Device: ").first.wait_for()
    page.wait_for_function("() => { const bar = document.querySelector('[data-testid=\"stSidebar\"]');"
                           " return bar && /Device: (?!detecting)/.test(bar.innerText); }", timeout=180_000)
    wait_for_app(page)
    assert "detecting" not in page.get_by_test_id("stMain").inner_text()  # the page's list too


def show_test_digit(page) -> None:
    """Denoise: a test digit rather than the empty canvas, so the picture shows a result."""
    before = image_src(page, "Denoised")  # read before the click: the rerun can be quicker than the next read
    browser.choose_radio(page, "denoise_source", "MNIST test digit")
    wait_for_image_change(page, "Denoised", before)


def show_test_garment(page) -> None:
    """Garment: a test image, so both classifiers' top classes are shown."""
    page.locator(".st-key-garment_source").get_by_text("Fashion-MNIST test image", exact=True).click()
    wait_for_image_change(page, "Fashion-MNIST form", None)
    page.get_by_test_id("stDataFrame").nth(1).wait_for()  # the top classes of both models
    wait_for_app(page)


PREPARE = {"overview": show_device, "denoise": show_test_digit, "garment": show_test_garment}


@pytest.mark.parametrize("name, path, title", PAGES, ids=[p[0] for p in PAGES])
def test_page_renders(page, app_url, name, path, title):
    requested = []
    page.on("request", lambda request: requested.append(request.url))
    open_page(page, app_url, path)
    assert page.get_by_test_id("stHeading").locator("h1").first.inner_text().strip() == title
    nav = page.get_by_test_id("stSidebarNav").get_by_role("link")
    assert [link.get_attribute("href").rstrip("/") for link in nav.all()] == \
        [f"{app_url}/{p}".rstrip("/") for _, p, _ in PAGES]
    if name in PREPARE:
        PREPARE[name](page)
    # A closed network must not slow a page down (nor an open one learn who visits): fonts,
    # icons and scripts all come from the app. The page's icon links are checked too: a
    # browser may fetch a favicon outside the page's own requests.
    icons = page.eval_on_selector_all("link[rel~='icon']", "links => links.map(link => link.href)")
    assert icons and requested
    assert foreign_requests(icons + requested, app_url) == []
    shot = save_screenshot(page, name)
    assert shot.stat().st_size > 10_000


@pytest.mark.parametrize("study", ["pretraining", "seeds"])
def test_a_shipped_study_opens_on_its_tab_with_its_headline(page, app_url, study):
    """The Studies page's tabs the README pictures: the shipped results' headline, computed from
    them, and (seeds) the improved preset's study beneath with its own."""
    open_page(page, app_url, "studies")
    page.locator(".st-key-studies_name").get_by_text(study, exact=True).click()
    main = page.get_by_test_id("stMain")
    names = [study] + ([store.SEEDS_STUDIES["improved"]] if study == "seeds" else [])
    for name in names:
        headline = evidence.headline(study, store.shipped_results(name), "labels" if study == "pretraining" else None)
        main.get_by_text(headline, exact=True).wait_for(timeout=120_000)
    if study == "pretraining":
        main.get_by_test_id("stPlotlyChart").first.wait_for(timeout=120_000)  # the gain chart
    wait_for_app(page)
    assert save_screenshot(page, f"studies-{study}").stat().st_size > 10_000
