"""What a run or a study member needs of Ray, shared by ``training.remote`` (one run) and
``studies.ray_executor`` (a study's members): joining a cluster, the GPU share a run asks for, the
trainers (Ray actors) that train runs one after another, a run folder packed into bytes and back (no
shared filesystem is assumed), and the worker side of a run (its placement, its output, the signal
handlers training takes over).

Ray is imported inside these functions: nothing of it loads without ``--ray``.
"""

from __future__ import annotations

import fnmatch
import io
import os
import signal
import socket
import tarfile
from contextlib import contextmanager, redirect_stderr, redirect_stdout
from pathlib import Path

from dae_core.errors import JobError

LOOPBACK_ENV = "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"  # "0": Ray's servers listen on 127.0.0.1 only
CHECKPOINTS = "checkpoint-*.keras"
# What a run's status says of the cluster it trains on (besides ``device``): a run that then
# trains on this machine drops them (``cli.remote.train_run``, ``dashboard.ray_backend.resume``).
STATUS_FIELDS = ("ray", "node", "ray_gpus", "ray_gpus_asked", "worker_pid", "lost_workers")
LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "[::1]")


def connect(address: str | None):
    """Join the cluster at ``address`` ("auto" or None: ``$RAY_ADDRESS``, else the one this machine
    is part of; "host:port": that head node; "ray://host:10001": through Ray Client; "local": a
    fresh one on loopback); returns the ray module when this call connected (so must disconnect),
    None when this process was connected already."""
    try:
        import ray
    except ImportError as e:
        raise JobError("--ray needs Ray here and on the workers: pip install ray==2.60.0") from e
    if ray.is_initialized():
        return None
    address = address or "auto"  # Ray reads $RAY_ADDRESS for "auto"
    try:  # worker output goes to each run's log.txt, not to this terminal
        _answers(address)
        _keep_to_loopback(address)
        if address != "local":
            _token_if_any()
        start_local_cluster() if address == "local" else ray.init(address=address, log_to_driver=False)
    except Exception as e:  # no cluster, a wrong port, a missing token: all mean "cannot reach it"
        raise JobError(f"cannot reach the Ray cluster at {address!r} ({type(e).__name__}: {e}); start it "
                       "with `ray start --head` (the same RAY_AUTH_MODE and token on every machine).") from e
    return ray


def _answers(address: str, timeout_s: float = 5.0) -> None:
    """Raise ``OSError`` unless host:port accepts a connection: Ray itself retries a wrong address
    for minutes, and the run would wait as queued all that time."""
    host, _, port = address.removeprefix("ray://").rpartition(":")
    if host and port.isdigit():
        socket.create_connection((host, int(port)), timeout=timeout_s).close()


def _keep_to_loopback(address: str) -> None:
    """A head on a loopback address (``ray start --head --node-ip-address 127.0.0.1``, the tests'
    clusters) is joined only by a process that keeps to loopback itself: Ray 2.60 would take this
    machine's network address for its own and wait for a node there forever."""
    from ray._private import ray_constants

    host = address.removeprefix("ray://").rpartition(":")[0]
    if host in LOOPBACK_HOSTS:
        ray_constants.ENABLE_RAY_CLUSTER = False


def _token_if_any() -> None:
    """Token authentication where a token is at hand (``~/.ray/auth_token``, ``$RAY_AUTH_TOKEN``) and
    ``$RAY_AUTH_MODE`` is unset, as ``ray start`` and Ray's own "auto" do: Ray 2.60 sends no token to
    an address named explicitly unless RAY_AUTH_MODE=token, and such a cluster refuses it."""
    from ray._private.authentication.authentication_token_setup import (
        maybe_enable_token_auth_if_token_available,
    )

    maybe_enable_token_auth_if_token_available(warn_if_disabled=False)


def start_local_cluster(num_cpus: int | None = None, num_gpus: int | None = None) -> None:
    """A fresh cluster on this machine on loopback (``num_gpus`` may declare GPUs it lacks: the
    tests' stand-in for a GPU node). Ray 2.60 binds to the network address unless its constant
    (read at import by this process, and from the environment by the ones it starts) is off."""
    import ray
    from ray._private import ray_constants

    saved = ray_constants.ENABLE_RAY_CLUSTER, os.environ.get(LOOPBACK_ENV)
    ray_constants.ENABLE_RAY_CLUSTER, os.environ[LOOPBACK_ENV] = False, "0"
    try:
        ray.init(address="local", num_cpus=num_cpus, num_gpus=num_gpus, include_dashboard=False,
                 log_to_driver=False)
    finally:
        ray_constants.ENABLE_RAY_CLUSTER = saved[0]
        os.environ.pop(LOOPBACK_ENV) if saved[1] is None else os.environ.update({LOOPBACK_ENV: saved[1]})


def forget(run) -> None:
    """``run`` trains on this machine from now on (a former Ray run resumed here): its status no
    longer names a cluster, node, GPUs, worker or the worker's device (``train`` records this
    machine's as it starts)."""
    status = run.status()
    if status.get("state") and any(key in status for key in STATUS_FIELDS):
        run.set_status(status["state"], **dict.fromkeys((*STATUS_FIELDS, "device")))


def gpu_share(requested: float | None) -> float:
    """The GPUs one run asks Ray for: ``requested``, else one when the cluster has GPUs, else none.
    A fraction (0.5) lets runs share a GPU: TensorFlow then grows its memory as it needs it."""
    import ray

    if requested is not None:
        if requested < 0:
            raise JobError(f"--gpus-per-run {requested:g}: a share of GPUs is 0 or more.")
        return float(requested)
    return 1.0 if ray.cluster_resources().get("GPU", 0) > 0 else 0.0


