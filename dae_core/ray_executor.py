"""Running a study's members on a Ray cluster: one member per task, as many at once as the cluster
has CPUs (a member is one CPU-bound TensorFlow process). ``python -m dae_core study ... --ray ADDRESS``.

ADDRESS: ``auto`` joins the cluster this machine belongs to (``ray start --head`` beforehand);
``host:port`` joins that head node; ``local`` starts a fresh cluster on this machine, on loopback,
for tests and benchmarks. A process already connected (``ray.init`` by the caller) is used as is.
No shared filesystem is assumed: a task gets the member's config (and the autoencoder it starts
from, as bytes), trains in a temporary folder on its worker and sends the run folder back, packed
without its epoch checkpoints; it lands in the study's runs folder under the run's id. A config's
``data_dir`` is the driver's path: a worker without that folder reads its own ``$DAE_DATA_DIR``
(unset: Keras's cache, then its download). Ray is imported only here, inside functions.

Benchmark: ``DAE_DATA_DIR=... python -m dae_core.ray_executor`` runs the tests' study of 8 tiny
members locally, then on a local two-worker cluster, and prints each executor's median time per
member beyond its training (``compare_overhead``).
"""

from __future__ import annotations

import fnmatch
import io
import os
import socket
import statistics
import tarfile
import tempfile
import time
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path

from dae_core import settings
from dae_core.durations import eta_seconds, format_duration
from dae_core.errors import JobError, LabError
from dae_core.runs import Run, write_json_atomic
from dae_core.studies import Member, Study, member_config

LOOPBACK_ENV = "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"  # "0": Ray binds its servers to 127.0.0.1 only


def run_on_ray(study: Study, address: str, verbose: bool = True) -> list[Member]:
    """Train the study's members not yet completed as Ray tasks; returns those still not completed
    (a failed member is reported, recorded nowhere, and left for the next run)."""
    connected = _connect(address)
    try:
        left, overheads = _execute(study, verbose)
    finally:
        if connected:
            import ray

            ray.shutdown()
    if verbose and overheads:
        print(f"Ray overhead per member: median {statistics.median(overheads):.1f} s "
              "(submit, worker start, TensorFlow import, transfer)", flush=True)
    if verbose and left:
        print(f"study {study.path.name}: {len(left)} members not completed; run the same command to "
              "continue it.", flush=True)
    return left


def _connect(address: str) -> bool:
    """Join the cluster; True when this call connected (and so disconnects at the end)."""
    try:
        import ray
    except ImportError as e:
        raise JobError("--ray needs Ray on this machine and the workers: pip install ray==2.60.0") from e
    if ray.is_initialized():
        return False
    try:
        if address == "local":
            start_local_cluster()
        else:  # worker output goes to each run's log.txt, not to this terminal
            ray.init(address=address, log_to_driver=False)
    except Exception as e:  # no cluster, a wrong port, a missing token: all mean "cannot reach it"
        raise JobError(f"cannot reach the Ray cluster at {address!r} ({type(e).__name__}: {e}). Start "
                       "one with `ray start --head` (same RAY_AUTH_MODE and token on every machine), "
                       "or check the address.") from e
    return True


def start_local_cluster(num_cpus: int | None = None) -> None:
    """A fresh Ray cluster on this machine listening on loopback only. Ray binds to the machine's
    network address unless clusters look unsupported (a Ray 2.60 constant, read when it starts)."""
    import ray
    from ray._private import ray_constants

    saved = ray_constants.ENABLE_RAY_CLUSTER, os.environ.get(LOOPBACK_ENV)
    ray_constants.ENABLE_RAY_CLUSTER, os.environ[LOOPBACK_ENV] = False, "0"  # its processes read it too
    try:
        ray.init(address="local", num_cpus=num_cpus, include_dashboard=False, log_to_driver=False)
    finally:
        ray_constants.ENABLE_RAY_CLUSTER = saved[0]
        os.environ.pop(LOOPBACK_ENV) if saved[1] is None else os.environ.update({LOOPBACK_ENV: saved[1]})


def _execute(study: Study, verbose: bool) -> tuple[list[Member], list[float]]:
    """Keep the cluster's CPUs busy with ready members (one that needs another's model starts once
    that one is recorded); record each as it finishes. Returns the members not completed and each one's overhead."""
    import ray

    members, name = study.design().members, study.path.name
    remote = ray.remote(num_cpus=1)(_train_member)
    todo = [m for m in members if not study.done(m)]
    running, shipped, overheads, gaps, last = {}, {}, [], [], time.time()
    while True:
        for member in _ready(study, todo, capacity=int(ray.cluster_resources().get("CPU", 1)) - len(running)):
            todo.remove(member)
            try:
                running[remote.remote(*_task_args(study, member, shipped))] = member, time.time()
            except LabError as e:
                _say(verbose, f"[study {name}] member {member.key} not started: {e}")
        if not running:
            break
        [ref], _ = ray.wait(list(running), num_returns=1)
        member, submitted = running.pop(ref)
        try:
            run = _receive(study, member, *ray.get(ref))
        except Exception as e:  # the training raised (RayTaskError) or its worker was lost
            _say(verbose, f"[study {name}] member {member.key} failed: {getattr(e, 'cause', None) or e}")
            continue
        # Beyond the training itself; submissions never outnumber CPUs, so no queueing is counted.
        overheads.append(time.time() - submitted - sum(r.get("seconds", 0) for r in run.metrics("epoch")))
        gaps.append(time.time() - last)  # between completions: the ETA then reflects parallel tasks
        last, remaining = time.time(), sum(not study.done(m) for m in members)
        _say(verbose, f"[study {name}] {len(members) - remaining}/{len(members)} members done · "
                      f"ETA {format_duration(eta_seconds(gaps, remaining))}")
    return [m for m in members if not study.done(m)], overheads


