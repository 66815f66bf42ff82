import functools
import gzip
import struct

import numpy as np
import pytest

from dae_core.data import datasets

LABEL_COUNTS = {
    ("mnist", "train"): [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949],
    ("mnist", "test"): [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009],
    ("fashion-mnist", "train"): [6000] * 10,
    ("fashion-mnist", "test"): [1000] * 10,
}
MEAN_PIXEL = {("mnist", "train"): 33.318, ("mnist", "test"): 33.791,
              ("fashion-mnist", "train"): 72.940, ("fashion-mnist", "test"): 73.147}


def write_idx(path, array, magic):
    """A gzip'd IDX file; stored without compression (still gzip): compressing 47 MB of random
    pixels took seconds, and the reader does not care."""
    header = struct.pack(f">{1 + array.ndim}I", magic, *array.shape)
    with gzip.open(path, "wb", compresslevel=0) as f:
        f.write(header + array.astype(np.uint8).tobytes())


def fake_folder(folder, n_train=60_000, n_test=20):
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    pixels = functools.partial(rng.integers, 0, 256, dtype=np.uint8)  # not 376 MB of int64 first
    write_idx(folder / datasets.IDX_FILES["train_images"], pixels((n_train, 28, 28)), 2051)
    write_idx(folder / datasets.IDX_FILES["train_labels"], rng.integers(0, 10, n_train), 2049)
    write_idx(folder / datasets.IDX_FILES["test_images"], pixels((n_test, 28, 28)), 2051)
    write_idx(folder / datasets.IDX_FILES["test_labels"], rng.integers(0, 10, n_test), 2049)


@pytest.mark.data
@pytest.mark.parametrize("name", datasets.DATASETS)
def test_real_files_match_their_published_checks(name, data_dir):
    x_train, y_train, x_test, y_test = datasets.read_idx_folder(data_dir / name)
    for split, x, y in (("train", x_train, y_train), ("test", x_test, y_test)):
        assert np.bincount(y, minlength=10).tolist() == LABEL_COUNTS[(name, split)]
        assert x.mean() == pytest.approx(MEAN_PIXEL[(name, split)], abs=5e-4)


@pytest.mark.data
def test_load_dataset_gives_the_assignment_split(data_dir):
    ds = datasets.load_dataset("fashion-mnist", data_dir)
    assert (len(ds.x_train), len(ds.x_val), len(ds.x_test)) == (48_000, 12_000, 10_000)
    assert ds.x_train.shape[1:] == (28, 28, 1) and ds.x_train.dtype == np.float32
    assert 0.0 <= ds.x_test.min() and ds.x_test.max() == 1.0
    assert ds.y_train.dtype == np.int64 and "folder" in ds.source
    again = datasets.load_dataset("fashion-mnist", data_dir)
    np.testing.assert_array_equal(ds.y_val, again.y_val)  # the split is fixed


def test_split_is_disjoint_and_seeded():
    train, val = datasets.split_train_val(60_000)
    assert len(set(train) | set(val)) == 60_000
    assert not np.array_equal(train, datasets.split_train_val(60_000, seed=1)[0])


def test_truncated_file_names_itself_and_the_fix(tmp_path):
    fake_folder(tmp_path / "mnist", n_train=60_000)
    path = tmp_path / "mnist" / datasets.IDX_FILES["test_images"]
    raw = gzip.decompress(path.read_bytes())
    path.write_bytes(gzip.compress(raw[:-100]))
    with pytest.raises(datasets.DataError, match="truncated or corrupt.*download it again"):
        datasets.load_dataset("mnist", tmp_path, download=False)


def test_foreign_file_is_refused(tmp_path):
    fake_folder(tmp_path / "mnist")
    (tmp_path / "mnist" / datasets.IDX_FILES["train_labels"]).write_bytes(b"not a gzip at all")
    with pytest.raises(datasets.DataError, match="not a readable gzip"):
        datasets.load_dataset("mnist", tmp_path, download=False)


def test_wrong_magic_is_refused(tmp_path):
    fake_folder(tmp_path / "mnist")
    path = tmp_path / "mnist" / datasets.IDX_FILES["test_labels"]
    write_idx(path, np.zeros((20, 28, 28)), 2051)  # images where labels belong
    with pytest.raises(datasets.DataError, match="magic 2051, expected 2049"):
        datasets.load_dataset("mnist", tmp_path, download=False)


def test_missing_data_says_what_was_tried(tmp_path, monkeypatch):
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras"))
    with pytest.raises(datasets.DataError) as err:
        datasets.load_dataset("mnist", tmp_path / "nowhere", download=False)
    message = str(err.value)
    assert "nowhere" in message and "Keras cache" in message and datasets.DATA_DIR_ENV in message


def test_npz_folder_is_read(tmp_path):
    rng = np.random.default_rng(0)
    np.savez(tmp_path / "mnist.npz", x_train=rng.integers(0, 256, (60_000, 28, 28), dtype=np.uint8),
             y_train=rng.integers(0, 10, 60_000), x_test=np.zeros((5, 28, 28), np.uint8),
             y_test=np.arange(5))
    ds = datasets.load_dataset("mnist", tmp_path, download=False)
    assert len(ds.x_test) == 5 and ds.y_test.tolist() == [0, 1, 2, 3, 4]


def test_the_bundled_full_test_set_is_the_fallback(tmp_path, monkeypatch):
    monkeypatch.delenv(datasets.DATA_DIR_ENV, raising=False)
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    test = datasets.load_test_set("fashion-mnist")
    assert len(test.x) == 10_000 and "bundled" in test.source
    assert test.x.dtype == np.float32 and test.x.shape[1:] == (28, 28, 1)
    assert np.bincount(test.y, minlength=10).tolist() == [1000] * 10  # the datasets README's counts
    assert round(float(test.x.mean()) * 255, 3) == 73.147
    with pytest.raises(datasets.DataError, match="full data not found"):
        datasets.load_dataset("fashion-mnist", download=False)  # training never uses the bundle


def test_a_damaged_test_file_falls_back_to_the_bundle_and_says_so(tmp_path, monkeypatch):
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "no-keras"))
    folder = tmp_path / "mnist"
    folder.mkdir()
    (folder / datasets.IDX_FILES["train_images"]).touch()
    (folder / datasets.IDX_FILES["test_images"]).write_bytes(b"not gzip")
    (folder / datasets.IDX_FILES["test_labels"]).write_bytes(b"not gzip")
    test = datasets.load_test_set("mnist", tmp_path)
    assert len(test.x) == 10_000 and "bundled" in test.source and "not a readable gzip" in test.source


@pytest.mark.data
def test_test_set_reads_only_the_test_files(data_dir):
    full = datasets.load_dataset("mnist", data_dir)
    test = datasets.load_test_set("mnist", data_dir)
    assert test.source == full.source and np.array_equal(test.x, full.x_test)
    assert np.array_equal(test.y, full.y_test) and len(test.x) == 10_000


def test_subset_is_fixed_by_seed():
    x, y = np.arange(100).reshape(100, 1), np.arange(100)
    a, _ = datasets.subset(x, y, 10, seed=3)
    b, _ = datasets.subset(x, y, 10, seed=3)
    assert np.array_equal(a, b) and len(a) == 10
    assert datasets.subset(x, y, None)[0] is x
