"""A study's members as Ray tasks, one member (a CPU-bound TensorFlow process) per cluster CPU.

``address``: "auto" joins the cluster this machine is part of (``ray start`` beforehand), "host:port"
that head node, "local" a fresh cluster on this machine, on loopback (tests, the benchmark); a process
already connected by ``ray.init`` is used as is. No shared filesystem: a task gets the member's config
and the autoencoder it starts from as bytes, trains in a temporary folder, and returns the run folder
packed without checkpoints, which lands in the study's runs folder under its id. ``data_dir`` is the
driver's path: a worker without that folder reads its own $DAE_DATA_DIR (unset: Keras's download).
Its overhead per member against the local executor: ``python -m benchmarks ray``.
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
from dae_core.errors import JobError, LabError
from dae_core.store.runs import Run
from dae_core.studies.runner import member_config
from dae_core.studies.store import Member, Study
from dae_core.training.durations import eta_seconds, format_duration

LOOPBACK_ENV = "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"  # "0": Ray's servers listen on 127.0.0.1 only


def run_on_ray(study: Study, address: str, verbose: bool = True) -> list[Member]:
    """Train the members not yet completed; returns those still not completed (a failed one is
    reported, recorded nowhere, and left for the next run)."""
    connected = _connect(address)
    try:
        left, overheads = execute(study, verbose)
    finally:
        if connected:
            connected.shutdown()
    if overheads:
        _say(verbose, f"Ray overhead per member: median {statistics.median(overheads):.1f} s "
                      "(submit, worker start, TensorFlow import, transfer)")
    return left  # the caller says how many are left and how to continue


def _connect(address: str):
    """Join the cluster; returns the ray module when this call connected (so must disconnect)."""
    try:
        import ray
    except ImportError as e:
        raise JobError("--ray needs Ray here and on the workers: pip install ray==2.60.0") from e
    if ray.is_initialized():
        return None
    try:  # worker output goes to each run's log.txt, not to this terminal
        start_local_cluster() if address == "local" else ray.init(address=address, log_to_driver=False)
    except Exception as e:  # no cluster, a wrong port, a missing token: all mean "cannot reach it"
        raise JobError(f"cannot reach the Ray cluster at {address!r} ({type(e).__name__}: {e}); start it "
                       "with `ray start --head` (the same RAY_AUTH_MODE and token on every machine).") from e
    return ray


def start_local_cluster(num_cpus: int | None = None) -> None:
    """A fresh cluster on this machine on loopback: Ray 2.60 binds to the network address unless its
    constant (read at import by this process, and from the environment by the ones it starts) is off."""
    import ray
    from ray._private import ray_constants

    saved = ray_constants.ENABLE_RAY_CLUSTER, os.environ.get(LOOPBACK_ENV)
    ray_constants.ENABLE_RAY_CLUSTER, os.environ[LOOPBACK_ENV] = False, "0"
    try:
        ray.init(address="local", num_cpus=num_cpus, include_dashboard=False, log_to_driver=False)
    finally:
        ray_constants.ENABLE_RAY_CLUSTER = saved[0]
        os.environ.pop(LOOPBACK_ENV) if saved[1] is None else os.environ.update({LOOPBACK_ENV: saved[1]})


def execute(study: Study, verbose: bool) -> tuple[list[Member], list[float]]:
    """Keep every CPU busy with a ready member (one needing another's model waits for its record),
    record each as it finishes; returns the members not completed and each one's overhead."""
    import ray

    members, name = study.design().members, study.path.name
    remote, todo = ray.remote(num_cpus=1)(_train_member), [m for m in members if not study.done(m)]
    running, shipped, overheads, gaps, last = {}, {}, [], [], time.time()
    while True:
        for member in _ready(study, todo, int(ray.cluster_resources().get("CPU", 1)) - len(running)):
            todo.remove(member)
            try:
                running[remote.remote(*_task_args(study, member, shipped))] = member, time.time()
            except LabError as e:
                _say(verbose, f"[study {name}] member {member.key} not started: {e}")
        if not running:
            return [m for m in members if not study.done(m)], overheads
        [ref], _ = ray.wait(list(running), num_returns=1)
        member, submitted = running.pop(ref)
        try:
            run = _receive(study, member, *ray.get(ref))
        except Exception as e:  # the training raised (RayTaskError) or its worker was lost
            _say(verbose, f"[study {name}] member {member.key} failed: {getattr(e, 'cause', None) or e}")
            continue
        # Tasks never outnumber CPUs, so this is Ray's cost beyond the epochs, not time in a queue.
        overheads.append(time.time() - submitted - sum(r.get("seconds", 0) for r in run.metrics("epoch")))
        gaps.append(time.time() - last)  # time between completions: an ETA for parallel tasks
        last, remaining = time.time(), sum(not study.done(m) for m in members)
        _say(verbose, f"[study {name}] {len(members) - remaining}/{len(members)} members done · "
                      f"ETA {format_duration(eta_seconds(gaps, remaining))}")


def _ready(study: Study, todo: list[Member], room: int) -> list[Member]:
    design = {m.key: m for m in study.design().members}
    return [m for m in todo if not m.needs or study.done(design[m.needs])][:max(0, room)]


def _task_args(study: Study, member: Member, shipped: dict) -> tuple[dict, object]:
    """The member's config (driver paths) and the autoencoder it starts from (a prerequisite's,
    or the shipped one), in Ray's object store once per file: workers need no models folder."""
    import ray

    from dae_core.training.preflight import resolve_autoencoder

    config = member_config(study, member)
    path = resolve_autoencoder(config) if config.spec.needs_autoencoder else None
    if path and not path.exists():
        raise JobError(f"{config.task} starts from the autoencoder {path}, which does not exist.")
    if path and path not in shipped:
        shipped[path] = ray.put(path.read_bytes())
    return config.to_dict(), shipped.get(path)


def _train_member(config: dict, encoder: bytes | None) -> tuple[str, bytes]:
    """On a worker: the config trained as a run in a temporary folder; its id and packed folder."""
    import signal

    import keras

    from dae_core.training import train

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
        finally:  # train_run made SIGTERM a stop request for this run: Ray's own handlers come back
            for sig, handler in handlers.items():
                signal.signal(sig, handler)
        if state != "completed":
            raise JobError(f"its training ended {state}: {run.status().get('error', '')}")
        buffer = io.BytesIO()  # without checkpoints: only a resume reads them, and they double the bytes
        with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
            tar.add(run.path, arcname=".", filter=lambda info: None if fnmatch.fnmatch(
                Path(info.name).name, "checkpoint-*.keras") else info)
        return run.id, buffer.getvalue()


def _receive(study: Study, member: Member, run_id: str, packed: bytes) -> Run:
    """Unpack a member's run under the study's runs root and record it; two workers can create
    the same id in the same second, so a taken id gets Run.create's next free suffix."""
    root = study.runs_root
    folder = next(p for n in range(1000) if not (p := root / (f"{run_id}-{n}" if n else run_id)).exists())
    folder.mkdir(parents=True)
    with tarfile.open(fileobj=io.BytesIO(packed), mode="r:gz") as tar:
        tar.extractall(folder, filter="data")  # nothing outside the folder, no links out of it
    # The config a local run records: the driver's paths, not the worker's temporary ones.
    Run(folder).write_config(member_config(study, member).to_dict())
    study.record(member.key, Run(folder))
    return Run(folder)


def _say(verbose: bool, line: str) -> None:
    if verbose:
        print(line, flush=True)
