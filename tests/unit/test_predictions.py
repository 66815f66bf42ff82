"""A classifier's test predictions kept on disk: a hit reads them without predicting, a changed
model file misses, a damaged cache file is predicted afresh (never an error), and a mirror-averaging
model gives its predictions and those of the image alone from the same work; the shipped
predictions serve where the cache has none, and are the shipped Task 2 and 3 models' own."""

import shutil

import numpy as np
import pytest

from dae_core import settings
from dae_core.analysis import predictions
from dae_core.data import datasets
from dae_core.errors import ModelFileError
from dae_core.models import builders, catalog
from dae_core.training.config import PRESETS

N = 40


@pytest.fixture(scope="module")
def images():
    rng = np.random.default_rng(0)
    return rng.random((N, 28, 28, 1), dtype=np.float32), rng.integers(0, 10, N)


@pytest.fixture(scope="module")
def classifier():
    return builders.build_cnn_classifier(builders.ARCHS["seed"])


def forward(model, x: np.ndarray) -> np.ndarray:
    """What the Keras model computes for ``x``: called directly, which traces no predict function."""
    return np.asarray(model(x, training=False))


@pytest.fixture(scope="module")
def saved_mirrored(tmp_path_factory, classifier):
    path = tmp_path_factory.mktemp("mirrored") / "mirrored.keras"
    builders.flip_averaged(classifier).save(path)
    return path


@pytest.fixture
def mirrored(tmp_path, saved_mirrored):
    """A saved mirror-averaging classifier (as the improved preset ships): a copy of its own, as
    some tests replace it."""
    path = tmp_path / "models" / "mirrored.keras"
    path.parent.mkdir()
    shutil.copy2(saved_mirrored, path)
    return path


@pytest.fixture
def counted(monkeypatch):
    """How often the model is really run."""
    calls = []
    compute = predictions.compute

    def counting(*args, **kwargs):
        calls.append(args[0])
        return compute(*args, **kwargs)
    monkeypatch.setattr(predictions, "compute", counting)
    return calls


def test_a_mirror_averaging_model_gives_its_predictions_and_those_of_the_image_alone(mirrored, classifier, images,
                                                                                     tmp_path):
    x, y = images
    told = []
    made = predictions.predict(mirrored, x, y, cache_dir=tmp_path / "cache",
                               progress=lambda done, text: told.append((done, text)))
    model = builders.load_model(mirrored)
    np.testing.assert_allclose(made.probs, forward(model, x), atol=1e-6)
    np.testing.assert_allclose(made.one_view, forward(classifier, x), atol=1e-6)
    assert made.mirror_averaged and made.probs.dtype == np.float32
    assert told[-1] == (1.0, f"Predicting the mirror images: {N} of {N}")
    assert [done for done, _ in told] == sorted(done for done, _ in told)


def test_a_plain_model_predicts_one_view(tmp_path, classifier, images):
    x, y = images
    classifier.save(tmp_path / "plain.keras")
    made = predictions.predict(tmp_path / "plain.keras", x, y, cache_dir=tmp_path / "cache")
    assert made.one_view is None and not made.mirror_averaged
    np.testing.assert_allclose(made.probs, forward(classifier, x), atol=1e-6)


def test_a_second_call_reads_the_kept_predictions(mirrored, images, tmp_path, counted):
    x, y = images
    first = predictions.predict(mirrored, x, y, cache_dir=tmp_path / "cache")
    assert predictions.cached(mirrored, x, y, cache_dir=tmp_path / "cache") is not None
    again = predictions.predict(mirrored, x, y, cache_dir=tmp_path / "cache")
    assert counted == [mirrored]  # predicted once
    np.testing.assert_array_equal(first.probs, again.probs)
    np.testing.assert_array_equal(first.one_view, again.one_view)
    # another test set is another entry
    assert predictions.cached(mirrored, x[:-1], y[:-1], cache_dir=tmp_path / "cache") is None


def test_a_changed_model_file_is_predicted_afresh(mirrored, images, tmp_path, counted):
    x, y = images
    cache = tmp_path / "cache"
    before = predictions.predict(mirrored, x, y, cache_dir=cache)
    retrained = builders.build_cnn_classifier(builders.ARCHS["seed"])  # other random weights
    builders.flip_averaged(retrained).save(mirrored)
    assert predictions.cached(mirrored, x, y, cache_dir=cache) is None
    after = predictions.predict(mirrored, x, y, cache_dir=cache)
    assert counted == [mirrored, mirrored]
    assert not np.allclose(before.probs, after.probs)
    np.testing.assert_allclose(after.probs, forward(builders.load_model(mirrored), x), atol=1e-6)


