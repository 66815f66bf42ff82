"""What the app has to work with: where each dataset would load from, and the device.

Both are answered cheaply: datasets by looking for files (never reading 60,000 images
just to show a status line), the device once per process.
"""

from __future__ import annotations

import functools
import os
from pathlib import Path

from dae_core.data import DATA_DIR_ENV, DATASETS, IDX_FILES, SAMPLE_DIR, _folder_candidates


def keras_cache_dir() -> Path:
    return Path(os.environ.get("KERAS_HOME", Path.home() / ".keras")) / "datasets"


def folder_has(root: Path, name: str) -> bool:
    """Whether ``data.load_from_folder(root, name)`` would find files to read."""
    return any((folder / IDX_FILES["train_images"]).exists() or (folder / f"{name}.npz").exists()
               for folder in _folder_candidates(Path(root), name))


def dataset_source(name: str, data_dir: str | Path | None = None) -> str:
    """Where ``data.load_test_set(name)`` would load from (and whether training can run)."""
    data_dir = data_dir or os.environ.get(DATA_DIR_ENV)
    if data_dir and folder_has(Path(data_dir), name):
        return f"full dataset, folder {data_dir}"
    if folder_has(keras_cache_dir(), name):
        return f"full dataset, Keras cache {keras_cache_dir()}"
    if (SAMPLE_DIR / f"{name}-sample.npz").exists():
        return f"bundled test sample only (set {DATA_DIR_ENV} to the full data to train)"
    return f"not found: set {DATA_DIR_ENV} to a folder holding {name}/"


def dataset_sources(data_dir: str | Path | None = None) -> dict[str, str]:
    """``{"mnist": "...", "fashion-mnist": "..."}``, each saying where it would load from."""
    return {name: dataset_source(name, data_dir) for name in DATASETS}


@functools.cache
def device_description() -> str:
    """``"GPU: NVIDIA H200"`` or ``"CPU (2 cores)"``; imports TensorFlow once per process.

    Also turns on GPU memory growth: the dashboard shares the GPU with the training
    processes it starts, so loading a model here must not take all of its memory. That
    only works before the GPU is first used, hence calling this early (``app.py``).
    """
    import tensorflow as tf

    gpus = tf.config.list_physical_devices("GPU")
    if not gpus:
        return f"CPU ({os.cpu_count()} cores)"
    for gpu in gpus:
        try:
            tf.config.experimental.set_memory_growth(gpu, True)
        except RuntimeError:  # the GPU is already in use in this process: too late, harmless
            pass
    names = [tf.config.experimental.get_device_details(g).get("device_name", g.name) for g in gpus]
    return f"GPU: {', '.join(names)}"
