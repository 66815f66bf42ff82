"""Starting, stopping and watching training processes (for the dashboard).

A training runs as ``python -m dae_core train --run-dir DIR`` in its own process
and session, so the page stays responsive and a crash cannot take the server
down. Everything about it is read back from its run folder (see ``runs``).
One training at a time per runs folder: a second one waits as ``queued`` for the
lock that ``train.training_slot`` takes. Imports neither streamlit nor TensorFlow.
"""

from __future__ import annotations

import dataclasses
import os
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from dae_core.errors import JobError
from dae_core.settings import PROJECT_ROOT
from dae_core.store.runs import ACTIVE_STATES, Run, list_runs
from dae_core.training import ray_cluster
from dae_core.training.config import TrainConfig
from dae_core.training.durations import format_duration
from dae_core.training.preflight import check_config

# Processes this server started, kept so they are reaped (no zombies) once they end.
_PROCS: dict[int, subprocess.Popen] = {}


def spawn(args: list[str], log_path: Path) -> int:
    """Start ``python -m dae_core ARGS`` detached (its own session: a server restart does not
    end it), output to ``log_path``; returns its pid."""
    env = dict(os.environ)  # DAE_DATA_DIR, DAE_MODELS_DIR, DAE_RUNS_DIR ... travel with it
    env["PYTHONUNBUFFERED"] = "1"
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    _reap()
    with open(log_path, "a") as log:
        proc = subprocess.Popen([sys.executable, "-m", "dae_core", *args], cwd=PROJECT_ROOT, env=env,
                                stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                                start_new_session=True)
    _PROCS[proc.pid] = proc
    return proc.pid


def _launch(run: Run, args: list[str]) -> int:
    """Start the run's training process; record its pid."""
    # Where it trains, said before its process starts (which connects to the cluster, seconds
    # later): a run on a Ray cluster takes no place in this machine's queue (queue_position).
    if "--ray" in args:
        run.set_status("queued", ray=args[args.index("--ray") + 1])
    else:  # a former Ray run resumed here
        ray_cluster.forget(run)
    pid = spawn(args, run.log_path)
    # The child records its own pid too, seconds later (after its imports); only fill it in
    # while the child has not yet written, so its own state change is never overwritten.
    status = run.status()
    if status.get("pid") != pid and status.get("state") in (*ACTIVE_STATES, "unknown"):
        run.set_status("queued", pid=pid)
    return pid


def _reap() -> None:
    for pid, proc in list(_PROCS.items()):
        if proc.poll() is not None:
            del _PROCS[pid]


def start_training(config: TrainConfig, runs_dir: str | Path | None = None, extra_args=()) -> Run:
    """Create a run for ``config`` and train it in a separate process; returns at once.
    ``extra_args``: more options of ``train`` (e.g. ``--ray ADDRESS``: where it trains)."""
    config = check_config(config)
    run = Run.create(config.to_dict(), runs_dir)
    _launch(run, ["train", "--run-dir", str(run.path.absolute()), "--runs-dir", str(run.path.parent.absolute()),
                  *extra_args])
    return run


def resume(run: Run, extra_args=()) -> Run:
    """Continue a killed, failed or stopped run from its last finished epoch, in a new process
    (``extra_args``: more options of ``resume``, as for ``start_training``)."""
    if not run.can_resume():
        raise JobError(f"run {run.id} is {run.state()}"
                       + ("" if run.checkpoint_path.exists() else " and has no epoch checkpoint")
                       + ": only a stopped or failed run with a finished epoch can be resumed.")
    run.clear_stop()
    run.set_status("queued", pid=None)
    _launch(run, ["resume", run.id, "--runs-dir", str(run.path.parent.absolute()), *extra_args])
    return run


def stop(run: Run) -> None:
    """Ask the training to end after its current batch (or leave the queue); the model is kept."""
    run.request_stop()


def active_runs(runs_dir: str | Path | None = None) -> list[Run]:
    """Running and queued runs, oldest first (the order they were started)."""
    _reap()
    runs = [r for r in list_runs(runs_dir) if r.may_be_active()]
    return sorted(runs, key=Run.created)


def active_run(runs_dir: str | Path | None = None) -> Run | None:
    """The run a page should follow: the one running, else the first queued; None if idle."""
    runs = active_runs(runs_dir)
    running = [r for r in runs if r.status().get("state") == "running"]
    return (running or runs or [None])[0]


