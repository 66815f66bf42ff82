"""One run trained on a Ray cluster, its folder kept on this machine (the driver's).

The run folder here is an ordinary run: pages, ``runs``, Stop and Resume read and write it as for a
local run. A trainer on the cluster (``ray_cluster.Trainer``, a Ray actor; a driver's runs train one
after another in the same one, TensorFlow loaded once) runs ``_train_remote``: a copy of the run trained
in a temporary folder, as a ``RelayedRun``. Everything that copy writes, it also pushes to a ``Relay``
actor on the driver's node — metric records, status changes, and each whole epoch's checkpoint (with
the TensorBoard files so far), in the order written. The driver (``train_on_ray``, normally the process that ``jobs`` starts
for the run) takes them every ``POLL_S`` and writes them into the folder here, and passes the folder's
STOP file the other way. At the end the call returns the model, the TensorBoard files and its log.

The channel is an actor because it carries both ways at the worker's cost of a fire-and-forget call
(``python -m benchmarks ray channel``: 0.6 ms a record against 3.8 ms for a ``ray.util.queue``; a
streaming generator answers faster but carries one way only, and the records are 0.5 s apart anyway).

No shared filesystem: the config, the model files it starts from and, to resume, the checkpoints and
status travel as bytes. A lost worker (its process or node died) is resumed from the last checkpoint
that came back, ``retries`` times; a driver that dies takes its trainers with it (Ray's ownership), and
the run then reads ``failed`` here and resumes as a local run does, from its last checkpoint.
"""

from __future__ import annotations

import fnmatch
import os
import tempfile
import time
import traceback
from pathlib import Path

from dae_core.errors import JobError
from dae_core.store.runs import ACTIVE_STATES, Run
from dae_core.training import ray_cluster
from dae_core.training.config import TrainConfig
from dae_core.training.preflight import check_config, resolve_autoencoder

# Where the last worker trained (a former attempt's, or a lost one's): unknown until the next one says.
WORKER_UNKNOWN = dict.fromkeys(("node", "ray_gpus", "worker_pid", "device"))
POLL_S = 0.1  # how often the driver takes what the worker sent (records are 0.5 s apart at most)
STOP_POLL_S = 0.25  # how often the worker asks whether a stop was requested (a round trip to the relay actor)
# What a resume sends to the worker, and what the end brings back: never the records the driver
# already has, nor its own log, nor a half-written file.
RESUME_SKIP = ("metrics.jsonl", "log.txt", "model.keras", "meta.json", "STOP", "*.damaged", ".*")
RESULT_SKIP = (ray_cluster.CHECKPOINTS, "metrics.jsonl", "status.json", "config.json", "STOP", "*.damaged", ".*")
DAMAGED = ".damaged"  # a checkpoint set aside (train._set_aside)
MODEL_KEYS = ("encoder_from", "init_from")  # config fields naming a model file the run starts from


class Relay:
    """Between a remote training and its run folder: what the worker writes waits here until the
    driver takes it; a stop request waits here until the worker asks. A Ray actor (one per attempt)."""

    def __init__(self):
        self.items, self.stop = [], False

    def push(self, item: tuple) -> None:
        self.items.append(item)

    def take(self) -> list[tuple]:
        items, self.items = self.items, []
        return items

    def request_stop(self) -> None:
        self.stop = True

    def stop_requested(self) -> bool:
        return self.stop

    def flush(self) -> None:
        """Returns once every push made before it has arrived (one caller's calls run in order)."""


class RelayedRun(Run):
    """The worker's copy of a run: it writes its own folder as any run does, and pushes each record,
    status change and finished epoch's checkpoint to the relay; a stop comes from the relay too."""

    def __init__(self, path: Path, relay):
        super().__init__(path)
        self.relay, self.shipped_epoch, self.asked, self.stop = relay, 0, 0.0, False
        self.set_aside: set[str] = set()

    def append_metric(self, record: dict) -> None:
        super().append_metric(record)
        self.relay.push.remote(("metric", record))

    def set_status(self, state: str, **fields) -> dict:
        status = super().set_status(state, **fields)
        # A damaged checkpoint set aside here (train._set_aside renames it, then says so in the
        # status): the driver's copy is set aside too, before the note naming it arrives.
        for damaged in sorted(self.path.glob(ray_cluster.CHECKPOINTS + DAMAGED)):
            if damaged.name not in self.set_aside:
                self.set_aside.add(damaged.name)
                self.relay.push.remote(("set_aside", damaged.name.removesuffix(DAMAGED)))
        epoch = fields.get("epoch") or 0
        if epoch > self.shipped_epoch and self.checkpoint_for(epoch).exists():
            # before the status naming the epoch, as here: its checkpoint is there when it is named
            self.relay.push.remote(("files", self._epoch_files(epoch)))
            self.shipped_epoch = epoch
        self.relay.push.remote(("status", state, fields))
        return status

    def _epoch_files(self, epoch: int) -> dict[str, bytes]:
        files = [self.checkpoint_for(epoch), *(p for p in (self.path / "tensorboard").rglob("*") if p.is_file())]
        return {str(p.relative_to(self.path)): p.read_bytes() for p in files}

    def truncate_metrics(self, last_epoch: int) -> None:
        super().truncate_metrics(last_epoch)
        self.relay.push.remote(("truncate", last_epoch))

    def stop_requested(self) -> bool:
        import ray

        if time.time() - self.asked >= STOP_POLL_S:
            self.asked = time.time()
            self.stop = self.stop or ray.get(self.relay.stop_requested.remote())
        return self.stop or super().stop_requested()  # a SIGTERM on the worker writes STOP there

    def flush(self) -> None:
        import ray

        ray.get(self.relay.flush.remote())


