"""Try a garment: a clothing photo (or a Fashion-MNIST test image) through both classifiers."""

import numpy as np
import streamlit as st

from dae_core.analysis.metrics import top_classes
from dae_core.data import datasets
from dashboard import runtime
from dashboard.loaders import load_predictor, load_test_set
from dashboard.widgets import guarded, pick_model, show_image, uploaded_image

runtime.run_through_app()

# Short headings, on one line each, so that the three columns line up; the rest in a caption.
SIDES = (("task2", "Task 2: CNN", "A CNN, trained from scratch."),
         ("task3", "Task 3: encoder", "Task 1's encoder, fine-tuned."))
SOURCES = ("Upload a photo", "Fashion-MNIST test image")
PROBABILITY = st.column_config.ProgressColumn("probability", min_value=0.0, max_value=1.0, format="%.3f")


def sample_test_image() -> None:
    """Put a random test image's number in the number input (a button's callback)."""
    count = len(load_test_set("fashion-mnist").x)
    st.session_state.garment_index = int(np.random.default_rng().integers(count))


def garment_image(test: datasets.TestSet) -> tuple[np.ndarray | None, str]:
    """The (28, 28) garment in Fashion-MNIST form and a caption; (None, "") while there is none."""
    source = st.radio("Garment", SOURCES, horizontal=True, key="garment_source")
    if source == SOURCES[1]:
        number, button, _ = st.columns([1, 1, 2], vertical_alignment="bottom")
        index = number.number_input("Test image", 0, len(test.x) - 1, key="garment_index")
        button.button("Random test image", key="garment_random", on_click=sample_test_image)
        return test.x[index, ..., 0], f"Test image {index}: {datasets.FASHION_CLASSES[test.y[index]]}"
    item = uploaded_image("A photo of one clothing item on a plain background", "garment_upload", "fashion")
    return item, "" if item is None else "Your photo"


def show_side(task: str, title: str, about: str, item: np.ndarray | None) -> None:
    """One classifier's column: its picker and, for an input, its three likeliest classes."""
    st.subheader(title)
    st.caption(about)
    entry = pick_model(task, "Model", f"garment_model_{task}")
    if entry is not None and item is not None:
        probabilities = load_predictor(entry)(item[None, ..., None])[0]
        st.dataframe(top_classes(probabilities), hide_index=True,
                     column_config={"probability": PROBABILITY}, key=f"garment_top3_{task}")


def show_page() -> None:
    test = load_test_set("fashion-mnist")
    item, caption = garment_image(test)
    columns = st.columns([1, 1, 1])
    with columns[0]:
        st.subheader("Input")
        st.caption(caption or "None yet.")
        if item is None:
            st.info("Upload a photo, or choose a Fashion-MNIST test image.")
        else:
            show_image(item, "Fashion-MNIST form")
    for column, side in zip(columns[1:], SIDES):
        with column:
            show_side(*side, item)
    st.caption(f"Test images from {test.source}.")


st.title("Try a garment")
st.caption("A photo is brought to Fashion-MNIST form the way Zalando made the dataset (grey, "
           "trimmed to the item, longest side 28 pixels, centred, white on black), then both "
           "classifiers give their three likeliest classes.")
with guarded():
    show_page()
