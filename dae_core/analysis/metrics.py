"""Metrics: classifier reports, confusion matrices, PSNR/SSIM (McNemar's test: ``stats``).

Arrays: images ``(N, 28, 28, 1) float32 in [0, 1]``, labels ``(N,) int``.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
import pandas as pd

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


def predict(model, x: np.ndarray, batch_size: int = 1000, progress=None) -> np.ndarray:
    """``model.predict`` (a Keras model or an ``inference.Predictor``) as float32; with
    ``progress(fraction, text)``, called a batch at a time and told after each."""
    if progress is None:
        return np.asarray(model.predict(x, batch_size=batch_size, verbose=0), dtype=np.float32)
    parts = []
    for start in range(0, len(x), batch_size):
        parts.append(np.asarray(model.predict(x[start:start + batch_size], batch_size=batch_size, verbose=0),
                                dtype=np.float32))
        done = start + len(parts[-1])
        progress(done / len(x), f"{done:,} of {len(x):,} images")
    return np.concatenate(parts)


def top_classes(probs: np.ndarray, k: int = 3, class_names=FASHION_CLASSES) -> pd.DataFrame:
    """(10,) class probabilities -> the ``k`` likeliest: columns class, probability."""
    best = np.argsort(probs)[::-1][:k]
    return pd.DataFrame({"class": [class_names[i] for i in best],
                         "probability": [float(probs[i]) for i in best]})


def crossentropy(probs: np.ndarray, y: np.ndarray) -> float:
    """Mean categorical cross-entropy of integer labels ``y`` under ``probs``."""
    picked = np.clip(probs[np.arange(len(y)), y], 1e-7, 1.0)
    return float(-np.mean(np.log(picked)))


def confusion(y_true: np.ndarray, y_pred: np.ndarray, classes: int = 10) -> np.ndarray:
    """(classes, classes) counts, rows true, columns predicted (sklearn's ``confusion_matrix``, in
    numpy: importing sklearn costs a page a second)."""
    pairs = np.asarray(y_true, np.int64) * classes + np.asarray(y_pred, np.int64)
    return np.bincount(pairs, minlength=classes * classes)[:classes * classes].reshape(classes, classes)


def _ratio(top: np.ndarray, bottom: np.ndarray) -> np.ndarray:
    """top / bottom, 0 where bottom is 0 (sklearn's ``zero_division=0``)."""
    return np.divide(top, bottom, out=np.zeros(len(top)), where=bottom > 0)


def per_class_table(y_true: np.ndarray, y_pred: np.ndarray,
                    class_names=FASHION_CLASSES) -> pd.DataFrame:
    labels = np.arange(len(class_names))
    counts = confusion(y_true, y_pred, len(class_names))
    right, s = np.diag(counts).astype(np.float64), counts.sum(axis=1)
    p, r = _ratio(right, counts.sum(axis=0)), _ratio(right, s)
    f = _ratio(2 * right, counts.sum(axis=0) + s)  # 2pr / (p + r), as sklearn computes it
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
        confusion=confusion(y, y_pred))


def classifier_report(model, x: np.ndarray, y: np.ndarray, progress=None) -> ClassifierReport:
    return report_from_probs(predict(model, x, progress=progress), y)


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


def _valid_band(n: int, window: np.ndarray) -> np.ndarray:
    """(n, n - k + 1) with ``window`` down each column: ``rows @ band`` is the 'valid'
    correlation of each row with ``window``."""
    k = len(window)
    band = np.zeros((n, n - k + 1))
    for j in range(n - k + 1):
        band[j:j + k, j] = window
    return band


_SSIM_BAND = _valid_band(28, _gaussian_window())


def _filter_valid(images: np.ndarray, band: np.ndarray = _SSIM_BAND) -> np.ndarray:
    """Separable 'valid' correlation over the two image axes of (N, H, W), as two matrix
    products (ten times faster than summing shifted slices, the same sums)."""
    return np.matmul(np.matmul(band.T, images), band)


class Ssim:
    """Per-image SSIM against fixed ``clean`` images (Wang et al. 2004: 11x11 gaussian window,
    sigma 1.5, valid borders, as ``tf.image.ssim``) for images (N, 28, 28, 1) in [0, 1]. The clean
    images' local means and variances are computed once: a table scores many noisy and denoised
    versions of the same images. NumPy, so it is fast on CPU."""

    C1, C2 = 0.01 ** 2, 0.03 ** 2

    def __init__(self, clean: np.ndarray):
        self.x = np.asarray(clean, np.float64).reshape(len(clean), 28, 28)
        self.mx = _filter_valid(self.x)
        self.mx2 = self.mx * self.mx
        self.sxx = _filter_valid(self.x * self.x) - self.mx2

    def __call__(self, other: np.ndarray) -> np.ndarray:
        # In place where it can be: a table calls it on 10,000 images 32 times.
        y = np.array(other, np.float64).reshape(len(other), 28, 28)  # a copy: y is reused below
        my = _filter_valid(y)
        my2 = my * my
        syy = _filter_valid(y * y)
        syy -= my2
        y *= self.x
        sxy = _filter_valid(y)
        mxy = my
        mxy *= self.mx  # my is not needed any more
        sxy -= mxy
        luminance = 2 * mxy
        luminance += self.C1
        my2 += self.mx2
        my2 += self.C1
        luminance /= my2
        structure = 2 * sxy
        structure += self.C2
        syy += self.sxx
        syy += self.C2
        structure /= syy
        luminance *= structure
        return luminance.mean(axis=(1, 2))


