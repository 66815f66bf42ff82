"""Pages under AppTest read the tiny, really trained models (or a folder a test makes) and an
empty runs folder."""

import pytest

from dae_core import settings


@pytest.fixture
def use_models(tmp_path, monkeypatch):
    """``use_models(folder)`` points the pages at ``folder`` for models, and an empty runs folder."""
    def use(folder):
        monkeypatch.setenv(settings.MODELS_DIR_ENV, str(folder))
        monkeypatch.setenv(settings.RUNS_DIR_ENV, str(tmp_path / "runs"))
        return folder
    return use


@pytest.fixture
def models_dir(tiny_models, use_models):
    return use_models(tiny_models)