def _wrong(path, **arrays):
    with open(path, "wb") as f:
        np.savez(f, **arrays)


DAMAGES = {
    "cut": lambda path, n: path.write_bytes(path.read_bytes()[:200]),
    "not a zip": lambda path, n: path.write_bytes(b"\x00garbage" * 50),
    "empty": lambda path, n: path.write_bytes(b""),
    "wrong rows": lambda path, n: _wrong(path, name=np.array(path.stem), probs=np.full((n - 1, 10), 0.1, np.float32)),
    "not probabilities": lambda path, n: _wrong(path, name=np.array(path.stem), probs=np.full((n, 10), 0.5, np.float32)),
    "NaN": lambda path, n: _wrong(path, name=np.array(path.stem), probs=np.full((n, 10), np.nan, np.float32)),
    "another entry's": lambda path, n: _wrong(path, name=np.array("0" * 32), probs=np.full((n, 10), 0.1, np.float32)),
    "pickled": lambda path, n: _wrong(path, name=np.array(path.stem), probs=np.array([object()] * n)),
}


@pytest.mark.parametrize("damage", DAMAGES)
def test_a_damaged_cache_file_is_predicted_afresh_and_replaced(mirrored, images, tmp_path, counted, damage):
    x, y = images
    cache = tmp_path / "cache"
    good = predictions.predict(mirrored, x, y, cache_dir=cache)
    (kept,) = (cache / "predictions").iterdir()
    DAMAGES[damage](kept, N)
    assert predictions.cached(mirrored, x, y, cache_dir=cache) is None
    again = predictions.predict(mirrored, x, y, cache_dir=cache)
    assert counted == [mirrored, mirrored]
    np.testing.assert_allclose(again.probs, good.probs, atol=1e-6)
    assert predictions.cached(mirrored, x, y, cache_dir=cache) is not None  # replaced by a good one
    assert sorted(p.name for p in (cache / "predictions").iterdir()) == [kept.name]  # no temporary left


def test_a_cache_that_cannot_be_written_still_gives_the_predictions(mirrored, images, tmp_path):
    x, y = images
    blocked = tmp_path / "a-file"
    blocked.write_text("not a folder")
    made = predictions.predict(mirrored, x, y, cache_dir=blocked)
    assert made.probs.shape == (N, 10)


def test_a_missing_model_file_names_the_fix(tmp_path, images):
    x, y = images
    with pytest.raises(ModelFileError, match="not found; train it first or pick another"):
        predictions.cached(tmp_path / "none.keras", x, y, cache_dir=tmp_path / "cache")


@pytest.mark.parametrize("damage", [None, *DAMAGES])
def test_the_shipped_predictions_serve_where_the_cache_has_none_and_a_damaged_one_is_predicted(
        mirrored, images, tmp_path, counted, monkeypatch, damage):
    x, y = images
    shipped = predictions.predict(mirrored, x, y, cache_dir=tmp_path / "models")  # as the docstring ships them
    (twin,) = (tmp_path / "models" / "predictions").iterdir()
    monkeypatch.setenv(settings.MODELS_DIR_ENV, str(tmp_path / "models"))
    if damage:
        DAMAGES[damage](twin, N)
    found = predictions.predict(mirrored, x, y, cache_dir=tmp_path / "cache")
    assert counted == [mirrored] * (1 if damage is None else 2)
    np.testing.assert_allclose(found.probs, shipped.probs, atol=1e-6)
    assert (predictions.cached(mirrored, x, y, cache_dir=tmp_path / "empty") is None) == bool(damage)


def test_the_shipped_predictions_are_the_shipped_task2_and_task3_models_own_on_the_full_test_set(data_dir):
    """None stale (a replaced model's), none missing, and each what its model predicts."""
    test = datasets.load_test_set("fashion-mnist", data_dir)
    key = predictions.test_set_key(test.x, test.y)
    paths = [catalog.shipped_model_path(task, preset) for task in ("task2", "task3") for preset in PRESETS]
    twins = [predictions.shipped_twin(predictions.cache_file(path, key)) for path in paths]
    assert sorted(p.name for p in (settings.models_dir() / "predictions").iterdir()) == sorted(t.name for t in twins)
    for path, twin in zip(paths, twins):
        kept = predictions.read_cache(twin, len(test.x))
        again = predictions.compute(path, test.x[:300])
        np.testing.assert_allclose(kept.probs[:300], again.probs, atol=1e-5)
        if again.one_view is not None or kept.one_view is not None:
            np.testing.assert_allclose(kept.one_view[:300], again.one_view, atol=1e-5)
