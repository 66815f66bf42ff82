"""Inside a Task 1 autoencoder: its encoder's codes of test digits, mapped to 2-D (PCA, t-SNE),
nearest neighbours in code and pixel space, interpolation between two codes, and a linear probe
(what the codes know without labels). No Streamlit; TensorFlow only inside ``split_autoencoder``.

Images are ``(N, 28, 28, 1) float32 in [0, 1]``; codes are the encoder's output flattened,
``(N, D) float32`` (D = 4 * 4 * 64 for both presets).

Timed on a model file: ``python -m benchmarks latent [MODEL]``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn.decomposition import PCA
from sklearn.linear_model import LogisticRegression
from sklearn.manifold import TSNE
from sklearn.neighbors import NearestNeighbors
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from threadpoolctl import threadpool_limits

METHODS = {"pca": "PCA", "tsne": "t-SNE"}
TSNE_PCA_DIMS = 50  # t-SNE runs on this PCA reduction of the codes: same map, a fraction of the time
TSNE_ITERATIONS = 500  # the map is as faithful as with 1,000 (docs/results.md), in half the time
# One BLAS thread: beside a training on the same cores, more threads spin waiting for each other
# and make the probe's fits and t-SNE many times slower.
BLAS_THREADS = 1
PLACE_K = 5  # t-SNE cannot place a new point: it goes to the mean of its nearest neighbours' places
PROBE_SIZES = (100, 300, 1000, 3000)
PROBE_EVAL = 2000  # held-out test images that score each probe
BATCH = 500


@dataclass(frozen=True)
class CodeModel:
    """The two halves of an autoencoder as array functions."""

    encode: Callable[[np.ndarray], np.ndarray]  # (N, 28, 28, 1) -> (N, *latent_shape)
    decode: Callable[[np.ndarray], np.ndarray]  # (N, *latent_shape) -> (N, 28, 28, 1)
    latent_shape: tuple[int, ...]

    def codes(self, images: np.ndarray) -> np.ndarray:
        """(N, 28, 28, 1) -> (N, D) float32, in batches."""
        parts = [self.encode(images[i:i + BATCH]) for i in range(0, len(images), BATCH)]
        return np.concatenate(parts).reshape(len(images), -1).astype(np.float32)

    def decode_codes(self, codes: np.ndarray) -> np.ndarray:
        """(N, D) flattened codes -> (N, 28, 28, 1) images."""
        return self.decode(codes.reshape(len(codes), *self.latent_shape).astype(np.float32))


def split_autoencoder(autoencoder) -> CodeModel:
    """A Task 1 Keras model's sub-models "encoder" and "decoder" (``models.build_autoencoder``),
    each behind a traced graph (``inference.Predictor``)."""
    from dae_core.errors import ModelFileError
    from dae_core.models.inference import Predictor

    try:
        encoder, decoder = autoencoder.get_layer("encoder"), autoencoder.get_layer("decoder")
    except ValueError as e:
        raise ModelFileError(f"{autoencoder.name} has no encoder and decoder sub-models: "
                             "pick a Task 1 autoencoder built by dae_core.") from e
    return CodeModel(Predictor(encoder, compile_single_image=False),
                     Predictor(decoder, compile_single_image=False), tuple(encoder.output_shape[1:]))


# --- the map -----------------------------------------------------------------------

@dataclass(frozen=True)
class LatentMap:
    """2-D places of ``codes`` by ``method``, and what it takes to place a new code."""

    method: str  # a key of METHODS
    xy: np.ndarray  # (N, 2)
    codes: np.ndarray  # (N, D): the codes mapped
    pca: PCA | None  # the fitted PCA ("pca" only)

    def place(self, codes: np.ndarray, k: int = PLACE_K) -> np.ndarray:
        """(M, D) new codes -> (M, 2): PCA's own transform; for t-SNE, the mean place of each
        code's ``k`` nearest mapped codes."""
        if self.pca is not None:
            return self.pca.transform(codes)
        return self.xy[nearest(self.codes, codes, k)].mean(axis=1)


