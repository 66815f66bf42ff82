"""The robustness study: each classifier's test accuracy under each kind and level of noise.

Evaluation only, no training: does an encoder trained to denoise make a classifier more robust
to noisy inputs? Every model sees the very same noisy images (one draw per kind and level).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from dae_core.analysis import metrics
from dae_core.data.noise import NOISE_KINDS, NoiseConfig, add_noise

# Levels from none to heavy; level 0 is the plain test set.
LEVELS = {"gaussian": (0.0, 0.1, 0.2, 0.3, 0.5), "salt_pepper": (0.0, 0.05, 0.1, 0.2, 0.4),
          "speckle": (0.0, 0.25, 0.5, 1.0, 1.5), "patches": (0.0, 0.1, 0.25, 0.5, 0.75),
          "masking": (0.0, 0.1, 0.2, 0.4, 0.6)}


def noisy_test_sets(x: np.ndarray, levels: dict = LEVELS, seed: int = 0):
    """Yields (kind, level, noisy copy of ``x``), the same draw for every model."""
    for kind in NOISE_KINDS:
        for level in levels[kind]:
            yield kind, level, add_noise(x, NoiseConfig(kind, level), np.random.default_rng(seed))


def robustness_table(models: dict, x: np.ndarray, y: np.ndarray, levels: dict = LEVELS,
                     seed: int = 0) -> pd.DataFrame:
    """Rows (model, noise, level, accuracy) for each of ``models`` (name -> model or Predictor)."""
    rows = []
    for kind, level, noisy in noisy_test_sets(x, levels, seed):
        for name, model in models.items():
            accuracy = float(np.mean(metrics.predict(model, noisy).argmax(axis=1) == y))
            rows.append({"model": name, "noise": kind, "level": level, "accuracy": accuracy})
    return pd.DataFrame(rows)


def findings(table: pd.DataFrame) -> list[str]:
    """Per noise kind: how much accuracy each model keeps at the heaviest level, in words."""
    sentences = []
    for kind, rows in table.groupby("noise", sort=False):
        clean, worst = rows[rows.level == rows.level.min()], rows[rows.level == rows.level.max()]
        kept = {m: float(worst[worst.model == m].accuracy.iloc[0]) for m in worst.model}
        drops = ", ".join(f"{m} {float(clean[clean.model == m].accuracy.iloc[0]):.3f} -> {a:.3f}"
                          for m, a in kept.items())
        sentences.append(f"{kind} at {rows.level.max():g}: {drops}; most robust: {max(kept, key=kept.get)}.")
    return sentences
