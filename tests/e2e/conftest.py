"""Browser tests: one real `streamlit run app.py` per session, driven by Debian's Chromium.

The server gets its own empty runs folder (never the project's runs/) and the tiny, really
trained models of ``tests/conftest.py`` (set DAE_E2E_MODELS_DIR to use another models folder,
e.g. ``models`` for README screenshots made with the shipped models).
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from e2e_helpers import VIEWPORT, wait_for_app  # noqa: F401  (wait_for_app: for the tests)

from dae_core.runs import PROJECT_ROOT, list_runs

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
# Without the background-networking flags Chromium floods the closed network (see pitfalls.md).
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
STARTUP_TIMEOUT_S = 120  # 2 loaded cores: importing streamlit + TensorFlow can take a minute
MODELS_OVERRIDE_ENV = "DAE_E2E_MODELS_DIR"

_server_log: Path | None = None  # read by the report hook below when a test fails


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def health(url: str) -> str:
    try:
        with urllib.request.urlopen(f"{url}/_stcore/health", timeout=5) as response:
            return response.read().decode()
    except OSError:
        return ""


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
    env.update(DAE_RUNS_DIR=str(tmp_path_factory.mktemp("e2e-runs")), DAE_MODELS_DIR=str(e2e_models_dir),
               DAE_DATA_DIR=str(data_dir), TF_CPP_MIN_LOG_LEVEL="2", PYTHONUNBUFFERED="1")
    return env


@pytest.fixture(scope="session")
def app_url(server_env, tmp_path_factory) -> str:
    """Base URL of a `streamlit run app.py` started for this session; stopped at the end."""
    global _server_log
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    _server_log = tmp_path_factory.mktemp("e2e-server") / "streamlit.log"
    command = [sys.executable, "-m", "streamlit", "run", "app.py", "--server.headless", "true",
               "--server.port", str(port), "--server.fileWatcherType", "none",
               "--browser.gatherUsageStats", "false"]
    with open(_server_log, "w") as log:
        proc = subprocess.Popen(command, cwd=PROJECT_ROOT, env=server_env, stdin=subprocess.DEVNULL,
                                stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.time() + STARTUP_TIMEOUT_S
        while health(url) != "ok":
            if proc.poll() is not None or time.time() > deadline:
                pytest.fail(f"streamlit did not answer {url}/_stcore/health within {STARTUP_TIMEOUT_S} s "
                            f"(exit code {proc.poll()}); its log:\n{read_log()}", pytrace=False)
            time.sleep(0.5)
        yield url
    finally:
        stop_trainings(server_env["DAE_RUNS_DIR"])
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=15)


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
    if not Path(CHROMIUM).exists():
        pytest.fail(f"no Chromium at {CHROMIUM}: `apt-get install -y chromium` (scripts/test.sh does)")
    return {**browser_type_launch_args, "executable_path": CHROMIUM, "args": CHROMIUM_ARGS}


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args):
    return {**browser_context_args, "viewport": VIEWPORT}


@pytest.fixture
def page(page):
    page.set_default_timeout(60_000)  # a click or a fill on a busy 2-core machine
    return page
