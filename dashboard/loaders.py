"""Cached loaders: each model file and test set is loaded once per process, shared by all
sessions. A model is keyed by its file and modification time (``ModelEntry.file_key``), so a
retrained file is loaded afresh; functions of a model cache by the same key (``BY_FILE``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import streamlit as st

from dae_core.data import datasets
from dae_core.models import catalog
from dashboard import runtime

if TYPE_CHECKING:  # the import itself takes TensorFlow's seconds: done on first use
    from dae_core.models.inference import Predictor

BY_FILE = {catalog.ModelEntry: lambda entry: entry.file_key}  # hash_funcs for st.cache_*


@st.cache_resource(show_spinner="Loading the model…", hash_funcs=BY_FILE)
def load_predictor(entry: catalog.ModelEntry) -> Predictor:
    """The entry's model behind a traced graph; raises ``ModelFileError`` for a missing or
    damaged file.

    Autoencoders also get the XLA path for one image (each canvas stroke and upload); the
    classifiers do not, as it saved them no visible time and its runtime costs the server
    memory (docs/results.md, Dashboard)."""
    runtime.wait_for_tensorflow()
    from dae_core.models.builders import load_model
    from dae_core.models.inference import Predictor

    model = load_model(entry.path)
    predictor = Predictor(model, compile_single_image=model.output_shape == model.input_shape)
    runtime.freeze_garbage()
    return predictor


@st.cache_resource(show_spinner="Loading the test images…")
def load_test_set(name: str) -> datasets.TestSet:
    """The 10,000 test images: from the datasets folder or Keras's cache when they hold them,
    else the copy bundled with the project; never a download (a page must not wait on it)."""
    return datasets.load_test_set(name)
