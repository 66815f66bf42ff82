"""Shared fixtures: the real datasets folder and small, really trained models."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from dae_core.data import DATA_DIR_ENV


@pytest.fixture(scope="session")
def data_dir() -> Path:
    """The full datasets, from $DAE_DATA_DIR (CI points it at ../shared/datasets)."""
    folder = os.environ.get(DATA_DIR_ENV)
    if not folder or not (Path(folder) / "mnist").is_dir():
        pytest.fail(f"set {DATA_DIR_ENV} to the folder holding mnist/ and fashion-mnist/ "
                    "(../shared/datasets here)")
    return Path(folder)


@pytest.fixture(scope="session")
def tiny_models(tmp_path_factory, data_dir) -> Path:
    """A models folder with task1/2/3 (seed architecture) trained 1 epoch on 1,000 images,
    listed in its manifest like the shipped ones. Returns the folder."""
    from dae_core import catalog
    from dae_core.config import make_config
    from dae_core.train import train_config

    root = tmp_path_factory.mktemp("tiny")
    models_dir, runs_dir = root / "models", root / "runs"
    quick = dict(epochs=1, train_size=1000, batch_size=200, data_dir=str(data_dir))
    task1 = train_config(make_config("task1", "seed", **quick), runs_dir, verbose=False)
    for task in ("task2", "task3"):
        run = train_config(make_config(task, "seed", encoder_from=str(task1.model_path), **quick),
                           runs_dir, verbose=False)
        catalog.ship_run(run, f"tiny {task}", models_dir)
    catalog.ship_run(task1, "tiny task1", models_dir)
    return models_dir
