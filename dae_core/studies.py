"""Studies: a named grid of ordinary runs (arms x settings x seeds) that answers one question.

Each member is a run in the run store like any other (the Train page, ``runs``, ``resume`` and
TensorBoard see it); the study's folder (``<runs>/studies/<id>/study.json``) lists which run is
which member. Results are read from the members' own records, never typed in. Running the same
command again continues a study: completed members are kept, an interrupted one resumes from its
last epoch. Executors: this process, one member after another (``run_locally``), or a Ray
cluster (``dae_core.ray_executor``). The studies themselves are in ``study_designs``.
"""

from __future__ import annotations

import dataclasses
import json
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path

from dae_core import settings
from dae_core.config import TrainConfig
from dae_core.durations import eta_seconds, format_duration
from dae_core.errors import JobError, NotFoundError
from dae_core.runs import Run, default_runs_dir, write_json_atomic

PRETRAINED = "member:"  # an encoder_from naming another member: that member's model


@dataclass(frozen=True)
class Member:
    """One run of a study: its arm, its settings (e.g. ``{"labels": 100}``) and its seed."""

    key: str
    arm: str
    seed: int
    config: dict  # a TrainConfig's fields; encoder_from may be "member:<key>"
    setting: dict = field(default_factory=dict)

    @property
    def needs(self) -> str | None:
        source = self.config.get("encoder_from") or ""
        return source.removeprefix(PRETRAINED) if source.startswith(PRETRAINED) else None


@dataclass(frozen=True)
class Design:
    """What a study runs: its members (prerequisites first), and what its results measure."""

    name: str
    question: str
    members: tuple[Member, ...]
    axis: str | None = None  # the setting the chart puts on its x axis
    value: str = "accuracy"  # the members' test figure the study compares

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


# --- the study folder ---------------------------------------------------------------------

class Study:
    """A study's folder: its design and the run of each member; reads are fresh from disk."""

    def __init__(self, path: Path):
        self.path = Path(path)

    @classmethod
    def open(cls, design: Design, study_id: str | None = None, runs_dir=None) -> "Study":
        """The study folder for ``design``, created on first use; refuses a folder whose
        design differs (another grid under the same name)."""
        root = Path(runs_dir or default_runs_dir())
        study = cls(root / "studies" / (study_id or design.name))
        if study.file.exists():
            if study.read()["design"] != json.loads(json.dumps(design.to_dict())):
                raise JobError(f"study {study.path.name!r} exists with other settings: run it as it "
                               "was, or give this one another name with --id.")
        else:
            study.path.mkdir(parents=True, exist_ok=True)
            write_json_atomic(study.file, {"design": design.to_dict(), "runs": {}, "created": time.time()})
        return study

    @property
    def file(self) -> Path:
        return self.path / "study.json"

    @property
    def runs_root(self) -> Path:
        return self.path.parent.parent

    def read(self) -> dict:
        try:
            return json.loads(self.file.read_text())
        except (OSError, ValueError) as e:
            raise NotFoundError(f"{self.file} is missing or damaged ({e}): run the study again.") from e

    def design(self) -> Design:
        d = self.read()["design"]
        return Design(**{**d, "members": tuple(Member(**m) for m in d["members"])})

    def run_of(self, key: str) -> Run | None:
        run_id = self.read()["runs"].get(key)
        return Run(self.runs_root / run_id) if run_id and (self.runs_root / run_id).is_dir() else None

    def record(self, key: str, run: Run) -> None:
        state = self.read()
        state["runs"][key] = run.id
        write_json_atomic(self.file, state)

    def done(self, member: Member) -> bool:
        run = self.run_of(member.key)
        return run is not None and run.status().get("state") == "completed"


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
    from dae_core import train

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
    resumable = run is not None and run.state() in ("failed", "stopped") and run.latest_checkpoint()
    if not resumable:
        run = Run.create(member_config(study, member).to_dict(), study.runs_root)
        study.record(member.key, run)
    keras.backend.clear_session()  # each member builds its models afresh
    return train.train_run(run, resume=bool(resumable), verbose=verbose)["state"]


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


