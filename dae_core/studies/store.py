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
from dae_core.errors import DamagedFileError, JobError
from dae_core.store.files import is_int, is_number, is_plain_name, read_json, write_json_atomic
from dae_core.store.runs import Run, default_runs_dir

PRETRAINED = "member:"  # an encoder_from naming another member: that member's model
# The study folder, <runs>/studies/<id>/, and a shipped study's, studies/<name>/: named here only.
STUDY_FILE, RESULTS_FILE, ABOUT_FILE = "study.json", "results.csv", "about.json"
PROCESS_FILE, LOG_FILE = "process.json", "log.txt"  # the process started for it, and its output


def study_folder(study_id: str, runs_dir=None) -> Path:
    """Where study ``study_id``'s folder is (or would be) in the runs folder; ``study_id`` is a
    plain name (letters, digits, - and _), so the folder stays inside it."""
    if not is_plain_name(study_id):
        raise JobError(f"study id {study_id!r} is not a plain name: use letters, digits, - and _ only.")
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


def with_precision(design: Design, precision: str) -> Design:
    """The design with every member trained in ``precision`` (one of ``config.PRECISIONS``)."""
    members = tuple(dataclasses.replace(m, config={**m.config, "precision": precision})
                    for m in design.members)
    return dataclasses.replace(design, members=members)


def _comparable(design: dict) -> dict:
    """A design as JSON with each member's config completed by today's defaults, so a study
    started before a config field was added still continues (the new field at its default)."""
    from dae_core.training.config import TrainConfig

    design = json.loads(json.dumps(design))
    for member in design.get("members", []):
        encoder = member["config"].get("encoder_from")  # "member:<key>" is filled in later
        try:
            completed = TrainConfig.from_dict({**member["config"], "encoder_from": None}).to_dict()
        except (TypeError, ValueError):  # not a config today's code can run: compared as it is
            continue
        member["config"] = {**completed, "encoder_from": encoder}
    return design


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
            recorded = study.read()
            if _comparable(recorded["design"]) != _comparable(design.to_dict()):
                raise JobError(f"study {study.path.name!r} exists with other settings: run it as it "
                               "was, or give this one another name with --id.")
            _mark_runs(study, recorded["runs"].values())  # members recorded before runs named their study
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
        """study.json, checked: ``DamagedFileError`` naming it when it is missing, cut, binary or
        of the wrong shape (a member's run that is no plain run id included)."""
        fix = (f"delete {self.path} and run the study again (its members' runs stay), or give it "
               "another name with --id")
        data = read_json(self.file, fix)
        problem = _study_problem(data)
        if problem:
            raise DamagedFileError(self.file, problem, fix)
        return data

    def design(self) -> Design:
        d = self.read()["design"]
        return Design(**{**d, "members": tuple(Member(**m) for m in d["members"])})

    def run_of(self, key: str) -> Run | None:
        run_id = self.read()["runs"].get(key)
        return Run(self.runs_root / run_id) if run_id and (self.runs_root / run_id).is_dir() else None

    def record(self, key: str, run: Run) -> None:
        """``run`` is member ``key``; the run's meta says so too (``Run.meta().study``), so model
        pickers and the Overview leave study members out without reading any study.json."""
        state = self.read()
        state["runs"][key] = run.id
        write_json_atomic(self.file, state)
        mark_member(run, self.path.name)

    def done(self, member: Member) -> bool:
        run = self.run_of(member.key)
        return run is not None and run.status().get("state") == "completed"


def mark_member(run: Run, study_id: str) -> None:
    """Write ``study_id`` into the run's meta unless it says so already."""
    if run.meta().study != study_id and run.exists():
        run.update_meta(study=study_id)


_marked: dict[Path, int] = {}  # study.json -> the modification time whose members were marked


def mark_members(runs_dir=None) -> int:
    """Mark the members of every study in the runs folder as such (``mark_member``): studies
    recorded before runs carried their study. Each study.json is read again only once it has
    changed; returns how many runs were marked."""
    studies = Path(runs_dir or default_runs_dir()) / "studies"
    marked = 0
    for folder in sorted(studies.iterdir()) if studies.is_dir() else ():
        study = Study(folder)
        try:
            stamp = study.file.stat().st_mtime_ns
            if _marked.get(study.file) == stamp or not is_plain_name(folder.name):
                continue
            runs = study.read()["runs"].values()
        except (OSError, DamagedFileError):  # no study here, or a damaged one (the Studies page says so)
            continue
        marked += _mark_runs(study, runs)
        _marked[study.file] = stamp
    return marked


def _mark_runs(study: Study, run_ids) -> int:
    """Mark those of ``run_ids`` whose meta names no study yet; returns how many."""
    marked = 0
    for run_id in run_ids:
        run = Run(study.runs_root / run_id)
        meta = run.meta() if run.exists() and run.inside(study.runs_root) else None
        if meta is not None and meta.study is None and meta.damaged is None:  # a damaged one is named
            mark_member(run, study.path.name)
            marked += 1
    return marked


def _fields_problem(data, cls) -> str | None:
    """What is wrong with ``data`` as the fields of dataclass ``cls`` (None: nothing)."""
    if not isinstance(data, dict):
        return f"a JSON {type(data).__name__} where a {cls.__name__.lower()} belongs"
    fields = {f.name: f for f in dataclasses.fields(cls)}
    required = [n for n, f in fields.items()
                if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING]
    missing, unknown = [n for n in required if n not in data], [k for k in data if k not in fields]
    if missing or unknown:
        return f"{cls.__name__.lower()} fields missing: {missing}, unknown: {unknown}"
    return None


