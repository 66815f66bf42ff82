"""Seconds one run spends beyond its epochs, trained here (``train.train_config``) and on a Ray
cluster from here (``remote.train_on_ray``; a fresh local cluster on loopback that declares one GPU),
the same tiny config each time, this process's TensorFlow already loaded. On Ray: with no GPU share
and with a GPU share, each in the trainer this driver keeps for that share (``ray_cluster.Trainers``):
the first run of each loads TensorFlow there, the second finds it loaded.

    python -m benchmarks ray run [--repeats 2] [--epochs 3]     (reads $DAE_DATA_DIR)
"""

from __future__ import annotations

import argparse
import tempfile
import time

from dae_core import settings


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(prog="python -m benchmarks ray run", description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", default=None)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--epochs", type=int, default=3)
    args = parser.parse_args(argv)
    import ray

    from dae_core.store.runs import Run
    from dae_core.training import ray_cluster, remote
    from dae_core.training.config import make_config
    from dae_core.training.train import train_config

    config = make_config("task2", "seed", epochs=args.epochs, train_size=1000, batch_size=100,
                         data_dir=str(args.data_dir or settings.data_dir() or "") or None)
    ray_cluster.start_local_cluster(num_cpus=2, num_gpus=1)
    trainers = ray_cluster.Trainers()
    ways = {"here": lambda root: train_config(config, root, verbose=False),
            "ray, no GPU share": lambda root: _on_ray(remote, Run.create(config.to_dict(), root), 0, trainers),
            "ray, 1 GPU share": lambda root: _on_ray(remote, Run.create(config.to_dict(), root), 1, trainers)}
    figures = {name: [] for name in ways}
    try:
        with trainers, tempfile.TemporaryDirectory() as tmp:
            for _ in range(args.repeats):
                for name, train in ways.items():
                    start = time.time()
                    run = train(tmp)
                    figures[name].append(time.time() - start - sum(r["seconds"] for r in run.metrics("epoch")))
    finally:
        ray.shutdown()
    for name, seconds in figures.items():
        print(f"{name:>18}: beyond the epochs, run by run: {', '.join(f'{s:.1f} s' for s in seconds)}")
    return figures


def _on_ray(remote, run, gpus: float, trainers):
    status = remote.train_on_ray(run, gpus_per_run=gpus, verbose=False, trainers=trainers)
    assert status["state"] == "completed", status
    print(f"  {run.id}: trained by process {status['worker_pid']}, Ray GPUs {status['ray_gpus']!r}", flush=True)
    return run


if __name__ == "__main__":
    main()