def shipped_results(name: str):
    """The results that ship with the project for study ``name`` (a DataFrame), or None."""
    import pandas as pd

    path = settings.studies_dir() / name / "results.csv"
    return pd.read_csv(path) if path.exists() else None


def ship(folder: Path, name: str, command: str, seconds: float) -> Path:
    """Copy a study's results into the shipped studies folder, with how they were made."""
    target = settings.studies_dir() / name
    target.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(folder / "results.csv", target / "results.csv")
    write_json_atomic(target / "about.json", {"command": command, "seconds": round(seconds),
                                              "finished": time.strftime("%Y-%m-%d")})
    return target


# --- results ---------------------------------------------------------------------------

def results(study: Study):
    """One row per completed member: key, arm, its settings, seed, preset, test figures, run id."""
    import pandas as pd

    rows = []
    design = study.design()
    for member in design.members:
        run = study.run_of(member.key)
        status = run.status() if run else {}
        if status.get("state") != "completed" or member.arm == "pretrain":
            continue
        test = status.get("test", {})
        rows.append({"key": member.key, "arm": member.arm, **member.setting, "seed": member.seed,
                     "preset": run.config().get("preset"), **{k: v for k, v in test.items() if isinstance(v, (int, float))}, "run": run.id})
    return pd.DataFrame(rows)


# Pairs worth testing, and what each pair asks, in plain words.
QUESTIONS = (("task3", "task2", "does Task 3 beat Task 2?"),
             ("mnist-ae", "scratch", "does the MNIST encoder beat a CNN from scratch?"),
             ("random-init", "scratch", "does the Task 3 architecture alone beat the Task 2 CNN?"),
             ("mnist-ae", "random-init", "does MNIST pretraining beat the same model from random weights?"),
             ("fashion-ae", "random-init", "does in-domain pretraining (no labels) beat random weights?"))


def summary(table, axis: str | None = None, value: str = "accuracy"):
    """Mean and 95% interval of ``value`` per arm (and ``axis`` setting, e.g. labels)."""
    from dae_core import stats

    return stats.summarise(table, ["arm"] + ([axis] if axis else []), value)


def findings(table, axis: str | None = None, value: str = "accuracy") -> list[str]:
    """Sentences on each question the study's arms can answer, per axis setting, from paired
    tests over seeds (a member without its pair at the same seed is left out)."""
    from dae_core import stats

    sentences = []
    groups = table.groupby(axis) if axis else [(None, table)]
    for a, b, question in QUESTIONS:
        if not {a, b} <= set(table.get("arm", ())):
            continue
        for setting, rows in groups:
            by_seed = rows.pivot_table(index="seed", columns="arm", values=value).dropna()
            if a not in by_seed or b not in by_seed:
                continue
            test = stats.paired_test(by_seed[a], by_seed[b])
            where = f"With {int(setting):,} labels, " if axis else ""
            sentences.append(f"{where}{question} {stats.verdict(test, a, b)}")
    return sentences


def mcnemar_per_seed(study: Study, x, y) -> list[str]:
    """McNemar's test of Task 3 against Task 2 at each seed where both finished (their models
    on the same test images ``x``, labels ``y``)."""
    from dae_core import evaluate, stats
    from dae_core.models import load_model

    sentences = []
    for member in study.design().members:
        partner = study.run_of(member.key.replace("task2", "task3"))
        run = study.run_of(member.key)
        if member.arm != "task2" or not (run and partner and run.model_path.exists()
                                         and partner.model_path.exists()):
            continue
        preds = [evaluate.predict(load_model(r.model_path), x).argmax(axis=1) for r in (partner, run)]
        result = stats.mcnemar(y, *preds)
        sentences.append(f"Seed {member.seed}: {result.sentence('Task 3', 'Task 2')}")
    return sentences
