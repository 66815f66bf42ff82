"""inference: the traced Predictor gives what the Keras model gives, for any batch size."""

import numpy as np
import pytest

from dae_core.inference import Predictor, top_classes
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


def test_top_classes_are_the_likeliest_in_order():
    probs = np.array([0.05, 0.5, 0.0, 0.2, 0.0, 0.0, 0.25, 0.0, 0.0, 0.0])
    table = top_classes(probs)
    assert list(table["class"]) == ["Trouser", "Shirt", "Dress"]
    assert list(table["probability"]) == [0.5, 0.25, 0.2]