def _ready(study: Study, todo: list[Member], capacity: int) -> list[Member]:
    """Up to ``capacity`` members whose prerequisite (if any) has completed."""
    design = {m.key: m for m in study.design().members}
    return [m for m in todo if not m.needs or study.done(design[m.needs])][:max(0, capacity)]


def _task_args(study: Study, member: Member, shipped: dict) -> tuple[dict, object]:
    """The member's config (the driver's paths) and the autoencoder it starts from, as bytes put
    in Ray's object store once per file: a worker need not hold the project's models folder."""
    import ray

    from dae_core import train

    config = member_config(study, member)
    path = train.resolve_autoencoder(config) if config.spec.needs_autoencoder else None
    if path and not path.exists():
        raise JobError(f"{config.task} starts from the autoencoder {path}, which does not exist.")
    if path and path not in shipped:
        shipped[path] = ray.put(path.read_bytes())
    return config.to_dict(), shipped.get(path)


def _train_member(config: dict, encoder: bytes | None) -> tuple[str, bytes]:
    """On a worker: train the config as a run in a temporary folder; its id and folder, packed."""
    import signal

    import keras

    from dae_core import train

    with tempfile.TemporaryDirectory(prefix="dae-member-") as tmp:
        if encoder is not None:
            config = {**config, "encoder_from": str(Path(tmp) / "encoder.keras")}
            Path(config["encoder_from"]).write_bytes(encoder)
        if config.get("data_dir") and not Path(config["data_dir"]).is_dir():
            config = {**config, "data_dir": str(settings.data_dir()) if settings.data_dir() else None}
        run = Run.create(config, Path(tmp) / "runs")
        handlers = {s: signal.getsignal(s) for s in (signal.SIGTERM, signal.SIGINT)}
        keras.backend.clear_session()  # workers are reused: each member builds its models afresh
        try:
            with open(run.log_path, "a") as log, redirect_stdout(log), redirect_stderr(log):
                print(f"Ray task on {socket.gethostname()}, process {os.getpid()}", flush=True)
                state = train.train_run(run, verbose=False)["state"]
        finally:  # train_run turned SIGTERM into a stop request for this run: give Ray its own back
            for sig, handler in handlers.items():
                signal.signal(sig, handler)
        if state != "completed":
            raise JobError(f"its training ended {state}: {run.status().get('error', '')}")
        return run.id, _pack(run.path)


def _pack(folder: Path) -> bytes:
    """The run folder as tar.gz without epoch checkpoints: only a resume reads them, a completed
    member is never resumed, and they would double what crosses the network."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        tar.add(folder, arcname=".", filter=lambda info: None if fnmatch.fnmatch(
            Path(info.name).name, "checkpoint-*.keras") else info)
    return buffer.getvalue()


def _receive(study: Study, member: Member, run_id: str, packed: bytes) -> Run:
    """Unpack a finished member under the study's runs root and record it. Two workers may create
    the same id in the same second: the later one gets Run.create's next free suffix."""
    for n in range(1000):
        folder = study.runs_root / (run_id if n == 0 else f"{run_id}-{n}")
        try:
            folder.mkdir(parents=True)
            break
        except FileExistsError:
            continue
    with tarfile.open(fileobj=io.BytesIO(packed), mode="r:gz") as tar:
        tar.extractall(folder, filter="data")  # nothing outside the folder, no links out of it
    run = Run(folder)  # the config as a local run records it: driver paths, not the worker's temp ones
    write_json_atomic(run.path / "config.json", member_config(study, member).to_dict())
    study.record(member.key, run)
    return run


def _say(verbose: bool, line: str) -> None:
    if verbose:
        print(line, flush=True)


def compare_overhead(data_dir=None) -> dict:
    """Median seconds per member beyond its training, local executor and Ray (a fresh local
    cluster of two workers), for the tests' study of 8 tiny members; prints and returns them."""
    from itertools import pairwise

    import ray

    from dae_core import studies

    tiny = dict(seeds=2, budgets=(100, 300), arms=("scratch", "random-init"), epochs_scale=0.1,
                steps_per_epoch=5, data_dir=str(data_dir or settings.data_dir() or "") or None)
    design, figures = studies.label_efficiency(**tiny), {}
    with tempfile.TemporaryDirectory() as tmp:
        local, marks = Study.open(design, "local", tmp), [time.time()]
        studies.run_locally(local, verbose=False, on_member=lambda member: marks.append(time.time()))
        figures["local"] = [b - a - sum(r["seconds"] for r in local.run_of(m.key).metrics("epoch"))
                            for (a, b), m in zip(pairwise(marks), design.members)]
        figures["local_wall_s"] = marks[-1] - marks[0]
        start_local_cluster(num_cpus=2)
        try:
            started = time.time()
            figures["ray"] = _execute(Study.open(design, "ray", tmp), verbose=False)[1]
            figures["ray_wall_s"] = time.time() - started
        finally:
            ray.shutdown()
    for name in ("local", "ray"):
        print(f"{name:>5}: overhead per member median {statistics.median(figures[name]):.1f} s "
              f"(min {min(figures[name]):.1f}, max {max(figures[name]):.1f}); "
              f"study of {len(figures[name])} members {figures[name + '_wall_s']:.0f} s")
    return figures


if __name__ == "__main__":
    compare_overhead()