def ssim(clean: np.ndarray, other: np.ndarray) -> np.ndarray:
    """Per-image SSIM of ``other`` against ``clean`` (``Ssim``)."""
    return Ssim(clean)(other)


SCORES = ("psnr_noisy", "psnr_denoised", "ssim_noisy", "ssim_denoised")


def denoise_scores(model, x_clean: np.ndarray, levels: dict | None = None, seed: int = 0,
                   progress=None) -> pd.DataFrame:
    """Per image, noise kind and level: PSNR and SSIM of the noisy and the denoised image against
    the clean one (columns noise, level, image, then ``SCORES``). The noise of each level is drawn
    from ``default_rng(seed)``, so the first n images get the same noise as ``x_clean[:n]`` would:
    the scores of a subset are those of the whole table's first rows. ``progress(fraction,
    text)`` is told after each level.

    A level is scored in a second thread while the model denoises the next one (both release
    the GIL in their array work): on two cores the model alone leaves one partly idle."""
    levels = levels or DEFAULT_LEVELS
    steps = [(kind, level) for kind in NOISE_KINDS if kind in levels for level in levels[kind]]
    against, images = Ssim(x_clean), np.arange(len(x_clean))

    def score(kind, level, noisy, denoised) -> pd.DataFrame:
        return pd.DataFrame({"noise": kind, "level": level, "image": images,
                             "psnr_noisy": psnr(x_clean, noisy), "psnr_denoised": psnr(x_clean, denoised),
                             "ssim_noisy": against(noisy), "ssim_denoised": against(denoised)})

    parts = []
    with ThreadPoolExecutor(max_workers=1) as scorer:
        for done, (kind, level) in enumerate(steps, start=1):
            noisy = add_noise(x_clean, NoiseConfig(kind, level), np.random.default_rng(seed))
            denoised = predict(model, noisy)
            if parts:
                parts[-1] = parts[-1].result()  # one level in flight at most: memory stays flat
            parts.append(scorer.submit(score, kind, level, noisy, denoised))
            if progress:
                progress(done / len(steps), f"{kind} {level:g}")
        if parts:
            parts[-1] = parts[-1].result()
    return pd.concat(parts, ignore_index=True)


def score_table(scores: pd.DataFrame, images: int | None = None) -> pd.DataFrame:
    """``denoise_scores`` as the mean per noise kind and level (over the first ``images`` images
    when given), with the PSNR gain of denoising."""
    if images is not None:
        scores = scores[scores["image"] < images]
    rows = [{"noise": kind, "level": level, **{name: group[name].to_numpy().mean() for name in SCORES}}
            for (kind, level), group in scores.groupby(["noise", "level"], sort=False)]
    table = pd.DataFrame(rows)
    table["psnr_gain"] = table["psnr_denoised"] - table["psnr_noisy"]
    return table


def denoise_table(model, x_clean: np.ndarray, levels: dict | None = None,
                  seed: int = 0, progress=None) -> pd.DataFrame:
    """Mean PSNR and SSIM of noisy and denoised images against clean ones, per noise kind and
    level (``denoise_scores``, ``score_table``)."""
    return score_table(denoise_scores(model, x_clean, levels, seed, progress))


def test_summary(model, config, dataset) -> dict:
    """The headline test figures a run records when it ends."""
    x, y = dataset.x_test, dataset.y_test
    if config.is_autoencoder:
        noisy = add_noise(x, config.noise, np.random.default_rng(0))
        denoised = predict(model, noisy)
        against = Ssim(x)
        return {"images": len(x), "noise": config.noise.label(),
                "psnr_noisy": float(psnr(x, noisy).mean()),
                "psnr_denoised": float(psnr(x, denoised).mean()),
                "ssim_noisy": float(against(noisy).mean()),
                "ssim_denoised": float(against(denoised).mean())}
    report = classifier_report(model, x, y)
    return {"images": len(x), "loss": report.loss, "accuracy": report.accuracy,
            "macro_f1": float(report.per_class["f1"].iloc[-1])}
