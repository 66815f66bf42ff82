"""Studies: a named grid of ordinary runs (arms x settings x seeds) that answers one question.

Each member is a run in the run store like any other (the Train page, ``runs``, ``resume`` and
TensorBoard see it); the study's folder (``<runs>/studies/<id>/study.json``) lists which run is
which member. Results are read from the members' own records, never typed in. Running the same
command again continues a study: completed members are kept, an interrupted one resumes from its
last epoch. Executors: this process, one member after another (``run_locally``), or a Ray
cluster (``dae_core.studies.ray_executor``). The studies themselves are in ``study_designs``.
"""

from __future__ import annotations

import dataclasses
import json
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path

from dae_core import settings
from dae_core.errors import JobError, NotFoundError
from dae_core.store.runs import Run, default_runs_dir, write_json_atomic

PRETRAINED = "member:"  # an encoder_from naming another member: that member's model
# The study folder, <runs>/studies/<id>/, and a shipped study's, studies/<name>/: named here only.
STUDY_FILE, RESULTS_FILE, ABOUT_FILE = "study.json", "results.csv", "about.json"
PROCESS_FILE, LOG_FILE = "process.json", "log.txt"  # the process started for it, and its output


def study_folder(study_id: str, runs_dir=None) -> Path:
    """Where study ``study_id``'s folder is (or would be) in the runs folder."""
    return Path(runs_dir or default_runs_dir()) / "studies" / study_id


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


class Study:
    """A study's folder: its design and the run of each member; reads are fresh from disk."""

    def __init__(self, path: Path):
        self.path = Path(path)

    @classmethod
    def open(cls, design: Design, study_id: str | None = None, runs_dir=None) -> "Study":
        """The study folder for ``design``, created on first use; refuses a folder whose
        design differs (another grid under the same name)."""
        study = cls(study_folder(study_id or design.name, runs_dir))
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
        return self.path / STUDY_FILE

    def exists(self) -> bool:
        return self.file.exists()

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


def shipped_results(name: str):
    """The results that ship with the project for study ``name`` (a DataFrame), or None."""
    import pandas as pd

    path = settings.studies_dir() / name / RESULTS_FILE
    return pd.read_csv(path) if path.exists() else None


def ship(folder: Path, name: str, command: str, seconds: float) -> Path:
    """Copy a study's results into the shipped studies folder, with how they were made."""
    target = settings.studies_dir() / name
    target.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(folder / RESULTS_FILE, target / RESULTS_FILE)
    write_json_atomic(target / ABOUT_FILE, {"command": command, "seconds": round(seconds),
                                              "finished": time.strftime("%Y-%m-%d")})
    return target


def shipped_about(name: str) -> dict:
    """How a shipped study's results were made (command, seconds, date); {} when not recorded."""
    path = settings.studies_dir() / name / ABOUT_FILE
    return json.loads(path.read_text()) if path.exists() else {}


def write_results(folder: Path, table) -> Path:
    """A study's results table (a DataFrame) into its folder; returns the file."""
    path = Path(folder) / RESULTS_FILE
    table.to_csv(path, index=False)
    return path


def read_results(folder: Path):
    """The results last written into a study folder (a DataFrame), or None."""
    import pandas as pd

    path = Path(folder) / RESULTS_FILE
    return pd.read_csv(path) if path.exists() else None
