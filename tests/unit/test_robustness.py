"""The robustness study: accuracy under noise, the same as evaluating on the same noisy images."""

import numpy as np
import pytest

from dae_core.analysis import metrics, robustness
from dae_core.data.datasets import load_bundled, to_float
from dae_core.data.noise import NOISE_KINDS, NoiseConfig, add_noise


@pytest.fixture(scope="module")
def garments():
    x, y = load_bundled("fashion-mnist")
    return to_float(x[:300]), y[:300].astype(np.int64)


def test_each_figure_is_evaluate_on_the_same_noisy_images(garments):
    from dae_core.models.builders import build_cnn_classifier

    x, y = garments
    models = {"a": build_cnn_classifier(name="a"), "b": build_cnn_classifier(name="b")}
    levels = {kind: (0.0, 0.3) for kind in robustness.LEVELS}
    table = robustness.robustness_table(models, x, y, levels, seed=7)
    assert len(table) == 2 * len(NOISE_KINDS) * 2 and set(table.model) == {"a", "b"}
    noisy = add_noise(x, NoiseConfig("speckle", 0.3), np.random.default_rng(7))
    expected = metrics.classifier_report(models["b"], noisy, y).accuracy
    row = table[(table.model == "b") & (table.noise == "speckle") & (table.level == 0.3)]
    assert row.accuracy.item() == pytest.approx(expected)
    clean = table[table.level == 0.0].groupby("model").accuracy.nunique()
    assert (clean == 1).all()  # level 0 is the plain test set for every kind
    assert len(robustness.findings(table)) == len(NOISE_KINDS)
