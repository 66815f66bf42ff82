"""Denoise page in the browser: a stroke on the drawable canvas and an uploaded picture are
each brought to MNIST form and denoised (what AppTest cannot do: it cannot draw or upload)."""

import base64
import io
import re

import numpy as np
import pytest
from PIL import Image

from dae_core.data import datasets
from tests.support.browser import draw_stroke, image_src, open_page, wait_for_app, wait_for_image_change

pytestmark = [pytest.mark.browser, pytest.mark.data]


def shown_digit(page, caption: str) -> np.ndarray:
    """The image captioned ``caption`` as the browser got it, back at 28 x 28 in [0, 1]
    (the page enlarges each MNIST pixel to a square; it sends them as data URLs, in the page)."""
    src = image_src(page, caption)
    if src.startswith("data:"):
        body = base64.b64decode(src.split(",", 1)[1])
    else:
        response = page.request.get(src)
        assert response.ok, f"{caption} image: HTTP {response.status}"
        body = response.body()
    img = np.asarray(Image.open(io.BytesIO(body)).convert("L"), np.float32) / 255
    side = img.shape[0] // 28
    return img[:28 * side, :28 * side].reshape(28, side, 28, side).mean(axis=(1, 3))


def photo_of(digit: np.ndarray) -> bytes:
    """A PNG like a photographed digit: dark ink on white paper, large, off centre."""
    ink = Image.fromarray(255 - digit).resize((224, 224), Image.Resampling.BILINEAR)
    paper = Image.new("L", (400, 300), 255)
    paper.paste(ink, (40, 50))
    buffer = io.BytesIO()
    paper.convert("RGB").save(buffer, format="PNG")
    return buffer.getvalue()


def test_canvas_stroke_is_denoised(page, app_url):
    scripts = []
    page.on("request", lambda request: scripts.append(request.url))
    open_page(page, app_url, "denoise")
    # The canvas's bundle with the short send delay (fast_canvas), not the stock one.
    assert any("/bidi-components/dae-lab.fast_canvas/index-" in url for url in scripts), scripts
    assert image_src(page, "Denoised") is None  # nothing drawn yet
    draw_stroke(page, [(0.5, 0.15), (0.5, 0.5), (0.5, 0.85)])  # a "1"
    first = wait_for_image_change(page, "Denoised", None)
    digit = shown_digit(page, "MNIST form")
    rows, cols = np.nonzero(digit > 0.5)
    assert rows.size and np.ptp(rows) > 3 * np.ptp(cols), "the vertical stroke is not shown upright"
    captions = page.get_by_test_id("stImageCaption").all_inner_texts()
    for method in ("Median", "Gaussian blur", "Total variation", "Non-local means"):  # each with its PSNR
        assert any(re.match(rf"{method}.*: \d+\.\d\d dB$", c) for c in captions), (method, captions)

    draw_stroke(page, [(0.3, 0.3), (0.5, 0.3), (0.7, 0.3)])  # a bar across: now a "T"
    wait_for_image_change(page, "Denoised", first)
    rows, cols = np.nonzero(shown_digit(page, "MNIST form") > 0.5)
    assert np.ptp(cols) > 10, "the second stroke is missing from the MNIST form"


def test_uploaded_digit_is_shown_in_mnist_form_and_denoised(page, app_url):
    digit = datasets.load_bundled("mnist")[0][0]  # (28, 28) uint8, white on black
    open_page(page, app_url, "denoise")
    page.locator(".st-key-denoise_source").get_by_text("Upload", exact=True).click()
    uploader = page.locator(".st-key-denoise_upload input[type=file]")
    uploader.set_input_files(files=[{"name": "digit.png", "mimeType": "image/png",
                                     "buffer": photo_of(digit)}])
    wait_for_image_change(page, "Denoised", None)
    assert page.locator('[data-testid="stAlertContentError"]').count() == 0
    shown = shown_digit(page, "MNIST form")
    correlation = np.corrcoef(shown.ravel(), digit.ravel() / 255)[0, 1]
    assert correlation > 0.8, f"the MNIST form does not look like the uploaded digit (r={correlation:.2f})"
    assert image_src(page, "Noisy") and image_src(page, "Denoised")
    wait_for_app(page)
