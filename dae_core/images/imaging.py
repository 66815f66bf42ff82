"""User images -> MNIST / Fashion-MNIST form: uploads, canvas drawings, display.

Arrays: a grey image is ``(H, W) float32 in [0, 1]``; the result of ``to_mnist`` /
``to_fashion`` is ``(28, 28) float32 in [0, 1]``, white on black like the datasets.
No TensorFlow, no Streamlit: this runs (and is tested) in milliseconds.
"""

from __future__ import annotations

import io
import warnings

import numpy as np
from PIL import Image, ImageOps

from dae_core.errors import ImageError

MAX_PIXELS = 25_000_000  # a 24-megapixel photo fits; far below Pillow's own bomb limit
WORK_SIDE = 1024  # larger uploads are shrunk first: the result is 28 x 28 anyway
LUMA = np.array([0.299, 0.587, 0.114], np.float32)  # ITU-R 601, as Pillow's "L"
MIN_CONTRAST = 0.1  # ink must differ from the background by this much
MNIST_INK = 0.2  # the digit's bounding box: pixels above this, once the peak is 1
FASHION_TRIM = 0.05  # Zalando trimmed edges within 5% of the corner colour
MNIST_BOX, SIDE = 20, 28
MNIST_CENTRE = 14.0  # where MNIST's centre of mass lies (row, column), measured on its test set
HIGH_DEPTH_MODES = ("I;16", "I;16L", "I;16B", "I;16N", "I", "F")


# --- uploads -------------------------------------------------------------------

def _open(data: bytes, max_pixels: int) -> Image.Image:
    """Pillow's lazy open (header only); a bomb warning is an error too."""
    if not data:
        raise ImageError("The file is empty: upload an image file (PNG, JPEG, ...).")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            img = Image.open(io.BytesIO(data))
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as e:
        raise ImageError("The image is enormous (more pixels than Pillow's safety limit, "
                         "like a decompression bomb): upload a smaller picture.") from e
    except Exception as e:  # noqa: BLE001 - Pillow raises many types for bytes it cannot parse
        raise ImageError("This file is not an image Pillow can read: upload a PNG, JPEG, "
                         "GIF, BMP, TIFF or WebP picture.") from e
    width, height = img.size
    if width * height > max_pixels:
        raise ImageError(f"The image is {width} x {height} pixels, over the limit of "
                         f"{max_pixels / 1e6:g} megapixels: scale it down and upload it again.")
    return img


def _first_frame(img: Image.Image) -> str | None:
    """Select frame 0 of an animation or multi-page file; a note for the user, else None."""
    frames = getattr(img, "n_frames", 1)
    if frames == 1:
        return None
    img.seek(0)
    return f"The file holds {frames} frames (animated or multi-page): using the first."


def _decode(img: Image.Image) -> None:
    """Decode the pixels now, so a damaged file fails here with a clear message."""
    try:
        img.load()
    except Exception as e:  # noqa: BLE001 - truncated or corrupt data: OSError, SyntaxError, ...
        raise ImageError("The image file is truncated or damaged: save it again "
                         "(or export it as PNG) and upload the new file.") from e


def _upright(img: Image.Image) -> Image.Image:
    """Apply the EXIF orientation (phones store rotation there rather than in the pixels)."""
    try:
        return ImageOps.exif_transpose(img)
    except Exception:  # noqa: BLE001 - a malformed EXIF block should not cost the picture
        return img


def _shrink(img: Image.Image, max_side: int) -> Image.Image:
    """Longest side at most ``max_side``, averaging pixels (BOX) so nothing aliases."""
    if max(img.size) <= max_side:
        return img
    if img.mode in ("1", "P", "PA"):  # Pillow resizes these by nearest neighbour only
        img = img.convert("RGBA")
    scale = max_side / max(img.size)
    size = (max(1, round(img.width * scale)), max(1, round(img.height * scale)))
    return img.resize(size, Image.Resampling.BOX)


def load_upload(data: bytes, max_pixels: int = MAX_PIXELS) -> Image.Image:
    """Uploaded bytes -> a decoded, upright, single-frame image, longest side <= WORK_SIDE.

    Raises ``ImageError`` for an empty file, a non-image, a truncated file or one over
    ``max_pixels``. An animation gives its first frame; ``img.info["note"]`` then says so.
    """
    img = _open(data, max_pixels)
    note = _first_frame(img)
    img.draft(img.mode, (WORK_SIDE, WORK_SIDE))  # a JPEG decodes at 1/2 to 1/8 scale: faster
    _decode(img)
    img = _shrink(_upright(img), WORK_SIDE)
    img.info["note"] = note
    return img


# --- any image mode -> grey ------------------------------------------------------

def _high_depth_to_unit(img: Image.Image) -> np.ndarray:
    """16-bit and 32-bit modes -> [0, 1]: 16-bit by 65535, 'I'/'F' by the smallest full
    scale (1, 255, 65535) that holds their maximum, as their range is not fixed."""
    arr = np.asarray(img, np.float32)
    peak = float(arr.max(initial=0.0))
    full = 65535.0 if img.mode.startswith("I;16") else next(
        (f for f in (1.0, 255.0, 65535.0) if peak <= f), peak)
    return np.clip(arr / full, 0.0, 1.0)