def _train_remote(config: dict, run_id: str, shipped: bytes | None, models: dict, relay,
                  resume: bool) -> bytes:
    """In a trainer: the run trained (or resumed from the ``shipped`` folder) in a temporary folder,
    its writes relayed; returns the model, TensorBoard files and log, packed."""
    import ray

    with tempfile.TemporaryDirectory(prefix="dae-run-") as tmp:
        run = RelayedRun(Path(tmp) / run_id, relay)
        ray_cluster.unpack(shipped, run.path) if shipped else run.path.mkdir()
        for key, ref in models.items():  # the model files it starts from, under this machine's paths
            config = {**config, key: str(Path(tmp) / f"{key}.keras")}
            Path(config[key]).write_bytes(ray.get(ref))  # refs inside a dict arrive unresolved
        run.write_config(ray_cluster.local_data_dir(config))
        # First, so the driver hears it started; the driver's pid means nothing on this machine.
        run.set_status("queued", pid=None, **ray_cluster.placement())
        from dae_core.training import train  # TensorFlow: seconds, for a trainer's first run only

        with ray_cluster.worker_scope(run.log_path):
            try:
                train.train_run(run, resume=resume, verbose=True)
            except Exception:  # noqa: BLE001 - recorded as failed in the status; the log has the trace
                traceback.print_exc()
        run.flush()
        return ray_cluster.pack(run.path, skip=RESULT_SKIP)


class Landing:
    """The driver's side: what the relay brings, written into the run folder here. The worker's
    ending status waits until the model and log it returns are in place."""

    def __init__(self, run: Run, verbose: bool):
        self.run, self.verbose, self.ending, self.heard = run, verbose, None, False

    def apply(self, items: list[tuple]) -> None:
        for kind, *payload in items:
            self.heard = True
            getattr(self, f"_{kind}")(*payload)

    def _metric(self, record: dict) -> None:
        self.run.append_metric(record)
        if self.verbose and record.get("kind") == "epoch":
            figures = "  ".join(f"{k} {v:.4f}" for k, v in record.items()
                                if k not in ("kind", "epoch", "time", "seconds", "partial", "learning_rate"))
            print(f"[{self.run.id}] epoch {record['epoch']}  {record.get('seconds', 0):.1f}s  {figures}", flush=True)

    def _status(self, state: str, fields: dict) -> None:
        if "pid" in fields:  # the worker's process; this run's pid stays the driver's (Run.state)
            fields = dict(fields)
            fields["worker_pid"] = fields.pop("pid")
        if state in ACTIVE_STATES:
            self.run.set_status(state, **fields)
        else:
            self.ending = (state, {**(self.ending[1] if self.ending else {}), **fields})

    def _files(self, files: dict[str, bytes]) -> None:
        from dae_core.training.callbacks import EpochCheckpoint

        for name, data in files.items():
            _write_atomic(self.run.path / name, data)
        for _, old in self.run.checkpoints()[EpochCheckpoint.KEEP:]:
            old.unlink(missing_ok=True)

    def _truncate(self, epoch: int) -> None:
        self.run.truncate_metrics(epoch)

    def _set_aside(self, name: str) -> None:
        """The worker found checkpoint ``name`` damaged and set its copy aside: so is this one,
        under the same name (``*.damaged``), and a resume here never meets it again."""
        path = self.run.path / name
        if fnmatch.fnmatch(name, ray_cluster.CHECKPOINTS) and path.name == name and path.is_file():
            os.replace(path, path.with_name(name + DAMAGED))

    def land(self, packed: bytes) -> dict:
        """The call's result in place (its log after this process's), then its ending status."""
        with tempfile.TemporaryDirectory(dir=self.run.path, prefix=".landing-") as tmp:
            ray_cluster.unpack(packed, Path(tmp))
            for path in sorted(Path(tmp).rglob("*")):
                if path.is_file() and path.name != "log.txt":
                    (self.run.path / path.relative_to(tmp)).parent.mkdir(parents=True, exist_ok=True)
                    os.replace(path, self.run.path / path.relative_to(tmp))
            worker_log = Path(tmp) / "log.txt"
            if worker_log.exists():
                with open(self.run.log_path, "a") as log:
                    log.write(f"--- the Ray worker's log ---\n{worker_log.read_text(errors='replace')}")
        state, fields = self.ending or ("failed", {"error": "the Ray task ended without a status"})
        return self.run.set_status(state, **fields)


