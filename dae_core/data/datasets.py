"""MNIST and Fashion-MNIST: loading from a folder, Keras, or the bundled test sets.

Images come back as ``(N, 28, 28, 1) float32 in [0, 1]``, labels as ``(N,) int64``.
Sources are tried in order: an explicit folder (argument or ``DAE_DATA_DIR``),
Keras's cache and download, then (test images only) the full test sets bundled with the
project, so that a fresh clone evaluates on exactly the images the figures were measured on.
"""

from __future__ import annotations

import functools
import gzip
import struct
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from dae_core import settings
from dae_core.errors import DamagedDataFile, DataError

DATA_DIR_ENV = settings.DATA_DIR_ENV
BUNDLED_DIR = Path(__file__).parent / "bundled"  # <name>/t10k-*.gz: the two full test sets
DATASETS = ("mnist", "fashion-mnist")
IDX_FILES = {
    "train_images": "train-images-idx3-ubyte.gz",
    "train_labels": "train-labels-idx1-ubyte.gz",
    "test_images": "t10k-images-idx3-ubyte.gz",
    "test_labels": "t10k-labels-idx1-ubyte.gz",
}
IMAGE_MAGIC, LABEL_MAGIC = 2051, 2049
FASHION_CLASSES = (
    "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
    "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
)
TRAIN_SIZE, VAL_SIZE = 48_000, 12_000
SPLIT_SEED = 42


@dataclass(frozen=True)
class Dataset:
    """One dataset split the assignment's way. Images (N, 28, 28, 1) float32 in [0, 1]."""

    name: str
    source: str  # where it came from, for the user to see
    x_train: np.ndarray
    y_train: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray


# --- IDX files ---------------------------------------------------------------

DATA_FIX = "download it again, or point --data-dir (or DAE_DATA_DIR) at a folder with a good copy"


def read_idx(path: Path, magic: int) -> np.ndarray:
    """Read one gzip'd IDX file, validating its header against its size (and labels: 0-9);
    ``DamagedDataFile`` names a file that is not so."""
    def damaged(problem: str):
        return DamagedDataFile(path, problem, DATA_FIX)

    try:
        with gzip.open(path, "rb") as f:
            raw = f.read()
    except (OSError, EOFError, zlib.error) as e:  # cut, binary, missing
        raise damaged(f"not a readable gzip file: {e}") from e
    ndim = 3 if magic == IMAGE_MAGIC else 1
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise damaged("too short to be an IDX file")
    found, *dims = struct.unpack(f">{1 + ndim}I", raw[:header])
    if found != magic:
        raise damaged(f"IDX magic {found}, expected {magic}: is it the right file?")
    if ndim == 3 and tuple(dims[1:]) != (28, 28):
        raise damaged(f"images are {dims[1]}x{dims[2]}, expected 28x28")
    expected = header + int(np.prod(dims))
    if len(raw) != expected:
        raise damaged(f"{len(raw)} bytes where its header promises {expected}: truncated or corrupt")
    array = np.frombuffer(raw, np.uint8, offset=header).reshape(dims)
    if ndim == 1 and array.size and array.max() > 9:
        raise damaged(f"a label of {array.max()}, where labels are 0-9")
    return array


ALL_PARTS = ("x_train", "y_train", "x_test", "y_test")
TEST_PARTS = ("x_test", "y_test")
_PART_FILES = dict(zip(ALL_PARTS, ("train_images", "train_labels", "test_images", "test_labels")))


def read_idx_folder(folder: Path, parts=ALL_PARTS) -> tuple[np.ndarray, ...]:
    """The asked ``parts`` (default x_train, y_train, x_test, y_test) as uint8 IDX arrays; a
    labels file whose count differs from its images' is named as damaged."""
    paths = {part: folder / IDX_FILES[_PART_FILES[part]] for part in parts}
    arrays = {part: read_idx(path, IMAGE_MAGIC if part.startswith("x") else LABEL_MAGIC)
              for part, path in paths.items()}
    for part, labels in arrays.items():
        images = arrays.get("x" + part[1:]) if part.startswith("y") else None
        if images is not None and len(images) != len(labels):
            raise DamagedDataFile(paths[part], f"{len(labels)} labels for {len(images)} images in "
                                  f"{paths['x' + part[1:]].name}", DATA_FIX)
    return tuple(arrays[part] for part in parts)


