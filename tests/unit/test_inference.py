"""inference: the Predictor gives what the Keras model gives, for any batch size, through
its traced graph and its XLA-compiled one-image path alike, and to each of many threads calling
at once (sessions share one Predictor)."""

import threading

import keras
import numpy as np
import pytest
import tensorflow as tf

from dae_core.analysis.metrics import top_classes
from dae_core.models.builders import build_autoencoder
from dae_core.models.inference import Predictor


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


# --- many sessions at once: each caller gets its own rows ------------------------------

def call_at_once(predictor, inputs: list[np.ndarray]) -> list:
    """``predictor(x)`` for each of ``inputs``, each in its own thread, all released together;
    each thread's result, or the exception it raised."""
    results = [None] * len(inputs)
    start = threading.Barrier(len(inputs))

    def call(i):
        start.wait()
        try:
            results[i] = predictor(inputs[i])
        except Exception as e:  # noqa: BLE001 - compared by the test
            results[i] = e

    threads = [threading.Thread(target=call, args=(i,)) for i in range(len(inputs))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not any(t.is_alive() for t in threads), "a caller is still waiting"
    return results


def test_concurrent_callers_each_get_their_own_rows(model):
    predictor = Predictor(model)
    predictor.xla_done.wait()  # one-image calls through XLA, the others through the graph
    rng = np.random.default_rng(2)
    inputs = [rng.random((1 + i % 3, 28, 28, 1), dtype=np.float32) for i in range(16)]
    expected = [model(x, training=False).numpy() for x in inputs]
    for _ in range(3):
        for got, want in zip(call_at_once(predictor, inputs), expected):
            np.testing.assert_allclose(got, want, atol=1e-5)


class FailOnNegative(keras.layers.Layer):
    """Identity on the host, raising for any negative input: one caller's bad rows."""

    def call(self, x):
        def check(a):
            if (a < 0).any():
                raise ValueError("negative input")
            return a
        return tf.ensure_shape(tf.numpy_function(check, [x], tf.float32), x.shape)

    def compute_output_shape(self, input_shape):
        return input_shape


def test_an_error_in_the_model_reaches_only_the_callers_whose_rows_caused_it():
    inputs = keras.Input((28, 28, 1))
    predictor = Predictor(keras.Model(inputs, FailOnNegative()(inputs)), compile_single_image=False)
    xs = [np.full((1, 28, 28, 1), -1.0 if i % 4 == 0 else i, np.float32) for i in range(12)]
    for x, got in zip(xs, call_at_once(predictor, xs)):
        if x[0, 0, 0, 0] < 0:
            assert isinstance(got, tf.errors.OpError) and "negative input" in str(got), got
        else:
            np.testing.assert_allclose(got, x)
    with pytest.raises(tf.errors.OpError, match="negative input"):  # alone too
        predictor(xs[0])
