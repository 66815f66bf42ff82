"""The Compare page shows the same test accuracy as the command line's `evaluate`."""

import re
import subprocess
import sys

import pytest

from dae_core.settings import PROJECT_ROOT
from tests.support.browser import open_page

pytestmark = [pytest.mark.browser, pytest.mark.data]


def test_compare_accuracy_matches_command_line(page, app_url, server_env):
    cli = subprocess.Popen([sys.executable, "-m", "dae_core", "evaluate", "task2-seed"], cwd=PROJECT_ROOT,
                           env=server_env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    open_page(page, app_url, "compare")  # meanwhile
    out, _ = cli.communicate(timeout=480)
    assert cli.returncode == 0, out
    found = re.search(r"test accuracy (\d\.\d{4})", out)
    assert found, f"no 'test accuracy' in the command's output:\n{out}"
    metric = page.get_by_test_id("stMetric").filter(
        has=page.get_by_test_id("stMetricLabel").get_by_text("Test accuracy — task2-seed", exact=True))
    assert metric.count() == 1
    assert metric.get_by_test_id("stMetricValue").inner_text().strip() == found.group(1)