def read_npz(path: Path, parts=ALL_PARTS) -> tuple[np.ndarray, ...]:
    """The asked ``parts`` from a Keras-style .npz (each array is read only when asked)."""
    try:
        with np.load(path) as z:
            return tuple(z[k] for k in parts)
    except (OSError, ValueError, KeyError, EOFError, zlib.error) as e:
        raise DamagedDataFile(path, f"not a readable Keras dataset .npz: {e}", DATA_FIX) from e


# --- sources -----------------------------------------------------------------

def _folder_candidates(root: Path, name: str) -> list[Path]:
    return [root / name, root / name.replace("-", "_"), root]


def load_from_folder(root: Path, name: str, parts=ALL_PARTS) -> tuple[np.ndarray, ...] | None:
    """Look for the dataset under ``root`` (or ``root/name``): IDX gzip files or ``name.npz``."""
    for folder in _folder_candidates(Path(root), name):
        if (folder / IDX_FILES["train_images"]).exists():
            return read_idx_folder(folder, parts)
        npz = folder / f"{name}.npz"
        if npz.exists():
            return read_npz(npz, parts)
    return None


def download_with_keras(name: str, parts=ALL_PARTS) -> tuple[np.ndarray, ...]:
    """Keras's download into its cache (~/.keras/datasets); raises when offline."""
    import keras  # deferred: importing TensorFlow takes seconds

    loader = keras.datasets.mnist if name == "mnist" else keras.datasets.fashion_mnist
    (x_train, y_train), (x_test, y_test) = loader.load_data()
    arrays = dict(x_train=x_train, y_train=y_train, x_test=x_test, y_test=y_test)
    return tuple(arrays[part] for part in parts)


def load_bundled(name: str) -> tuple[np.ndarray, np.ndarray]:
    """The bundled test set: (x_test, y_test) uint8, all 10,000 test images."""
    return read_idx_folder(BUNDLED_DIR / name, TEST_PARTS)


def check_raw(name: str, x_train, y_train, x_test, y_test) -> None:
    if x_train.shape[1:] != (28, 28) or x_test.shape[1:] != (28, 28):
        raise DataError(f"{name}: images must be 28x28, got {x_train.shape[1:]}.")
    if len(x_train) != len(y_train) or len(x_test) != len(y_test):
        raise DataError(f"{name}: image and label counts differ.")
    if len(x_train) < TRAIN_SIZE + VAL_SIZE:
        raise DataError(f"{name}: {len(x_train)} training images, the split needs 60,000.")


def to_float(images: np.ndarray) -> np.ndarray:
    """uint8 (N, 28, 28) -> (N, 28, 28, 1) float32 in [0, 1]."""
    return (images.astype(np.float32) / 255.0)[..., None]


def split_train_val(n: int, seed: int = SPLIT_SEED) -> tuple[np.ndarray, np.ndarray]:
    """Indices of the assignment's 48,000 / 12,000 split, fixed by ``seed``."""
    order = np.random.default_rng(seed).permutation(n)
    return order[:TRAIN_SIZE], order[TRAIN_SIZE:TRAIN_SIZE + VAL_SIZE]


def _assemble(name, source, x_train, y_train, x_test, y_test) -> Dataset:
    check_raw(f"{name} from {source}", x_train, y_train, x_test, y_test)  # names the folder
    train_idx, val_idx = split_train_val(len(x_train))
    y_train, y_test = y_train.astype(np.int64), y_test.astype(np.int64)
    return Dataset(name, source, to_float(x_train[train_idx]), y_train[train_idx],
                   to_float(x_train[val_idx]), y_train[val_idx], to_float(x_test), y_test)


def source_folders(data_dir: str | Path | None = None) -> list[tuple[str, Path]]:
    """The folders searched, in order, as (label, folder): the one given (or ``DAE_DATA_DIR``),
    then Keras's cache. The one search order for loading and for saying where data would load from."""
    data_dir = data_dir or settings.data_dir()
    folders = [(f"folder {data_dir}", Path(data_dir))] if data_dir else []
    return folders + [(f"Keras cache {settings.keras_datasets_dir()}", settings.keras_datasets_dir())]


