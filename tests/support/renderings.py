"""Photo-like renderings of MNIST / Fashion-MNIST test images, to test uploads of real photos.

Each rendering is what a phone photo of the item printed on paper might look like: dark on
light (the dataset's negative), enlarged to 150-400 px, slightly rotated, off-centre on a larger
sheet lit unevenly (a linear fall-off and vignetting), tinted by the light, sometimes blurred or
noisy, saved as JPEG or PNG bytes. Deterministic for a seed: the same bytes on every run.
No TensorFlow: rendering 500 takes a few seconds.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

import numpy as np
from PIL import Image
from scipy import ndimage

from dae_core.data import datasets
from dae_core.images import imaging

ITEM_PX = (150, 400)  # the 28 x 28 frame's side once enlarged
MARGIN = (0.15, 0.8)  # each margin, as a fraction of the item's side: off-centre
TILT_DEG = 10.0
PAPER = (0.8, 0.95)  # the sheet's brightness under full light
INK = (0.7, 0.9)  # how much of the light the darkest ink absorbs
GRADIENT = (0.2, 0.45)  # the linear fall-off, from one side to the other
VIGNETTE = (0.0, 0.35)  # darkening at the corners, relative to the brightest point
TINT = (0.8, 1.0)  # per RGB channel: the light's colour
BLUR_SIGMA = (1.0, 3.0)  # px, in 40% of renderings
NOISE_SIGMA = (0.01, 0.04)  # per channel, in 50% of renderings
JPEG_QUALITY = (70, 95)  # in 60% of renderings, PNG otherwise


@dataclass(frozen=True)
class Rendering:
    data: bytes  # the encoded picture, as an upload
    label: int
    index: int  # in the test set
    angle: float = 0.0  # degrees the item was turned (anticlockwise)


def _item(image: np.ndarray, side: int, angle: float) -> np.ndarray:
    """(28, 28) uint8 white on black -> (side', side') float ink in [0, 1], enlarged and tilted."""
    big = Image.fromarray(image).resize((side, side), Image.Resampling.BICUBIC)
    ink = np.clip(np.asarray(big, np.float32) / 255.0, 0.0, 1.0)
    return np.clip(ndimage.rotate(ink, angle, order=1, reshape=True), 0.0, 1.0)


def _lighting(shape: tuple[int, int], rng: np.random.Generator) -> np.ndarray:
    """(h, w) illumination in (0, 1]: a linear fall-off in a random direction times a
    vignette around a random point, peak 1."""
    rows, cols = np.indices(shape, dtype=np.float32)
    rows, cols = rows / shape[0] - 0.5, cols / shape[1] - 0.5
    theta = rng.uniform(0, 2 * np.pi)
    along = rows * np.sin(theta) + cols * np.cos(theta)
    along = (along - along.min()) / max(float(np.ptp(along)), 1e-6)
    linear = 1.0 - rng.uniform(*GRADIENT) * along
    centre = rng.uniform(-0.25, 0.25, 2)
    radius2 = (rows - centre[0]) ** 2 + (cols - centre[1]) ** 2
    vignette = 1.0 - rng.uniform(*VIGNETTE) * radius2 / float(radius2.max())
    light = linear * vignette
    return light / float(light.max())


def _encode(rgb: np.ndarray, rng: np.random.Generator) -> bytes:
    img = Image.fromarray(np.round(np.clip(rgb, 0, 1) * 255).astype(np.uint8), "RGB")
    buffer = io.BytesIO()
    if rng.random() < 0.6:
        img.save(buffer, format="JPEG", quality=int(rng.integers(*JPEG_QUALITY, endpoint=True)))
    else:
        img.save(buffer, format="PNG")
    return buffer.getvalue()


def render(image: np.ndarray, rng: np.random.Generator) -> tuple[bytes, float]:
    """One (28, 28) uint8 dataset image -> (the bytes of a photo-like picture of it, its tilt)."""
    item_px = int(rng.integers(*ITEM_PX, endpoint=True))
    angle = float(rng.uniform(-TILT_DEG, TILT_DEG))
    ink = _item(image, item_px, angle)
    side = max(ink.shape)
    top, bottom, left, right = (int(side * rng.uniform(*MARGIN)) for _ in range(4))
    sheet = np.zeros((ink.shape[0] + top + bottom, ink.shape[1] + left + right), np.float32)
    sheet[top:top + ink.shape[0], left:left + ink.shape[1]] = ink
    reflectance = rng.uniform(*PAPER) * (1.0 - rng.uniform(*INK) * sheet)
    grey = reflectance * _lighting(sheet.shape, rng)
    if rng.random() < 0.4:  # out of focus or shaken
        grey = ndimage.gaussian_filter(grey, rng.uniform(*BLUR_SIGMA))
    rgb = grey[..., None] * rng.uniform(*TINT, 3).astype(np.float32)
    if rng.random() < 0.5:  # sensor noise, independent per channel
        rgb = rgb + rng.normal(0.0, rng.uniform(*NOISE_SIGMA), rgb.shape).astype(np.float32)
    return _encode(rgb, rng), angle


def renderings(name: str, n: int = 500, seed: int = 0) -> list[Rendering]:
    """``n`` renderings of distinct test images of ``name`` ("mnist" or "fashion-mnist", the
    bundled test sets), chosen and rendered from ``seed`` alone: the same list on every run."""
    x, y = datasets.load_bundled(name)
    rng = np.random.default_rng(seed)
    indices = np.sort(rng.choice(len(x), size=n, replace=False))
    return [Rendering(picture, int(y[i]), int(i), angle)
            for i in indices for picture, angle in [render(x[i], rng)]]


def reference_digit(image: np.ndarray, angle: float) -> np.ndarray:
    """What MNIST's own procedure makes of the clean digit turned by ``angle``: the (28, 28)
    a perfect upload pipeline would give. Turning a digit changes its proportions, so its
    height in MNIST form changes too."""
    return imaging.mnist_form(_item(image, 112, angle))
