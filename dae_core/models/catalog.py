"""Every model the app can use: the shipped ones (``models/manifest.json``) and
finished runs, described the same way."""

from __future__ import annotations

import json
import os
import shlex
import sys
from dataclasses import dataclass, field
from pathlib import Path

from dae_core import settings
from dae_core.errors import DamagedFileError, NotFoundError
from dae_core.store.files import inside, is_plain_name, write_json_atomic
from dae_core.store.runs import Run, list_runs
from dae_core.tasks import TASK_SPECS

HISTORY_KEYS = ("epoch", "loss", "val_loss", "accuracy", "val_accuracy", "mse", "val_mse", "seconds")
RESTORE_HINT = "restore the shipped models with `git checkout models/`"


def default_models_dir() -> Path:
    return settings.models_dir()


@dataclass(frozen=True)
class ModelEntry:
    """A usable model: where its file is, what it is, and what it reached."""

    name: str
    task: str
    preset: str
    path: Path
    source: str  # "shipped" or "run"
    test: dict = field(default_factory=dict)
    history: list = field(default_factory=list)  # epoch records
    config: dict = field(default_factory=dict)
    command: str = ""
    hidden: bool = False  # a study member's or an archived run's: listed only when asked for

    @property
    def label(self) -> str:
        return f"{self.name} ({self.source})"

    @property
    def file_key(self) -> tuple[str, int | None]:
        """(path, modification time): tells a retrained file apart, for caches."""
        return str(self.path), _mtime_ns(self.path)


def missing_model_hint(task: str) -> str:
    """What to do when no model of ``task`` exists."""
    return (f"No {task} model found. Fix: {RESTORE_HINT}, or train one on the Train page "
            f"(or `python -m dae_core train {task}`).")


def _manifest_path(models_dir: Path) -> Path:
    return models_dir / "manifest.json"


REQUIRED = {"name": str, "task": str, "preset": str, "file": str}  # a manifest entry's fields
OPTIONAL = {"test": dict, "history": list, "config": dict, "command": str}  # when present


def read_manifest(models_dir: str | Path | None = None) -> list[dict]:
    """The manifest's valid entries; a damaged file or entry is left out (``manifest_problems``)."""
    return _check_manifest(_manifest_path(Path(models_dir or default_models_dir())))[0]


def manifest_problems(models_dir: str | Path | None = None) -> list[str]:
    """What is wrong with the manifest, one message per damaged file or entry, naming the fix."""
    return _check_manifest(_manifest_path(Path(models_dir or default_models_dir())))[1]


def _check_manifest(path: Path) -> tuple[list[dict], list[str]]:
    """(valid entries, problems): a bad entry costs only itself; everything else works on."""
    try:
        manifest = json.loads(path.read_text())
    except FileNotFoundError:
        return [], []
    except (OSError, ValueError) as e:
        return [], [f"{path} is not readable JSON ({e}): no shipped model is listed. Fix: {RESTORE_HINT}."]
    entries = manifest.get("models") if isinstance(manifest, dict) else None
    if not isinstance(entries, list):
        return [], [f"{path} holds no list of models: no shipped model is listed. Fix: {RESTORE_HINT}."]
    valid, problems = [], []
    for number, entry in enumerate(entries, start=1):
        wrong = [k for k, kind in REQUIRED.items() if not isinstance(entry, dict)
                 or not isinstance(entry.get(k), kind)]
        wrong += [k for k, kind in OPTIONAL.items() if not wrong and k in entry
                  and not isinstance(entry[k], kind)]
        if not wrong and entry["task"] not in TASK_SPECS:
            wrong = [f"task {entry['task']!r}"]
        if not wrong and not inside(path.parent / entry["file"], path.parent):
            wrong = [f"file {entry['file']!r} (outside {path.parent})"]
        if wrong:
            problems.append(f"{path}, model {number}: {', '.join(wrong)} missing or wrong, so it is left "
                            f"out. Fix: {RESTORE_HINT}.")
        else:
            valid.append(entry)
    return valid, problems


def shipped_models(models_dir: str | Path | None = None) -> list[ModelEntry]:
    models_dir = Path(models_dir or default_models_dir())
    return [ModelEntry(m["name"], m["task"], m["preset"], models_dir / m["file"], "shipped",
                       m.get("test", {}), m.get("history", []), m.get("config", {}),
                       m.get("command", ""))
            for m in read_manifest(models_dir)]


def shipped_model_path(task: str, preset: str, models_dir: str | Path | None = None) -> Path:
    """The shipped model file for (task, preset); a path that may not exist if none ships."""
    for entry in shipped_models(models_dir):
        if entry.task == task and entry.preset == preset:
            return entry.path
    return Path(models_dir or default_models_dir()) / f"{task}-{preset}.keras"


def file_entry(path: Path) -> ModelEntry:
    """A model file from anywhere, described by what it does: an image in and an image out is
    an autoencoder (task1), ten probabilities out a classifier (evaluated as task2)."""
    from dae_core.models.builders import load_model  # deferred: TensorFlow

    model = load_model(path)
    task = "task1" if model.output_shape == model.input_shape else "task2"
    return ModelEntry(path.stem, task, "?", path, "file")


def epoch_history(run: Run) -> list[dict]:
    """Whole-epoch records of a run, trimmed to the figures worth keeping."""
    return [{k: r[k] for k in HISTORY_KEYS if k in r}
            for r in run.metrics("epoch") if not r.get("partial")]


def _mtime_ns(path: Path) -> int | None:
    try:
        return path.stat().st_mtime_ns
    except FileNotFoundError:
        return None


