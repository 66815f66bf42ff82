"""The entry point: navigation over every page, and the sidebar status."""

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from dae_core.status import device_description

APP = str(Path(__file__).resolve().parents[2] / "app.py")
PAGES = ("pages/overview.py", "pages/train.py", "pages/denoise.py", "pages/compare.py",
         "pages/garment.py")


def test_the_sidebar_shows_the_device_and_the_model_count(models_dir):
    at = AppTest.from_file(APP, default_timeout=180).run()
    assert not at.exception
    captions = [c.value for c in at.sidebar.caption]
    assert captions == [f"Device: {device_description()}", "Models: 3"]


@pytest.mark.parametrize("page", PAGES)
def test_every_page_opens(models_dir, page):
    at = AppTest.from_file(APP, default_timeout=180)
    at.switch_page(page)
    at.run()
    assert not at.exception, at.exception


def test_a_deep_link_still_runs_the_entry_point(models_dir):
    """On a fresh process Streamlit would run pages/overview.py alone (its old multipage
    mode); page_support.run_through_app hands it back to app.py."""
    at = AppTest.from_file(APP, default_timeout=180)
    at.switch_page("pages/overview.py")
    at.run()
    assert f"Device: {device_description()}" in [c.value for c in at.sidebar.caption]
