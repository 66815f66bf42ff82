"""Denoise: a digit drawn, uploaded or picked, brought to MNIST form, noised and cleaned."""

import numpy as np
import streamlit as st

from dae_core.analysis import classical, metrics, plots
from dae_core.data.noise import LEVEL_LIMITS, LEVEL_NAMES, NOISE_KINDS, NoiseConfig, add_noise
from dae_core.errors import DamagedFileError
from dae_core.images import imaging
from dae_core.models import catalog
from dashboard import runtime
from dashboard.fast_canvas import st_canvas
from dashboard.loaders import BY_FILE, load_predictor, load_test_set
from dashboard.widgets import guarded, pick_model, png_data_url, show_error, show_image, uploaded_image

runtime.run_through_app()

SOURCES = ("Draw", "Upload", "MNIST test digit")
GALLERY_SIZE = 10
CHART_IMAGES = classical.PAGE_TABLE_IMAGES  # the classical tables shipped for the chart are of these
PSNR_HELP = ("Peak signal-to-noise ratio against the clean digit, in decibels: 10 log10(1 / mean "
             "squared error). Higher is better; 3 dB more is half the squared error. On these digits "
             "a noisy input scores about 7-14 dB, and a denoised digit at 20 dB or more looks clean; "
             "under 15 dB its strokes are blurred or broken.")
SSIM_HELP = ("Structural similarity to the clean digit, up to 1 (identical): it compares local "
             "brightness, contrast and structure, closer to how the eye judges than PSNR. On these "
             "digits 0.85 or more keeps the shape; under 0.6 strokes are missing or lost in noise.")
# The canvas is 280 px wide: its column never narrower (else it is clipped and cannot be drawn
# on there). The results beside it need about 30rem for three images with their figures whole;
# in a narrower window they wrap below the canvas (a horizontal container wraps its children).
CONTROLS_WIDTH = 300
LAYOUT_CSS = """<style>
[data-testid="stLayoutWrapper"]:has(> .st-key-denoise_result) { min-width: min(100%, 30rem); }
</style>"""


@st.cache_data(max_entries=8, show_spinner="Measuring PSNR on test digits…", hash_funcs=BY_FILE)
def psnr_table(entry: catalog.ModelEntry):
    x_test = load_test_set("mnist").x
    return metrics.denoise_table(load_predictor(entry), x_test[:CHART_IMAGES])


@st.cache_data(max_entries=4, show_spinner="Measuring the classical denoisers…")
def classical_psnr_table(kind: str):
    x_test = load_test_set("mnist").x  # the shipped table of these digits and levels, else computed and kept
    return classical.kept_classical_table(x_test[:CHART_IMAGES], {kind: metrics.DEFAULT_LEVELS[kind]})[0]


def pick_noise(kind_column, level_column) -> NoiseConfig:
    kind = kind_column.selectbox("Noise", NOISE_KINDS, key="denoise_noise_kind")
    limit = LEVEL_LIMITS[kind]
    # One slider per kind: their ranges differ, and each keeps its own setting.
    level = level_column.slider(f"Level ({LEVEL_NAMES[kind]})", 0.0, limit, min(0.5, limit), 0.05,
                                key=f"denoise_level_{kind}")
    return NoiseConfig(kind, level)


def clean_digit(x_test: np.ndarray) -> np.ndarray | None:
    """The (28, 28) digit to denoise, in MNIST form; None while there is none."""
    source = st.radio("Digit", SOURCES, horizontal=True, key="denoise_source")
    if source == "Draw":
        st.space("small")  # room for the canvas's toolbar, which floats above it on hover
        drawn = st_canvas(stroke_width=18, stroke_color="#FFFFFF", background_color="#000000",
                          width=280, height=280, return_image_data=True, key="denoise_canvas")
        st.caption("Draw one digit, large, in the middle.")
        return imaging.canvas_to_mnist(drawn.image_data)
    if source == "Upload":
        return uploaded_image("A picture of one digit", "denoise_upload", "mnist", show_original=True)
    index = st.number_input("Test digit", 0, len(x_test) - 1, 0, key="denoise_digit_index")
    return x_test[index, ..., 0]


