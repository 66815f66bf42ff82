"""Process-wide caches the pages share: each model file and test set is loaded once.

Kept beside app.py (not in pages/) so it is a plain module, not a page.
"""

import streamlit as st

from dae_core import data
from dae_core.inference import Predictor
from dae_core.models import load_model


@st.cache_resource(show_spinner="Loading the model…")
def load_predictor(path: str, mtime: float | None) -> Predictor:
    """One traced model per file version (``mtime`` tells a retrained file apart), shared by all."""
    return Predictor(load_model(path))


@st.cache_resource(show_spinner="Loading the test images…")
def load_test_set(name: str) -> data.TestSet:
    """The full test set when a folder or Keras's cache has it, else the bundled sample;
    never a download: a page must not wait on the network."""
    return data.load_test_set(name)


def keep_tensorflow_kernels() -> None:
    """Stop Streamlit from clearing the Keras session after every script run.

    Streamlit does it for apps that build models in their script; this app only loads models
    into the caches above, and the clear empties TensorFlow's kernel cache, which made the
    next model call (the next canvas stroke) 80-130 ms slower instead of ~2 ms.
    """
    import keras

    keras.backend.clear_session = _keep_session


def _keep_session(*args, **kwargs) -> None:
    """Stands in for keras.backend.clear_session in the dashboard's process."""