# study.json's typed fields: design (a Design), members (Members), runs (member key -> run id)
_TYPES = {"name": str, "question": str, "axis": (str, type(None)), "value": str, "key": str,
          "arm": str, "config": dict, "setting": dict}


def _study_problem(data) -> str | None:
    """What is wrong with study.json's content ``data`` (None: nothing)."""
    if not isinstance(data, dict) or not isinstance(data.get("runs"), dict):
        return "no object with a design and runs"
    design = data.get("design")
    problem = _fields_problem(design, Design)
    members = [] if problem else design["members"]
    if not problem and not isinstance(members, list):
        problem = "members is not a list"
    for member in members if not problem else []:
        problem = problem or _fields_problem(member, Member)
        if not problem and not is_int(member["seed"]):
            problem = f"member {member.get('key')!r}: seed {member['seed']!r} is not a whole number"
    checked = [design] + members if not problem else []
    wrong = [f"{k} {v!r}" for d in checked for k, v in d.items() if k in _TYPES and not isinstance(v, _TYPES[k])]
    problem = problem or (f"wrong types: {', '.join(wrong)}" if wrong else None)
    bad_runs = [v for k, v in data["runs"].items() if not isinstance(k, str) or not is_plain_name(v)]
    if not problem and bad_runs:  # a run id is a folder name of the runs folder, never a path
        problem = f"member runs that are no run id: {bad_runs[:3]}"
    return problem


RESULTS_FIX = "restore the shipped results with `git checkout studies/`, or run the study again"
# The columns a study's results.csv needs (and those that must hold numbers), by kind of study.
RESULTS_COLUMNS = {"robustness": (("model", "noise", "level", "accuracy"), ("level", "accuracy")),
                   "training": (("arm", "seed", "accuracy"), ("seed", "accuracy")),
                   "denoising": (("arm", "seed", "psnr_denoised"), ("seed", "psnr_denoised"))}  # Task 1 seeds


def _read_results_file(path: Path, kind: str | None = None):
    """A results.csv as a DataFrame, checked against its kind's columns (``kind`` None: either);
    None when there is none; ``DamagedFileError`` naming it when binary, cut or of other columns."""
    import pandas as pd

    if not path.exists():
        return None
    try:
        table = pd.read_csv(path, encoding="utf-8")
    except (OSError, ValueError) as e:  # binary bytes, empty, not CSV (all ValueErrors)
        raise DamagedFileError(path, f"not a readable CSV table: {type(e).__name__}", RESULTS_FIX) from e
    kinds = [kind] if kind else list(RESULTS_COLUMNS)
    for columns, numeric in (RESULTS_COLUMNS[k] for k in kinds):
        if set(columns) <= set(table.columns) and all(
                pd.api.types.is_numeric_dtype(table[c]) for c in numeric):
            if "labels" in table.columns and not pd.api.types.is_numeric_dtype(table["labels"]):
                break
            return table
    wanted = " or ".join(", ".join(RESULTS_COLUMNS[k][0]) for k in kinds)
    raise DamagedFileError(path, f"columns {', '.join(map(str, table.columns))[:200]}, not {wanted} "
                           "(numbers where figures belong)", RESULTS_FIX)


def shipped_results(name: str):
    """The results that ship with the project for study ``name`` (a DataFrame), or None;
    ``DamagedFileError`` (naming the file) when they are damaged."""
    path = settings.studies_dir() / name / RESULTS_FILE
    return _read_results_file(path, "robustness" if name == "robustness" else None)


# The seeds study of each preset, shipped under its own id (``study seeds --preset P --id ID --ship``).
SEEDS_STUDIES = {"seed": "seeds", "improved": "seeds-improved"}


def shipped_seeds(preset: str):
    """The shipped seeds study's rows at ``preset`` (a DataFrame), or None when it has not run;
    ``DamagedFileError`` as ``shipped_results``. Rows of another preset are left out: a study
    id can be reused with any --preset."""
    table = shipped_results(SEEDS_STUDIES.get(preset, f"seeds-{preset}"))
    if table is not None and "preset" in table:
        table = table[table["preset"] == preset]
    return None if table is None or table.empty else table


def ship(folder: Path, name: str, command: str, seconds: float, machine: str = "") -> Path:
    """Copy a study's results into the shipped studies folder, with how they were made and where
    (``machine``: the device its members recorded)."""
    target = settings.studies_dir() / name
    target.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(folder / RESULTS_FILE, target / RESULTS_FILE)
    write_json_atomic(target / ABOUT_FILE, {"command": command, "seconds": round(seconds), "machine": machine,
                                              "finished": time.strftime("%Y-%m-%d")})
    return target


def shipped_about(name: str) -> dict:
    """How a shipped study's results were made (command, seconds, machine, date); {} when not recorded;
    ``DamagedFileError`` (naming the file) when it is cut, binary or of the wrong types."""
    path = settings.studies_dir() / name / ABOUT_FILE
    if not path.exists():
        return {}
    about = read_json(path, RESULTS_FIX)
    checks = {"command": lambda v: isinstance(v, str), "seconds": is_number,
              "machine": lambda v: isinstance(v, str), "finished": lambda v: isinstance(v, str)}
    if not isinstance(about, dict) or any(k in about and not ok(about[k]) for k, ok in checks.items()):
        raise DamagedFileError(path, "not an object of command, seconds, machine and finished", RESULTS_FIX)
    return about


def write_results(folder: Path, table) -> Path:
    """A study's results table (a DataFrame) into its folder; returns the file."""
    path = Path(folder) / RESULTS_FILE
    table.to_csv(path, index=False)
    return path


def read_results(folder: Path):
    """The results last written into a study folder (a DataFrame), or None; ``DamagedFileError``
    (naming the file) when they are damaged."""
    return _read_results_file(Path(folder) / RESULTS_FILE)
