"""Photos of an item on paper -> its ink alone: the uneven light removed, the item found.

A phone photo's paper is not one colour: a lamp on one side and the lens's vignetting darken
it by a third or more from corner to corner. Taking one border colour as the background then
leaves the darker side's paper as faint ink, and the item shrinks in the 28 x 28 frame. Here
the paper's brightness is modelled as a smooth surface fitted to the background pixels, the
image is divided by it, and the item is found as the largest object (and the pieces near it).
Arrays as in ``imaging``: (H, W) float32; ink is bright on a dark background.
"""

from __future__ import annotations

import numpy as np
from PIL import Image
from scipy import ndimage, spatial
from skimage import filters

FIT_SIDE = 64  # the light varies slowly: a 64 px copy is enough to fit it, and quick
FIND_SIDE = 256  # the item is found at this size: a blur or JPEG speckle does not split it
FLAT = 0.02  # a fitted background varying less than this is flat paper: use its median
NEAR = 0.25  # pieces within this fraction of the main object's size belong to it
MIN_PIECE = 0.01  # ... if they have at least this fraction of its area (not a speck)
FAINT = 0.05  # ink this faint (of the peak) touching the item is its soft edge, as FASHION_TRIM
GROW = 0.1  # ... up to this fraction of the item's size beyond the thresholded item
MAX_TILT, TILT_STEP = 15.0, 0.5  # degrees: a photo's tilt, searched
TILT_SIDE = 128  # the outline is found at this size
TILT_GAIN = 0.01  # turn only when that shrinks the bounding box by 1%: an upright item stays


def _shrunk(img: np.ndarray, side: int) -> np.ndarray:
    """Longest side at most ``side``, by averaging (BOX)."""
    scale = side / max(img.shape)
    if scale >= 1:
        return img
    size = (max(1, round(img.shape[1] * scale)), max(1, round(img.shape[0] * scale)))
    return np.asarray(Image.fromarray(img).resize(size, Image.Resampling.BOX), np.float32)


