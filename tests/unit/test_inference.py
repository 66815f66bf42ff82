"""inference: the Predictor gives what the Keras model gives, for any batch size, through
its traced graph and its XLA-compiled one-image path alike."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from dae_core.evaluate import top_classes
from dae_core.inference import Predictor
from dae_core.models import build_autoencoder


@pytest.fixture(scope="module")
def model():
    return build_autoencoder()  # untrained weights are enough to compare two ways of calling it


def test_predictor_matches_model_predict(model):
    predictor = Predictor(model)
    x = np.random.default_rng(0).random((7, 28, 28, 1), dtype=np.float32)
    for batch in (x[:1], x):
        np.testing.assert_allclose(predictor(batch), model.predict(batch, verbose=0), atol=1e-5)
    np.testing.assert_allclose(predictor.predict(x, batch_size=3), model.predict(x, verbose=0), atol=1e-5)


def test_one_image_runs_compiled_once_ready(model):
    predictor = Predictor(model)
    assert predictor.xla_done.wait(timeout=120), "XLA compile did not finish"
    assert predictor.uses_xla
    x = np.random.default_rng(1).random((1, 28, 28, 1), dtype=np.float32)
    np.testing.assert_allclose(predictor(x), model.predict(x, verbose=0), atol=1e-5)


class HostSqrt(keras.layers.Layer):
    """Runs NumPy on the host (tf.numpy_function), which XLA cannot compile."""

    def call(self, x):
        y = tf.numpy_function(np.sqrt, [x], tf.float32)
        return tf.ensure_shape(y, x.shape)

    def compute_output_shape(self, input_shape):
        return input_shape


def test_model_xla_cannot_compile_keeps_the_traced_graph():
    inputs = keras.Input((28, 28, 1))
    model = keras.Model(inputs, HostSqrt()(inputs))
    predictor = Predictor(model)
    assert predictor.xla_done.wait(timeout=120) and not predictor.uses_xla
    x = np.full((1, 28, 28, 1), 4.0, np.float32)
    np.testing.assert_allclose(predictor(x), 2.0)


def test_top_classes_are_the_likeliest_in_order():
    probs = np.array([0.05, 0.5, 0.0, 0.2, 0.0, 0.0, 0.25, 0.0, 0.0, 0.0])
    table = top_classes(probs)
    assert list(table["class"]) == ["Trouser", "Shirt", "Dress"]
    assert list(table["probability"]) == [0.5, 0.25, 0.2]
