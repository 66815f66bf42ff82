"""imaging: uploads of every awkward kind, canvas drawings, and the MNIST / Fashion-MNIST forms."""

from __future__ import annotations

import io
import struct
import zlib

import numpy as np
import pytest
from PIL import Image

from dae_core.data.datasets import load_bundled
from dae_core.images import imaging
from dae_core.images.imaging import ImageError

# --- helpers ---------------------------------------------------------------------

def encode(img: Image.Image, fmt: str = "PNG", **options) -> bytes:
    buffer = io.BytesIO()
    img.save(buffer, format=fmt, **options)
    return buffer.getvalue()


def digit_on_paper(height: int = 120, width: int = 90, ink: int = 0, paper: int = 255) -> np.ndarray:
    """(height, width) uint8: a thick off-centre 'L' (lopsided on purpose)."""
    img = np.full((height, width), paper, np.uint8)
    img[20:100, 15:30] = ink  # the stem
    img[85:100, 15:70] = ink  # the foot
    return img


def png_header_only(width: int, height: int) -> bytes:
    """A PNG whose header promises width x height pixels, with no pixel data worth the name."""
    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header)
            + chunk(b"IDAT", zlib.compress(b"")) + chunk(b"IEND", b""))


def ink_box(img: np.ndarray, threshold: float = 0.0) -> tuple[int, int]:
    """(height, width) of the bounding box of pixels above ``threshold``."""
    rows = np.flatnonzero((img > threshold).any(axis=1))
    cols = np.flatnonzero((img > threshold).any(axis=0))
    return rows[-1] - rows[0] + 1, cols[-1] - cols[0] + 1


def mnist_digit(index: int) -> np.ndarray:
    return load_bundled("mnist")[0][index]


REFERENCE = imaging.to_mnist(digit_on_paper().astype(np.float32) / 255)


# --- bad uploads: one clear ImageError each ------------------------------------------

@pytest.mark.parametrize("data, words", [
    (b"", "empty"),
    (np.random.default_rng(0).bytes(5000), "not an image"),
    (b"%PDF-1.4 not a picture at all", "not an image"),
    (png_header_only(20_000, 20_000), "enormous"),  # over Pillow's own bomb limit
    (png_header_only(10_000, 10_000), "enormous"),  # Pillow only warns; still refused
    (png_header_only(6_000, 6_000), "over the limit"),  # under Pillow's, over ours
])
def test_unusable_bytes_get_one_clear_message(data, words):
    with pytest.raises(ImageError, match=words) as caught:
        imaging.load_upload(data)
    assert ": " in str(caught.value)  # what is wrong, then what to do


