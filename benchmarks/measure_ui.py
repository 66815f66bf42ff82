"""How fast the dashboard feels, measured in a real Chromium (a benchmark, not a test).

    python -m benchmarks ui [--strokes 10] [--uploads 5] [--cold-only]   (from the project folder)

Prints: seconds from launching `streamlit run app.py` to the first page fully drawn (cold);
milliseconds from releasing the mouse after a canvas stroke, and from choosing a file to upload,
to the "Denoised" image drawn anew (warm, median); the server's memory once every page has been
visited with all shipped models loaded. Uses models/ (or $DAE_MODELS_DIR), $DAE_DATA_DIR for the
datasets, and an empty temporary runs folder. Needs Chromium at /usr/bin/chromium.
"""

from __future__ import annotations

import argparse
import io
import os
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image
from playwright.sync_api import sync_playwright

from dae_core import settings
from dae_core.data import datasets
from dae_core.models import catalog
from dashboard.navigation import PAGES as NAV_PAGES
from tests.support.browser import (
    CHROMIUM,
    CHROMIUM_ARGS,
    VIEWPORT,
    draw_stroke,
    free_port,
    start_app,
    stop,
    wait_for_app,
    wait_for_image_change,
    wait_healthy,
)

PAGES = [page.url_path for page in NAV_PAGES]

# Marks, in the page's own clock: the mouse released / a file chosen (capture phase, so the
# canvas and the uploader cannot hide them), and the first frame where the "Denoised" image
# has a new source and is decoded.
WATCH = """() => {
  const m = window.__dae = {up: null, chosen: null, drawn: null};
  if (!window.__daeListening) {
    window.__daeListening = true;
    document.addEventListener('mouseup', () => { window.__dae.up = performance.now(); }, true);
    document.addEventListener('change', () => { window.__dae.chosen = performance.now(); }, true);
  }
  const denoised = () => {
    for (const c of document.querySelectorAll('[data-testid="stImageCaption"]'))
      if (c.innerText.trim() === 'Denoised')
        return c.closest('[data-testid="stImageContainer"]').querySelector('img');
    return null;
  };
  const before = denoised()?.src;
  const tick = () => {
    const img = denoised();
    if (img && img.src !== before && img.complete && img.naturalWidth) m.drawn = performance.now();
    else requestAnimationFrame(tick);
  };
  tick();
}"""


def tree_rss_mib(pid: int) -> float:
    """Resident memory of ``pid`` and all its descendants, summed (MiB)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(ppid, []).append(int(entry.name))
    total_kib, todo = 0, [pid]
    while todo:
        p = todo.pop()
        todo += children.get(p, [])
        try:
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total_kib += int(line.split()[1])
        except OSError:
            pass
    return total_kib / 1024


def timed_ms(page, action) -> float:
    """Milliseconds from the mark ``action`` sets (mouse up, file chosen) to the new image drawn."""
    page.evaluate(WATCH)
    start_key = action(page)
    page.wait_for_function("() => window.__dae.drawn !== null", timeout=120_000)
    marks = page.evaluate("() => window.__dae")
    wait_for_app(page)
    return marks["drawn"] - marks[start_key]


def stroke_action(i: int):
    x = 0.25 + 0.05 * (i % 10)  # a different stroke each time, so the image always changes

    def act(page):
        draw_stroke(page, [(x, 0.15), (x + 0.1, 0.5), (x, 0.85)])
        return "up"
    return act


def upload_action(digit: np.ndarray):
    ink = Image.fromarray(255 - digit).resize((224, 224), Image.Resampling.BILINEAR)
    paper = Image.new("L", (400, 300), 255)
    paper.paste(ink, (40, 50))
    buffer = io.BytesIO()
    paper.save(buffer, format="PNG")

    def act(page):
        page.locator(".st-key-denoise_upload input[type=file]").set_input_files(
            files=[{"name": "digit.png", "mimeType": "image/png", "buffer": buffer.getvalue()}])
        return "chosen"
    return act


def spread(ms: list[float]) -> str:
    return f"{statistics.median(ms):.0f} ms (min {min(ms):.0f}, max {max(ms):.0f})"


def measure_warm(page, url: str, proc: subprocess.Popen, strokes: int, uploads: int) -> list[tuple]:
    """Stroke and upload latencies on the Denoise page, then memory once every page was seen."""
    digits = datasets.load_bundled("mnist")[0]
    page.goto(f"{url}/denoise")
    wait_for_app(page, timeout_s=300)
    timed_ms(page, stroke_action(99))  # warm-up: the first prediction traces the model
    stroke_ms = [timed_ms(page, stroke_action(i)) for i in range(strokes)]

    page.locator(".st-key-denoise_source").get_by_text("Upload", exact=True).click()
    wait_for_app(page)
    timed_ms(page, upload_action(digits[99]))  # warm-up
    upload_ms = [timed_ms(page, upload_action(digits[i])) for i in range(uploads)]

    for path in PAGES:  # every page once, so that every shipped model is loaded
        page.goto(f"{url}/{path}")
        wait_for_app(page, timeout_s=300)
    page.locator(".st-key-garment_source").get_by_text("Fashion-MNIST test image", exact=True).click()
    wait_for_image_change(page, "Fashion-MNIST form", None)
    return [(f"canvas stroke -> denoised drawn, warm (median of {strokes})", spread(stroke_ms)),
            (f"upload -> denoised drawn, warm (median of {uploads})", spread(upload_ms)),
            ("server RSS, all pages visited, all models loaded",
             f"{tree_rss_mib(proc.pid):.0f} MiB (streamlit and children, summed)")]


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--strokes", type=int, default=10)
    parser.add_argument("--uploads", type=int, default=5)
    parser.add_argument("--cold-only", action="store_true", help="only the two cold-start figures")
    args = parser.parse_args(argv)

    models_dir = catalog.default_models_dir()
    if not {"task1", "task2", "task3"} <= {e.task for e in catalog.shipped_models(models_dir)}:
        raise SystemExit(f"{models_dir} lacks shipped task1/task2/task3 models: set DAE_MODELS_DIR")
    runs_dir = Path(tempfile.mkdtemp(prefix="measure-ui-runs-"))
    env = {**os.environ, settings.RUNS_DIR_ENV: str(runs_dir), settings.MODELS_DIR_ENV: str(models_dir),
           "TF_CPP_MIN_LOG_LEVEL": "2"}
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    with open(runs_dir / "streamlit.log", "w") as log, sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)  # before the clock
        page = browser.new_page(viewport=VIEWPORT)
        page.set_default_timeout(120_000)
        started = time.perf_counter()
        proc = start_app(port, env, log)
        try:
            wait_healthy(url, proc, timeout_s=180)
            results = [("server healthy after launch (cold)", f"{time.perf_counter() - started:.1f} s")]
            page.goto(url)
            wait_for_app(page, timeout_s=300)
            results.append(("first page drawn after launch (cold)", f"{time.perf_counter() - started:.1f} s"))
            if not args.cold_only:
                results += measure_warm(page, url, proc, args.strokes, args.uploads)
        finally:
            stop(proc)
            browser.close()
    width = max(len(name) for name, _ in results)
    print(f"models: {models_dir}  |  CPUs: {os.cpu_count()}  |  load average: "
          f"{' '.join(f'{x:.1f}' for x in os.getloadavg())}")
    print(f"{'measure'.ljust(width)}  value")
    print(f"{'-' * width}  {'-' * 40}")
    for name, value in results:
        print(f"{name.ljust(width)}  {value}")

