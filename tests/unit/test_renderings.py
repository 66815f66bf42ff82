"""Uploads of photo-like renderings (tests.support.renderings): the generator, and what
imaging.prepare_upload makes of them: digits 20 px tall and centred, garments white on black
filling the frame, uneven light no longer shrinking the item, and a shipped classifier's
accuracy close to the originals'. The full figures: `python -m benchmarks.photo_bench`."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from dae_core.data.datasets import load_bundled
from dae_core.images import imaging, photo
from dae_core.models import catalog
from tests.support import renderings

N = 40


@pytest.fixture(scope="module")
def digits() -> list[renderings.Rendering]:
    return renderings.renderings("mnist", N, seed=0)


@pytest.fixture(scope="module")
def garments() -> list[renderings.Rendering]:
    return renderings.renderings("fashion-mnist", N, seed=0)


def ink_box(img: np.ndarray, threshold: float) -> tuple[int, int]:
    rows = np.flatnonzero((img > threshold).any(axis=1))
    cols = np.flatnonzero((img > threshold).any(axis=0))
    return rows[-1] - rows[0] + 1, cols[-1] - cols[0] + 1


def encode(grey: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(np.round(np.clip(grey, 0, 1) * 255).astype(np.uint8)).save(buffer, format="PNG")
    return buffer.getvalue()


# --- the generator ------------------------------------------------------------------------

def test_a_turned_wide_digit_is_shorter_in_mnists_own_procedure():
    bar = np.zeros((28, 28), np.uint8)
    bar[10:18, 4:24] = 255  # 20 wide, 8 tall
    heights = [ink_box(renderings.reference_digit(bar, angle), imaging.MNIST_INK) for angle in (0, 10)]
    assert heights[0] == (8, 20) and heights[1][0] > 8 and heights[1][1] == 20


def test_renderings_are_deterministic_for_a_seed():
    first, again = renderings.renderings("mnist", 6, seed=3), renderings.renderings("mnist", 6, seed=3)
    assert first == again
    assert [r.data for r in renderings.renderings("mnist", 6, seed=4)] != [r.data for r in first]


def test_renderings_are_photos_of_distinct_test_images(digits):
    labels = load_bundled("mnist")[1]
    assert len({r.index for r in digits}) == N
    assert all(r.label == labels[r.index] for r in digits)
    formats = set()
    for r in digits:
        img = Image.open(io.BytesIO(r.data))
        formats.add(img.format)
        assert img.mode == "RGB"
        assert renderings.ITEM_PX[0] * 1.3 <= min(img.size) and max(img.size) <= 1100, img.size
        border = np.asarray(img.convert("L"))[0]
        assert border.mean() > 100  # light paper, not a dark dataset image
    assert formats == {"JPEG", "PNG"}


# --- what prepare_upload makes of them ----------------------------------------------------------

def test_prepared_digits_are_20_px_tall_and_centred(digits):
    originals = load_bundled("mnist")[0]
    for r in digits:
        digit, _ = imaging.prepare_upload(r.data, "mnist")
        height, _ = ink_box(digit, imaging.MNIST_INK)
        row, col = imaging.centre_of_mass(digit)
        assert abs(height - 20) <= 3, (r.index, height)
        # as tall as MNIST's own procedure makes the same digit, turned as in the photo
        reference, _ = ink_box(renderings.reference_digit(originals[r.index], r.angle), imaging.MNIST_INK)
        assert abs(height - reference) <= 2, (r.index, height, reference)
        assert np.hypot(row - 14, col - 14) <= 3, (r.index, row, col)


def test_prepared_garments_are_white_on_black_and_fill_the_frame(garments):
    for r in garments:
        item, _ = imaging.prepare_upload(r.data, "fashion")
        frame = np.concatenate([item[0], item[-1], item[:, 0], item[:, -1]])
        assert np.median(frame) < 0.05, r.index  # polarity: the background is black
        assert item.max() == pytest.approx(1.0)
        assert max(ink_box(item, 0.2)) >= 26, (r.index, ink_box(item, 0.2))


def lit_unevenly(ink: np.ndarray) -> np.ndarray:
    """Dark ``ink`` on paper under a lamp at the left: the light falls by half across the sheet."""
    light = np.linspace(1.0, 0.5, ink.shape[1], dtype=np.float32)[None, :]
    return 0.9 * (1.0 - 0.8 * ink) * light


def test_uneven_light_no_longer_shrinks_the_item():
    ink = np.zeros((400, 600), np.float32)
    ink[100:300, 350:450] = 1.0  # a 2:1 tall item, off-centre towards the dark side
    item = imaging.to_fashion(lit_unevenly(ink))
    assert ink_box(item, 0.5) == (28, 14)
    digit = imaging.to_mnist(lit_unevenly(ink))
    assert ink_box(digit, imaging.MNIST_INK) == (20, 10)


def test_a_speck_away_from_the_item_is_ignored():
    ink = np.zeros((400, 600), np.float32)
    ink[100:300, 200:300] = 1.0
    ink[370:380, 560:570] = 1.0  # dirt in the corner
    assert ink_box(imaging.to_fashion(1.0 - ink), 0.5) == (28, 14)


def test_a_digit_in_pieces_is_kept_whole():
    ink = np.zeros((300, 300), np.float32)
    ink[50:150, 140:160] = 1.0
    ink[160:250, 140:160] = 1.0  # a broken stroke: two pieces, 10 px apart
    assert ink_box(imaging.to_mnist(1.0 - ink), imaging.MNIST_INK)[0] == 20


@pytest.mark.parametrize("angle", [-9.0, -4.0, 6.0])
def test_a_tilted_garment_is_turned_upright(angle):
    ink = np.zeros((300, 300), np.float32)
    ink[50:250, 100:200] = 1.0
    turned = np.asarray(Image.fromarray(ink).rotate(angle, resample=Image.Resampling.BILINEAR), np.float32)
    assert photo.tilt(turned) == pytest.approx(angle, abs=1.0)
    assert ink_box(imaging.to_fashion(1.0 - turned), 0.5) == (28, 14)


def test_flat_clean_uploads_take_the_border_median_as_before():
    grey = np.full((100, 80), 0.7, np.float32)
    grey[20:80, 30:50] = 0.2
    np.testing.assert_allclose(photo.flatten(1.0 - grey, True), (1.0 - grey) - 0.3, atol=1e-6)


@pytest.mark.slow  # 100 photos rendered and prepared, a shipped improved classifier: ten seconds of CPU
def test_a_shipped_classifier_is_nearly_as_accurate_on_renderings():
    """Not timed and not a benchmark: 100 renderings through the shipped improved Task 2 model."""
    from dae_core.models.builders import load_model

    path = catalog.shipped_model_path("task2", "improved")
    if not path.is_file():
        pytest.skip(f"{path} is not shipped here")
    model = load_model(path)
    garments = renderings.renderings("fashion-mnist", 100, seed=0)
    labels = np.array([r.label for r in garments])
    originals = load_bundled("fashion-mnist")[0][[r.index for r in garments]].astype(np.float32) / 255
    prepared = np.stack([imaging.prepare_upload(r.data, "fashion")[0] for r in garments])
    accuracy = [float((np.asarray(model(x[..., None], training=False)).argmax(1) == labels).mean())
                for x in (originals, prepared)]
    assert accuracy[1] >= accuracy[0] - 0.05, accuracy
