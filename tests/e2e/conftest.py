"""Browser tests: one real `streamlit run app.py` per session, driven by Debian's Chromium.

The server gets its own empty runs folder (never the project's runs/) and the tiny, really
trained models of ``tests/conftest.py`` (set DAE_E2E_MODELS_DIR to use another models folder,
e.g. ``models`` for README screenshots made with the shipped models). The helpers the tests
use live in ``tests.support.browser`` (scripts/measure_ui.py uses them too).
"""

from __future__ import annotations

import os
import signal
from pathlib import Path

import pytest

from dae_core import settings
from dae_core.store.runs import list_runs
from tests.support import browser

STARTUP_TIMEOUT_S = 120  # 2 loaded cores: importing streamlit can take a while
MODELS_OVERRIDE_ENV = "DAE_E2E_MODELS_DIR"

_server_log: Path | None = None  # read by the report hook below when a test fails


def read_log(limit: int = 20_000) -> str:
    if _server_log is None or not _server_log.exists():
        return "(no server log)"
    return _server_log.read_text(errors="replace")[-limit:]


@pytest.fixture(scope="session")
def e2e_models_dir(request) -> Path:
    override = os.environ.get(MODELS_OVERRIDE_ENV)
    if override:
        return Path(override).absolute()
    return request.getfixturevalue("tiny_models")


@pytest.fixture(scope="session")
def server_env(e2e_models_dir, data_dir, tmp_path_factory) -> dict:
    """The environment of the server, and of any command line run beside it to compare figures."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("DAE_")}
    env.update({settings.RUNS_DIR_ENV: str(tmp_path_factory.mktemp("e2e-runs")),
                settings.MODELS_DIR_ENV: str(e2e_models_dir), settings.DATA_DIR_ENV: str(data_dir),
                "TF_CPP_MIN_LOG_LEVEL": "2", "PYTHONUNBUFFERED": "1"})
    return env


@pytest.fixture(scope="session")
def app_url(server_env, tmp_path_factory) -> str:
    """Base URL of a `streamlit run app.py` started for this session; stopped at the end."""
    global _server_log
    port = browser.free_port()
    url = f"http://127.0.0.1:{port}"
    _server_log = tmp_path_factory.mktemp("e2e-server") / "streamlit.log"
    with open(_server_log, "w") as log:
        proc = browser.start_app(port, server_env, log)
    try:
        try:
            browser.wait_healthy(url, proc, STARTUP_TIMEOUT_S)
        except RuntimeError as e:
            pytest.fail(f"{e}; its log:\n{read_log()}", pytrace=False)
        yield url
    finally:
        stop_trainings(server_env[settings.RUNS_DIR_ENV])
        browser.stop(proc)


def stop_trainings(runs_dir: str) -> None:
    """Trainings run in their own sessions and outlive the server: end those this session began."""
    for run in list_runs(runs_dir):
        pid = run.status().get("pid")
        if run.is_active() and pid:
            try:
                os.kill(pid, signal.SIGTERM)
            except ProcessLookupError:
                pass


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if report.failed and _server_log is not None:
        report.sections.append(("streamlit server log", read_log()))


# --- pytest-playwright -----------------------------------------------------------------

@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    if not Path(browser.CHROMIUM).exists():
        pytest.fail(f"no Chromium at {browser.CHROMIUM}: `apt-get install -y chromium` (scripts/test.sh does)")
    return {**browser_type_launch_args, "executable_path": browser.CHROMIUM, "args": browser.CHROMIUM_ARGS}


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args):
    return {**browser_context_args, "viewport": browser.VIEWPORT}


@pytest.fixture
def page(page):
    page.set_default_timeout(60_000)  # a click or a fill on a busy 2-core machine
    return page
