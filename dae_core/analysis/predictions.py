"""A classifier's class probabilities on a test set, computed once and kept on disk.

Predicting 10,000 test images takes an improved classifier half a minute on two CPU cores; the
Compare page and ``python -m dae_core compare`` need them on every visit. They are kept in
``settings.cache_dir()`` (``$DAE_CACHE_DIR``, default ``<runs>/.cache``), one ``.npz`` file per
model file and test set, named by a hash of both contents: a retrained or replaced model file
has other contents, so it is predicted afresh; a copied or re-checked-out one is found again.
A cache file is checked where it is read (its key, shapes, values); one that is damaged or
stale is predicted afresh and replaced, never an error.

The shipped Task 2 and Task 3 models' predictions ship too (``models/predictions/``, the same
names): where the cache has no file, its shipped twin is read (and checked) instead, so the Compare
page opens on a fresh install without predicting or loading TensorFlow. After shipping a new model,
write its file with ``DAE_CACHE_DIR=models python -m dae_core compare task2-PRESET task3-PRESET``
and remove the replaced model's (a test checks both).

A classifier that predicts the mean over an image and its mirror image (``flip_average``,
``models.builders.flip_averaged``) is run view by view, so the same work gives both its
predictions and those of its classifier on the image alone (``one_view``): the single-view
figure to set beside the assignment's.
"""

from __future__ import annotations

import hashlib
import os
import threading
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from dae_core import settings

VERSION = 1  # of the cache file's layout and of how predictions are computed: a change misses
BATCH = 1000  # images per model call; progress is reported after each
Progress = Callable[[float, str], None]  # (fraction done, what is being done)


@dataclass(frozen=True)
class Predictions:
    probs: np.ndarray  # (N, classes) float32: what the model predicts
    one_view: np.ndarray | None = None  # the same from the image alone, for a mirror-averaging model

    @property
    def mirror_averaged(self) -> bool:
        return self.one_view is not None


def test_set_key(x: np.ndarray, y: np.ndarray) -> str:
    """A hash of the test images and labels: predictions are kept per test set."""
    digest = hashlib.blake2b(digest_size=16)
    for array in (x, y):
        array = np.ascontiguousarray(array)
        digest.update(f"{array.dtype.str}{array.shape}".encode())
        digest.update(memoryview(array).cast("B"))
    return digest.hexdigest()


def cache_file(model_path: str | Path, test_key: str, cache_dir: str | Path | None = None) -> Path:
    """Where the predictions of the model file ``model_path`` on the test set ``test_key`` are
    kept: named by a hash of the file's contents, the test set and ``VERSION``."""
    digest = hashlib.sha256(Path(model_path).read_bytes())
    digest.update(f"|{test_key}|{VERSION}".encode())
    return Path(cache_dir or settings.cache_dir()) / "predictions" / f"{digest.hexdigest()[:32]}.npz"


def read_cache(path: Path, n: int) -> Predictions | None:
    """The predictions kept in ``path`` for ``n`` images, or None when there are none, or they
    are cut, of the wrong shape or not probabilities (then they are predicted afresh)."""
    try:
        with np.load(path, allow_pickle=False) as kept:
            if str(kept["name"]) != path.stem:
                return None
            arrays = [kept["probs"], kept["one_view"] if "one_view" in kept.files else None]
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile):
        return None
    for array in filter(lambda a: a is not None, arrays):
        if array.ndim != 2 or array.shape[0] != n or array.dtype != np.float32 \
                or not np.all(np.isfinite(array)) or not np.allclose(array.sum(axis=1), 1, atol=1e-3):
            return None
    return Predictions(*arrays)


def write_cache(path: Path, predictions: Predictions) -> None:
    """Kept atomically: another session or process reads the whole file or none."""
    path.parent.mkdir(parents=True, exist_ok=True)
    arrays = {"name": np.array(path.stem), "probs": predictions.probs}
    if predictions.one_view is not None:
        arrays["one_view"] = predictions.one_view
    temporary = path.with_name(f"{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    try:
        with open(temporary, "wb") as f:
            np.savez(f, **arrays)
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)


