"""Running a study: each member's config, and the local executor (one member after another in this
process, TensorFlow and the data loaded once). The Ray executor is ``ray_executor``."""

from __future__ import annotations

import json
import time
from pathlib import Path

from dae_core.errors import JobError
from dae_core.store.runs import Run, default_runs_dir, pid_alive, write_json_atomic
from dae_core.studies.store import LOG_FILE, PROCESS_FILE, Member, Study, study_folder
from dae_core.training import jobs
from dae_core.training.config import TrainConfig
from dae_core.training.durations import eta_seconds, format_duration


def member_config(study: Study, member: Member) -> TrainConfig:
    """The member's config, a prerequisite member's model filled in where it names one."""
    values = dict(member.config)
    if member.needs:
        source = study.run_of(member.needs)
        if source is None or not source.model_path.exists():
            raise JobError(f"member {member.key} needs {member.needs}, which has not finished.")
        values["encoder_from"] = str(source.model_path)
    return TrainConfig.from_dict(values)


def run_locally(study: Study, verbose: bool = True, on_member=None) -> list[Member]:
    """Train the members not yet completed, one after another in this process (TensorFlow and
    the data load once); returns those still not completed (after a stop request)."""
    from dae_core.training import train

    todo = [m for m in study.design().members if not study.done(m)]
    total, durations = len(study.design().members), []
    for finished, member in enumerate(todo, start=1):
        started = time.time()
        if _run_member(study, member, train, verbose) != "completed":
            return todo[finished - 1:]
        durations.append(time.time() - started)
        remaining = len(todo) - finished
        if verbose:
            print(f"[study {study.path.name}] {total - remaining}/{total} members done · "
                  f"ETA {format_duration(eta_seconds(durations, remaining))}", flush=True)
        if on_member:
            on_member(member)
    return []


def _run_member(study: Study, member: Member, train, verbose: bool) -> str:
    import keras

    run = study.run_of(member.key)
    resumable = run is not None and run.can_resume()
    if not resumable:
        run = Run.create(member_config(study, member).to_dict(), study.runs_root)
        study.record(member.key, run)
    keras.backend.clear_session()  # each member builds its models afresh
    return train.train_run(run, resume=resumable, verbose=verbose)["state"]


def progress(study: Study) -> tuple[int, int]:
    """(members completed, members in all)."""
    members, runs = study.design().members, study.read()["runs"]
    done = sum(Run(study.runs_root / runs[m.key]).status().get("state") == "completed"
               for m in members if m.key in runs)
    return done, len(members)


def training_seconds(study: Study) -> float:
    """The members' training time in all, from their own epoch records."""
    runs = [study.run_of(m.key) for m in study.design().members]
    return sum(r.get("seconds", 0.0) for run in runs if run for r in run.metrics("epoch"))


def start_study(name: str, options: list[str], study_id: str | None = None,
                runs_dir: str | Path | None = None) -> Path:
    """Run (or continue) a study in its own process; its members queue like any training.
    Returns the study's folder, where ``process.json`` names the process."""
    runs_dir = Path(runs_dir or default_runs_dir()).absolute()
    folder = study_folder(study_id or name, runs_dir)
    if study_running(folder):
        raise JobError(f"study {folder.name} is already running; wait for it or stop its runs.")
    folder.mkdir(parents=True, exist_ok=True)
    args = ["study", name, *options, "--runs-dir", str(runs_dir)] + (["--id", study_id] if study_id else [])
    write_json_atomic(folder / PROCESS_FILE, {"pid": jobs.spawn(args, folder / LOG_FILE), "args": args})
    return folder


def study_running(folder: Path) -> bool:
    """Whether the process last started for the study in ``folder`` is still alive."""
    try:
        return pid_alive(json.loads((folder / PROCESS_FILE).read_text()).get("pid"))
    except (OSError, ValueError):
        return False
