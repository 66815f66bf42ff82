"""Classical denoisers (scikit-image / SciPy) beside the autoencoders, for a fair comparison.

Each method's main parameter is tuned per noise kind and level by mean PSNR on validation
images (never the test set) and recorded in ``classical_params.json``, which the dashboard
reads: nothing is tuned at run time. Regenerate it with ``python -m dae_core.analysis.classical``
(the data from ``$DAE_DATA_DIR``). Images: ``(N, 28, 28, 1) float32 in [0, 1]``.
"""

from __future__ import annotations

import argparse
import functools
import hashlib
import json
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import ndimage
from skimage import filters, restoration

from dae_core.analysis.metrics import DEFAULT_LEVELS, Ssim, psnr
from dae_core.data.noise import NoiseConfig, add_noise
from dae_core.errors import DamagedFileError
from dae_core.store.files import is_number, read_json

PARAMS_FILE = Path(__file__).with_name("classical_params.json")
VALIDATION_IMAGES = 300


@dataclass(frozen=True)
class Method:
    name: str
    title: str
    fn: Callable[[np.ndarray, float], np.ndarray]  # (N, 28, 28) float64, param -> same shape
    grid: tuple
    label_of: Callable[[float], str]

    def apply(self, images: np.ndarray, param: float) -> np.ndarray:
        flat = np.asarray(images, np.float64).reshape(len(images), *images.shape[1:3])
        return np.clip(self.fn(flat, param), 0, 1).astype(np.float32).reshape(images.shape)

    def label(self, param: float) -> str:
        return f"{self.title} ({self.label_of(param)})"


def _nl_means(images: np.ndarray, h: float) -> np.ndarray:
    # Small patches and search window: several times faster than the defaults on 28x28 digits.
    return np.stack([restoration.denoise_nl_means(im, h=h, patch_size=5, patch_distance=6,
                                                  fast_mode=True) for im in images])


METHODS = {m.name: m for m in (
    Method("median", "Median", lambda x, k: ndimage.median_filter(x, size=(1, int(k), int(k))),
           (3, 5, 7), lambda k: f"{int(k)}x{int(k)}"),
    Method("blur", "Gaussian blur", lambda x, s: filters.gaussian(x, sigma=(0, s, s)),
           (0.3, 0.5, 0.75, 1.0, 1.5), lambda s: f"σ {s:g}"),
    Method("tv", "Total variation", lambda x, w: restoration.denoise_tv_chambolle(x, weight=w, channel_axis=0),
           (0.02, 0.05, 0.1, 0.2, 0.3, 0.5), lambda w: f"weight {w:g}"),
    Method("nl_means", "Non-local means", _nl_means, (0.02, 0.05, 0.1, 0.2, 0.3, 0.5),
           lambda h: f"h {h:g}"),
)}


def grid_scores(method: Method, clean: np.ndarray, noisy: np.ndarray) -> dict:
    """Mean PSNR against ``clean`` of ``noisy`` denoised with each value of the method's grid."""
    return {p: float(psnr(clean, method.apply(noisy, p)).mean()) for p in method.grid}


def tune(method: Method, clean_val: np.ndarray, noise: NoiseConfig, rng_seed: int = 0):
    """The grid value with the best mean validation PSNR (the first of equals)."""
    scores = grid_scores(method, clean_val, add_noise(clean_val, noise, np.random.default_rng(rng_seed)))
    return max(scores, key=scores.get)


def tuned_parameters(clean_val: np.ndarray, levels: dict | None = None, seed: int = 0) -> dict:
    """{kind: {level as str: {method: best param}}} for every noise kind and level."""
    return {kind: {f"{level:g}": {name: tune(m, clean_val, NoiseConfig(kind, level), seed)
                                  for name, m in METHODS.items()} for level in kind_levels}
            for kind, kind_levels in (levels or DEFAULT_LEVELS).items()}


PARAMS_FIX = ("restore it with `git checkout dae_core/analysis/classical_params.json`, or tune "
              "again with `python -m dae_core.analysis.classical`")


