"""The runs table: one row per run with its configuration, times, headline test figure (named,
with its unit), state, tags and note, as the Runs page and ``python -m dae_core runs`` show it.

A run's state is ``jobs.progress``'s, the one the Train page's live view shows: an active run's is
read through it; an ended run's is its recorded state (a damaged config or status: ``damaged``),
which is what ``progress`` gives for it too. Rows of ended runs are kept until their folder
changes, so a page rerun over hundreds of runs reads no file again.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

from dae_core.data.datasets import TRAIN_SIZE
from dae_core.store.files import is_number
from dae_core.store.runs import ACTIVE_STATES, STATES, Run, RunMeta, list_runs
from dae_core.tasks import TASK_SPECS
from dae_core.training import jobs
from dae_core.training.durations import format_duration

# a task's headline test figure: (its name, the factor to its unit, the unit)
HEADLINES = {"accuracy": ("accuracy", 100.0, "%"), "psnr_denoised": ("PSNR", 1.0, "dB")}
TABLE_STATES = (*STATES, "damaged")  # what the state column can hold, for filters


def headline_text(task: str, test: dict) -> str:
    """The task's headline test figure named with its unit ("accuracy 87.12 %", "PSNR 16.03 dB"),
    or "" when there is none (yet)."""
    spec = TASK_SPECS.get(task)
    value = test.get(spec.headline) if spec else None
    if not is_number(value):
        return ""
    name, factor, unit = HEADLINES.get(spec.headline, (spec.headline, 1.0, ""))
    return f"{name} {value * factor:.2f} {unit}".rstrip()


def _model_name(path) -> str:
    """A model file as people name it: a run's model by its run id, any other by its file stem."""
    path = Path(str(path))
    return path.parent.name if path.name == "model.keras" else path.stem


def trained_on(status: dict) -> str:
    """Where the run trained: TensorFlow's device, and for a run on a Ray cluster its node and the
    GPUs Ray gave it ("CPU (2 cores) on vm (10.0.0.5), Ray GPU 0": TensorFlow found none there)."""
    device, node, gpus = (status.get(k) for k in ("device", "node", "ray_gpus"))
    where = " on ".join(str(v) for v in (device, node) if v)
    return f"{where}, Ray GPU {gpus}" if gpus else where


def start_weights(config: dict) -> str:
    """Where the run's weights started: new, a model it continued, or the encoder it reused."""
    if config.get("init_from"):
        return f"continued {_model_name(config['init_from'])}"
    spec = TASK_SPECS.get(config.get("task"))
    if spec is None or not spec.needs_autoencoder:
        return "new"
    if config.get("encoder_weights") == "random":
        return "random encoder"
    source = config.get("encoder_from")
    if isinstance(source, str) and source:
        name = source.removeprefix("member:") if source.startswith("member:") else _model_name(source)
        return f"encoder of {name}"
    return f"encoder of {spec.autoencoder_task}-{config.get('preset', 'seed')}"


@dataclass(frozen=True)
class RunRow:
    """One run as the table shows it."""

    id: str
    task: str
    preset: str
    state: str
    epoch: int  # whole epochs done
    epochs: int
    batch_size: int | None = None
    learning_rate: float | None = None
    images: int | None = None
    noise: str = ""
    start: str = ""  # start weights
    seed: int | None = None
    started: float | None = None  # when its training started (its last resume), else created
    seconds: float | None = None  # from then to its end (or now, while it runs)
    test: str = ""  # the headline test figure with its unit
    where: str = ""  # the device (and Ray node) it trained on
    meta: RunMeta = field(default_factory=RunMeta)
    problem: str | None = None  # a damaged config's or status's message

    def as_row(self) -> dict:
        """Column name -> value, as printed and downloaded."""
        return {"run": self.id, "task": self.task, "preset": self.preset, "state": self.state,
                "epochs": f"{self.epoch}/{self.epochs}", "batch": self.batch_size,
                "learning rate": self.learning_rate, "images": self.images, "noise": self.noise,
                "start weights": self.start, "seed": self.seed,
                "started": time.strftime("%Y-%m-%d %H:%M", time.localtime(self.started)) if self.started else "",
                "duration": format_duration(self.seconds) if self.seconds is not None else "",
                "test": self.test, "trained on": self.where, "tags": ", ".join(self.meta.tags), "note": self.meta.note}


