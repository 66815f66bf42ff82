"""Dataset sources come from looking for files, and agrees with where datasets.load_dataset loads from."""

import numpy as np

from dae_core import settings
from dae_core.data import datasets


def test_a_folder_with_idx_files_is_the_full_source(tmp_path, monkeypatch):
    (tmp_path / "mnist").mkdir()
    (tmp_path / "mnist" / datasets.IDX_FILES["train_images"]).touch()  # existence is enough: not read
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "no-keras"))
    sources = datasets.dataset_sources(tmp_path)
    assert sources["mnist"] == f"full dataset, folder {tmp_path}"
    assert sources["fashion-mnist"] == (
        "the bundled test set only (training downloads the data through Keras when online, "
        f"or set {settings.DATA_DIR_ENV} to a folder holding it)")


def test_without_a_bundled_test_set_the_source_says_what_to_set(tmp_path, monkeypatch):
    monkeypatch.setattr(datasets, "BUNDLED_DIR", tmp_path / "no-bundle")
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "no-keras"))
    assert datasets.dataset_source("mnist", tmp_path / "empty") == \
        f"not found: set {settings.DATA_DIR_ENV} to a folder holding mnist/"


def test_the_keras_cache_and_the_environment_are_looked_at(tmp_path, monkeypatch):
    cache = tmp_path / "keras" / "datasets"
    cache.mkdir(parents=True)
    np.savez(cache / "fashion-mnist.npz", x_train=np.zeros(1))
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras"))
    monkeypatch.setenv(datasets.DATA_DIR_ENV, str(tmp_path / "empty"))
    assert datasets.dataset_source("fashion-mnist") == f"full dataset, Keras cache {cache}"


def test_the_shared_datasets_folder_is_found(data_dir):
    assert datasets.dataset_sources(data_dir) == {name: f"full dataset, folder {data_dir}"
                                                for name in datasets.DATASETS}