@functools.lru_cache(maxsize=4)
def load_params(path: Path | None = None) -> dict:
    """{kind: {level: {method: param}}} of ``path`` (default ``PARAMS_FILE``, read when called, so a
    test can point it at a damaged copy), checked; ``DamagedFileError`` naming the file when it is
    cut, binary or of the wrong shape."""
    path = Path(path or PARAMS_FILE)
    params = read_json(path, PARAMS_FIX)
    params = params.get("params") if isinstance(params, dict) else None
    if not isinstance(params, dict) or not params:
        raise DamagedFileError(path, "no table of tuned parameters under \"params\"", PARAMS_FIX)
    for kind, by_level in params.items():
        if not isinstance(by_level, dict) or not by_level:
            raise DamagedFileError(path, f"noise {kind!r} has no levels", PARAMS_FIX)
        for level, methods in by_level.items():
            try:
                float(level)
            except ValueError:
                raise DamagedFileError(path, f"noise {kind!r}: level {level!r} is no number", PARAMS_FIX)
            if not isinstance(methods, dict) or not all(
                    name in METHODS and is_number(value) and value > 0 for name, value in methods.items()):
                raise DamagedFileError(path, f"noise {kind!r} at {level}: not a table of known methods "
                                       "and positive numbers", PARAMS_FIX)
    return params


def params_for(kind: str, level: float, table: dict | None = None) -> dict:
    """The tuned {method: param} at the nearest tuned level of ``kind`` (the lower of two equals)."""
    table = table or load_params()
    if kind not in table:
        raise DamagedFileError(PARAMS_FILE, f"no parameters for noise {kind!r}", PARAMS_FIX)
    by_level = table[kind]
    nearest = min(by_level, key=lambda lv: (abs(float(lv) - level), float(lv)))
    return by_level[nearest]


@dataclass(frozen=True)
class Result:  # one method's output, with its parameter, label and time per image
    method: str
    param: float
    label: str
    images: np.ndarray
    ms_per_image: float


def run_all(noisy: np.ndarray, kind: str, level: float) -> list[Result]:
    """Every method, with its tuned parameter, on ``noisy``; timed."""
    results = []
    for name, param in params_for(kind, level).items():
        method = METHODS[name]
        start = time.perf_counter()
        images = method.apply(noisy, param)
        ms = (time.perf_counter() - start) * 1000 / len(noisy)
        results.append(Result(name, param, method.label(param), images, ms))
    return results


def classical_table(x_clean: np.ndarray, levels: dict | None = None, seed: int = 0,
                    progress=None) -> pd.DataFrame:
    """``metrics.denoise_table``'s columns plus method, param and ms_per_image, one row per
    noise kind, level and method (the same noise draws as the autoencoder's table).
    ``progress(fraction, text)`` is told after each noise level."""
    levels = levels or DEFAULT_LEVELS
    rows, against = [], Ssim(x_clean)
    steps = [(kind, level) for kind, kind_levels in levels.items() for level in kind_levels]
    for done, (kind, level) in enumerate(steps, start=1):
        noisy = add_noise(x_clean, NoiseConfig(kind, level), np.random.default_rng(seed))
        psnr_noisy, ssim_noisy = psnr(x_clean, noisy).mean(), against(noisy).mean()
        for r in run_all(noisy, kind, level):
            rows.append({"noise": kind, "level": level, "method": r.method, "param": r.param,
                         "psnr_noisy": psnr_noisy, "psnr_denoised": psnr(x_clean, r.images).mean(),
                         "ssim_noisy": ssim_noisy, "ssim_denoised": against(r.images).mean(),
                         "ms_per_image": r.ms_per_image})
        if progress:
            progress(done / len(steps), f"{kind} {level:g}")
    table = pd.DataFrame(rows)
    table["psnr_gain"] = table["psnr_denoised"] - table["psnr_noisy"]
    return table


# --- the table kept on disk ----------------------------------------------------------
# The table depends on the images, the noise and the tuned parameters, never on a model, and its
# CPU loops (total variation, non-local means) cost far more than the autoencoder's side.
# ``python -m dae_core evaluate`` and the Denoise page therefore keep it, named by a hash of all it
# depends on: shipped in ``classical_tables/`` for the test digits they show (``shipped_tables``;
# the bundled ones, which are the full test set's), else computed once into the cache folder.

TABLE_VERSION = 1  # of the kept table's layout and of how it is computed: a change misses
KEPT_TABLES = Path(__file__).with_name("classical_tables")
SHIPPED_TABLE_IMAGES = 1000  # evaluate's default --classical-images
PAGE_TABLE_IMAGES = 300  # the Denoise page's chart: a steady mean PSNR, one noise kind at a time


def shipped_tables(x_test: np.ndarray) -> list[tuple[np.ndarray, dict | None]]:
    """The (images, levels) of each table shipped in ``classical_tables/``: evaluate's (every
    level, its first 1,000 digits) and the Denoise page's (one noise kind each, its first 300)."""
    return [(x_test[:SHIPPED_TABLE_IMAGES], None)] + [
        (x_test[:PAGE_TABLE_IMAGES], {kind: levels}) for kind, levels in DEFAULT_LEVELS.items()]
