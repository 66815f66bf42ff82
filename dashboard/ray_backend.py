"""Where the Train page's runs train: this machine, or a Ray cluster (``--ray`` of the training
process, which stays on this machine and keeps the run folder here: ``dae_core.training.remote``).

``choose`` draws the "Run on" choice; ``start`` and ``resume`` launch the training process as
``jobs`` does, with the cluster's options when one is chosen. A run that trained on a cluster
resumes there (its status names the address) unless this machine is asked for. Nothing of Ray is
imported here.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import streamlit as st

from dae_core.store.runs import Run
from dae_core.training import jobs, ray_cluster, run_table
from dae_core.training.config import TrainConfig

HERE = "this machine"
CLUSTER = "a Ray cluster"


@dataclass(frozen=True)
class Backend:
    address: str | None = None  # None: this machine
    gpus_per_run: float | None = None  # None: one where the cluster has GPUs, else none

    def cli_args(self) -> list[str]:
        """The training command's options for this backend (none for this machine)."""
        if self.address is None:
            return []
        gpus = [] if self.gpus_per_run is None else ["--gpus-per-run", f"{self.gpus_per_run:g}"]
        return ["--ray", self.address, *gpus]


def choose(prefix: str) -> Backend:
    """The "Run on" choice; the cluster's address defaults to ``$RAY_ADDRESS`` (else "auto": the
    cluster this machine joined with ``ray start --address ...``)."""
    where = st.radio("Run on", (HERE, CLUSTER), horizontal=True, key=f"{prefix}_run_on",
                     help="A Ray cluster trains the run on its machines (a GPU where it has one); the run's "
                          "folder, curves, Stop and Resume stay here.")
    if where == HERE:
        return Backend()
    left, right = st.columns([3, 1])
    address = left.text_input("Ray cluster address", value=os.environ.get("RAY_ADDRESS") or "auto",
                              key=f"{prefix}_ray_address",
                              help="host:port of the head node (ray start --head), ray://host:10001 for Ray "
                                   "Client, or auto: $RAY_ADDRESS, else the cluster this machine joined.")
    gpus = right.number_input("GPUs per run", min_value=0.0, max_value=8.0, value=None, step=0.5,
                              key=f"{prefix}_gpus_per_run", placeholder="auto",
                              help="Empty: 1 where the cluster has GPUs, else 0. 0.5: two runs share a GPU.")
    return Backend(address.strip() or "auto", gpus)


def start(config: TrainConfig, backend: Backend, runs_dir=None) -> Run:
    """Create a run for ``config`` and start its training process where ``backend`` says."""
    return jobs.start_training(config, runs_dir, backend.cli_args())


def resume(run: Run, backend: Backend | None = None) -> Run:
    """Continue a run from its last epoch where ``backend`` says; None: where it trained (the
    cluster its status names, with the GPU share it asked for, else this machine). Resumed here,
    a former Ray run's status no longer names the cluster, node or worker."""
    if backend is None:
        status = run.status()
        backend = Backend(status.get("ray"), status.get("ray_gpus_asked") if status.get("ray") else None)
    if backend.address is None and run.can_resume():  # else jobs.resume says why not
        ray_cluster.forget(run)
    return jobs.resume(run, backend.cli_args())


def where(run: Run) -> str | None:
    """"on the Ray cluster at ADDRESS" for a run that trains (or trained) there, with the node, its
    device and the GPUs Ray gave it once its worker said (``run_table.trained_on``); else None."""
    status = run.status()
    if not status.get("ray"):
        return None
    place = run_table.trained_on(status)
    return f"on the Ray cluster at {status['ray']}" + (f" ({place})" if place else "")
