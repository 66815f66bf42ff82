"""What the lab has to work with: where each dataset would load from, and the device.

Both are answered cheaply: datasets by looking for files (never reading 60,000 images
just to show a status line), the device once per process.
"""

from __future__ import annotations

import functools
import os
from pathlib import Path

from dae_core import settings
from dae_core.data import BUNDLED_DIR, DATASETS, IDX_FILES, _folder_candidates


def folder_has(root: Path, name: str) -> bool:
    """Whether ``data.load_from_folder(root, name)`` would find files to read."""
    return any((folder / IDX_FILES["train_images"]).exists() or (folder / f"{name}.npz").exists()
               for folder in _folder_candidates(Path(root), name))


def dataset_source(name: str, data_dir: str | Path | None = None) -> str:
    """Where ``data.load_test_set(name)`` would load from (and whether training can run)."""
    data_dir = data_dir or settings.data_dir()
    if data_dir and folder_has(Path(data_dir), name):
        return f"full dataset, folder {data_dir}"
    if folder_has(settings.keras_datasets_dir(), name):
        return f"full dataset, Keras cache {settings.keras_datasets_dir()}"
    if (BUNDLED_DIR / name / IDX_FILES["test_images"]).exists():
        return (f"the bundled test set only (training downloads the data through Keras when online, "
                f"or set {settings.DATA_DIR_ENV} to a folder holding it)")
    return f"not found: set {settings.DATA_DIR_ENV} to a folder holding {name}/"


def dataset_sources(data_dir: str | Path | None = None) -> dict[str, str]:
    """``{"mnist": "...", "fashion-mnist": "..."}``, each saying where it would load from."""
    return {name: dataset_source(name, data_dir) for name in DATASETS}


def gpu_names() -> list[str]:
    """The GPUs TensorFlow sees, by name; imports TensorFlow."""
    import tensorflow as tf

    return [tf.config.experimental.get_device_details(g).get("device_name", g.name)
            for g in tf.config.list_physical_devices("GPU")]


def enable_gpu_memory_growth() -> None:
    """Let each process take GPU memory as it needs it rather than all at once: the dashboard
    shares the GPU with the trainings it starts. Only works before the GPU is first used."""
    import tensorflow as tf

    for gpu in tf.config.list_physical_devices("GPU"):
        try:
            tf.config.experimental.set_memory_growth(gpu, True)
        except RuntimeError:  # the GPU is already in use in this process: too late, harmless
            pass


@functools.cache
def device_description() -> str:
    """``"GPU: NVIDIA H200"`` or ``"CPU (2 cores)"``; imports TensorFlow once per process."""
    names = gpu_names()
    return f"GPU: {', '.join(names)}" if names else f"CPU ({os.cpu_count()} cores)"