def _axes(shape: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    """Row and column coordinates in [-1, 1], as (h, 1) and (1, w) (broadcast, not full)."""
    return np.linspace(-1, 1, shape[0], dtype=np.float32)[:, None], \
        np.linspace(-1, 1, shape[1], dtype=np.float32)[None, :]


def _surface(coef: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """The quadratic c0 + c1 y + c2 x + c3 y^2 + c4 xy + c5 x^2 on an (h, w) grid."""
    y, x = _axes(shape)
    return (coef[0] + coef[1] * y + coef[3] * y * y) + (coef[2] + coef[5] * x) * x + coef[4] * y * x


def _lstsq(small: np.ndarray, where: np.ndarray) -> np.ndarray:
    """Least-squares coefficients of ``_surface`` through the pixels of ``small`` at ``where``
    (normal equations on 6 terms: far quicker than a general solver, and well conditioned)."""
    y, x = _axes(small.shape)
    rows, cols = np.nonzero(where)
    y, x = y[rows, 0].astype(np.float64), x[0, cols].astype(np.float64)
    terms = np.stack([np.ones_like(x), y, x, y * y, y * x, x * x], axis=1)
    return np.linalg.solve(terms.T @ terms + 1e-9 * np.eye(6), terms.T @ small[rows, cols])


def _fit_background(small: np.ndarray) -> np.ndarray | None:
    """Coefficients of the quadratic surface through the background of ``small`` (ink bright),
    or None when too little background is seen. Starts from the border (the paper round the
    item) and refits on every pixel not taken as ink, so the paper behind the item counts too."""
    background = np.zeros(small.shape, bool)
    background[[0, -1], :] = background[:, [0, -1]] = True
    for _ in range(3):
        if background.sum() < 0.05 * small.size:
            return None
        coef = _lstsq(small, background)
        residual = small - _surface(coef, small.shape)
        if np.ptp(residual) <= 0:
            return coef
        ink = residual > 0.5 * filters.threshold_otsu(residual)  # generous: faint ink stays out
        background = ~ndimage.binary_dilation(ink, iterations=2)  # and so do its soft edges
    return coef


def _border_median(img: np.ndarray) -> float:
    return float(np.median(np.concatenate([img[0], img[-1], img[:, 0], img[:, -1]])))


def flatten(ink: np.ndarray, light: bool) -> np.ndarray:
    """(H, W) raw ink (a light-paper photo already inverted: ``light``) -> ink with the paper
    at 0, not yet scaled. Light paper is divided out (what a photo records is light times
    reflectance, so the ink's contrast fades with the light too); a dark background is
    subtracted. Flat backgrounds (scans, drawings, the datasets) keep the border median."""
    coef = _fit_background(_shrunk(ink, FIT_SIDE))
    if coef is None or float(np.ptp(_surface(coef, (FIT_SIDE, FIT_SIDE)))) < FLAT:
        return ink - _border_median(ink)
    background = _surface(coef, ink.shape)
    flat = ink - background
    return flat / np.maximum(1.0 - background, 0.05) if light else flat


def _near(box: tuple, main: tuple, reach: float) -> bool:
    """Do the boxes (top, left, bottom, right) overlap once ``main`` grows by ``reach``?"""
    return not (box[2] < main[0] - reach or box[0] > main[2] + reach
                or box[3] < main[1] - reach or box[1] > main[3] + reach)


def _union(boxes: list) -> tuple[int, int, int, int]:
    return (min(b[0] for b in boxes), min(b[1] for b in boxes),
            max(b[2] for b in boxes), max(b[3] for b in boxes))


def _regions(mask: np.ndarray) -> tuple[list, np.ndarray]:
    """Bounding boxes (top, left, bottom, right) and areas of the connected regions of ``mask``
    (scipy, not regionprops: a noisy photo's speckle makes hundreds)."""
    labels, _ = ndimage.label(mask)
    boxes = [(s[0].start, s[1].start, s[0].stop, s[1].stop) for s in ndimage.find_objects(labels)]
    return boxes, np.bincount(labels.ravel())[1:]


def _main_box(small: np.ndarray, level: np.ndarray) -> tuple[slice, slice]:
    """Where the main object of ``small`` lies: the largest connected region above an Otsu
    threshold with the pieces near it (a digit's separate strokes, a sandal's straps), grown
    over the faint ink (``level`` above FAINT) touching it, by at most GROW of its size."""
    boxes, areas = _regions(small > 0.5 * filters.threshold_otsu(small))
    main = boxes[int(areas.argmax())]
    reach = NEAR * max(main[2] - main[0], main[3] - main[1])
    box = _union([b for b, a in zip(boxes, areas) if a >= MIN_PIECE * areas.max() and _near(b, main, reach)])
    faint = [b for b in _regions(level > FAINT * level.max())[0] if _near(b, box, 0)]
    grow = round(GROW * max(box[2] - box[0], box[3] - box[1])) + 1
    grown = _union([box, *faint])
    return (slice(max(grown[0], box[0] - grow, 0), min(grown[2], box[2] + grow)),
            slice(max(grown[1], box[1] - grow, 0), min(grown[3], box[3] + grow)))


def keep_main_object(ink: np.ndarray) -> np.ndarray:
    """``ink`` (background 0, some ink above it) with only the main object kept: elsewhere,
    and where its local mean is below FAINT (sensor noise, JPEG speckle), set to 0. Found on
    a shrunk copy, where the noise is averaged away and the search is quick."""
    small = _shrunk(ink, FIND_SIDE)
    if np.ptp(small) <= 0:
        return ink
    level = ndimage.uniform_filter(small, 3)
    keep = np.zeros(small.shape, np.uint8)
    box = _main_box(small, level)
    keep[box] = level[box] > FAINT * level.max()
    keep = np.asarray(Image.fromarray(keep).resize(ink.shape[::-1], Image.Resampling.NEAREST), bool)
    return np.where(keep, ink, 0.0).astype(np.float32)


def tilt(ink: np.ndarray) -> float:
    """Degrees (counter-clockwise) by which the item in ``ink`` is turned from upright, within
    +-MAX_TILT: the angle whose bounding box around the item is smallest. Garments in
    Fashion-MNIST stand upright; a photo of one rarely does."""
    small = _shrunk(ink, TILT_SIDE)
    rows, cols = np.nonzero(small > 0.5 * filters.threshold_otsu(small))
    if rows.size < 3 or np.ptp(rows) == 0 or np.ptp(cols) == 0:
        return 0.0
    points = np.stack([cols, -rows], axis=1).astype(np.float64)  # x right, y up
    points = points[spatial.ConvexHull(points).vertices]  # only the outline sets the box
    angles = np.radians(np.arange(-MAX_TILT, MAX_TILT + 0.1, TILT_STEP))
    cos, sin = np.cos(angles)[:, None], np.sin(angles)[:, None]
    x, y = cos * points[:, 0] + sin * points[:, 1], -sin * points[:, 0] + cos * points[:, 1]
    area = np.ptp(x, axis=1) * np.ptp(y, axis=1)
    best = int(area.argmin())
    flat = int(np.abs(angles).argmin())
    return float(np.degrees(angles[best])) if area[best] < (1 - TILT_GAIN) * area[flat] else 0.0


def upright(ink: np.ndarray) -> np.ndarray:
    """``ink`` turned so the item stands upright (``tilt``); unchanged when it already does."""
    angle = tilt(ink)
    if angle == 0.0:
        return ink
    turned = Image.fromarray(np.ascontiguousarray(ink, np.float32)).rotate(
        -angle, resample=Image.Resampling.BILINEAR, expand=True, fillcolor=0.0)
    return np.clip(np.asarray(turned, np.float32), 0.0, 1.0)
