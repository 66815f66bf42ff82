"""A config as it will run: the model files it starts from resolved and checked before anything
starts (no TensorFlow: a ``.keras`` file is a zip archive), so a run that cannot start leaves no
folder behind and says which file is missing. Also whether its dataset can be reached
(``data_source``), and what a failed write under a runs folder means (``folder_error``)."""

from __future__ import annotations

import dataclasses
import errno
import time
import urllib.request
import zipfile
from pathlib import Path
from urllib.parse import urlsplit

from dae_core import settings
from dae_core.data import datasets
from dae_core.errors import DataError, JobError
from dae_core.models import catalog
from dae_core.training.config import TrainConfig

DATASET_TITLES = {"mnist": "MNIST", "fashion-mnist": "Fashion-MNIST"}
# The first file that Keras 3's mnist and fashion_mnist loaders download (keras/src/datasets):
# asking for its headers says whether the run's download would work, without downloading.
DOWNLOAD_URLS = {
    "mnist": "https://storage.googleapis.com/tensorflow/tf-keras-datasets/mnist.npz",
    "fashion-mnist": "https://storage.googleapis.com/tensorflow/tf-keras-datasets/train-labels-idx1-ubyte.gz",
}
PROBE_TIMEOUT_S = 3.0
PROBE_KEPT_S = 60.0  # a page asks on every rerun: the network is asked at most once a minute
CLI_DATA_FIX = f"pass --data-dir FOLDER or set {settings.DATA_DIR_ENV}=FOLDER"
_probes: dict[tuple, tuple[float, str | None]] = {}


def resolve_autoencoder(config: TrainConfig) -> Path | None:
    """The autoencoder file the task starts from; None when it starts from random weights."""
    if config.encoder_weights == "random":
        return None
    if config.encoder_from:
        return Path(config.encoder_from)
    return catalog.shipped_model_path(config.spec.autoencoder_task, config.preset)


def _existing_file(path, missing: str) -> str:
    """``path`` made absolute; JobError with ``missing`` (``{path}`` filled in) if it is not there,
    or if it is not a ``.keras`` file (a zip archive) at all: found before TensorFlow loads."""
    path = Path(path).expanduser().absolute()
    if not path.is_file():
        raise JobError(missing.format(path=path))
    if not zipfile.is_zipfile(path):
        raise JobError(f"{path} is not a Keras model file (damaged, or of another kind): pick another.")
    return str(path)


def check_config(config: TrainConfig) -> TrainConfig:
    """The config as it will run (model paths made absolute); raises JobError if it cannot."""
    if config.init_from:
        start = _existing_file(config.init_from, "the model to continue from, {path}, does not exist. "
                               "Fix: pick another model or start from new weights.")
        config = dataclasses.replace(config, init_from=start)
    if not config.spec.needs_autoencoder:
        return config
    autoencoder = resolve_autoencoder(config)
    if autoencoder is None:  # the same architecture from random weights: no file to check
        return config
    source = {"task1": "Task 1"}.get(config.spec.autoencoder_task, config.spec.autoencoder_task)
    path = _existing_file(autoencoder, f"{config.task} starts from a {source} autoencoder, "
                          f"but {{path}} does not exist. Fix: pick another autoencoder, train {source} "
                          "first, or restore models/ from git.")
    return config if config.encoder_from is None else dataclasses.replace(config, encoder_from=path)


def download_problem(name: str) -> str | None:
    """None when Keras's download server answers for ``name`` (through the proxy the download
    would use, from the environment), else why not, in full."""
    url = DOWNLOAD_URLS[name]
    proxies = urllib.request.getproxies()  # now: urlopen's opener keeps those of its first call
    key = (url, tuple(sorted(proxies.items())))
    kept = _probes.get(key)
    if kept is not None and time.monotonic() - kept[0] < PROBE_KEPT_S:
        return kept[1]
    try:
        opener = urllib.request.build_opener(urllib.request.ProxyHandler(proxies))
        opener.open(urllib.request.Request(url, method="HEAD"), timeout=PROBE_TIMEOUT_S).close()
        problem = None
    except OSError as e:  # URLError, HTTPError and timeouts are all OSErrors
        problem = str(getattr(e, "reason", None) or e)
    _probes[key] = (time.monotonic(), problem)
    return problem


def data_source(config: TrainConfig, fix: str = CLI_DATA_FIX) -> str:
    """Where the run of ``config`` will load its dataset from, in the order training tries: a
    folder (``config.data_dir``, else ``DAE_DATA_DIR``), Keras's cache, Keras's download.
    ``DataError`` when none can work, saying what was looked at, why no download, and what to
    do (``fix``: how the caller names a data folder)."""
    name = config.dataset
    folder = Path(config.data_dir).expanduser() if config.data_dir else None
    if folder is not None and not folder.is_dir():
        raise DataError(f"The data folder {folder} does not exist. Fix: name a folder that holds "
                        f"{name}/ with {_files(name)}, or leave the data folder empty.")
    tried = []
    for label, where in datasets.source_folders(config.data_dir):
        if datasets.folder_has(where, name):
            return label
        tried.append(label)
    problem = download_problem(name)
    host = urlsplit(DOWNLOAD_URLS[name]).hostname
    if problem is None:
        return f"a download from {host} into the Keras cache, when the run starts"
    title = DATASET_TITLES.get(name, name)
    raise DataError(
        f"{title} is not on this machine, and it cannot be downloaded now ({host}: {problem}). Looked in: {'; '.join(tried)}. Fix: put {_files(name)} "
        f"in a folder, as FOLDER/{name}/, and {fix}; or connect this machine to the internet, and "
        f"the run downloads {title} itself.")


def _files(name: str) -> str:
    """The files a data folder holds for ``name``, as a sentence names them."""
    return f"its four IDX files ({', '.join(datasets.IDX_FILES.values())}) or {name}.npz"


def folder_error(error: OSError, folder: str | Path) -> JobError:
    """An ``OSError`` met while creating something under the runs folder ``folder``, as a
    ``JobError`` saying what failed, where, and what to do; nothing was started."""
    where = error.filename or folder
    if error.errno in (errno.ENOSPC, errno.EDQUOT):
        what, fix = f"the disk holding {folder} is full", "free some space on it"
    elif error.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        what, fix = f"{folder} cannot be written to (read-only)", f"make {folder} writable"
    else:
        what, fix = f"{folder} cannot be used", f"make {folder} a writable folder"
    return JobError(f"Nothing was started: {what} ({error.strerror or error} at {where}). Fix: {fix}, "
                    f"or set {settings.RUNS_DIR_ENV} to a writable folder and restart the lab; "
                    "then start again (the settings are kept).")
