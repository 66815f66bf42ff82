"""What a command prints, as a user sees it from a shell: results on stdout, a progress line on
stderr, and none of TensorFlow's C++ start-up logs (oneDNN, CUDA stubs, cuInit, absl's warning)."""

import os
import re
import subprocess
import sys

import pytest

from dae_core.settings import PROJECT_ROOT

TENSORFLOW_LOG = re.compile(r"^[IWEF]\d{4} |absl::InitializeLog|cuInit|cuda drivers|oneDNN|cpu_feature_guard",
                            re.MULTILINE)


@pytest.mark.slow  # a process of its own, as a shell starts it: TensorFlow's import alone is 6 s of CPU
def test_evaluate_prints_no_tensorflow_log_line_and_shows_its_progress(tmp_path):
    env = {**os.environ, "DAE_RUNS_DIR": str(tmp_path / "runs"), "DAE_CACHE_DIR": str(tmp_path / "cache")}
    env.pop("DAE_DATA_DIR", None)  # the bundled test set: no datasets needed
    done = subprocess.run([sys.executable, "-m", "dae_core", "evaluate", "task2-seed"], cwd=PROJECT_ROOT,
                          env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert re.search(r"^test accuracy 0\.\d{4}  test loss", done.stdout, re.MULTILINE)
    assert not TENSORFLOW_LOG.search(done.stderr), done.stderr
    assert "Downloading" not in done.stdout + done.stderr  # the bundled test set, never a download
    assert "[evaluate: predicting the test images]" in done.stderr and "100%" in done.stderr


def test_training_prints_no_tensorflow_log_line_either(data_dir, tmp_path):
    """Training logs "errors" that are none (oneDNN and int32 on a CPU with AVX-512): out too."""
    env = {**os.environ, "DAE_CACHE_DIR": str(tmp_path / "cache")}
    done = subprocess.run([sys.executable, "-m", "dae_core", "train", "task1", "--epochs", "1", "--train-size",
                           "300", "--batch-size", "100", "--data-dir", str(data_dir), "--runs-dir", str(tmp_path)],
                          cwd=PROJECT_ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert "epoch 1/1" in done.stdout and ": completed;" in done.stdout
    assert not TENSORFLOW_LOG.search(done.stderr), done.stderr
