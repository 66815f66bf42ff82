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
                     seed: int = 0, progress=None) -> pd.DataFrame:
    """Rows (model, noise, level, accuracy) for each of ``models`` (name -> model or Predictor);
    ``progress(fraction, text)`` is told after each model at each level."""
    rows, count = [], sum(len(levels[kind]) for kind in NOISE_KINDS) * len(models)
    for kind, level, noisy in noisy_test_sets(x, levels, seed):
        for name, model in models.items():
            accuracy = float(np.mean(metrics.predict(model, noisy).argmax(axis=1) == y))
            rows.append({"model": name, "noise": kind, "level": level, "accuracy": accuracy})
            if progress:
                progress(len(rows) / count, f"{name}, {kind} {level:g}")
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


def headline(table: pd.DataFrame) -> str:
    """Which model keeps the most accuracy under each noise kind's heaviest level, in one sentence
    (single models: no intervals)."""
    if not len(table):
        return "No model has been evaluated yet."
    wins = {}
    for kind, rows in table.groupby("noise", sort=False):
        worst = rows[rows.level == rows.level.max()].sort_values("accuracy", ascending=False)
        top = worst.iloc[0]
        against = f" against {worst.iloc[1].model}'s {worst.iloc[1].accuracy:.3f}" if len(worst) > 1 else ""
        wins.setdefault(top.model, []).append((f"{kind} {top.level:g}", f"{top.accuracy:.3f}{against}"))
    ranked = sorted(wins.items(), key=lambda item: -len(item[1]))
    parts = [f"{model} for {len(kinds)} of the {sum(map(len, wins.values()))} kinds "
             f"({'; '.join(f'{k}: {v}' for k, v in kinds)})" if len(kinds) > 1 or i == 0 and len(ranked) == 1
             else f"{model} for {kinds[0][0]} ({kinds[0][1]})" for i, (model, kinds) in enumerate(ranked)]
    listed = parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]
    return f"Under each noise kind's heaviest level, the most accuracy is kept by {listed}; single models, no intervals."