def fit_map(codes: np.ndarray, method: str = "pca", seed: int = 0) -> LatentMap:
    """Map (N, D) codes to 2-D. t-SNE takes seconds for a few thousand codes (PCA: milliseconds)."""
    if method not in METHODS:
        raise ValueError(f"method must be one of {list(METHODS)}, got {method!r}")
    with threadpool_limits(BLAS_THREADS):
        if method == "pca":
            pca = PCA(2, random_state=seed).fit(codes)
            return LatentMap(method, pca.transform(codes), codes, pca)
        reduced = PCA(min(TSNE_PCA_DIMS, *codes.shape), random_state=seed).fit_transform(codes)
        perplexity = min(30.0, (len(codes) - 1) / 3)  # t-SNE refuses a perplexity >= N
        tsne = TSNE(2, perplexity=perplexity, max_iter=TSNE_ITERATIONS, init="pca", random_state=seed)
        return LatentMap(method, tsne.fit_transform(reduced).astype(np.float32), codes, None)


# --- neighbours and interpolation ----------------------------------------------------

def nearest(features: np.ndarray, queries: np.ndarray, k: int) -> np.ndarray:
    """(M, k) row indices into ``features`` (N, D) of each query's (M, D) nearest, closest first."""
    return NearestNeighbors(n_neighbors=k).fit(features).kneighbors(queries, return_distance=False)


@dataclass(frozen=True)
class Neighbours:
    code: np.ndarray  # (k,) indices of the nearest in code space, closest first
    pixel: np.ndarray  # (k,) the same in pixel space


def neighbours(codes: np.ndarray, images: np.ndarray, index: int, k: int = 8) -> Neighbours:
    """The ``k`` nearest other items to item ``index``, by its code and by its pixels."""
    pixels = images.reshape(len(images), -1)
    found = [nearest(f, f[index:index + 1], k + 1)[0] for f in (codes, pixels)]
    return Neighbours(*(f[f != index][:k] for f in found))


@dataclass(frozen=True)
class Interpolation:
    weights: np.ndarray  # (steps,) from 0 (the first image) to 1 (the second)
    decoded: np.ndarray  # (steps, 28, 28, 1): decodes of points on the line between the codes
    crossfade: np.ndarray  # (steps, 28, 28, 1): the plain pixel mix


def interpolate(model: CodeModel, a: np.ndarray, b: np.ndarray, steps: int = 8) -> Interpolation:
    """Two (28, 28, 1) images: decodes along the straight line between their codes, and the
    cross-fade of their pixels at the same weights."""
    t = np.linspace(0.0, 1.0, steps, dtype=np.float32)
    code_a, code_b = model.codes(np.stack([a, b]))
    line = (1 - t[:, None]) * code_a + t[:, None] * code_b
    fade = (1 - t[:, None, None, None]) * a + t[:, None, None, None] * b
    return Interpolation(t, model.decode_codes(line), fade.astype(np.float32))


# --- the linear probe ------------------------------------------------------------------

def probe_accuracy(x_train: np.ndarray, y_train: np.ndarray, x_test: np.ndarray, y_test: np.ndarray,
                   seed: int = 0) -> float:
    """Test accuracy of a logistic regression (on standardised features) fitted to (N, D) rows."""
    probe = make_pipeline(StandardScaler(), LogisticRegression(C=0.1, max_iter=500, random_state=seed))
    with threadpool_limits(BLAS_THREADS):
        return float(probe.fit(x_train, y_train).score(x_test, y_test))


def probe_curve(features: np.ndarray, labels: np.ndarray, sizes=PROBE_SIZES, n_eval: int = PROBE_EVAL,
                seed: int = 0) -> list[tuple[int, float]]:
    """[(n, accuracy)]: probes fitted to the first n of a fixed shuffle, scored on ``n_eval``
    other items (the last of the shuffle). Sizes beyond the items left are skipped."""
    order = np.random.default_rng(seed).permutation(len(features))
    held_out, pool = order[-n_eval:], order[:-n_eval]
    return [(n, probe_accuracy(features[pool[:n]], labels[pool[:n]], features[held_out],
                               labels[held_out], seed)) for n in sizes if n <= len(pool)]


def linear_probe(model: CodeModel, datasets: dict[str, tuple[np.ndarray, np.ndarray]],
                 sizes=PROBE_SIZES, n_eval: int = PROBE_EVAL, seed: int = 0) -> pd.DataFrame:
    """For each dataset's (images, labels): the probe on the codes and on the raw pixels, at
    each number of training images. Columns: dataset, features, n_train, accuracy."""
    rows = []
    for name, (images, labels) in datasets.items():
        for features, x in (("codes", model.codes(images)), ("pixels", images.reshape(len(images), -1))):
            rows += [(name, features, n, acc) for n, acc in probe_curve(x, labels, sizes, n_eval, seed)]
    return pd.DataFrame(rows, columns=["dataset", "features", "n_train", "accuracy"])