TABLE_COLUMNS = ("noise", "level", "method", "param", "psnr_noisy", "psnr_denoised", "ssim_noisy",
                 "ssim_denoised", "ms_per_image", "psnr_gain")


def table_key(x_clean: np.ndarray, levels: dict | None = None, seed: int = 0) -> str:
    """A hash of what ``classical_table`` depends on: the images, the levels, the noise seed,
    the tuned parameters, ``TABLE_VERSION`` and scikit-image's version (its denoisers)."""
    import skimage

    x = np.ascontiguousarray(x_clean, np.float32)
    digest = hashlib.blake2b(digest_size=16)
    digest.update(f"{x.shape}".encode())
    digest.update(memoryview(x).cast("B"))
    digest.update(json.dumps({"levels": {k: list(v) for k, v in (levels or DEFAULT_LEVELS).items()},
                              "seed": seed, "params": load_params(), "version": TABLE_VERSION,
                              "scikit-image": skimage.__version__}, sort_keys=True).encode())
    return digest.hexdigest()


def read_table(path: Path, levels: dict | None = None) -> pd.DataFrame | None:
    """The kept table in ``path``, or None when there is none or it is cut or of another shape
    (then it is computed afresh)."""
    levels = levels or DEFAULT_LEVELS
    expected = [(kind, float(level), name) for kind, kind_levels in levels.items() for level in kind_levels
                for name in METHODS]
    try:
        table = pd.read_csv(path, float_precision="round_trip")[list(TABLE_COLUMNS)]
        rows = list(zip(table["noise"], table["level"].astype(float), table["method"]))
        numbers = table[list(TABLE_COLUMNS[3:])].to_numpy(dtype=float)
    except (OSError, ValueError, KeyError, TypeError, pd.errors.ParserError):
        return None
    return table if rows == expected and np.isfinite(numbers).all() else None


def kept_classical_table(x_clean: np.ndarray, levels: dict | None = None, seed: int = 0, *,
                         cache_dir: str | Path | None = None, progress=None) -> tuple[pd.DataFrame, bool]:
    """(``classical_table(x_clean, levels, seed)``, whether it was kept): the shipped table or the
    one in ``cache_dir`` (default ``settings.cache_dir()``) when one matches ``table_key``, else
    computed (``progress`` told) and kept there. Its ``ms_per_image`` are those timed when it was
    computed."""
    from dae_core import settings

    name = f"{table_key(x_clean, levels, seed)}.csv"
    folder = Path(cache_dir or settings.cache_dir()) / "classical"
    for path in (KEPT_TABLES / name, folder / name):
        table = read_table(path, levels)
        if table is not None:
            return table, True
    table = classical_table(x_clean, levels, seed, progress)
    try:
        write_table(table, folder / name)
    except OSError:  # a read-only or full disk: the table still serves this evaluation
        pass
    return table, False


def write_table(table: pd.DataFrame, path: Path) -> None:
    """Kept atomically: another process reads the whole file or none."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        table.to_csv(temporary, index=False)
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)


def write_params(clean_val: np.ndarray, source: str, path: Path = PARAMS_FILE) -> dict:
    params = tuned_parameters(clean_val)
    record = {"validation_images": len(clean_val), "source": source, "selection": "mean PSNR",
              "grids": {name: list(m.grid) for name, m in METHODS.items()}, "params": params}
    Path(path).write_text(json.dumps(record, indent=1) + "\n")
    load_params.cache_clear()
    return params


def main(argv=None) -> int:
    from dae_core.data import datasets

    parser = argparse.ArgumentParser(prog="python -m dae_core.analysis.classical",
                                     description="tune the classical denoisers on validation digits")
    parser.add_argument("--images", type=int, default=VALIDATION_IMAGES, help="validation images to tune on")
    parser.add_argument("--out", type=Path, default=PARAMS_FILE)
    parser.add_argument("--table", action="store_true", help="instead: compute the tables that `evaluate` "
                        f"and the Denoise page show, into {KEPT_TABLES.name}/")
    args = parser.parse_args(argv)
    if args.table:
        x_test = datasets.to_float(datasets.load_bundled("mnist")[0])
        for old in KEPT_TABLES.glob("*.csv"):
            old.unlink()
        for x, levels in shipped_tables(x_test):
            path = KEPT_TABLES / f"{table_key(x, levels)}.csv"
            write_table(classical_table(x, levels), path)
            print(f"written: {path}")
        return 0
    mnist = datasets.load_dataset("mnist", download=False)
    x_val = mnist.x_val[:args.images]
    print(write_params(x_val, f"first {len(x_val)} validation images, {mnist.source}", args.out))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
