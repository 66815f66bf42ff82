"""A study's members trained on a Ray cluster, one member per cluster CPU, with a GPU share each where
the cluster has GPUs (``gpus_per_run``; default one GPU each, none on a cluster without). Each slot is
a trainer (``ray_cluster.Trainer``, a Ray actor) that trains member after member, TensorFlow loaded once.

``address``: "auto" joins the cluster this machine is part of (``ray start`` beforehand), "host:port"
that head node, "local" a fresh cluster on this machine, on loopback (tests, the benchmark); a process
already connected by ``ray.init`` is used as is. No shared filesystem: a trainer gets the member's config
and the autoencoder it starts from as bytes, trains in a temporary folder, and returns the run folder
packed without checkpoints, which lands in the study's runs folder under its id. ``data_dir`` is the
driver's path: a worker without that folder reads its own $DAE_DATA_DIR (unset: Keras's download).
Joining, packing and the worker's side are ``training.ray_cluster``'s, shared with single runs.
Its overhead per member against the local executor: ``python -m benchmarks ray``.
"""

from __future__ import annotations

import statistics
import tempfile
import time
from pathlib import Path

from dae_core.errors import JobError, LabError
from dae_core.store.runs import Run
from dae_core.studies.runner import member_config
from dae_core.studies.store import Member, Study
from dae_core.training import ray_cluster
from dae_core.training.durations import eta_seconds, format_duration

def run_on_ray(study: Study, address: str | None, verbose: bool = True,
               gpus_per_run: float | None = None) -> list[Member]:
    """Train the members not yet completed; returns those still not completed (a failed one is
    reported, recorded nowhere, and left for the next run)."""
    connected = ray_cluster.connect(address)
    try:
        left, overheads = execute(study, verbose, gpus_per_run)
    finally:
        if connected:
            connected.shutdown()
    if overheads:
        _say(verbose, f"Ray overhead per member: median {statistics.median(overheads):.1f} s "
                      "(submit, worker start, TensorFlow import, transfer)")
    return left  # the caller says how many are left and how to continue


def execute(study: Study, verbose: bool, gpus_per_run: float | None = None) -> tuple[list[Member], list[float]]:
    """Keep every slot (a CPU, with its GPU share) busy with a ready member (one needing another's
    model waits for its record), record each as it finishes; returns the members not completed and
    each one's overhead."""
    gpus = ray_cluster.gpu_share(gpus_per_run)
    # One trainer per CPU (``slots``), so one thread each: uncapped, they would contend for cores.
    with ray_cluster.Trainers(cpu_threads=1) as trainers:
        return _keep_busy(study, verbose, gpus, trainers)


def _keep_busy(study: Study, verbose: bool, gpus: float, trainers: ray_cluster.Trainers):
    import ray

    members, name = study.design().members, study.path.name
    todo = [m for m in members if not study.done(m)]
    running, shipped, overheads, gaps, last = {}, {}, [], [], time.time()
    while True:
        for member in _ready(study, todo, ray_cluster.slots(gpus) - len(running)):
            todo.remove(member)
            try:
                args = _task_args(study, member, shipped)
            except LabError as e:
                _say(verbose, f"[study {name}] member {member.key} not started: {e}")
                continue
            trainer = trainers.take(gpus)  # an idle one, TensorFlow loaded, once there is one
            running[trainer.call.remote(_train_member, *args)] = member, time.time(), trainer
        if not running:
            return [m for m in members if not study.done(m)], overheads
        [ref], _ = ray.wait(list(running), num_returns=1)
        member, submitted, trainer = running.pop(ref)
        try:
            run = _receive(study, member, *ray.get(ref))
        except Exception as e:  # the training raised (RayTaskError) or its trainer was lost
            trainers.drop(trainer)  # a fresh one for the next member, whichever it was
            _say(verbose, f"[study {name}] member {member.key} failed: {getattr(e, 'cause', None) or e}")
            continue
        trainers.give_back(trainer)
        # Trainers never outnumber CPUs, so this is Ray's cost beyond the epochs, not time in a queue.
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
    """In a trainer: the config trained as a run in a temporary folder; its id and packed folder
    (without checkpoints: only a resume reads them, and they double the bytes)."""
    from dae_core.training import train

    with tempfile.TemporaryDirectory(prefix="dae-member-") as tmp:
        if encoder is not None:
            config = {**config, "encoder_from": str(Path(tmp) / "encoder.keras")}
            Path(config["encoder_from"]).write_bytes(encoder)
        run = Run.create(ray_cluster.local_data_dir(config), Path(tmp) / "runs")
        run.set_status("queued", **ray_cluster.placement())
        with ray_cluster.worker_scope(run.log_path):
            state = train.train_run(run, verbose=False)["state"]
        if state != "completed":
            raise JobError(f"its training ended {state}: {run.status().get('error', '')}")
        return run.id, ray_cluster.pack(run.path, skip=(ray_cluster.CHECKPOINTS,))


def _receive(study: Study, member: Member, run_id: str, packed: bytes) -> Run:
    """Unpack a member's run under the study's runs root and record it; two workers can create
    the same id in the same second, so a taken id gets Run.create's next free suffix."""
    root = study.runs_root
    folder = next(p for n in range(1000) if not (p := root / (f"{run_id}-{n}" if n else run_id)).exists())
    folder.mkdir(parents=True)
    ray_cluster.unpack(packed, folder)
    # The config a local run records: the driver's paths, not the worker's temporary ones.
    Run(folder).write_config(member_config(study, member).to_dict())
    study.record(member.key, Run(folder))
    return Run(folder)


def _say(verbose: bool, line: str) -> None:
    if verbose:
        print(line, flush=True)
