"""The benchmarks' entry point lists every benchmark, and the training benchmark prints its figures."""

import subprocess
import sys

from benchmarks import training
from benchmarks.__main__ import BENCHMARKS
from dae_core.settings import PROJECT_ROOT


def test_the_entry_point_lists_every_benchmark_and_refuses_an_unknown_one():
    listed = subprocess.run([sys.executable, "-m", "benchmarks"], cwd=PROJECT_ROOT, capture_output=True, text=True)
    assert listed.returncode == 0 and all(f"  {name} " in listed.stdout for name in BENCHMARKS)
    wrong = subprocess.run([sys.executable, "-m", "benchmarks", "nope"], cwd=PROJECT_ROOT,
                           capture_output=True, text=True)
    assert wrong.returncode == 2 and "unknown benchmark 'nope'" in wrong.stderr


def test_the_training_benchmark_prints_both_trainings_and_every_latency(data_dir, capsys):
    args = ["--train-size", "1000", "--epochs", "2", "--repeats", "5", "--fit-repeats", "2",
            "--data-dir", str(data_dir)]
    training.main(args)
    out = capsys.readouterr().out
    assert out.count("plain model.fit") == 2 and "median" in out and "over 2 repeats" in out
    for preset in ("seed", "improved"):
        assert f"task1-{preset}" in out
    assert out.count("model.predict(x)") == 2 and out.count("Predictor (dashboard: XLA)") == 2


