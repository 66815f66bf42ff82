"""Pages under AppTest read the shipped seed-preset models and the bundled test sets (no
datasets needed), an empty runs folder, and the project's shipped study results.

The models folder is a copy of ``models/`` holding the seed preset's models and their manifest
entries unchanged: the pages choose the first shipped model of a task, and the improved
preset's classifiers take half a minute on two cores to evaluate on the 10,000 test images,
against four seconds for the seed ones. The copy keeps its path for the whole session, so each
page evaluates a model once per test session (its caches are keyed by file and time).
"""

import functools
import json
import os
import shutil
import threading
from pathlib import Path

import pytest

from dae_core import settings
from dae_core.data import datasets
from dae_core.models import catalog

SHIPPED = settings.PROJECT_ROOT / "models"
PRESET = "seed"


@pytest.fixture(scope="session", autouse=True)
def components_scanned_once():
    """Each new AppTest scans the metadata of every installed package for Streamlit components
    (~0.2 s of CPU, about a fifth of a short page test); the installed packages do not change
    during a test session, so the scan runs once and its result is handed to every AppTest."""
    from streamlit.components.v2 import manifest_scanner

    found = manifest_scanner.scan_component_manifests()
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(manifest_scanner, "scan_component_manifests", lambda max_workers=None: list(found))
        yield


@pytest.fixture(scope="session", autouse=True)
def runs_awaited_without_polling():
    """AppTest waits for each script run by polling every millisecond (``require_widgets_deltas``):
    the waiting thread took the interpreter from the script's thread hundreds of times a second,
    an eighth of the page tests' CPU. Here it sleeps until the run's end is signalled, with the
    same timeout and the same error."""
    from streamlit.runtime.scriptrunner import ScriptRunnerEvent
    from streamlit.testing.v1 import local_script_runner

    def wait_for_the_end(runner, timeout: float = 3) -> None:
        ended = threading.Event()

        def on_event(sender, event, **kwargs):
            if event == ScriptRunnerEvent.SHUTDOWN:
                ended.set()

        runner.on_event.connect(on_event, weak=False)
        try:
            if runner.script_stopped() or ended.wait(timeout):
                return
        finally:
            runner.on_event.disconnect(on_event)
        runner.request_stop()
        runner.join()
        raise RuntimeError(f"AppTest script run timed out after {timeout}(s)")

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(local_script_runner, "require_widgets_deltas", wait_for_the_end)
        yield


@pytest.fixture(scope="session", autouse=True)
def kept_results(tmp_path_factory):
    """One folder of kept results ($DAE_CACHE_DIR) for the session's page tests, never the user's.
    A model's test predictions are kept under a hash of its file's contents, so the copies of the
    shipped models that tests put in runs or folders of their own are predicted once per session,
    as on a server that has seen them. A test about the kept files sets a folder of its own.
    Under pytest-xdist (README's quick loop) the workers share the folder, as servers do (each file
    is written atomically): a model is predicted once per session, not once per worker."""
    if os.environ.get("PYTEST_XDIST_WORKER"):  # each worker's basetemp is <the session's>/popen-gwN
        folder = tmp_path_factory.getbasetemp().parent / "kept-results"
        folder.mkdir(exist_ok=True)
    else:
        folder = tmp_path_factory.mktemp("cache")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(settings.CACHE_DIR_ENV, str(folder))
        yield


@pytest.fixture(scope="session")
def test_set():
    """``test_set(name)``: ``datasets.load_test_set(name)``, read once per session (each read
    unpacks and converts 10,000 images) and read-only, so no test changes another's."""
    @functools.cache
    def load(name: str) -> datasets.TestSet:
        found = datasets.load_test_set(name)
        for array in (found.x, found.y):
            array.setflags(write=False)
        return found
    return load


@pytest.fixture(scope="session")
def shipped_models(tmp_path_factory) -> Path:
    """A models folder with the shipped seed-preset models (task1/2/3 and the assignment's
    variants), as listed in models/manifest.json."""
    folder = tmp_path_factory.mktemp("shipped") / "models"
    folder.mkdir()
    entries = [m for m in catalog.read_manifest(SHIPPED) if m["preset"] == PRESET]
    for entry in entries:
        shutil.copy2(SHIPPED / entry["file"], folder / entry["file"])
    (folder / "manifest.json").write_text(json.dumps({"models": entries}, indent=1))
    return folder


@pytest.fixture
def use_models(tmp_path, monkeypatch):
    """``use_models(folder)`` points the pages at ``folder`` for models, and an empty runs folder."""
    def use(folder):
        monkeypatch.setenv(settings.MODELS_DIR_ENV, str(folder))
        monkeypatch.setenv(settings.RUNS_DIR_ENV, str(tmp_path / "runs"))
        return folder
    return use


@pytest.fixture
def models_dir(shipped_models, use_models):
    return use_models(shipped_models)


@pytest.fixture
def models_copy(shipped_models, tmp_path):
    """``models_copy(*tasks)``: a models folder of its own with the manifest of the shipped
    ones and only ``tasks``' model files (``task2`` copies ``task2-seed.keras``), for a test
    that damages or removes something."""
    def copy(*tasks):
        folder = tmp_path / "models"
        folder.mkdir()
        shutil.copy2(shipped_models / "manifest.json", folder)
        for task in tasks:
            shutil.copy2(shipped_models / f"{task}-{PRESET}.keras", folder)
        return folder
    return copy