def _run_entry(run: Run) -> ModelEntry | None:
    """A finished run's entry; a damaged run folder gives None (the runs table shows it as
    damaged). A damaged meta.json reads as empty: the run is listed."""
    try:
        status = run.status()
        if status.get("state") not in ("completed", "stopped") or not run.model_path.is_file() \
                or not inside(run.model_path, run.path):  # a link out of the run folder is no model of it
            return None
        config = run.config()
        return ModelEntry(run.id, config["task"], config.get("preset", "?"), run.model_path, "run",
                          status.get("test", {}), epoch_history(run), config, hidden=run.meta().hidden)
    except (OSError, ValueError):  # DamagedFileError is a ValueError
        return None


# run folder -> (its files' modification times, its entry): a page rerun reads no run's files
# again until they change (a resumed run, a new tag), however many runs the folder holds.
_entries: dict[Path, tuple[tuple, ModelEntry | None]] = {}


def clear_run_cache() -> None:
    """Forget every run's entry (tests that rewrite a file within one modification time)."""
    _entries.clear()


def _stamps(run: Run) -> tuple:
    """The run folder's time once settled (one look), else its files' times."""
    settled = run.settled_stamp()
    return (settled,) if settled else tuple(_mtime_ns(p) for p in (run.status_path, run.model_path, run.meta_path))


def run_models(runs_dir: str | Path | None = None, include_hidden: bool = False) -> list[ModelEntry]:
    """Finished runs (completed or stopped) that saved a model, newest first; study members and
    archived runs only with ``include_hidden``."""
    entries = []
    for run in list_runs(runs_dir):
        stamps = _stamps(run)
        kept = _entries.get(run.path)
        if kept is None or kept[0] != stamps:
            if len(_entries) > 20_000:  # runs deleted or of other folders: start afresh
                _entries.clear()
            kept = _entries[run.path] = stamps, _run_entry(run)
        if kept[1] is not None and (include_hidden or not kept[1].hidden):
            entries.append(kept[1])
    return entries


def all_models(task: str | None = None, runs_dir=None, models_dir=None,
               include_hidden: bool = False) -> list[ModelEntry]:
    """Shipped models first, then finished runs; only ``task``'s when given; study members and
    archived runs only with ``include_hidden``."""
    entries = shipped_models(models_dir) + run_models(runs_dir, include_hidden)
    return [e for e in entries if task is None or e.task == task]


def ship_run(run: Run, command: str, models_dir: str | Path | None = None) -> ModelEntry:
    """Copy a finished run's model into ``models/`` as ``<task>-<preset>.keras`` and list it."""
    models_dir = Path(models_dir or default_models_dir())
    config, status = run.config(), run.status()  # config: a known task (DamagedFileError if not)
    if not is_plain_name(config.get("preset")):
        raise DamagedFileError(run.config_path, f"preset {config.get('preset')!r} is no preset name",
                               "train the run again")
    if not run.model_path.is_file():
        raise NotFoundError(f"run {run.id} has no model.keras: only a finished run can be shipped.")
    # A local path means nothing on another machine: keep only the name of a start model.
    config = {**config, "data_dir": None,
              "init_from": config.get("init_from") and Path(config["init_from"]).name}
    name = f"{config['task']}-{config['preset']}"  # both plain names: the file stays in models/
    models_dir.mkdir(parents=True, exist_ok=True)
    from dae_core.models.builders import load_model, weights_only  # deferred: TensorFlow

    tmp = models_dir / f".{name}.partial.keras"
    weights_only(load_model(run.model_path)).save(tmp)  # ships without optimizer state
    os.replace(tmp, models_dir / f"{name}.keras")
    entry = {"name": name, "task": config["task"], "preset": config["preset"],
             "file": f"{name}.keras", "command": command, "test": status.get("test", {}),
             "device": status.get("device"), "history": epoch_history(run), "config": config}
    manifest = [m for m in read_manifest(models_dir) if m["name"] != name] + [entry]
    manifest.sort(key=lambda m: m["name"])
    write_json_atomic(_manifest_path(models_dir), {"models": manifest})
    return shipped_models(models_dir)[[m["name"] for m in manifest].index(name)]


def resolve_model(ref: str, runs_dir=None) -> ModelEntry:
    """A model by shipped name, finished run id (or unambiguous prefix), or ``.keras`` path."""
    entries = all_models(runs_dir=runs_dir, include_hidden=True)  # a run named is found, whatever it is
    exact = [e for e in entries if ref in (e.name, str(e.path))]
    matches = exact or [e for e in entries if e.source == "run" and e.name.startswith(ref)]
    if len(matches) == 1:
        return matches[0]
    if len(matches) > 1:
        raise NotFoundError(f"{ref!r} starts {len(matches)} run ids: give more of the id.")
    if ref.endswith(".keras") and Path(ref).is_file():
        return file_entry(Path(ref))
    for run in list_runs(runs_dir):  # a run of that id whose files are damaged: say so
        if run.id == ref or (ref and run.id.startswith(ref)):
            try:
                run.config()
            except DamagedFileError as e:
                raise NotFoundError(f"run {run.id} is no usable model: {e}") from e
            if run.model_path.is_symlink() and not inside(run.model_path, run.path):
                raise NotFoundError(f"run {run.id} is no usable model: {run.model_path} is a link to a file "
                                    "outside its folder, never loaded. Fix: put the model file itself there.")
    names = ", ".join(e.name for e in shipped_models())
    problems = manifest_problems()
    cause = f" The manifest is damaged: {' '.join(problems)}" if problems else ""
    raise NotFoundError(f"no model {ref!r}: give a shipped name ({names}), a finished run id, "
                        f"or the path of a .keras file.{cause}")


def invocation() -> str:
    """This process's command line, as a user would type it: what made a model or a study."""
    return "python -m dae_core " + shlex.join(sys.argv[1:])
