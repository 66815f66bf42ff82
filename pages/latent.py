"""Latent space: what a Task 1 encoder has learned, seen through its codes of MNIST test digits."""

import numpy as np
import streamlit as st

from dae_core.analysis import latent, plots
from dae_core.images import imaging
from dae_core.models import catalog
from dashboard import runtime
from dashboard.loaders import BY_FILE, load_predictor, load_test_set
from dashboard.widgets import guarded, pick_model, show_image, show_table

runtime.run_through_app()

MAP_SIZE = 2000  # test digits on the map: t-SNE takes seconds for these on a CPU
MAX_SHOWN, ROW = 24, 12  # selected digits shown, in rows of 12
STEPS = 8  # images along an interpolation
K = 8  # neighbours shown


@st.cache_resource(show_spinner="Splitting the autoencoder…", hash_funcs=BY_FILE)
def load_code_model(entry: catalog.ModelEntry) -> latent.CodeModel:
    return latent.split_autoencoder(load_predictor(entry).model)


@st.cache_resource(max_entries=4, show_spinner="Encoding the test digits…", hash_funcs=BY_FILE)  # 40 MB each
def test_codes(entry: catalog.ModelEntry) -> np.ndarray:
    """(10000, D) codes of every MNIST test digit, once per model file."""
    return load_code_model(entry).codes(load_test_set("mnist").x)


@st.cache_resource(max_entries=8, show_spinner="Mapping the codes (t-SNE: seconds, once per model)…",
                   hash_funcs=BY_FILE)
def code_map(entry: catalog.ModelEntry, method: str) -> latent.LatentMap:
    return latent.fit_map(test_codes(entry)[:MAP_SIZE], method)


@st.cache_data(max_entries=4, show_spinner="Fitting the probes (seconds)…", hash_funcs=BY_FILE)
def probe_table(entry: catalog.ModelEntry):
    mnist, fashion = load_test_set("mnist"), load_test_set("fashion-mnist")
    return latent.linear_probe(load_code_model(entry), {"MNIST": (mnist.x, mnist.y),
                                                         "Fashion-MNIST": (fashion.x, fashion.y)})


def selected_ids(event) -> list[int]:
    """The test-set indices of the points selected on the map (the star has none)."""
    points = event.selection.points if event else []
    ids = [p.get("customdata") for p in points]
    return [int(c[0] if isinstance(c, list) else c) for c in ids if c is not None]


def visitor_place(model: latent.CodeModel, code_map_: latent.LatentMap) -> np.ndarray | None:
    digit = st.session_state.get("denoise_digit")  # put there by the Denoise page
    if digit is None:
        st.caption("Draw, upload or pick a digit on the Denoise page: it appears here as a star.")
        return None
    st.caption("★ the digit from the Denoise page, placed by "
               + ("the PCA" if code_map_.method == "pca" else f"its {latent.PLACE_K} nearest codes"))
    return code_map_.place(model.codes(np.asarray(digit, np.float32)[None, ..., None]))[0]


@st.fragment
def show_map(entry: catalog.ModelEntry, x_test: np.ndarray, y_test: np.ndarray) -> None:
    method = st.segmented_control("Map", list(latent.METHODS), format_func=latent.METHODS.get,
                                  default="pca", required=True, key="latent_method")
    found = code_map(entry, method)
    star = visitor_place(load_code_model(entry), found)
    title = f"{latent.METHODS[method]} of the codes of the first {MAP_SIZE:,} test digits"
    event = st.plotly_chart(plots.latent_map(found.xy, y_test[:MAP_SIZE], np.arange(MAP_SIZE), star, title),
                            on_select="rerun", selection_mode=("points", "box", "lasso"),
                            key=f"latent_map_{method}")
    ids = selected_ids(event)
    if not ids:
        st.caption("Drag a box (or pick the lasso) on the map to see those digits and their reconstructions.")
        return
    shown = x_test[ids[:MAX_SHOWN]]
    rebuilt = load_predictor(entry)(shown)
    rows = [part for i in range(0, len(shown), ROW) for part in (shown[i:i + ROW], rebuilt[i:i + ROW])]
    first = f", the first {MAX_SHOWN}" if len(ids) > MAX_SHOWN else ""
    st.image(imaging.tile_rows(rows, factor=3), output_format="PNG",
             caption=f"{len(ids)} selected{first}: each row of digits above its reconstructions")


