"""What the pages share: cached loaders (each model file and test set loaded once per
process) and the process set-up app.py does.

Kept beside app.py (not in pages/) so it is a plain module, not a page.
"""

import streamlit as st

from dae_core import data
from dae_core.inference import Predictor
from dae_core.models import load_model


@st.cache_resource(show_spinner="Loading the model…")
def load_predictor(path: str, mtime: float | None) -> Predictor:
    """One traced model per file version (``mtime`` tells a retrained file apart), shared by all.

    Autoencoders also get the XLA path for one image (each canvas stroke and upload); the
    classifiers do not, as it saved them no visible time. XLA's runtime adds ~200 MiB to
    the server (`scripts/measure_ui.py`, 2026-11-30: 978 MiB without, 1187 MiB with)."""
    model = load_model(path)
    return Predictor(model, compile_single_image=model.output_shape == model.input_shape)


@st.cache_resource(show_spinner="Loading the test images…")
def load_test_set(name: str) -> data.TestSet:
    """The full test set when a folder or Keras's cache has it, else the bundled sample;
    never a download: a page must not wait on the network."""
    return data.load_test_set(name)


def keep_tensorflow_kernels() -> None:
    """Stop Streamlit from clearing the Keras session after every script run.

    Streamlit does it for apps that build models in their script; this app only loads models
    into the caches above, and the clear empties TensorFlow's kernel cache, which made the
    next model call (the next canvas stroke) take 90-180 ms instead of ~3 ms (measured here).
    """
    import keras

    keras.backend.clear_session = _keep_session


def _keep_session(*args, **kwargs) -> None:
    """Stands in for keras.backend.clear_session in the dashboard's process."""


def run_through_app() -> None:
    """Call first in every page: make sure app.py (page config, sidebar) runs around it.

    Streamlit keeps its old multipage mode (run ``pages/<name>.py`` on its own) while a
    ``pages/`` folder exists and ``st.navigation`` has not yet run in the process, so the
    first visitor of a deep link (``/compare``) on a fresh server would get the page alone.
    Leaving that mode and rerunning hands the same URL to app.py's ``st.navigation``.
    """
    from streamlit.runtime.pages_manager import PagesManager

    if PagesManager.uses_pages_directory:
        PagesManager.uses_pages_directory = False  # what st.navigation itself sets
        st.rerun()
