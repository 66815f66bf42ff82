"""Pages under AppTest read the tiny, really trained models and an empty runs folder."""

import pytest

from dae_core import catalog


@pytest.fixture
def models_dir(tiny_models, tmp_path, monkeypatch):
    monkeypatch.setenv(catalog.MODELS_ENV, str(tiny_models))
    monkeypatch.setenv("DAE_RUNS_DIR", str(tmp_path / "runs"))
    return tiny_models
