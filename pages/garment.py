"""Try a garment: a clothing photo (or a Fashion-MNIST test image) through both classifiers."""


import numpy as np
import streamlit as st

from dae_core import catalog, data, imaging
from dae_core.inference import Predictor, top_classes
from page_support import load_predictor, load_test_set, run_through_app

run_through_app()

# Short headings, on one line each, so that the three columns line up; the rest in a caption.
SIDES = (("task2", "Task 2: CNN", "A CNN, trained from scratch."),
         ("task3", "Task 3: encoder", "Task 1's encoder, fine-tuned."))
SOURCES = ("Upload a photo", "Fashion-MNIST test image")
PROBABILITY = st.column_config.ProgressColumn("probability", min_value=0.0, max_value=1.0, format="%.3f")


def pick_classifier(entries: list, task: str, title: str, about: str) -> Predictor | None:
    """The chosen model of ``task`` (the first shipped one by default); None after saying why."""
    st.subheader(title)
    st.caption(about)
    labels = [e.label for e in entries if e.task == task]
    if not labels:
        st.warning(f"No {task} model found. Fix: restore the shipped models with `git checkout models/`, "
                   f"or train one on the Train page (or `python -m dae_core train {task}`).")
        return None
    entry = entries[[e.label for e in entries].index(
        st.selectbox("Model", labels, key=f"garment_model_{task}"))]
    mtime = entry.path.stat().st_mtime if entry.path.exists() else None
    try:
        return load_predictor(str(entry.path), mtime)
    except (FileNotFoundError, ValueError) as e:  # missing or damaged file; says what to do
        st.error(str(e))
        return None


def draw_test_image() -> None:
    count = len(load_test_set("fashion-mnist").x)
    st.session_state.garment_index = int(np.random.default_rng().integers(count))


def garment_image(x_test: np.ndarray, y_test: np.ndarray) -> tuple[np.ndarray | None, str]:
    """The (28, 28) garment in Fashion-MNIST form and a caption; (None, "") while there is none."""
    source = st.radio("Garment", SOURCES, horizontal=True, key="garment_source")
    if source == SOURCES[1]:
        number, button, _ = st.columns([1, 1, 2], vertical_alignment="bottom")
        index = number.number_input("Test image", 0, len(x_test) - 1, key="garment_index")
        button.button("Random test image", key="garment_random", on_click=draw_test_image)
        return x_test[index, ..., 0], f"Test image {index}: {data.FASHION_CLASSES[y_test[index]]}"
    upload = st.file_uploader("A photo of one clothing item on a plain background",
                              key="garment_upload")
    if upload is None:
        return None, ""
    try:
        item, note = imaging.prepare_upload(upload.getvalue(), "fashion")
    except imaging.ImageError as e:  # a bad upload: one message, the page goes on
        st.error(str(e))
        return None, ""
    if note:
        st.info(note)
    return item, "Your photo"


st.title("Try a garment")
st.caption("A photo is brought to Fashion-MNIST form the way Zalando made the dataset (grey, "
           "trimmed to the item, longest side 28 pixels, centred, white on black), then both "
           "classifiers give their three likeliest classes.")
try:
    entries = catalog.all_models()
except ValueError as e:  # a damaged manifest; the message names the fix
    st.error(str(e))
    st.stop()
test = load_test_set("fashion-mnist")
x_test, y_test, source = test.x, test.y, test.source
item, caption = garment_image(x_test, y_test)
columns = st.columns([1, 1, 1])
with columns[0]:
    st.subheader("Input")
    st.caption(caption or "None yet.")
    if item is None:
        st.info("Upload a photo, or choose a Fashion-MNIST test image.")
    else:
        st.image(imaging.to_display(item), caption="Fashion-MNIST form", output_format="PNG")
for column, (task, title, about) in zip(columns[1:], SIDES):
    with column:
        predictor = pick_classifier(entries, task, title, about)
        if predictor is not None and item is not None:
            st.dataframe(top_classes(predictor(item[None, ..., None])[0]), hide_index=True,
                         column_config={"probability": PROBABILITY}, key=f"garment_top3_{task}")
st.caption(f"Test images from {source}.")