_locks: dict[Path, threading.Lock] = {}
_locks_lock = threading.Lock()


def _lock(path: Path) -> threading.Lock:
    """One lock per cache file: two sessions opening the same model compute it once."""
    with _locks_lock:
        return _locks.setdefault(path, threading.Lock())


def cached(model_path: str | Path, x: np.ndarray, y: np.ndarray, *, test_key: str | None = None,
           cache_dir: str | Path | None = None) -> Predictions | None:
    """The kept predictions of ``model_path`` on ``x``, or None when they must be computed.
    Needs no TensorFlow. Raises ``ModelFileError`` for a missing model file."""
    path = _cache_file(model_path, x, y, test_key, cache_dir)
    return _kept(path, len(x))


def predict(model_path: str | Path, x: np.ndarray, y: np.ndarray, *, test_key: str | None = None,
            cache_dir: str | Path | None = None, progress: Progress | None = None) -> Predictions:
    """The predictions of the model file ``model_path`` on ``x``: kept ones when valid, else
    computed (``progress`` told after each batch) and kept. Raises ``ModelFileError`` for a
    missing or unreadable model file."""
    path = _cache_file(model_path, x, y, test_key, cache_dir)
    with _lock(path):
        found = _kept(path, len(x))
        if found is None:
            found = compute(model_path, x, progress)
            try:
                write_cache(path, found)
            except OSError:  # a read-only or full disk: the predictions still serve this visit
                pass
    return found


def shipped_twin(path: Path) -> Path:
    """Where the predictions of a shipped model would ship under the cache file's name."""
    return settings.models_dir() / "predictions" / path.name


def _kept(path: Path, n: int) -> Predictions | None:
    """The cache file's predictions, else its shipped twin's, each checked (``read_cache``)."""
    found = read_cache(path, n)
    return found if found is not None else read_cache(shipped_twin(path), n)


def _cache_file(model_path, x, y, test_key, cache_dir) -> Path:
    try:
        return cache_file(model_path, test_key or test_set_key(x, y), cache_dir)
    except OSError:
        from dae_core.models.builders import load_model

        load_model(model_path)  # raises the ModelFileError that names the fix
        raise


def compute(model_path: str | Path, x: np.ndarray, progress: Progress | None = None) -> Predictions:
    """Run the model file ``model_path`` on ``x`` in batches. A mirror-averaging model's classifier
    runs on the images and on their mirror images; their mean is exactly what the model predicts."""
    from dae_core.models.builders import load_model
    from dae_core.models.inference import Predictor

    tell = progress or (lambda fraction, text: None)
    tell(0.0, "Loading the model…")
    model = load_model(model_path)
    classifier = single_view(model)
    views = [("images", x)] + ([("mirror images", x[:, :, ::-1])] if classifier is not model else [])
    run = Predictor(classifier, compile_single_image=False)
    outputs = []
    for view, (name, images) in enumerate(views):
        batches = []
        for start in range(0, len(images), BATCH):
            batches.append(np.asarray(run(np.ascontiguousarray(images[start:start + BATCH])), np.float32))
            done = start + len(batches[-1])
            tell((view * len(x) + done) / (len(views) * len(x)), f"Predicting the {name}: {done:,} of {len(x):,}")
        outputs.append(np.concatenate(batches) if batches else np.zeros((0, 10), np.float32))
    if len(outputs) == 1:
        return Predictions(outputs[0])
    return Predictions((outputs[0] + outputs[1]) / np.float32(2), one_view=outputs[0])


def single_view(model):
    """The classifier of one view inside a mirror-averaging model (``builders.flip_averaged``:
    input -> [classifier, mirror -> classifier] -> mean), else ``model`` itself."""
    import keras

    from dae_core.models.builders import HorizontalFlip

    inner = [layer for layer in model.layers if isinstance(layer, keras.Model)]
    mirrors = [layer for layer in model.layers if isinstance(layer, HorizontalFlip)]
    averaged = any(isinstance(layer, keras.layers.Average) for layer in model.layers)
    return inner[0] if len(inner) == 1 and len(mirrors) == 1 and averaged else model