def _write_atomic(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.partial")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def train_on_ray(run: Run, address: str | None = None, *, resume: bool = False,
                 gpus_per_run: float | None = None, retries: int = 1, verbose: bool = True,
                 trainers: ray_cluster.Trainers | None = None) -> dict:
    """Train (or resume) ``run`` on the Ray cluster at ``address`` (see ``ray_cluster.connect``),
    following it here until it ends; returns its final status. A worker lost on the way is resumed
    from the last checkpoint here, up to ``retries`` times. ``trainers``: those a driver keeps for its
    next runs (the run trains in an idle one of its GPU share, TensorFlow loaded); None: one for this
    run only, ended with it."""
    try:
        connected = ray_cluster.connect(address)
    except JobError as e:  # said on the run's page too (a run started there has its folder already)
        run.set_status("failed", error=str(e))
        raise
    try:
        if trainers is not None:
            return _drive(run, address, resume, gpus_per_run, retries, verbose, trainers)
        with ray_cluster.Trainers() as own:
            return _drive(run, address, resume, gpus_per_run, retries, verbose, own)
    finally:
        if connected:
            connected.shutdown()


def _drive(run: Run, address, resume: bool, gpus_per_run, retries: int, verbose: bool,
           trainers: ray_cluster.Trainers) -> dict:
    import ray

    config = check_config(TrainConfig.from_dict(run.config()))  # its model files exist here
    gpus = ray_cluster.gpu_share(gpus_per_run)
    models = {key: ray.put(path.read_bytes()) for key, path in _start_models(config).items()}
    run.set_status("queued", pid=os.getpid(), ray=address or "auto", ray_gpus_asked=gpus, **WORKER_UNKNOWN)
    for attempt in range(retries + 1):
        shipped = ray_cluster.pack(run.path, skip=RESUME_SKIP) if resume else None
        relay = _new_relay()
        landing = Landing(run, verbose)
        trainer = trainers.take(gpus)
        ref = trainer.call.remote(_train_remote, run.config(), run.id, shipped, models, relay, resume)
        try:
            return _follow(run, relay, ref, landing, lambda: trainers.drop(trainer))
        except ray.exceptions.RayTaskError as e:  # packing or unpacking failed on the worker
            trainers.drop(trainer)
            return run.set_status("failed", error=f"the Ray task failed: {e.cause or e}")
        except ray.exceptions.RayError as e:  # its worker process or node died
            trainers.drop(trainer)
            lost = f"the Ray worker was lost ({type(e).__name__})"
            if attempt == retries:
                return run.set_status("failed", error=lost)
            latest = run.latest_checkpoint()
            note = f"{lost}; resumed from epoch {latest[0]}" if latest else f"{lost}; started again"
            run.set_status("queued", note=note, lost_workers=attempt + 1, **WORKER_UNKNOWN)  # the note goes when it runs
            _say(verbose, note)
            resume = True
        finally:
            ray.kill(relay)
            trainers.give_back(trainer)  # after a run that ended there (a dropped one is not)
    raise AssertionError("unreachable")


def _follow(run: Run, relay, ref, landing: Landing, abandon) -> dict:
    """Take what the worker sends until its run ends, passing a stop request on; then land its
    result. A stop before the worker has said anything ``abandon``s its trainer (ends it): it may
    wait long for room, and Ray cannot cancel a call an actor has begun (loading TensorFlow)."""
    import ray

    asked = False
    while True:
        done, _ = ray.wait([ref], timeout=POLL_S)
        landing.apply(ray.get(relay.take.remote()))
        if done:
            break
        if not asked and run.stop_requested():
            asked = True
            relay.request_stop.remote()
            if not landing.heard:
                abandon()
                return run.set_status("stopped", error="stopped while waiting for the Ray cluster")
    landing.apply(ray.get(relay.take.remote()))  # the last ones: the call flushed before returning
    return landing.land(ray.get(ref))


def _start_models(config: TrainConfig) -> dict[str, Path]:
    """The model files the run starts from (driver paths), by the config field that names them."""
    found = {"init_from": Path(config.init_from)} if config.init_from else {}
    autoencoder = resolve_autoencoder(config) if config.spec.needs_autoencoder else None
    return {**found, "encoder_from": autoencoder} if autoencoder else found


def _new_relay():
    """A relay on this node: the driver asks it ten times a second (soft: anywhere, if it must)."""
    import ray
    from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

    here = NodeAffinitySchedulingStrategy(ray.get_runtime_context().get_node_id(), soft=True)
    return ray.remote(num_cpus=0)(Relay).options(scheduling_strategy=here).remote()


def _say(verbose: bool, line: str) -> None:
    if verbose:
        print(line, flush=True)
