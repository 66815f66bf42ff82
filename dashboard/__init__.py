"""The dashboard's shared parts, so that each page is widgets -> dae_core -> display.

- ``runtime``: the process-wide settings (TensorFlow warm-up, Keras session, garbage
  collection, deep links), one place, each with its reason.
- ``loaders``: models and test sets loaded once per process (``st.cache_resource``).
- ``widgets``: the model picker, the error display, tables with their CSV, images.
- ``fast_canvas``: the drawable canvas without its 200 ms send delay.
- ``browser``: Playwright helpers for the browser tests and ``scripts/measure_ui.py``.

Pages import this package; it imports ``dae_core``; ``dae_core`` never imports it.
"""
