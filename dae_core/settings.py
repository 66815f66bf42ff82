"""Where the lab reads and writes, from the environment: the one module that reads it.

Each folder can be moved with an environment variable; the defaults live in the project.
"""

from __future__ import annotations

import os
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DATA_DIR_ENV = "DAE_DATA_DIR"  # a folder holding mnist/ and fashion-mnist/ (IDX .gz or .npz)
RUNS_DIR_ENV = "DAE_RUNS_DIR"  # one folder per training run
MODELS_DIR_ENV = "DAE_MODELS_DIR"  # the shipped models and their manifest.json
STUDIES_DIR_ENV = "DAE_STUDIES_DIR"  # the shipped studies' results
CACHE_DIR_ENV = "DAE_CACHE_DIR"  # what is computed once and kept (a model's test predictions)


def data_dir() -> Path | None:
    """The datasets folder the user named, or None (then Keras's cache, then the bundle)."""
    value = os.environ.get(DATA_DIR_ENV)
    return Path(value) if value else None


def runs_dir() -> Path:
    return Path(os.environ.get(RUNS_DIR_ENV) or PROJECT_ROOT / "runs")


def models_dir() -> Path:
    return Path(os.environ.get(MODELS_DIR_ENV) or PROJECT_ROOT / "models")


def studies_dir() -> Path:
    return Path(os.environ.get(STUDIES_DIR_ENV) or PROJECT_ROOT / "studies")


def cache_dir() -> Path:
    """Kept results that can always be computed again; safe to delete."""
    return Path(os.environ.get(CACHE_DIR_ENV) or runs_dir() / ".cache")


def keras_datasets_dir() -> Path:
    """Where Keras keeps what it downloaded (``$KERAS_HOME/datasets``)."""
    return Path(os.environ.get("KERAS_HOME") or Path.home() / ".keras") / "datasets"