def test_truncated_png_is_reported_as_damaged():
    noise = (np.random.default_rng(1).random((64, 64)) * 255).astype(np.uint8)
    data = encode(Image.fromarray(noise))
    with pytest.raises(ImageError, match="truncated or damaged"):
        imaging.load_upload(data[: len(data) // 2])


def test_blank_image_says_nothing_stands_out():
    with pytest.raises(ImageError, match="Nothing stands out"):
        imaging.prepare_upload(encode(Image.new("L", (50, 50), 255)))


def test_pixel_limit_is_a_parameter():
    with pytest.raises(ImageError, match="over the limit"):
        imaging.load_upload(encode(Image.new("L", (100, 100))), max_pixels=5_000)


# --- every mode gives the same digit ---------------------------------------------------

def test_16_bit_png_gives_the_8_bit_result():
    deep = (digit_on_paper().astype(np.uint16) * 257)  # 0..65535
    img = imaging.load_upload(encode(Image.fromarray(deep)))
    assert img.mode.startswith("I")
    grey = imaging.to_grey_float(img)
    assert grey.dtype == np.float32 and grey.max() == 1.0 and grey.min() == 0.0
    np.testing.assert_allclose(imaging.to_mnist(grey), REFERENCE, atol=1e-5)


def test_cmyk_jpeg_is_read():
    rgb = Image.fromarray(digit_on_paper()).convert("RGB")
    img = imaging.load_upload(encode(rgb.convert("CMYK"), "JPEG", quality=95))
    assert img.mode == "CMYK"
    assert np.corrcoef(imaging.to_mnist(imaging.to_grey_float(img)).ravel(),
                       REFERENCE.ravel())[0, 1] > 0.99


def test_animated_gif_uses_the_first_frame_and_says_so():
    frames = [Image.fromarray(digit_on_paper()), Image.new("L", (90, 120), 0),
              Image.new("L", (90, 120), 128)]
    data = encode(frames[0], "GIF", save_all=True, append_images=frames[1:], duration=100)
    digit, note = imaging.prepare_upload(data)
    assert "3 frames" in note and "first" in note
    np.testing.assert_allclose(digit, REFERENCE, atol=1e-5)


def test_still_image_has_no_note():
    assert imaging.prepare_upload(encode(Image.fromarray(digit_on_paper())))[1] is None


def test_palette_image_with_transparent_background():
    """Paper and ink share one colour: only the paper's transparency tells them apart."""
    paletted = Image.fromarray((digit_on_paper() == 0).astype(np.uint8), "P")  # 0 paper, 1 ink
    paletted.putpalette([0, 0, 0, 0, 0, 0])
    paletted.info["transparency"] = 0
    digit, _ = imaging.prepare_upload(encode(paletted))
    np.testing.assert_allclose(digit, REFERENCE, atol=1e-5)


@pytest.mark.parametrize("ink_colour", [0, 255])
def test_transparent_pixels_of_any_colour_are_background(ink_colour):
    """RGBA whose transparent pixels hold random colours: only alpha may count, and the
    drawing stays visible whether it is dark or light."""
    rng = np.random.default_rng(2)
    alpha = 255 - digit_on_paper()  # opaque where the 'L' is
    rgba = rng.integers(0, 256, (120, 90, 4), dtype=np.uint8)
    rgba[alpha > 0, :3] = ink_colour
    rgba[..., 3] = alpha
    digit, _ = imaging.prepare_upload(encode(Image.fromarray(rgba, "RGBA")))
    np.testing.assert_allclose(digit, REFERENCE, atol=1e-5)


def test_grey_with_alpha_la_mode():
    la = Image.merge("LA", [Image.new("L", (90, 120), 0), Image.fromarray(255 - digit_on_paper())])
    digit, _ = imaging.prepare_upload(encode(la))
    np.testing.assert_allclose(digit, REFERENCE, atol=1e-5)


def test_exif_orientation_is_applied():
    img = Image.fromarray(digit_on_paper())  # 90 wide, 120 high
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90 clockwise to display"
    loaded = imaging.load_upload(encode(img, "JPEG", exif=exif.tobytes()))
    assert loaded.size == (120, 90)


@pytest.mark.parametrize("fmt", ["PNG", "JPEG"])  # a JPEG is decoded at reduced scale
def test_large_upload_is_shrunk_for_speed(fmt):
    big = Image.fromarray(digit_on_paper()).resize((3000, 4000))
    loaded = imaging.load_upload(encode(big, fmt))
    assert max(loaded.size) == imaging.WORK_SIDE and loaded.size[0] < loaded.size[1]


# --- MNIST form -----------------------------------------------------------------------

def test_mnist_form_is_white_on_black_and_inverts_only_light_backgrounds():
    light = digit_on_paper().astype(np.float32) / 255
    dark = 1.0 - light
    for grey in (light, dark):
        digit = imaging.to_mnist(grey)
        assert digit.shape == (28, 28) and digit.dtype == np.float32
        assert digit[0].max() == 0.0 and digit.max() == pytest.approx(1.0, abs=0.02)
    np.testing.assert_allclose(imaging.to_mnist(light), imaging.to_mnist(dark), atol=1e-5)
    np.testing.assert_allclose(imaging.to_mnist(light, invert=True), imaging.to_mnist(dark, invert=False),
                               atol=1e-5)


def test_grey_paper_becomes_a_black_background():
    dim = digit_on_paper(ink=60, paper=180).astype(np.float32) / 255
    np.testing.assert_allclose(imaging.to_mnist(dim), REFERENCE, atol=1e-5)


def test_digit_fits_20_by_20_and_is_centred_by_its_mass():
    for height, width in ((120, 90), (60, 200), (300, 40)):
        grey = np.asarray(Image.fromarray(digit_on_paper()).resize((width, height)), np.float32) / 255
        digit = imaging.to_mnist(grey)
        assert max(ink_box(digit)) in (19, 20) and max(ink_box(digit)) <= 20
        row, col = imaging.centre_of_mass(digit)
        assert abs(row - 14) <= 0.5 and abs(col - 14) <= 0.5, (height, width, row, col)


def test_aspect_ratio_is_kept():
    bar = np.ones((100, 400), np.float32)
    bar[40:60, 50:350] = 0.0  # 20 x 300 dark bar, 15:1
    assert ink_box(imaging.to_mnist(bar), 0.5) == (1, 20)


def test_real_mnist_digit_survives_the_round_trip():
    """An MNIST test digit, enlarged 10x and printed black on white, comes back as itself."""
    for index in (1, 4, 12, 14, 15):
        original = mnist_digit(index)
        paper = Image.fromarray(255 - original).resize((280, 280), Image.Resampling.BILINEAR)
        digit, _ = imaging.prepare_upload(encode(paper))
        assert np.corrcoef(digit.ravel(), original.ravel())[0, 1] > 0.9, index


def test_bad_arguments_are_refused():
    with pytest.raises(ValueError, match="shape"):
        imaging.to_mnist(np.zeros((10, 10, 3)))
    with pytest.raises(ValueError, match="invert"):
        imaging.to_mnist(np.zeros((10, 10)), invert="yes")
    with pytest.raises(ValueError, match="form"):
        imaging.prepare_upload(b"x", form="cifar")


# --- Fashion-MNIST form -----------------------------------------------------------------

def test_fashion_form_fits_the_longest_side_to_28_and_centres_the_item():
    photo = np.ones((300, 500), np.float32)  # white studio background
    photo[100:200, 50:350] = 0.2  # a dark item, 3:1 wide, off-centre
    item = imaging.to_fashion(photo)
    assert item.shape == (28, 28) and item[0].max() == 0.0
    height, width = ink_box(item, 0.5)
    assert width == 28 and height in (9, 10)
    rows = np.flatnonzero(item.max(axis=1) > 0.5)
    assert abs(rows[0] - (27 - rows[-1])) <= 1  # as much black above as below


# --- canvas ----------------------------------------------------------------------------

def canvas_drawing() -> np.ndarray:
    """The canvas's (280, 280, 4) uint8, read-only: transparent (0, 0, 0, 0) background,
    a red stroke whose anti-aliased edge is partly transparent."""
    rgba = np.zeros((280, 280, 4), np.uint8)
    rgba[60:220, 120:150] = (255, 0, 0, 255)
    rgba[60:220, 150:152] = (255, 0, 0, 100)
    rgba.flags.writeable = False
    return rgba


def test_canvas_alpha_is_the_ink():
    digit = imaging.canvas_to_mnist(canvas_drawing())
    assert digit.shape == (28, 28) and digit.max() == pytest.approx(1.0, abs=0.02)
    assert max(ink_box(digit)) <= 20
    row, col = imaging.centre_of_mass(digit)
    assert abs(row - 14) <= 0.5 and abs(col - 14) <= 0.5


def test_every_stroke_on_the_canvas_counts_however_far_apart():
    """A photo keeps its main object only; a drawing is clean: a second, separate stroke stays."""
    rgba = np.zeros((280, 280, 4), np.uint8)
    rgba[40:240, 60:80, 3] = 255  # two bars far apart, as a drawn "11"
    rgba[40:240, 200:220, 3] = 255
    digit = imaging.canvas_to_mnist(rgba)
    columns = np.flatnonzero(digit.max(axis=0) > 0.5)
    assert np.ptp(columns) >= 15 and (np.diff(columns) > 1).any()  # both bars, a gap between


def test_empty_canvas_gives_none():
    assert imaging.canvas_to_mnist(None) is None
    assert imaging.canvas_to_mnist(np.zeros((280, 280, 4), np.uint8)) is None
    opaque_black = np.zeros((280, 280, 4), np.uint8)
    opaque_black[..., 3] = 255
    assert imaging.canvas_to_mnist(opaque_black) is None


def test_opaque_canvas_is_read_by_brightness():
    """White strokes on a black background colour give the same digit as alpha strokes."""
    drawn = canvas_drawing()
    opaque = np.zeros_like(drawn)
    opaque[..., :3] = drawn[..., 3:4]
    opaque[..., 3] = 255
    np.testing.assert_allclose(imaging.canvas_to_mnist(opaque), imaging.canvas_to_mnist(drawn), atol=1e-5)


# --- display ----------------------------------------------------------------------------

def test_display_images_are_8_bit_and_enlarged_by_whole_pixels():
    digit = imaging.to_mnist(digit_on_paper().astype(np.float32) / 255)
    big = imaging.to_display(digit[..., None])
    assert big.dtype == np.uint8 and big.shape == (280, 280)
    assert (big[::10, ::10] == np.round(digit * 255)).all()
    grid = imaging.tile_rows([np.stack([digit] * 3), np.stack([digit] * 3)], factor=2, gap=2)
    assert grid.dtype == np.uint8 and grid.shape == (2 * 56 + 2, 3 * 56 + 4)
