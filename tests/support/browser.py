"""Driving the dashboard in a real browser: starting `streamlit run app.py`, Chromium's
settings, waiting for Streamlit to finish drawing, images by caption, strokes on the canvas,
screenshots. Shared by the browser tests (tests/e2e) and the UI benchmarks (benchmarks/); it takes
Playwright page objects and imports neither Playwright nor Streamlit itself.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from urllib.parse import urlsplit

from dae_core.settings import PROJECT_ROOT

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
# Without the background-networking flags Chromium, as root, floods a closed network with
# connection attempts.
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
VIEWPORT = {"width": 1400, "height": 1000}
APP_TIMEOUT_S = 300  # one script run, models loaded and evaluated for the first time included
# Test runs leave the README's pictures alone; DAE_SCREENSHOTS_DIR=docs/screenshots retakes them.
SCREENSHOTS = Path(os.environ.get("DAE_SCREENSHOTS_DIR", PROJECT_ROOT / "test-artifacts" / "screenshots"))


# --- the server ----------------------------------------------------------------------

def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_app(port: int, env: dict, log, project: Path = PROJECT_ROOT) -> subprocess.Popen:
    """`streamlit run app.py` of ``project`` (this checkout, or another version of the lab to set
    beside it) on ``port`` of this machine, its output to the file ``log``."""
    return subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", "app.py", "--server.headless", "true", "--server.port",
         str(port), "--server.fileWatcherType", "none", "--browser.gatherUsageStats", "false"],
        cwd=project, env=env, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT)


def wait_healthy(url: str, proc: subprocess.Popen, timeout_s: float) -> None:
    """Wait until the server at ``url`` answers its health check; RuntimeError if it exits or
    does not answer within ``timeout_s``."""
    deadline = time.time() + timeout_s
    while not _healthy(url):
        if proc.poll() is not None:
            raise RuntimeError(f"streamlit exited with code {proc.returncode}")
        if time.time() > deadline:
            raise RuntimeError(f"streamlit did not answer {url}/_stcore/health within {timeout_s:.0f} s")
        time.sleep(0.2)


def _healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/_stcore/health", timeout=5) as response:
            return response.read() == b"ok"
    except OSError:
        return False


def stop(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=15)


def foreign_requests(urls: list[str], app_url: str) -> list[str]:
    """The requested ``urls`` that go anywhere but the app's own host (data and blob URLs
    stay in the page)."""
    home = urlsplit(app_url).netloc
    return [u for u in urls if urlsplit(u).scheme not in ("data", "blob") and urlsplit(u).netloc != home]


# --- the page ------------------------------------------------------------------------

# True once the script run has ended and every element is drawn: the page's title, lazily
# loaded widgets (shown as skeletons meanwhile), plotly charts and images.
_DRAWN = """() => {
  const app = document.querySelector('[data-testid="stApp"]');
  if (!app || app.getAttribute('data-test-script-state') !== 'notRunning') return false;
  // Every page has a title: without one the run seen was the brief one before a rerun.
  if (!document.querySelector('[data-testid="stMain"] h1')) return false;
  if (document.querySelector('[data-testid="stSkeleton"], [data-testid="stSpinner"]')) return false;
  for (const chart of document.querySelectorAll('[data-testid="stPlotlyChart"]'))
    if (!chart.querySelector('.js-plotly-plot .main-svg')) return false;
  for (const img of document.querySelectorAll('[data-testid="stMain"] img'))
    if (!img.complete || img.naturalWidth === 0) return false;
  return true;
}"""


class _DrawnWatch:
    """"Drawn and steady for ``settle_s``", polled by the sync and the async wait alike."""

    def __init__(self, url: str, timeout_s: float, settle_s: float):
        self.url, self.timeout_s, self.settle_s = url, timeout_s, settle_s
        self.deadline, self.steady_since = time.time() + timeout_s, None

    def done(self, drawn: bool) -> bool:
        """Whether the page has been drawn long enough; AssertionError once the time is up."""
        self.steady_since = (self.steady_since or time.time()) if drawn else None
        if self.steady_since and time.time() - self.steady_since >= self.settle_s:
            return True
        if time.time() > self.deadline:
            raise AssertionError(f"{self.url}: app not drawn after {self.timeout_s:.0f} s")
        return False


def _exception_message(url: str, text: str) -> str:
    return f"{url} shows an exception:\n{text}"


def _stroke_xy(box: dict, points: list[tuple[float, float]]) -> list[tuple[float, float]]:
    """Fractions of the canvas box -> page coordinates."""
    return [(box["x"] + fx * box["width"], box["y"] + fy * box["height"]) for fx, fy in points]


def wait_for_app(page, timeout_s: float = APP_TIMEOUT_S, settle_s: float = 0.6, poll_ms: int = 200) -> float:
    """Wait until the app has finished its script run and drawn everything (steady for
    ``settle_s``), then assert that no exception is shown on the page. Returns when (``time.time()``)
    it was first seen drawn, for timings (to within ``poll_ms``)."""
    watch = _DrawnWatch(page.url, timeout_s, settle_s)
    while not watch.done(page.evaluate(_DRAWN)):
        page.wait_for_timeout(poll_ms)
    assert_no_exception(page)
    return watch.steady_since


def assert_no_exception(page) -> None:
    exceptions = page.get_by_test_id("stException")
    if exceptions.count():
        raise AssertionError(_exception_message(page.url, exceptions.first.inner_text()))


def open_page(page, app_url: str, path: str = "") -> None:
    page.goto(f"{app_url}/{path}")
    wait_for_app(page)


def save_screenshot(page, name: str) -> Path:
    """The whole page as <SCREENSHOTS>/<name>.png (Streamlit scrolls inside stMain, so the
    window is made as tall as its content first)."""
    height = page.evaluate("() => document.querySelector('[data-testid=\"stMain\"]').scrollHeight")
    page.set_viewport_size({"width": VIEWPORT["width"], "height": max(VIEWPORT["height"], height)})
    page.wait_for_timeout(500)  # let charts and columns lay out at the new size
    wait_for_app(page)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=path, animations="disabled")
    page.set_viewport_size(VIEWPORT)
    return path


def image_src(page, caption: str) -> str | None:
    """The src of the st.image captioned exactly ``caption``; None while there is none."""
    image = page.get_by_test_id("stImage").filter(
        has=page.get_by_test_id("stImageCaption").get_by_text(caption, exact=True))
    if not image.count():
        return None
    return image.locator("img").first.get_attribute("src")


def wait_for_image_change(page, caption: str, old: str | None, timeout_s: float = 120) -> str:
    """Wait until the image captioned ``caption`` exists with a src other than ``old``, and is drawn."""
    deadline = time.time() + timeout_s
    while time.time() < deadline:
        src = image_src(page, caption)
        if src and src != old:
            wait_for_app(page)
            return src
        page.wait_for_timeout(100)
    raise AssertionError(f"no new {caption!r} image within {timeout_s:.0f} s (still {old})")


def draw_stroke(page, points: list[tuple[float, float]], key: str = "denoise_canvas") -> None:
    """Press, drag through ``points`` (fractions of the canvas size) and release over the
    drawable canvas keyed ``key``; it lives in the page (a shadow root), not in an iframe."""
    canvas = page.locator(f".st-key-{key} canvas").last  # fabric's top canvas takes the mouse
    canvas.scroll_into_view_if_needed()
    xy = _stroke_xy(canvas.bounding_box(), points)
    page.mouse.move(*xy[0])
    page.mouse.down()
    for x, y in xy[1:]:
        page.mouse.move(x, y, steps=4)
    page.mouse.up()


# --- the same for Playwright's async API (benchmarks/load_test.py: many sessions at once) ----

async def wait_for_app_async(page, timeout_s: float = APP_TIMEOUT_S, settle_s: float = 0.6) -> None:
    """``wait_for_app`` for an async page."""
    watch = _DrawnWatch(page.url, timeout_s, settle_s)
    while not watch.done(await page.evaluate(_DRAWN)):
        await page.wait_for_timeout(100)
    exceptions = page.get_by_test_id("stException")
    if await exceptions.count():
        raise AssertionError(_exception_message(page.url, await exceptions.first.inner_text()))


async def draw_stroke_async(page, points: list[tuple[float, float]], key: str = "denoise_canvas") -> None:
    """``draw_stroke`` for an async page."""
    canvas = page.locator(f".st-key-{key} canvas").last
    await canvas.scroll_into_view_if_needed()
    xy = _stroke_xy(await canvas.bounding_box(), points)
    await page.mouse.move(*xy[0])
    await page.mouse.down()
    for x, y in xy[1:]:
        await page.mouse.move(x, y, steps=4)
    await page.mouse.up()


def choose_radio(page, key: str, label: str, attempts: int = 3) -> None:
    """Click the radio option ``label`` of the radio keyed ``key`` until the browser shows it
    checked: a click that lands while the app is still redrawing can be lost."""
    option = page.locator(f".st-key-{key}").get_by_role("radio", name=label)
    for _ in range(attempts):
        wait_for_app(page)
        page.locator(f".st-key-{key}").get_by_text(label, exact=True).click()
        try:
            page.wait_for_function("e => e.checked", arg=option.element_handle(), timeout=10_000)
            return
        except Exception:  # noqa: BLE001 - playwright's timeout: the click was lost, try again
            continue
    raise AssertionError(f"radio {key!r} never showed {label!r} checked after {attempts} clicks")

