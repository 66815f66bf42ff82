"""Validation accuracy of a short improved run by batch-norm momentum (a measurement, not a test).

    python -m benchmarks bn_momentum [--task task2] [--momenta 0.99,0.9,0.8] [--train-size 5000]

Trains the improved preset's ``task`` for 2 epochs on ``train-size`` images once per momentum
(the arch's other settings unchanged) and prints each epoch's validation accuracy: how soon the
batch norms' moving statistics let the model validate above chance. Reads $DAE_DATA_DIR.
"""

from __future__ import annotations

import argparse
import tempfile

from dae_core.training import train
from dae_core.training.config import make_config


def validation_accuracies(task: str, momentum: float, train_size: int) -> list[float]:
    config = make_config(task, "improved", epochs=2, train_size=train_size,
                         arch_values={"bn_momentum": momentum})
    with tempfile.TemporaryDirectory() as runs_dir:
        run = train.train_config(config, runs_dir, verbose=False)
        return [r["val_accuracy"] for r in run.metrics("epoch")]


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--task", default="task2", choices=("task2", "task3"))
    parser.add_argument("--momenta", default="0.99,0.9,0.8")
    parser.add_argument("--train-size", type=int, default=5000)
    args = parser.parse_args(argv)
    for momentum in (float(m) for m in args.momenta.split(",")):
        found = validation_accuracies(args.task, momentum, args.train_size)
        print(f"{args.task} momentum {momentum:g}: validation accuracy by epoch "
              + ", ".join(f"{a:.4f}" for a in found), flush=True)

