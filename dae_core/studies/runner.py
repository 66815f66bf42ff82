"""Running a study: each member's config, and the local executor (one member after another in this
process, TensorFlow and the data loaded once). The Ray executor is ``ray_executor``."""

from __future__ import annotations

import json
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

from dae_core.errors import DamagedFileError, JobError
from dae_core.settings import models_dir
from dae_core.store.files import inside, write_json_atomic
from dae_core.store.runs import Run, default_runs_dir, list_runs, pid_alive
from dae_core.studies.store import LOG_FILE, PROCESS_FILE, Design, Member, Study, study_folder
from dae_core.training import jobs
from dae_core.training.config import TrainConfig
from dae_core.training.durations import eta_seconds, format_duration


def member_config(study: Study, member: Member) -> TrainConfig:
    """The member's config, a prerequisite member's model filled in where it names one."""
    values = dict(member.config)
    check_encoder_from(study, member)
    if member.needs:
        source = study.run_of(member.needs)
        if source is None or not source.model_path.exists():
            raise JobError(f"member {member.key} needs {member.needs}, which has not finished.")
        values["encoder_from"] = str(source.model_path)
    return TrainConfig.from_dict(values)


def check_encoder_from(study: Study, member: Member) -> None:
    """A member starts from another member of its study (``member:<key>``) or from a model file
    inside the runs folder or the models folder (symlinks resolved): study.json names nothing
    else, so a damaged or edited one cannot make a member read a file from anywhere."""
    source = member.config.get("encoder_from")
    if source is None:
        return
    if not isinstance(source, str):
        problem = f"member {member.key} starts from {source!r}, no file name"
    elif member.needs is not None:
        known = member.needs in {m.key for m in study.design().members}
        problem = None if known else f"member {member.key} starts from {source}, no member of the study"
    elif any(inside(source, folder) for folder in (study.runs_root, models_dir())):
        problem = None
    else:
        problem = (f"member {member.key} starts from {source[:200]!r}, outside the runs folder "
                   f"{study.runs_root} and the models folder {models_dir()}")
    if problem:
        raise DamagedFileError(study.file, problem, "run the study again under another --id, or put the "
                               "encoder's model file into the models folder")


def run_locally(study: Study, verbose: bool = True, on_member=None) -> list[Member]:
    """Train the members not yet completed, one after another in this process (TensorFlow and
    the data load once); returns those still not completed (after a stop request)."""
    from dae_core.training import train

    todo = [m for m in study.design().members if not study.done(m)]
    total, durations = len(study.design().members), []
    for finished, member in enumerate(todo, start=1):
        if verbose:  # which member the epoch lines below belong to
            print(f"[study {study.path.name}] member {member.key}: {total - len(todo) + finished} of {total}",
                  flush=True)
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


def member_runs(study: Study) -> list[Run]:
    """The runs of the study's members that have one."""
    return [run for m in study.design().members if (run := study.run_of(m.key))]


def training_seconds(study: Study) -> float:
    """The members' training time in all, from their own epoch records."""
    return sum(member_seconds(run) for run in member_runs(study))


def trained_on(study: Study) -> str:
    """Where the members trained, as each run recorded it ("CPU (2 cores)"; several joined)."""
    from dae_core.training.run_table import trained_on as where

    return "; ".join(sorted({where(run.status()) for run in member_runs(study)} - {""}))


def start_study(name: str, options: list[str], study_id: str | None = None,
                runs_dir: str | Path | None = None) -> Path:
    """Run (or continue) a study in its own process; its members queue like any training.
    Returns the study's folder, where ``process.json`` names the process."""
    runs_dir = Path(runs_dir or default_runs_dir()).absolute()
    folder = study_folder(study_id or name, runs_dir)
    if study_active(folder):
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


def study_active(folder: Path) -> bool:
    """Whether the study in ``folder`` is being worked on: the process started for it is alive,
    or one of its members' runs is queued or running (a study started on the command line)."""
    if study_running(folder):
        return True
    study = Study(folder)
    try:
        runs = study.read()["runs"].values() if study.exists() else ()
    except DamagedFileError:
        return False
    return any(Run(study.runs_root / run_id).is_active() for run_id in runs if (study.runs_root / run_id).is_dir())


# --- how long a study will take ------------------------------------------------------------------

ROUGH_MEMBER_SECONDS = 60  # a member of 1,000 steps of 100 images on a 2-core CPU, about


@dataclass(frozen=True)
class Estimate:
    """Training time left for a study: ``left`` of ``total`` members, ``seconds`` in all, and
    what the figure rests on (``basis``, in words)."""

    seconds: float
    left: int
    total: int
    basis: str


def member_seconds(run: Run) -> float:
    """A member's training time, from its own epoch records."""
    return sum(r.get("seconds", 0.0) for r in run.metrics("epoch"))


def estimate(design: Design, study: Study | None = None, per_member: float | None = None) -> Estimate:
    """The training time left for ``design``'s members not completed in ``study`` (if any): each
    at the mean time of the completed members of its kind (prerequisite, or not), else at
    ``per_member`` seconds (e.g. the shipped results' pace), else at ``ROUGH_MEMBER_SECONDS``."""
    runs = study.read()["runs"] if study is not None and study.exists() else {}
    finished: dict[bool, list[float]] = {True: [], False: []}
    left = []
    for member in design.members:
        run = Run(study.runs_root / runs[member.key]) if member.key in runs else None
        if run is not None and run.path.is_dir() and run.status().get("state") == "completed":
            finished[member.arm == "pretrain"].append(member_seconds(run))
        else:
            left.append(member)
    fallback = per_member or ROUGH_MEMBER_SECONDS
    pace = {kind: sum(times) / len(times) if times else fallback for kind, times in finished.items()}
    seconds = sum(pace[member.arm == "pretrain"] for member in left)
    done = len(finished[True]) + len(finished[False])
    unpaced = any(not finished[m.arm == "pretrain"] for m in left)
    basis = [f"the pace of the {done} member{'s' * (done != 1)} finished here"] if done else []
    if unpaced:
        each = f"{fallback:.0f} s" if fallback < 120 else f"{fallback / 60:.0f} min"
        source = "the shipped results' pace" if per_member else "a rough figure"
        basis.append(f"{source} of {each} per member"
                     + (" for the others" if done else ""))
    return Estimate(seconds, len(left), len(design.members), ", ".join(basis) or "nothing left to train")


# --- the demo: a study in a runs folder of its own ------------------------------------------------

DEMO_FOLDER = "demo"  # <runs>/demo/: its runs never join the ordinary runs (no run folder has this name)


def demo_runs_dir(runs_dir: str | Path | None = None) -> Path:
    return Path(runs_dir or default_runs_dir()) / DEMO_FOLDER


def clear_demo(runs_dir: str | Path | None = None) -> bool:
    """Delete the demo's runs folder and all in it (False when there is none). Refuses while a
    study or run in it is active, and a link in its place (nothing outside the folder is deleted)."""
    folder = demo_runs_dir(runs_dir)
    if folder.is_symlink() or (folder.exists() and not folder.is_dir()):
        raise JobError(f"{folder} is not the demo's folder (a link or a file): remove it by hand.")
    if not folder.exists():
        return False
    studies = folder / "studies"
    active = [s.name for s in studies.iterdir() if study_active(s)] if studies.is_dir() else []
    active += [run.id for run in list_runs(folder) if run.is_active()]
    if active:
        raise JobError(f"the demo is still running ({', '.join(active[:3])}): wait for it to end, then clear it.")
    shutil.rmtree(folder)
    return True
