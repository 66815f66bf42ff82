"""A config as it will run: the model files it starts from resolved and checked before anything
starts (no TensorFlow: a ``.keras`` file is a zip archive), so a run that cannot start leaves no
folder behind and says which file is missing."""

from __future__ import annotations

import dataclasses
import zipfile
from pathlib import Path

from dae_core.errors import JobError
from dae_core.models import catalog
from dae_core.training.config import TrainConfig


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
