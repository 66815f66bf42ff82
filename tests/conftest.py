"""Shared fixtures: the real datasets folder and small, really trained models.

A test that needs the datasets (directly or through ``tiny_models``) is marked ``data`` here,
so ``pytest -m "not data and not browser and not slow"`` is a quick loop that needs neither (``slow``
marks the few others that take many seconds of CPU, see README). The page tests
(tests/app) use the shipped models and the bundled test sets instead (tests/app/conftest.py):
only those that really train need the datasets.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from dae_core import settings
from dae_core.data.datasets import DATASETS, folder_has

DATA_FIXTURES = {"data_dir", "tiny_models"}


def pytest_collection_modifyitems(items):
    for item in items:
        if DATA_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.data)


@pytest.fixture(scope="session")
def data_dir() -> Path:
    """The full datasets, from $DAE_DATA_DIR (scripts/test.sh sets it)."""
    folder = settings.data_dir()
    if folder is None or not all(folder_has(folder, name) for name in DATASETS):
        pytest.fail(f"set {settings.DATA_DIR_ENV} to a folder holding mnist/ and fashion-mnist/ "
                    "(IDX .gz or Keras .npz files); scripts/test.sh finds or downloads them")
    return folder


@pytest.fixture(scope="session")
def tiny_models(tmp_path_factory, data_dir) -> Path:
    """A models folder with task1/2/3 (seed architecture) trained 1 epoch on 1,000 images,
    listed in its manifest like the shipped ones. Returns the folder."""
    from dae_core.models import catalog
    from dae_core.training.config import make_config
    from dae_core.training.train import train_config

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


@pytest.fixture(scope="module")
def cluster():
    """A Ray cluster on this machine's loopback that declares one GPU it does not have (Ray lets a
    node do so): its address, as `ray start --head` prints it. Ray is imported only here."""
    import ray

    from dae_core.training import ray_cluster

    ray_cluster.start_local_cluster(num_cpus=2, num_gpus=1)
    yield ray.get_runtime_context().gcs_address
    ray.shutdown()