def _noise(config: dict) -> str:
    if not TASK_SPECS[config["task"]].noisy_inputs:
        return ""
    level = config.get("noise_level", 0.5)
    return f"{config.get('noise_kind', 'gaussian')} {level:g}" if is_number(level) else str(level)


def row_of(run: Run) -> RunRow:
    """The run's row, read afresh."""
    status, meta = run.status(), run.meta()
    state = status.get("state", "unknown")
    if state in ACTIVE_STATES:
        state = run.state()  # a dead process reads as failed
    problem, epoch = status.get("damaged"), status.get("epoch") or 0
    try:
        config = run.config()
    except ValueError as e:  # DamagedFileError: nothing of it can be trusted
        return RunRow(run.id, "?", "?", "damaged", epoch, status.get("epochs") or 0, meta=meta, problem=str(e))
    epochs = status.get("epochs") or config.get("epochs", 0)
    if state in ACTIVE_STATES:  # the live view's own reading
        progress = jobs.progress(run)
        state, epoch, epochs = progress.state, progress.epoch, progress.epochs
    started = status.get("started") or run.created() or None
    end = status.get("finished") or (time.time() if state == "running" else status.get("updated"))
    seconds = max(0.0, end - started) if started and end and state != "queued" else None
    return RunRow(run.id, config["task"], config.get("preset", "?"), state, epoch, epochs,
                  config.get("batch_size"), config.get("learning_rate"),
                  config.get("train_size") or TRAIN_SIZE, _noise(config), start_weights(config),
                  config.get("seed"), started, seconds,
                  headline_text(config["task"], status.get("test", {})) if state in ("completed", "stopped") else "",
                  trained_on(status), meta, problem)


# run folder -> (its Run.settled_stamp, the row) for ended runs; active runs are read afresh.
_rows: dict[Path, tuple[int, RunRow]] = {}


def run_rows(root: str | Path | None = None) -> list[RunRow]:
    """Every run under ``root``, newest first."""
    rows = []
    for run in list_runs(root):
        stamp, kept = run.settled_stamp(), _rows.get(run.path)
        if stamp is not None and kept is not None and kept[0] == stamp:
            rows.append(kept[1])
            continue
        row = row_of(run)
        if row.state not in ACTIVE_STATES and stamp is not None:
            _rows[run.path] = stamp, row
        rows.append(row)
    return rows


def select(rows: list[RunRow], tasks=(), states=(), tags=(), archived: bool = False) -> list[RunRow]:
    """The rows of any of ``tasks``, any of ``states`` and all of ``tags`` (empty: no filter);
    archived runs only with ``archived``."""
    return [r for r in rows if (not tasks or r.task in tasks) and (not states or r.state in states)
            and set(tags) <= set(r.meta.tags) and (archived or not r.meta.archived)]


def by_study(rows: list[RunRow]) -> tuple[list[RunRow], dict[str, list[RunRow]]]:
    """(rows of no study, study id -> its members' rows), each in the order given."""
    studies: dict[str, list[RunRow]] = {}
    for row in rows:
        if row.meta.study:
            studies.setdefault(row.meta.study, []).append(row)
    return [r for r in rows if not r.meta.study], studies


def all_tags(rows: list[RunRow]) -> list[str]:
    return sorted({tag for row in rows for tag in row.meta.tags}, key=str.lower)


def text_table(rows: list[RunRow]) -> str:
    """The rows as aligned text columns (``python -m dae_core runs``), a study column added."""
    lines = [{**row.as_row(), "study": row.meta.study or "",
              "learning rate": f"{row.learning_rate:g}" if row.learning_rate else "",
              "images": f"{row.images:,}" if row.images else ""} for row in rows]
    if not lines:
        return ""
    columns = [c for c in lines[0] if c != "note"] + ["note"]
    cells = [[str(c) for c in columns]] + [["" if line[c] is None else str(line[c]) for c in columns]
                                           for line in lines]
    widths = [max(len(cell[i]) for cell in cells) for i in range(len(columns))]
    return "\n".join("  ".join(cell.ljust(w) for cell, w in zip(line, widths)).rstrip() for line in cells)