class Trainer:
    """A process on the cluster that trains runs one after another: a Ray actor holding one CPU
    and its GPU share for its life, so TensorFlow is imported once, by its first run.

    Why an actor: Ray starts a fresh process for every GPU *task* (``max_calls=1``, its default
    for them), which imports TensorFlow again. Reusing task workers (``max_calls=0``)
    could hand a process whose TensorFlow has already read CUDA_VISIBLE_DEVICES (once per process)
    a task on another GPU; an actor's GPUs are assigned once, as it starts, and stay its own.

    ``threads``: TensorFlow's thread pools capped at this size (set before any TensorFlow op runs).
    Uncapped, every trainer on a node uses all of its cores, so trainers sharing a node contend
    for them (``python -m benchmarks threads``)."""

    def __init__(self, threads: int | None = None):
        if threads:
            import tensorflow as tf

            tf.config.threading.set_intra_op_parallelism_threads(threads)
            tf.config.threading.set_inter_op_parallelism_threads(threads)

    def call(self, function, *args):
        return function(*args)


def trainer_options(gpus: float) -> dict:
    """Ray's resources for one trainer. No restart by Ray: a lost run resumes from its checkpoint
    instead (``remote._drive``), a lost study member waits for the study's next run."""
    return {"num_cpus": 1, "num_gpus": gpus, "max_restarts": 0, "max_task_retries": 0}


class Trainers:
    """The trainers one driver keeps between its runs (a study's members, the benchmark's runs),
    those idle by GPU share. ``take`` one (an idle one, else a new one), ``give_back`` it after a
    call that returned, ``drop`` (end) it otherwise: its process may be gone, or busy with a run
    being abandoned. An idle trainer holds its CPU and GPU share: ``close`` (or leaving the
    ``with``) ends them all; the driver's end would too (Ray's ownership).

    ``cpu_threads``: the threads of a trainer without a GPU share, for drivers that keep one trainer
    busy per CPU (a study); by default a trainer uses all of its node's cores (one run at a time)."""

    def __init__(self, cpu_threads: int | None = None):
        import ray

        self.actor, self.idle, self.lent, self.cpu_threads = ray.remote(Trainer), {}, {}, cpu_threads

    def take(self, gpus: float):
        idle = self.idle.get(gpus)
        threads = None if gpus else self.cpu_threads
        trainer = idle.pop() if idle else self.actor.options(**trainer_options(gpus)).remote(threads)
        self.lent[trainer] = gpus
        return trainer

    def give_back(self, trainer) -> None:
        """Ready for the driver's next run of its GPU share (nothing, once dropped)."""
        if trainer in self.lent:
            self.idle.setdefault(self.lent.pop(trainer), []).append(trainer)

    def drop(self, trainer) -> None:
        import ray

        self.lent.pop(trainer, None)
        ray.kill(trainer)

    def close(self) -> None:
        for trainer in [*self.lent, *(t for idle in self.idle.values() for t in idle)]:
            self.drop(trainer)
        self.idle = {}

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def slots(gpus: float) -> int:
    """How many trainings of ``gpus`` each the cluster runs at once: one per CPU, and no more
    than its GPUs hold."""
    import ray

    resources = ray.cluster_resources()
    cpus = int(resources.get("CPU", 1))
    return min(cpus, int(resources.get("GPU", 0) / gpus + 1e-9)) if gpus else cpus


def placement() -> dict:
    """Where this trainer runs, for the run's status: the node (host name and IP) and the GPU ids
    Ray assigned it as it started ("" for none)."""
    import ray

    context = ray.get_runtime_context()
    return {"node": f"{socket.gethostname()} ({ray.util.get_node_ip_address()})",
            "ray_gpus": ",".join(map(str, context.get_accelerator_ids().get("GPU", [])))}


@contextmanager
def worker_scope(log_path: Path):
    """Around a training in a ``Trainer``: its output into the run's log, Keras's state fresh (a
    trainer trains one run after another), and Ray's own SIGTERM and SIGINT handlers back afterwards
    (``train_run`` makes them stop requests for its run)."""
    import keras

    handlers = {s: signal.getsignal(s) for s in (signal.SIGTERM, signal.SIGINT)}
    keras.backend.clear_session()
    try:
        with open(log_path, "a") as log, redirect_stdout(log), redirect_stderr(log):
            print(f"Ray trainer on {socket.gethostname()}, process {os.getpid()}", flush=True)
            yield
    finally:
        for sig, handler in handlers.items():
            signal.signal(sig, handler)


def pack(folder: Path, skip: tuple[str, ...] = ()) -> bytes:
    """The folder as a gzipped tar, without the files whose names match ``skip``."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        tar.add(folder, arcname=".", filter=lambda info: None if any(
            fnmatch.fnmatch(Path(info.name).name, pattern) for pattern in skip) else info)
    return buffer.getvalue()


def unpack(packed: bytes, folder: Path) -> None:
    """Unpack into ``folder``: nothing outside it, no links out of it (tarfile's data filter)."""
    folder.mkdir(parents=True, exist_ok=True)
    with tarfile.open(fileobj=io.BytesIO(packed), mode="r:gz") as tar:
        tar.extractall(folder, filter="data")


def local_data_dir(config: dict) -> dict:
    """``config`` with a worker's own data folder where the driver's is not on this machine
    ($DAE_DATA_DIR; unset: Keras's download)."""
    from dae_core import settings

    if config.get("data_dir") and not Path(config["data_dir"]).is_dir():
        return {**config, "data_dir": str(settings.data_dir()) if settings.data_dir() else None}
    return config
