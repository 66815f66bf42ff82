"""Trainings sharing this machine's cores: one alone, then several at once as a study's Ray trainers
run them (one per CPU), uncapped and with TensorFlow's threads capped as those trainers cap them.

    python -m benchmarks threads [--task task2] [--preset improved] [--trainings 2] [--threads 1]
        [--epochs 4] [--steps 12] [--train-size 4096]

Each training is a process of its own that builds the task's model and input pipeline as a run does
(``train.build_model``, ``train.make_dataset``, the precision ``auto`` picks here), capped by
``ray_cluster.Trainer(threads)`` where asked, and fits ``--epochs`` epochs of ``--steps`` steps;
its figure is the median samples/s of the epochs after the first. The settings run one after
another, so stop other work first. Reads $DAE_DATA_DIR (or ``--data-dir``).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys

from dae_core.settings import PROJECT_ROOT


def worker(args) -> None:
    """One training; prints its samples/s as a JSON line."""
    import statistics

    from dae_core.training.ray_cluster import Trainer

    Trainer(threads=args.worker or None)  # before TensorFlow runs anything, as a trainer starts
    from benchmarks.precision import fit_epoch_seconds
    from dae_core.models import device
    from dae_core.training import train
    from dae_core.training.config import make_config

    config = make_config(args.task, args.preset, train_size=args.train_size, epochs=args.epochs,
                         steps_per_epoch=args.steps, data_dir=args.data_dir)
    policy, _ = device.resolve_precision(config.precision, config.task, config.arch, gpu=False)
    seconds = fit_epoch_seconds(config, train.load_task_data(config), policy)[1:]
    print(json.dumps({"samples_s": args.steps * config.batch_size / statistics.median(seconds),
                      "policy": policy}), flush=True)


def together(args, count: int, threads: int) -> list[dict]:
    """``count`` trainings started at once, each capped at ``threads`` (0: uncapped)."""
    command = [sys.executable, "-m", "benchmarks", "threads", "--worker", str(threads),
               *(f"--{k.replace('_', '-')}={v}" for k, v in vars(args).items() if k != "worker" and v is not None)]
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    procs = [subprocess.Popen(command, cwd=PROJECT_ROOT, env=env, stdout=subprocess.PIPE,
                              stderr=subprocess.DEVNULL, text=True) for _ in range(count)]
    rows = []
    for proc in procs:
        out, _ = proc.communicate()
        if proc.returncode:
            raise SystemExit(f"a training failed (exit {proc.returncode}): {out[-500:]}")
        rows.append(json.loads(out.strip().splitlines()[-1]))
    return rows


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks threads", description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", help="the datasets (default: $DAE_DATA_DIR)")
    parser.add_argument("--task", default="task2")
    parser.add_argument("--preset", default="improved")
    parser.add_argument("--trainings", type=int, default=min(os.cpu_count(), 8),
                        help="at once (default: one per core, 8 at most: each holds TensorFlow and the data)")
    parser.add_argument("--threads", type=int, default=1, help="each capped training's threads")
    parser.add_argument("--epochs", type=int, default=4, help="per training; the first is left out")
    parser.add_argument("--steps", type=int, default=12, help="steps an epoch")
    parser.add_argument("--train-size", type=int, default=4096, help="training images the epochs draw from")
    parser.add_argument("--worker", type=int, help=argparse.SUPPRESS)  # one training, this many threads
    args = parser.parse_args(argv)
    if args.worker is not None:
        return worker(args)
    print(f"{args.task} {args.preset}, {os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f}; "
          "samples/s (median of the epochs after the first):", flush=True)
    settings = {"one training, uncapped": (1, 0),
                f"{args.trainings} at once, uncapped": (args.trainings, 0),
                f"{args.trainings} at once, {args.threads} thread(s) each": (args.trainings, args.threads)}
    for label, (count, threads) in settings.items():
        rows = together(args, count, threads)
        each = " + ".join(f"{r['samples_s']:.0f}" for r in rows)
        print(f"  {label:34s} {sum(r['samples_s'] for r in rows):7.0f} in all  ({each}; {rows[0]['policy']})",
              flush=True)
    print(f"load average at the end {os.getloadavg()[0]:.2f}")
