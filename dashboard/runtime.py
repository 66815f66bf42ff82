"""The dashboard server's process-wide settings, in one place, each with its reason:

- ``keep_keras_session``: Streamlit would clear the Keras session after every script run, and
  with it TensorFlow's kernel cache (a canvas stroke then takes 90-180 ms instead of ~3 ms).
- ``start_tensorflow`` / ``wait_for_tensorflow``: TensorFlow's seconds-long import runs in the
  background, so the Overview never waits for it and Denoise finds it done; GPU memory growth
  is set on the way (the server shares the GPU with the trainings it starts).
- ``freeze_garbage``: after TensorFlow or a model loads, so that the collection Streamlit runs
  after every script run does not scan their ~400,000 objects (~250 ms each time).
- ``run_through_app``: a deep link on a fresh server still runs app.py around its page.
- (The drawable canvas's faster bundle is registered by ``fast_canvas`` on first use.)

``app.py`` calls ``keep_keras_session()`` first and ``start_tensorflow()`` after each page;
every page calls ``run_through_app()`` first; ``loaders`` waits for TensorFlow before a model.
"""

from __future__ import annotations

import gc
import logging
import threading

import streamlit as st

from dae_core.models.device import device_description, enable_gpu_memory_growth

# The import waits this long unless a page needs TensorFlow sooner: meanwhile the browser fetches
# the first page's scripts, which the import (holding the GIL) would slow down.
GRACE_S = 2.0

_log = logging.getLogger(__name__)
_lock = threading.Lock()
_warm_up: threading.Thread | None = None
_needed = threading.Event()
_device: str | None = None


def keep_keras_session() -> None:
    """Stop Streamlit from clearing the Keras session after every script run.

    Once keras is imported, Streamlit's script runner calls ``keras.backend.clear_session()``
    after each run (``script_runner._clean_problem_modules``), for apps that build models in
    their script. This app only loads models into caches, and the clear empties TensorFlow's
    kernel cache: the next model call (the next canvas stroke) took 90-180 ms instead of ~3 ms.
    Turning the runner's hook off needs no keras import and is in place before keras ever is,
    however it gets imported (its only other clean-up closes matplotlib figures: none here).
    """
    from streamlit.runtime.scriptrunner import script_runner

    if not hasattr(script_runner, "_clean_problem_modules"):  # another Streamlit: say so, go on
        _log.warning("Streamlit's script runner changed: the Keras session may be cleared after runs")
    script_runner._clean_problem_modules = _no_clean_up


def _no_clean_up() -> None:
    """Stands in for the script runner's clean-up of Keras (and matplotlib) state."""


def start_tensorflow() -> threading.Thread:
    """Import TensorFlow and Keras in a background thread, once per process.

    The import takes seconds: the Overview does not need it and must not wait for it, and
    a visitor who then opens Denoise finds it done. It begins ``GRACE_S`` later, or as soon as
    a page waits for it. Returns the thread (finished once ready).
    """
    global _warm_up
    with _lock:
        if _warm_up is None:
            # Not a daemon: a server stopped mid-import would tear TensorFlow down under it.
            _warm_up = threading.Thread(target=_load_tensorflow, name="tensorflow-warm-up")
            _warm_up.start()
    return _warm_up


def wait_for_tensorflow() -> None:
    """Block until TensorFlow is loaded and set up (starting it now if nobody has)."""
    _needed.set()
    start_tensorflow().join()


def device() -> str | None:
    """``"CPU (2 cores)"`` or ``"GPU: ..."`` once TensorFlow has loaded; None until then."""
    return _device


def _load_tensorflow() -> None:
    global _device
    _needed.wait(GRACE_S)
    try:
        # Before any model touches the GPU: the dashboard shares it with the trainings it starts.
        enable_gpu_memory_growth()
        import dae_core.models.builders  # noqa: F401
        import dae_core.models.inference  # noqa: F401 - Keras and the model code, for the first model load

        _device = device_description()
    except Exception as e:  # noqa: BLE001 - the page that loads a model reports it in full
        _log.exception("TensorFlow did not load")
        _device = f"unavailable ({type(e).__name__}: {e})"
    freeze_garbage()


def freeze_garbage() -> None:
    """Hide every object alive now from the garbage collector; call it after loading TensorFlow
    or a model. Streamlit collects garbage after every script run, and TensorFlow's ~400,000
    long-lived objects made each collection take ~250 ms; frozen objects are never scanned."""
    gc.collect()
    gc.freeze()


def run_through_app() -> None:
    """Call first in every page: make sure app.py (page config, sidebar) runs around it.

    Streamlit keeps its old multipage mode (run ``pages/<name>.py`` on its own) while a
    ``pages/`` folder exists and ``st.navigation`` has not yet run in the process, so the
    first visitor of a deep link (``/compare``) on a fresh server would get the page alone.
    Leaving that mode and rerunning hands the same URL to app.py's ``st.navigation``.
    """
    from streamlit.runtime.pages_manager import PagesManager

    keep_keras_session()  # already here: that first run, of the page alone, may import keras
    if PagesManager.uses_pages_directory:
        PagesManager.uses_pages_directory = False  # what st.navigation itself sets
        st.rerun()
