"""Cached loaders: each model file and test set is loaded once per process, shared by all
sessions. A model is keyed by its file and modification time (``ModelEntry.file_key``), so a
retrained file is loaded afresh; functions of a model cache by the same key (``BY_FILE``).
A classifier's test predictions are also kept on disk (``test_predictions``).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import TYPE_CHECKING

import streamlit as st

from dae_core import settings
from dae_core.analysis import predictions
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

    model = load_model(entry.path, entry.task)  # a file of another kind is named as damaged
    predictor = Predictor(model, compile_single_image=model.output_shape == model.input_shape)
    runtime.freeze_garbage()
    return predictor


@st.cache_resource(show_spinner="Loading the test images…")
def load_test_set(name: str) -> datasets.TestSet:
    """The 10,000 test images: from the datasets folder or Keras's cache when they hold them,
    else the copy bundled with the project; never a download (a page must not wait on it)."""
    return datasets.load_test_set(name)


@st.cache_resource(show_spinner=False)
def test_set_key(name: str) -> str:
    """A hash of the test set's images and labels, once per process (it reads 31 MB)."""
    test = load_test_set(name)
    return predictions.test_set_key(test.x, test.y)


KEPT_IN_MEMORY = 8  # models' test predictions (0.8 MB each), beside those on disk


@st.cache_resource
def _kept() -> tuple[OrderedDict, threading.Lock]:
    return OrderedDict(), threading.Lock()


def test_predictions(entry: catalog.ModelEntry, name: str) -> predictions.Predictions:
    """``entry``'s class probabilities on the test set ``name``: from memory or the disk
    cache (``settings.cache_dir()``, no TensorFlow needed), else predicted once with a progress
    bar and kept on disk for every later visit, server and session. Raises ``ModelFileError``."""
    test, key = load_test_set(name), test_set_key(name)
    kept, lock = _kept()
    memo = (entry.file_key, key)
    with lock:
        if memo in kept:
            kept.move_to_end(memo)
            return kept[memo]
    found = predictions.cached(entry.path, test.x, test.y, test_key=key)
    if found is None:
        bar = st.progress(0.0, text=f"{entry.name}: waiting for TensorFlow…")
        runtime.wait_for_tensorflow()
        where = settings.cache_dir()
        found = predictions.predict(
            entry.path, test.x, test.y, test_key=key,
            progress=lambda done, text: bar.progress(
                done, text=f"{entry.name}: {text} (once: the predictions are then kept in {where})"))
        bar.empty()
    with lock:
        kept[memo] = found
        while len(kept) > KEPT_IN_MEMORY:
            kept.popitem(last=False)
    return found