def _composite(grey: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    """Grey with transparency -> opaque grey. Transparent pixels may hold any colour, so
    only alpha counts; the background is white behind dark content and black behind
    light content, so that the content stays visible either way."""
    if alpha.min() >= 1.0:
        return grey
    weight = float(alpha.sum())
    content = float((grey * alpha).sum()) / weight if weight else 0.0
    background = 1.0 if content < 0.5 else 0.0
    return grey * alpha + background * (1.0 - alpha)


def to_grey_float(img: Image.Image) -> np.ndarray:
    """Any Pillow image -> (H, W) float32 in [0, 1]: 1, L, P, LA, PA, RGB(A), CMYK, YCbCr,
    16-bit (I;16) and 32-bit (I, F) modes; transparency composited away."""
    if img.mode in HIGH_DEPTH_MODES:
        return _high_depth_to_unit(img)
    try:
        rgba = np.asarray(img.convert("RGBA"), np.float32) / 255.0
    except ValueError as e:
        raise ImageError(f"Images in colour mode {img.mode} are not supported: "
                         "save it as PNG or JPEG and upload that.") from e
    return _composite(rgba[..., :3] @ LUMA, rgba[..., 3]).astype(np.float32)


# --- grey -> dataset form --------------------------------------------------------

def _border_median(grey: np.ndarray) -> float:
    """The background level: the median of the outermost rows and columns."""
    return float(np.median(np.concatenate([grey[0], grey[-1], grey[:, 0], grey[:, -1]])))


def _is_blank(grey: np.ndarray) -> bool:
    return float(np.ptp(grey)) < MIN_CONTRAST


def white_on_black(grey: np.ndarray, invert="auto", drawn: bool = False) -> np.ndarray:
    """(H, W) grey -> (H, W) ink in [0, 1]: background 0, brightest ink 1, only the main object.

    ``invert``: True, False, or "auto" (invert when the border is light). The background is
    removed as a smooth surface (``photo.flatten``), so grey paper, a dim photo or a lamp's
    uneven light still give a black background; other marks away from the item are dropped.
    ``drawn``: a canvas drawing, flat and clean: its border is the background, and every
    stroke is kept, however far apart.
    """
    grey = np.asarray(grey, np.float32)
    if grey.ndim != 2:
        raise ValueError(f"expected a (H, W) grey image, got shape {grey.shape}")
    if invert not in ("auto", True, False):
        raise ValueError(f"invert must be 'auto', True or False, got {invert!r}")
    light = _border_median(grey) > 0.5 if invert == "auto" else invert
    raw = 1.0 - grey if light else grey
    if drawn:  # a canvas's background is flat: no surface to fit, no stray marks to drop
        ink = raw - _border_median(raw)
    else:
        from dae_core.images import photo  # scipy and scikit-image: half a second, not at every import

        ink = photo.flatten(raw, light)
    if float(ink.max()) < MIN_CONTRAST:
        raise ImageError("Nothing stands out from the background (the image is blank or too "
                         "faint): use darker ink on a plain background, or another picture.")
    if not drawn:
        ink = photo.keep_main_object(ink)
    return np.clip(ink / float(ink.max()), 0.0, 1.0)


def crop_to_ink(ink: np.ndarray, threshold: float) -> np.ndarray:
    """The bounding box of pixels above ``threshold``: (h, w) view of ``ink``."""
    rows = np.flatnonzero((ink > threshold).any(axis=1))
    cols = np.flatnonzero((ink > threshold).any(axis=0))
    return ink[rows[0]:rows[-1] + 1, cols[0]:cols[-1] + 1]


def fit_longest_side(img: np.ndarray, side: int) -> np.ndarray:
    """Resize (h, w) so its longest side is ``side``, keeping the aspect (anti-aliased), then
    scale the brightest pixel to 1 as in the datasets (a photo's sensor noise set the peak
    before; averaged away now, it would leave the item dim)."""
    scale = side / max(img.shape)
    size = (max(1, round(img.shape[1] * scale)), max(1, round(img.shape[0] * scale)))
    resized = np.asarray(Image.fromarray(np.ascontiguousarray(img, np.float32)).resize(
        size, Image.Resampling.LANCZOS), np.float32)
    return np.clip(resized / max(float(resized.max()), 1e-6), 0.0, 1.0)


def centre_of_mass(img: np.ndarray) -> tuple[float, float]:
    """(row, column) of the intensity-weighted centre of a (h, w) image."""
    total = float(img.sum())
    rows, cols = np.indices(img.shape)
    return float((rows * img).sum()) / total, float((cols * img).sum()) / total


def _paste(img: np.ndarray, top: int, left: int, side: int = SIDE) -> np.ndarray:
    out = np.zeros((side, side), np.float32)
    out[top:top + img.shape[0], left:left + img.shape[1]] = img
    return out


def place_by_mass(digit: np.ndarray, side: int = SIDE, centre: float = MNIST_CENTRE) -> np.ndarray:
    """(h, w) -> (side, side) with the centre of mass on ``centre`` to the nearest pixel.
    The shift is clamped so no ink leaves the frame (it only binds for lopsided shapes)."""
    row, col = centre_of_mass(digit)
    top = int(np.clip(round(centre - row), 0, side - digit.shape[0]))
    left = int(np.clip(round(centre - col), 0, side - digit.shape[1]))
    return _paste(digit, top, left, side)


def to_mnist(grey: np.ndarray, invert="auto", drawn: bool = False) -> np.ndarray:
    """(H, W) grey -> (28, 28) float32 in [0, 1], the way MNIST was made: white on black,
    cropped to the ink, scaled to fit 20 x 20 keeping its aspect, then centred in 28 x 28
    by its centre of mass. Raises ``ImageError`` for a blank image."""
    return mnist_form(white_on_black(grey, invert, drawn))


def mnist_form(ink: np.ndarray) -> np.ndarray:
    """(H, W) white-on-black ink -> (28, 28): cropped to the ink, its longest side fitted to
    20 px, centred by its mass, as MNIST's digits were made."""
    return place_by_mass(fit_longest_side(crop_to_ink(ink, MNIST_INK), MNIST_BOX))


def to_fashion(grey: np.ndarray, invert="auto") -> np.ndarray:
    """(H, W) grey -> (28, 28) float32 in [0, 1], as Zalando made Fashion-MNIST: edges
    close to the background trimmed, longest side resized to 28, the short side padded
    evenly, intensities negated (white on black). Raises ``ImageError`` for a blank image.
    (Zalando subsampled and then sharpened; anti-aliased resizing replaces both.) A photo's
    tilted item is turned upright first, as every Fashion-MNIST item stands."""
    from dae_core.images import photo

    upright = photo.upright(crop_to_ink(white_on_black(grey, invert), FASHION_TRIM))
    item = fit_longest_side(crop_to_ink(upright, FASHION_TRIM), SIDE)
    return _paste(item, (SIDE - item.shape[0]) // 2, (SIDE - item.shape[1]) // 2)


def prepare_upload(data: bytes, form: str = "mnist") -> tuple[np.ndarray, str | None]:
    """Uploaded bytes -> ((28, 28) float32 in [0, 1] in ``form`` "mnist" or "fashion",
    a note for the user or None). Raises ``ImageError`` with a message for the user."""
    if form not in ("mnist", "fashion"):
        raise ValueError(f"form must be 'mnist' or 'fashion', got {form!r}")
    img = load_upload(data)
    grey = to_grey_float(img)
    return (to_mnist(grey) if form == "mnist" else to_fashion(grey)), img.info["note"]


def canvas_to_mnist(rgba: np.ndarray | None) -> np.ndarray | None:
    """The drawable canvas's (H, W, 4) uint8 image -> (28, 28) MNIST form, or None while
    nothing is drawn (``rgba`` None or blank): an empty canvas is a state, not an error.

    On a transparent canvas alpha is the ink, whatever the stroke colour; a canvas with
    an opaque background is read by its brightness instead.
    """
    if rgba is None:
        return None
    rgba = np.asarray(rgba)
    alpha = rgba[..., 3].astype(np.float32) / 255.0
    if alpha.min() < 1.0:
        return None if alpha.max() < MIN_CONTRAST else to_mnist(alpha, invert=False, drawn=True)
    grey = to_grey_float(Image.fromarray(np.ascontiguousarray(rgba[..., :3])))
    return None if _is_blank(grey) else to_mnist(grey, drawn=True)


# --- display -----------------------------------------------------------------------

def to_display(img: np.ndarray, size: int = 280) -> np.ndarray:
    """(28, 28[, 1]) float in [0, 1] -> (size, size) uint8, enlarged by whole pixels
    (nearest neighbour, so every MNIST pixel stays a sharp square). 8-bit because
    ``st.image`` fails on 16-bit data."""
    img = np.asarray(img, np.float32).reshape(SIDE, SIDE)
    factor = max(1, size // SIDE)
    small = np.round(np.clip(img, 0.0, 1.0) * 255).astype(np.uint8)
    return small.repeat(factor, axis=0).repeat(factor, axis=1)


def tile_rows(rows: list[np.ndarray], factor: int = 4, gap: int = 2) -> np.ndarray:
    """Rows of (N, 28, 28[, 1]) images -> one uint8 picture, ``factor`` times enlarged,
    separated by ``gap`` grey pixels (a row above another, as in the assignment's figure)."""
    tile = SIDE * factor
    n = max(len(r) for r in rows)
    grid = np.full((len(rows) * (tile + gap) - gap, n * (tile + gap) - gap), 128, np.uint8)
    for i, row in enumerate(rows):
        for j, img in enumerate(row):
            top, left = i * (tile + gap), j * (tile + gap)
            grid[top:top + tile, left:left + tile] = to_display(img, tile)
    return grid
