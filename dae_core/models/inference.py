"""Fast inference on one image or a few: a Keras model behind traced ``tf.function``s.

``model.predict`` builds a data pipeline on every call and calling the model eagerly
dispatches layer by layer; one traced graph with an open batch axis runs one image many times
faster (``python -m benchmarks training``; figures in docs/results.md). For a single
image (a canvas stroke, an upload) an XLA-compiled copy of the graph is faster still; XLA
compiles once per input shape (seconds), so only the one-image shape is compiled, and in the
background, so loading a model does not wait for it.

Many sessions share one Predictor (Streamlit runs each session's script in a thread of its own);
TensorFlow runs concurrent calls of one function safely. Calls from different sessions are not
batched together: the model's calls are a small share of the server's work per request
(docs/results.md, "Many sessions at once").
"""

from __future__ import annotations

import logging
import threading

import numpy as np
import tensorflow as tf

log = logging.getLogger(__name__)


class Predictor:
    """Runs ``model`` on ``(N, 28, 28, 1) float32`` arrays; returns NumPy arrays.

    Traced once, at construction, for any batch size, so the first user request does not
    pay for tracing; one-image calls switch to the XLA-compiled copy once it is ready
    (``xla_done`` is set when compiling ends, ``uses_xla`` says whether it succeeded).
    Safe to share between sessions and threads.
    """

    def __init__(self, model, compile_single_image: bool = True):
        self.model = model
        self._image_shape = tuple(model.input_shape[1:])
        spec = tf.TensorSpec((None, *self._image_shape), tf.float32, name="images")
        self._graph = tf.function(self._forward, input_signature=[spec])
        self._single_image = None
        self.xla_done = threading.Event()
        self(np.zeros((1, *self._image_shape), np.float32))  # trace and warm up now
        if compile_single_image:
            # Not a daemon: exiting mid-compile would tear TensorFlow down under it.
            threading.Thread(target=self._compile_single_image, name="xla-single-image").start()
        else:
            self.xla_done.set()

    def _forward(self, x):
        return self.model(x, training=False)

    def _compile_single_image(self) -> None:
        """Compile the one-image XLA graph; on any failure keep the traced graph for all."""
        spec = tf.TensorSpec((1, *self._image_shape), tf.float32, name="image")
        compiled = tf.function(self._forward, input_signature=[spec], jit_compile=True)
        try:
            compiled(tf.zeros((1, *self._image_shape)))
            self._single_image = compiled
        except Exception as e:  # noqa: BLE001 - an op XLA cannot compile: the graph still works
            log.warning("XLA could not compile %s (%s); one image uses the traced graph",
                        self.model.name, e)
        finally:
            self.xla_done.set()

    @property
    def uses_xla(self) -> bool:
        return self._single_image is not None

    def __call__(self, x: np.ndarray) -> np.ndarray:
        """One model call: XLA for one image once it is ready, else the traced graph."""
        fn = self._single_image if len(x) == 1 and self.uses_xla else self._graph
        return fn(tf.constant(np.asarray(x, np.float32))).numpy()

    def predict(self, x: np.ndarray, batch_size: int = 1000, verbose: int = 0) -> np.ndarray:
        """``model.predict``'s interface, so ``dae_core.analysis.metrics`` functions accept a Predictor."""
        del verbose  # nothing to report: batches are few and fast
        return np.concatenate([self(x[i:i + batch_size]) for i in range(0, len(x), batch_size)])