def show_denoising(predictor, clean: np.ndarray, noise: NoiseConfig, seed: int) -> None:
    clean = clean[None, ..., None]
    noisy = add_noise(clean, noise, np.random.default_rng(seed))
    denoised = predictor(noisy)
    try:
        results = classical.run_all(noisy, noise.kind, noise.level)  # one image: a few ms in all
    except DamagedFileError as e:  # the classical side is left out; the autoencoder's stands
        results, damaged = [], e
    # Every image's figures in one call each: many sessions share one interpreter lock, and
    # fewer, larger array operations hold it for less time in all.
    outputs = np.concatenate([noisy, denoised] + [r.images for r in results])
    references = np.repeat(clean, len(outputs), axis=0)
    psnr, ssim = metrics.psnr(references, outputs), metrics.ssim(references, outputs)
    original, before, after = st.columns(3)
    show_image(clean, "MNIST form", original)
    show_image(noisy, "Noisy", before)
    # The unit in the label: a value with its unit is cut short ("9.1...") in a narrow column.
    before.metric("PSNR noisy, dB", f"{psnr[0]:.2f}", help=PSNR_HELP)
    before.metric("SSIM noisy", f"{ssim[0]:.3f}", help=SSIM_HELP)
    show_image(denoised, "Denoised", after)
    after.metric("PSNR denoised, dB", f"{psnr[1]:.2f}", f"{psnr[1] - psnr[0]:+.2f} dB", help=PSNR_HELP)
    after.metric("SSIM denoised", f"{ssim[1]:.3f}", f"{ssim[1] - ssim[0]:+.3f}", help=SSIM_HELP)
    st.caption("Both compare an image with the clean digit, higher is better: about 20 dB and "
               "an SSIM of 0.85 or more look clean on these digits (the ? beside each says more).")
    if not results:
        show_error(damaged)
        return
    st.caption("Classical denoisers, each tuned on validation digits for the nearest noise level:")
    for k, (r, column) in enumerate(zip(results, st.columns(len(results))), start=2):
        show_image(r.images, f"{r.label}: {psnr[k]:.2f} dB", column)
        column.caption(f"SSIM {ssim[k]:.3f} · {r.ms_per_image:.1f} ms")


@st.fragment
def denoise_one(predictor, x_test: np.ndarray, noise: NoiseConfig) -> None:
    """One digit from input to denoised, with its figures. A fragment: a stroke, an upload, a
    seed or a test digit reruns only this, not the gallery and chart (model and noise, which
    change those too, sit outside: they rerun the whole page)."""
    with st.container(horizontal=True, gap="medium", key="denoise_one"):
        controls = st.container(width=CONTROLS_WIDTH, key="denoise_controls")
        result = st.container(key="denoise_result")
    with controls:
        seed = st.number_input("Noise seed", 0, 1_000_000, 0, key="denoise_seed")
        digit = clean_digit(x_test)
        st.session_state["denoise_digit"] = digit  # the Latent space page marks it on its map
    with result:
        if digit is None:
            st.info("Draw a digit, upload a picture, or pick a test digit to see it denoised.")
        else:
            show_denoising(predictor, digit, noise, seed)


def show_gallery(predictor, x_test: np.ndarray, noise: NoiseConfig) -> None:
    if st.button("Reshuffle", key="denoise_reshuffle"):
        st.session_state.denoise_shuffle = st.session_state.get("denoise_shuffle", 0) + 1
    rng = np.random.default_rng(st.session_state.get("denoise_shuffle", 0))
    noisy = add_noise(x_test[rng.choice(len(x_test), GALLERY_SIZE, replace=False)], noise, rng)
    # A data URL, not a /media/ file: one that a later run had replaced could 404 (widgets.png_data_url).
    st.image(png_data_url(imaging.tile_rows([noisy, predictor(noisy)])), width="stretch",
             caption=f"Random test digits with {noise.label()}: noisy above, denoised below")


def show_page() -> None:
    st.html(LAYOUT_CSS)  # style only: Streamlit adds it without taking room on the page
    model_column, kind_column, level_column = st.columns(3)
    with model_column:
        entry = pick_model("task1", "Model", "denoise_model")
        if entry is None:
            return
        if "noise_kind" in entry.config:
            st.caption(f"Trained on {entry.config['noise_kind']} noise, level {entry.config['noise_level']}.")
    predictor = load_predictor(entry)
    test = load_test_set("mnist")
    noise = pick_noise(kind_column, level_column)
    denoise_one(predictor, test.x, noise)

    st.subheader("Test digits")
    st.caption(f"From {test.source}.")
    show_gallery(predictor, test.x, noise)

    st.subheader("PSNR against noise level")
    st.caption(f"Mean over the first {CHART_IMAGES} test digits: a panel per noise kind, its level in "
               f"that kind's own unit. Solid: this autoencoder; dotted: the noisy input; on {noise.kind} "
               "(the noise chosen above), the four classical denoisers, each tuned on validation "
               "digits. Click a legend entry to hide or show a line.")
    try:
        others = classical_psnr_table(noise.kind)
    except DamagedFileError as e:  # the autoencoder's curves alone
        others = None
        show_error(e)
    titles = {name: method.title for name, method in classical.METHODS.items()}
    chart = plots.psnr_vs_level(psnr_table(entry), others, titles)
    st.plotly_chart(chart, key="denoise_psnr_chart")


st.title("Denoise a digit")
st.caption("Draw or upload a digit: it is brought to MNIST form the way MNIST itself was made "
           "(white on black, scaled to fit 20 x 20, centred by its mass in 28 x 28), then "
           "noised and cleaned by a Task 1 autoencoder.")
with guarded():
    show_page()
