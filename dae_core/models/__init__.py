"""The models: architectures as data (``arch``), the Keras builders (``builders``), fast inference on
one image or a few (``inference``), the device (``device``) and the catalog of every model the lab can
use, shipped (``models/manifest.json``) or a finished run (``catalog``).

May import ``data``, ``store`` and the top-level modules; ``arch`` and ``catalog`` import no TensorFlow.
"""
