"""Noise models for images ``(..., 28, 28, 1) float32 in [0, 1]``; results clipped to [0, 1].

Each kind exists twice with the same maths: in NumPy (a ``np.random.Generator``
passed in) for evaluation and the dashboard, and in TensorFlow for the training
input pipeline, so that every epoch sees fresh noise without leaving the graph.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

NOISE_KINDS = ("gaussian", "salt_pepper", "speckle", "patches", "masking")
LEVEL_NAMES = {"gaussian": "std", "salt_pepper": "amount", "speckle": "std", "patches": "share",
               "masking": "fraction"}
LEVEL_LIMITS = {"gaussian": 1.0, "salt_pepper": 1.0, "speckle": 2.0, "patches": 1.0, "masking": 1.0}
# "patches" (masked-autoencoder style, He et al. 2022): the image is cut into PATCH x PATCH squares
# (7 x 7 = 49 of them on 28 x 28) and round(level x their number) of them, drawn without
# replacement per image, are set to black; "masking" drops single pixels independently.
PATCH = 4


@dataclass(frozen=True)
class NoiseConfig:
    """A noise kind and its level (std for gaussian/speckle, the share of patches masked for
    patches, the fraction of pixels for the others)."""

    kind: str = "gaussian"
    level: float = 0.5

    def __post_init__(self):
        if self.kind not in NOISE_KINDS:
            raise ValueError(f"noise kind {self.kind!r} unknown; choose one of {NOISE_KINDS}")
        if not 0.0 <= self.level <= LEVEL_LIMITS[self.kind]:
            raise ValueError(f"{self.kind} {LEVEL_NAMES[self.kind]} {self.level} is outside "
                             f"[0, {LEVEL_LIMITS[self.kind]}]")

    def label(self) -> str:
        return f"{self.kind} {LEVEL_NAMES[self.kind]} {self.level:g}"


def add_noise(x: np.ndarray, noise: NoiseConfig, rng: np.random.Generator) -> np.ndarray:
    """Noisy copy of ``x`` (float32 in [0, 1]) drawn with ``rng``."""
    x = np.asarray(x, dtype=np.float32)
    level = noise.level
    if noise.kind == "gaussian":
        out = x + level * rng.standard_normal(x.shape, dtype=np.float32)
    elif noise.kind == "speckle":
        out = x + x * level * rng.standard_normal(x.shape, dtype=np.float32)
    elif noise.kind == "salt_pepper":
        u = rng.random(x.shape, dtype=np.float32)
        out = np.where(u < level / 2, 0.0, np.where(u > 1 - level / 2, 1.0, x))
    elif noise.kind == "patches":
        images = x.reshape((-1,) + x.shape[-3:])
        rows, cols, count = _patch_grid(images.shape[1], images.shape[2], level)
        # a random rank per patch; the ``count`` lowest ranks are masked: exactly that many per image
        ranks = rng.random((len(images), rows * cols), dtype=np.float32).argsort(axis=1).argsort(axis=1)
        masked = _patch_mask(ranks < count, rows, cols, images.shape[1], images.shape[2])
        out = np.where(masked, 0.0, images).reshape(x.shape)
    else:  # masking: drop a fraction of pixels to black
        out = np.where(rng.random(x.shape, dtype=np.float32) < level, 0.0, x)
    return np.clip(out, 0.0, 1.0).astype(np.float32)


def tf_noise_fn(noise: NoiseConfig):
    """A TensorFlow function ``x -> noisy x`` for ``tf.data`` pipelines (fresh draws per call)."""
    import tensorflow as tf  # deferred: only the training pipeline needs it

    level = float(noise.level)

    def apply(x):
        shape = tf.shape(x)
        if noise.kind == "gaussian":
            out = x + level * tf.random.normal(shape)
        elif noise.kind == "speckle":
            out = x + x * level * tf.random.normal(shape)
        elif noise.kind == "salt_pepper":
            u = tf.random.uniform(shape)
            out = tf.where(u < level / 2, 0.0, tf.where(u > 1 - level / 2, 1.0, x))
        elif noise.kind == "patches":
            height, width, channels = x.shape[-3:]
            images = tf.reshape(x, (-1, height, width, channels))
            rows, cols, count = _patch_grid(height, width, level)
            scores = tf.random.uniform((tf.shape(images)[0], rows * cols))
            ranks = tf.argsort(tf.argsort(scores, axis=1), axis=1)
            grid = tf.reshape(ranks < count, (-1, rows, cols))
            pixels = tf.repeat(tf.repeat(grid, PATCH, axis=1), PATCH, axis=2)[:, :height, :width, None]
            out = tf.reshape(tf.where(pixels, 0.0, images), shape)
        else:
            out = tf.where(tf.random.uniform(shape) < level, 0.0, x)
        return tf.clip_by_value(out, 0.0, 1.0)

    return apply


def _patch_grid(height: int, width: int, level: float) -> tuple[int, int, int]:
    """(rows, columns) of PATCH x PATCH patches covering an image (the last ones cut by its
    edge), and how many of them ``level`` masks."""
    rows, cols = -(-height // PATCH), -(-width // PATCH)
    return rows, cols, int(round(level * rows * cols))


def _patch_mask(grid: np.ndarray, rows: int, cols: int, height: int, width: int) -> np.ndarray:
    """(N, rows * cols) booleans per patch -> (N, height, width, 1) booleans per pixel."""
    per_patch = grid.reshape(-1, rows, cols)
    return per_patch.repeat(PATCH, axis=1).repeat(PATCH, axis=2)[:, :height, :width, None]