def _find(name: str, data_dir, download: bool, parts) -> tuple[str, tuple | None, list[str]]:
    """(source, arrays or None, what was tried) from the folders, then Keras's download."""
    if name not in DATASETS:
        raise ValueError(f"unknown dataset {name!r}; choose one of {DATASETS}")
    tried = []
    for label, folder in source_folders(data_dir):
        found = load_from_folder(folder, name, parts)
        if found is not None:
            return label, found, tried
        tried.append(f"{label} (no {IDX_FILES['train_images']} or {name}.npz)")
    if not download:
        return "", None, tried
    try:
        return "Keras download", download_with_keras(name, parts), tried
    except Exception as e:  # noqa: BLE001 - any download failure means: no source
        first_line = next(iter(str(e).splitlines()), "")  # whole: a cut reason reads as a typo
        tried.append(f"Keras download ({type(e).__name__}: {first_line})")
    return "", None, tried


def load_dataset(name: str, data_dir: str | Path | None = None, *,
                 download: bool = True) -> Dataset:
    """Load ``name`` ("mnist" or "fashion-mnist") from the first source that has it.

    ``data_dir`` (or ``$DAE_DATA_DIR``) is tried first, then Keras's cache and
    download. Training needs the full data; ``load_test_set`` falls back to the bundled test set.
    """
    folder = data_dir or settings.data_dir()
    return _load_dataset(name, str(folder) if folder else None, str(settings.keras_datasets_dir()), download)


@functools.lru_cache(maxsize=2)  # a study's members, in one process, share one load per dataset
def _load_dataset(name: str, data_dir: str | None, keras_dir: str, download: bool) -> Dataset:
    source, found, tried = _find(name, data_dir, download, ALL_PARTS)
    if found is not None:
        return _assemble(name, source, *found)
    raise DataError(
        f"{name} full data not found. Tried: " + "; ".join(tried) + ". "
        f"Fix: pass --data-dir or set {DATA_DIR_ENV} to a folder holding the four "
        f"IDX .gz files (or {name}.npz), or go online so Keras can download it.")


@dataclass(frozen=True)
class TestSet:
    """The test images alone: what evaluation and the dashboard need."""

    name: str
    source: str
    x: np.ndarray  # (N, 28, 28, 1) float32 in [0, 1]
    y: np.ndarray  # (N,) int64


def load_test_set(name: str, data_dir: str | Path | None = None, *,
                  download: bool = False) -> TestSet:
    """The 10,000 test images from the first source that has them, else the bundled ones.

    Reads only the test files: decoding the 60,000 training images would cost seconds
    and ~190 MB per dataset that evaluation never uses.
    """
    source = "the test set bundled with the project"
    try:
        found_in, found, _ = _find(name, data_dir, download, TEST_PARTS)
    except DataError as e:  # a damaged file in the user's folder: the bundled set still works
        found, source = None, f"{source} (yours is unusable: {e})"
    if found is not None:
        source = found_in
    x, y = found if found is not None else load_bundled(name)
    if x.shape[1:] != (28, 28) or len(x) != len(y):
        raise DataError(f"{name} test set from {source}: expected 28x28 images with one "
                        f"label each, got {x.shape} and {len(y)} labels.")
    return TestSet(name, source, to_float(x), y.astype(np.int64))


def subset(x: np.ndarray, y: np.ndarray, size: int | None, seed: int = 0):
    """The first ``size`` items of a fixed shuffle (all when ``size`` is None)."""
    if size is None or size >= len(x):
        return x, y
    idx = np.random.default_rng(seed).permutation(len(x))[:size]
    return x[idx], y[idx]


def folder_has(root: Path, name: str) -> bool:
    """Whether ``data.load_from_folder(root, name)`` would find files to read."""
    return any((folder / IDX_FILES["train_images"]).exists() or (folder / f"{name}.npz").exists()
               for folder in _folder_candidates(Path(root), name))


def dataset_source(name: str, data_dir: str | Path | None = None) -> str:
    """Where ``load_test_set(name)`` would load from (and whether training can run)."""
    for label, folder in source_folders(data_dir):
        if folder_has(folder, name):
            return f"full dataset, {label}"
    if (BUNDLED_DIR / name / IDX_FILES["test_images"]).exists():
        return (f"the bundled test set only (training downloads the data through Keras when online, "
                f"or set {settings.DATA_DIR_ENV} to a folder holding it)")
    return f"not found: set {settings.DATA_DIR_ENV} to a folder holding {name}/"


def dataset_sources(data_dir: str | Path | None = None) -> dict[str, str]:
    """``{"mnist": "...", "fashion-mnist": "..."}``, each saying where it would load from."""
    return {name: dataset_source(name, data_dir) for name in DATASETS}
