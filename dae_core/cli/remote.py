"""``train`` and ``resume`` on a Ray cluster: the options, and the run trained where they say.

``--ray ADDRESS`` ("auto": ``$RAY_ADDRESS``, else the cluster this machine is part of; "host:port" of
the head; "ray://host:10001" through Ray Client) trains the run there, its folder kept here
(``training.remote``); without it the run trains in this process. Nothing of Ray loads without it.
"""

from __future__ import annotations

import argparse

from dae_core.store.runs import Run
from dae_core.training.config import TrainConfig
from dae_core.training.preflight import check_config


def add_ray_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("on a Ray cluster")
    group.add_argument("--ray", metavar="ADDRESS", help="train on this Ray cluster, the runs kept here: "
                       "'auto' ($RAY_ADDRESS, else the cluster this machine joined), host:port of its head, "
                       "or ray://host:10001")
    group.add_argument("--gpus-per-run", type=_share, metavar="N", help="with --ray: GPUs each run asks "
                       "for (0.5: two runs share one); default 1 where the cluster has GPUs, else 0")


def _share(text: str) -> float:
    value = float(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"{text}: a share of GPUs is 0 or more")
    return value


def train_run(args, run: Run, resume: bool = False) -> dict:
    """Train (or resume) ``run`` where ``args`` say, printing as it goes; its final status."""
    if not getattr(args, "ray", None):
        from dae_core.training import ray_cluster, train

        ray_cluster.forget(run)  # a former Ray run resumed here: "trained on" is this machine now
        return train.train_run(run, resume=resume, verbose=True)
    from dae_core.training import remote

    print(f"run {run.id}: training on the Ray cluster at {args.ray}; its folder stays here, {run.path}", flush=True)
    return remote.train_on_ray(run, args.ray, resume=resume, gpus_per_run=args.gpus_per_run)


def train_config(args, config: TrainConfig, runs_dir=None) -> Run:
    """A new run of ``config`` trained where ``args`` say; its model files and the cluster checked
    first, so a run that cannot start leaves no folder behind."""
    config = check_config(config)
    if getattr(args, "ray", None):
        from dae_core.training import ray_cluster

        ray_cluster.connect(args.ray)
    run = Run.create(config.to_dict(), runs_dir)
    train_run(args, run)
    return run