def queue_position(run: Run) -> int:
    """How many active runs of the same runs folder are ahead of ``run`` (0: none, it is next).
    Runs on a Ray cluster (their status names it) neither wait for this machine's training lock
    nor hold it: they are in no one's way here, and nothing here is in theirs."""
    if run.state() != "queued" or run.status().get("ray"):
        return 0
    others = [r for r in active_runs(run.path.parent) if r.path != run.path and not r.status().get("ray")]
    return sum(1 for r in others if r.status().get("state") == "running" or r.created() < run.created())


@dataclass(frozen=True)
class RunProgress:
    """What a page shows about a run at one moment."""

    state: str
    epoch: int  # whole epochs done
    epochs: int
    fraction: float  # of the current epoch, 0-1
    eta_s: float | None  # while running
    device: str | None
    error: str | None
    queue_position: int  # active runs ahead of it (0: none)
    resumable: bool
    test: dict = field(default_factory=dict)  # the test figures, once completed
    message: str = ""
    note: str | None = None  # something the run met on the way (a damaged checkpoint passed over)

    @property
    def active(self) -> bool:
        return self.state in ACTIVE_STATES


def progress(run: Run) -> RunProgress:
    """The run's state, epochs, place within the epoch, ETA, device and a message for people;
    a damaged config or status gives state ``damaged``, its message naming the file and the fix."""
    status, state = run.status(), run.state()
    damaged = status.get("damaged")
    try:
        planned = run.config().get("epochs", 0)
    except ValueError as e:  # DamagedFileError: the run cannot be trusted, nor resumed
        planned, state, damaged = 0, "damaged", str(e)
    epochs = status.get("epochs") or planned
    epoch = status.get("epoch") or 0
    fraction = 0.0
    batches = run.metrics("batch")
    if state == "running" and batches and batches[-1].get("epoch") == epoch + 1:
        last = batches[-1]
        fraction = min(1.0, last.get("step", 0) / max(1, last.get("steps", 1)))
    eta = status.get("eta_s") if state == "running" else None
    if eta is not None:  # the status was written at the last epoch's end: count down since then
        eta = max(0.0, eta - (time.time() - status.get("updated", time.time())))
    info = RunProgress(state, epoch, epochs, fraction, eta, status.get("device"), status.get("error"),
                       queue_position(run), state != "damaged" and run.can_resume(),
                       status.get("test", {}) if state == "completed" else {},
                       note=" ".join(n for n in (status.get("note"), damaged) if n) or None)
    return dataclasses.replace(info, message=_message(run, info))


def _message(run: Run, p: RunProgress) -> str:
    if p.state == "queued":
        status = run.status()
        if status.get("ray"):  # its driver waits for no lock here: the cluster gives it room, or not yet
            if status.get("node"):
                return f"Starting on {status['node']}: loading TensorFlow and the data..."
            gpus = status.get("ray_gpus_asked") or 0
            room = "a CPU" + (f" and {gpus:g} GPU{'s' * (gpus > 1)}" if gpus else "")
            return (f"Queued: waiting for the Ray cluster at {status['ray']} to give it {room}. "
                    "It starts by itself when the cluster has room (or stop it).")
        if p.queue_position:
            return (f"Queued: one training at a time on this machine, {p.queue_position} ahead of it. "
                    "It starts by itself when they end (or stop them).")
        return "Starting: loading TensorFlow and the data..."
    if p.state == "running":
        parts = [f"epoch {min(p.epoch + 1, p.epochs)}/{p.epochs}"]
        if p.eta_s is not None:
            parts.append(f"ETA {format_duration(p.eta_s)}")
        if p.device:
            parts.append(p.device)
        return " · ".join(parts)
    if p.state == "failed":
        resumable = " It can be resumed from its last epoch." if p.resumable else ""
        error = (p.error or "the training process ended unexpectedly").rstrip(".")  # one period, not two
        return (f"Failed: {error}. "
                f"See {run.log_path}.{resumable}")
    if p.state == "stopped":
        return f"Stopped after epoch {p.epoch}/{p.epochs}; the model learned so far is kept."
    if p.state == "completed":
        return f"Completed {p.epochs} epoch{'' if p.epochs == 1 else 's'} on {p.device or 'an unknown device'}."
    if p.state == "damaged":
        return f"Run {run.id} is damaged: {p.note}"
    return f"Run {run.id} has no readable status."


def wait(run: Run, timeout_s: float = 120.0, poll_s: float = 0.5,
         states: tuple[str, ...] = ("completed", "failed", "stopped")) -> str:
    """Block until the run reaches one of ``states`` (for tests and scripts); returns the state."""
    deadline = time.time() + timeout_s
    while time.time() < deadline:
        state = run.state()
        if state in states:
            _reap()
            return state
        time.sleep(poll_s)
    raise TimeoutError(f"run {run.id} still {run.state()} after {timeout_s:.0f} s; see {run.log_path}")
