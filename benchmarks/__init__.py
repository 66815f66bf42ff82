"""The lab's measurements: speed, memory and accuracy figures printed side by side in one run.
Run them with ``python -m benchmarks NAME`` (``python -m benchmarks`` lists them). Tools, not the
product: ``dae_core``, ``dashboard``, ``pages`` and ``app.py`` never import this package; it may import
them and ``tests.support``."""