@st.fragment
def show_interpolation(model: latent.CodeModel, x_test: np.ndarray, y_test: np.ndarray) -> None:
    st.subheader("Interpolation")
    left, right = st.columns(2)
    other = int(np.argmax(y_test != y_test[0]))  # the first digit of another label
    a = left.number_input("From test digit", 0, len(x_test) - 1, 0, key="latent_from")
    b = right.number_input("To test digit", 0, len(x_test) - 1, other, key="latent_to")
    path = latent.interpolate(model, x_test[a], x_test[b], STEPS)
    st.image(imaging.tile_rows([path.decoded, path.crossfade]), output_format="PNG",
             caption=f"From a {y_test[a]} to a {y_test[b]}: decoded along the straight line between "
                     "their codes (above), the pixels cross-faded (below)")


@st.fragment
def show_neighbours(codes: np.ndarray, x_test: np.ndarray, y_test: np.ndarray) -> None:
    st.subheader("Nearest neighbours")
    query, found_column = st.columns([1, 5])
    with query:
        index = st.number_input("Test digit", 0, len(x_test) - 1, 0, key="latent_neighbours_of")
        show_image(x_test[index], f"Test digit {index}: a {y_test[index]}")
    found = latent.neighbours(codes, x_test, index, K)
    for space, indices in (("code", found.code), ("pixel", found.pixel)):
        same = int((y_test[indices] == y_test[index]).sum())
        found_column.image(imaging.tile_rows([x_test[indices]], factor=3), output_format="PNG",
                           caption=f"The {K} nearest of the 10,000 test digits in {space} space: "
                                   f"{same} of {K} are {y_test[index]}s")


@st.fragment
def show_probe(entry: catalog.ModelEntry) -> None:
    st.subheader("What the codes know without labels")
    st.caption("A logistic regression fitted on a few labelled test images, scored on 2,000 others: "
               "on the encoder's codes and on the raw pixels, for MNIST digits and for Fashion-MNIST "
               "garments passed through the same (digit-trained) encoder, the start of Task 3.")
    asked = st.session_state.setdefault("latent_probe_asked", set())
    if st.button("Run the linear probe", key="latent_probe", help="Takes seconds to a minute; kept after."):
        asked.add(entry.file_key)
    if entry.file_key not in asked:
        return
    table = probe_table(entry)
    st.plotly_chart(plots.probe_chart(table), key="latent_probe_chart")
    wide = table.pivot_table("accuracy", ["dataset", "n_train"], "features", sort=False).reset_index()
    wide["codes - pixels"] = wide["codes"] - wide["pixels"]
    show_table(wide.rename_axis(columns=None), "linear_probe", "latent")


def show_page() -> None:
    entry = pick_model("task1", "Model", "latent_model")
    if entry is None:
        return
    test = load_test_set("mnist")
    model, codes = load_code_model(entry), test_codes(entry)
    st.caption(f"Codes: {codes.shape[1]:,} numbers per digit (the encoder's {model.latent_shape} "
               f"output, flattened); test digits from {test.source}.")
    show_map(entry, test.x, test.y)
    show_interpolation(model, test.x, test.y)
    show_neighbours(codes, test.x, test.y)
    show_probe(entry)


st.title("Latent space")
st.caption("What a Task 1 autoencoder's encoder has learned without labels: its codes of test digits "
           "on a map, the images between two codes, each digit's nearest neighbours, and how much a "
           "linear classifier reads off the codes.")
with guarded():
    show_page()
