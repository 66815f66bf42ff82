"""Metrics: classifier reports, confusion matrices, PSNR/SSIM (McNemar's test: ``stats``).

Arrays: images ``(N, 28, 28, 1) float32 in [0, 1]``, labels ``(N,) int``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn.metrics import confusion_matrix, precision_recall_fscore_support

from dae_core.data.datasets import FASHION_CLASSES
from dae_core.data.noise import NOISE_KINDS, NoiseConfig, add_noise

# Noise levels for the PSNR/SSIM tables: the training level and a sweep for curves.
DEFAULT_LEVELS = {"gaussian": (0.1, 0.3, 0.5, 0.7), "salt_pepper": (0.1, 0.2, 0.4),
                  "speckle": (0.5, 1.0, 1.5), "patches": (0.25, 0.5, 0.75), "masking": (0.2, 0.4, 0.6)}


@dataclass(frozen=True)
class ClassifierReport:
    loss: float
    accuracy: float
    probs: np.ndarray  # (N, 10)
    y_true: np.ndarray
    y_pred: np.ndarray
    per_class: pd.DataFrame  # class, precision, recall, f1, support; macro avg last
    confusion: np.ndarray  # (10, 10), rows true, columns predicted


def predict(model, x: np.ndarray, batch_size: int = 1000) -> np.ndarray:
    return np.asarray(model.predict(x, batch_size=batch_size, verbose=0), dtype=np.float32)


def top_classes(probs: np.ndarray, k: int = 3, class_names=FASHION_CLASSES) -> pd.DataFrame:
    """(10,) class probabilities -> the ``k`` likeliest: columns class, probability."""
    best = np.argsort(probs)[::-1][:k]
    return pd.DataFrame({"class": [class_names[i] for i in best],
                         "probability": [float(probs[i]) for i in best]})


def crossentropy(probs: np.ndarray, y: np.ndarray) -> float:
    """Mean categorical cross-entropy of integer labels ``y`` under ``probs``."""
    picked = np.clip(probs[np.arange(len(y)), y], 1e-7, 1.0)
    return float(-np.mean(np.log(picked)))


def per_class_table(y_true: np.ndarray, y_pred: np.ndarray,
                    class_names=FASHION_CLASSES) -> pd.DataFrame:
    labels = np.arange(len(class_names))
    p, r, f, s = precision_recall_fscore_support(y_true, y_pred, labels=labels, zero_division=0)
    table = pd.DataFrame({"label": labels, "class": class_names, "precision": p, "recall": r,
                          "f1": f, "support": s})
    macro = {"label": "", "class": "macro avg", "precision": p.mean(), "recall": r.mean(),
             "f1": f.mean(), "support": s.sum()}
    return pd.concat([table, pd.DataFrame([macro])], ignore_index=True)


def report_from_probs(probs: np.ndarray, y: np.ndarray) -> ClassifierReport:
    y_pred = probs.argmax(axis=1)
    return ClassifierReport(
        loss=crossentropy(probs, y), accuracy=float(np.mean(y_pred == y)), probs=probs,
        y_true=y, y_pred=y_pred, per_class=per_class_table(y, y_pred),
        confusion=confusion_matrix(y, y_pred, labels=np.arange(10)))


def classifier_report(model, x: np.ndarray, y: np.ndarray) -> ClassifierReport:
    return report_from_probs(predict(model, x), y)


def gallery_indices(y_true, y_pred, n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Up to ``n`` random indices of right and of wrong predictions."""
    right, wrong = np.flatnonzero(y_true == y_pred), np.flatnonzero(y_true != y_pred)
    pick = lambda idx: np.sort(rng.choice(idx, min(n, len(idx)), replace=False))  # noqa: E731
    return pick(right), pick(wrong)


# --- image quality -----------------------------------------------------------------

def psnr(clean: np.ndarray, other: np.ndarray) -> np.ndarray:
    """Per-image PSNR in dB for images in [0, 1] (capped at 100 dB for identical images)."""
    axes = tuple(range(1, clean.ndim))
    mse = np.mean((clean.astype(np.float64) - other) ** 2, axis=axes)
    return np.minimum(10 * np.log10(1.0 / np.maximum(mse, 1e-10)), 100.0)


def _gaussian_window(size: int = 11, sigma: float = 1.5) -> np.ndarray:
    taps = np.exp(-0.5 * ((np.arange(size) - size // 2) / sigma) ** 2)
    return taps / taps.sum()


def _filter_valid(images: np.ndarray, window: np.ndarray) -> np.ndarray:
    """Separable 'valid' correlation over the two image axes of (N, H, W)."""
    k = len(window)
    rows = sum(window[i] * images[:, i:images.shape[1] - k + 1 + i, :] for i in range(k))
    return sum(window[i] * rows[:, :, i:images.shape[2] - k + 1 + i] for i in range(k))


def ssim(clean: np.ndarray, other: np.ndarray) -> np.ndarray:
    """Per-image SSIM (Wang et al. 2004: 11x11 gaussian window, sigma 1.5, valid borders,
    as ``tf.image.ssim``) for images (N, 28, 28, 1) in [0, 1]. NumPy, so it is fast on CPU."""
    x = np.asarray(clean, np.float64).reshape(len(clean), 28, 28)
    y = np.asarray(other, np.float64).reshape(len(other), 28, 28)
    w = _gaussian_window()
    c1, c2 = 0.01 ** 2, 0.03 ** 2
    mx, my = _filter_valid(x, w), _filter_valid(y, w)
    sxx = _filter_valid(x * x, w) - mx * mx
    syy = _filter_valid(y * y, w) - my * my
    sxy = _filter_valid(x * y, w) - mx * my
    luminance = (2 * mx * my + c1) / (mx * mx + my * my + c1)
    structure = (2 * sxy + c2) / (sxx + syy + c2)
    return (luminance * structure).mean(axis=(1, 2))


def denoise_table(model, x_clean: np.ndarray, levels: dict | None = None,
                  seed: int = 0) -> pd.DataFrame:
    """PSNR and SSIM of noisy and denoised images against clean ones, per noise kind and level."""
    rows = []
    for kind in NOISE_KINDS:
        for level in (levels or DEFAULT_LEVELS)[kind]:
            noisy = add_noise(x_clean, NoiseConfig(kind, level), np.random.default_rng(seed))
            denoised = predict(model, noisy)
            rows.append({"noise": kind, "level": level,
                         "psnr_noisy": psnr(x_clean, noisy).mean(),
                         "psnr_denoised": psnr(x_clean, denoised).mean(),
                         "ssim_noisy": ssim(x_clean, noisy).mean(),
                         "ssim_denoised": ssim(x_clean, denoised).mean()})
    table = pd.DataFrame(rows)
    table["psnr_gain"] = table["psnr_denoised"] - table["psnr_noisy"]
    return table


def test_summary(model, config, dataset) -> dict:
    """The headline test figures a run records when it ends."""
    x, y = dataset.x_test, dataset.y_test
    if config.is_autoencoder:
        noisy = add_noise(x, config.noise, np.random.default_rng(0))
        denoised = predict(model, noisy)
        return {"images": len(x), "noise": config.noise.label(),
                "psnr_noisy": float(psnr(x, noisy).mean()),
                "psnr_denoised": float(psnr(x, denoised).mean()),
                "ssim_noisy": float(ssim(x, noisy).mean()),
                "ssim_denoised": float(ssim(x, denoised).mean())}
    report = classifier_report(model, x, y)
    return {"images": len(x), "loss": report.loss, "accuracy": report.accuracy,
            "macro_f1": float(report.per_class["f1"].iloc[-1])}
