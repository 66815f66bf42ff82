"""The run store: one folder per training run, safe to follow from another process.

A run folder holds ``config.json`` (written once), ``status.json`` (replaced
atomically on every change), ``metrics.jsonl`` (one flushed JSON line per record),
``model.keras`` (the final model), ``checkpoint-NNNN.keras`` (the last two finished epochs,
its number in the name so model and epoch can never disagree; a damaged one is renamed
``*.damaged`` when a resume finds it),
``STOP`` (a stop request), ``log.txt`` (the process's output) and ``meta.json`` (what people
say about the run: its tags, a note, whether it is archived, and the study it belongs to).
"""

from __future__ import annotations

import json
import os
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

from dae_core import settings
from dae_core.errors import DamagedFileError, JobError, NotFoundError
from dae_core.store.files import is_int, is_number, is_plain_name, read_json, write_json_atomic
from dae_core.tasks import TASK_SPECS

STATES = ("queued", "running", "completed", "failed", "stopped")
ACTIVE_STATES = ("queued", "running")


def default_runs_dir() -> Path:
    return settings.runs_dir()


CONFIG_FIX = "delete the run folder (it cannot be resumed or shipped), or train it again"
# status.json's fields and their checks; a field of the wrong type is dropped when read.
STATUS_FIELDS = {
    "state": lambda v: v in STATES, "epoch": is_int, "epochs": is_int, "pid": is_int,
    "updated": is_number, "started": is_number, "finished": is_number, "eta_s": is_number,
    "device": lambda v: isinstance(v, str), "error": lambda v: isinstance(v, str),
    "note": lambda v: isinstance(v, str),
    # test figures are numbers; an autoencoder's also say which noise they were measured under
    "test": lambda v: isinstance(v, dict) and all(is_number(x) or x is None or isinstance(x, str)
                                                  for x in v.values()),
    "last": lambda v: isinstance(v, dict) and all(is_number(x) or x is None for x in v.values()),
}
# metrics.jsonl records: these fields' checks; any other field holds a number (or null).
METRIC_FIELDS = {"kind": lambda v: isinstance(v, str), "epoch": is_int, "step": is_int,
                 "steps": is_int, "partial": lambda v: isinstance(v, bool)}


def check_run_config(config, path: Path) -> dict:
    """``config`` as read from ``path``, if it has the shape every reader relies on: an object
    with a known ``task``, a plain-name ``preset`` and a whole number of ``epochs`` (when given)."""
    def damaged(problem: str):
        return DamagedFileError(path, problem, CONFIG_FIX)

    if not isinstance(config, dict):
        raise damaged(f"a JSON {type(config).__name__}, not an object")
    if config.get("task") not in TASK_SPECS:
        raise damaged(f"task {config.get('task')!r} is not one of {', '.join(TASK_SPECS)}")
    if "preset" in config and not is_plain_name(config["preset"]):
        raise damaged(f"preset {config.get('preset')!r} is not a plain name")
    if not is_int(config.get("epochs", 0)) or config.get("epochs", 0) < 0:
        raise damaged(f"epochs {config.get('epochs')!r} is not a whole number")
    return config


def check_metric(record) -> bool:
    """Whether a metrics.jsonl record has the shape the readers rely on."""
    return isinstance(record, dict) and all(
        METRIC_FIELDS[k](v) if k in METRIC_FIELDS else (is_number(v) or v is None)
        for k, v in record.items())


META_FIX = "delete it (only the run's tags, note and archived mark are lost), or set them again"
MAX_TAGS, MAX_TAG_CHARS, MAX_NOTE_CHARS = 20, 40, 2000


def tag_problem(tag) -> str | None:
    """What is wrong with ``tag`` as a run's tag (None: nothing): a short line of printable
    characters, no comma (commas separate tags), no space at either end."""
    if not isinstance(tag, str) or not tag:
        return f"tag {tag!r} is not a word"
    if len(tag) > MAX_TAG_CHARS:
        return f"tag {tag[:20]!r}... is longer than {MAX_TAG_CHARS} characters"
    if tag != tag.strip() or "," in tag or not tag.isprintable():
        return f"tag {tag!r} holds a comma, a control character or spaces at an end"
    return None


def parse_tags(text: str) -> tuple[str, ...]:
    """``"baseline, lr sweep"`` -> ``("baseline", "lr sweep")``: split at commas, trimmed, empty
    ones and repeats dropped; ``ValueError`` naming a tag that cannot be one."""
    tags = tuple(dict.fromkeys(t.strip() for t in text.split(",") if t.strip()))
    return check_tags(tags)


def check_tags(tags) -> tuple[str, ...]:
    if not isinstance(tags, (list, tuple)):
        raise ValueError(f"tags must be a list, got {type(tags).__name__}")
    problem = next(filter(None, map(tag_problem, tags)), None)
    if problem:
        raise ValueError(f"{problem}. Fix: letters, digits and spaces, at most {MAX_TAG_CHARS} "
                         "characters, tags separated by commas.")
    if len(tags) > MAX_TAGS:
        raise ValueError(f"{len(tags)} tags: at most {MAX_TAGS} on a run.")
    return tuple(tags)


# meta.json's fields and their checks
META_FIELDS = {
    "tags": lambda v: isinstance(v, list) and len(v) <= MAX_TAGS and not any(map(tag_problem, v)),
    "note": lambda v: isinstance(v, str) and len(v) <= MAX_NOTE_CHARS,
    "archived": lambda v: isinstance(v, bool),
    "study": lambda v: v is None or is_plain_name(v),
}


@dataclass(frozen=True)
class RunMeta:
    """What people (and the study runner) say about a run, kept apart from what training writes."""

    tags: tuple[str, ...] = ()
    note: str = ""
    archived: bool = False
    study: str | None = None  # the id of the study it is a member of (studies.store.Study.record)
    damaged: str | None = None  # meta.json could not be read: the problem and the fix; all else empty

    @property
    def hidden(self) -> bool:
        """Left out of model pickers and the Overview's cards unless asked for."""
        return self.archived or self.study is not None


def pid_alive(pid: int | None) -> bool:
    if not pid:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # a zombie has exited; it only waits for its parent to reap it
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(") ", 1)[1][0] != "Z"
    except OSError:
        return True


class Run:
    """A handle on one run folder; reads are always fresh from disk."""

    def __init__(self, path: str | Path):
        self.path = Path(path)

    @property
    def id(self) -> str:
        return self.path.name

    @property
    def model_path(self) -> Path:
        return self.path / "model.keras"

    def checkpoint_for(self, epoch: int) -> Path:
        return self.path / f"checkpoint-{epoch:04d}.keras"

    def checkpoints(self) -> list[tuple[int, Path]]:
        """(epoch, path) of each epoch checkpoint, newest first."""
        found = sorted(self.path.glob("checkpoint-[0-9][0-9][0-9][0-9].keras"), reverse=True)
        return [(int(path.stem.split("-")[1]), path) for path in found]

    def latest_checkpoint(self) -> tuple[int, Path] | None:
        """(epoch, path) of the newest epoch checkpoint, or None."""
        found = self.checkpoints()
        return found[0] if found else None

    @property
    def checkpoint_path(self) -> Path:
        """The newest checkpoint; a path that does not exist when there is none."""
        latest = self.latest_checkpoint()
        return latest[1] if latest else self.checkpoint_for(0)

    @property
    def log_path(self) -> Path:
        return self.path / "log.txt"

    @classmethod
    def create(cls, config: dict, root: str | Path | None = None) -> "Run":
        root = Path(root or default_runs_dir())
        root.mkdir(parents=True, exist_ok=True)
        stamp = time.strftime("%Y%m%d-%H%M%S")
        base = f"{stamp}-{config.get('task', 'run')}-{config.get('preset', '')}".rstrip("-")
        for n in range(1000):
            path = root / (base if n == 0 else f"{base}-{n}")
            try:
                path.mkdir()
                break
            except FileExistsError:
                continue
        run = cls(path)
        run.write_config(config)
        run.set_status("queued")
        return run

    @property
    def config_path(self) -> Path:
        return self.path / "config.json"

    @property
    def status_path(self) -> Path:
        return self.path / "status.json"

    def exists(self) -> bool:
        """Whether this is a run folder (it has its config)."""
        return self.config_path.exists()

    def created(self) -> float:
        """When the run was created (its config's time); 0 when it cannot be read."""
        try:
            return self.config_path.stat().st_mtime
        except OSError:
            return 0.0

    def write_config(self, config: dict) -> None:
        write_json_atomic(self.config_path, config)

    def config(self) -> dict:
        """The run's config; ``DamagedFileError`` (naming the file) when it is missing, cut,
        binary or of the wrong shape."""
        return check_run_config(read_json(self.config_path, CONFIG_FIX), self.config_path)

    def status(self) -> dict:
        """The run's status: ``{"state": "unknown"}`` when there is none yet; state ``damaged``
        (and the problem under ``damaged``) when it cannot be read; a field of the wrong type is
        left out and named under ``damaged``."""
        if not self.status_path.exists():
            return {"state": "unknown"}
        try:
            status = read_json(self.status_path, "resume or delete the run")
        except DamagedFileError as e:
            return {"state": "damaged", "damaged": str(e)}
        if not isinstance(status, dict):
            return {"state": "damaged", "damaged": f"{self.status_path} is damaged (a JSON "
                    f"{type(status).__name__}, not an object). Fix: delete the run folder."}
        wrong = [k for k, check in STATUS_FIELDS.items() if k in status and not check(status[k])]
        if wrong:
            status = {k: v for k, v in status.items() if k not in wrong}
            status.setdefault("state", "damaged")
            status["damaged"] = (f"{self.status_path} is damaged ({', '.join(wrong)} of the wrong "
                                 "type, left out). Fix: resume or delete the run.")
        return status

    def set_status(self, state: str, **fields) -> dict:
        """Merge ``fields`` into the status (a None value removes that field) and set ``state``."""
        if state not in STATES:
            raise ValueError(f"state {state!r} is not one of {STATES}")
        old = {k: v for k, v in self.status().items() if k != "damaged"}
        status = {**old, **fields, "state": state, "updated": time.time()}
        if state in ACTIVE_STATES and "error" not in fields:
            status.pop("error", None)
        status = {k: v for k, v in status.items() if v is not None}
        write_json_atomic(self.status_path, status)
        return status

    def state(self) -> str:
        """The recorded state, or ``failed`` when an active run's process has died."""
        status = self.status()
        state = status.get("state", "unknown")
        if state in ACTIVE_STATES and status.get("pid") and not pid_alive(status["pid"]):
            return "failed"
        return state

    def is_active(self) -> bool:
        return self.state() in ACTIVE_STATES

    def settled_stamp(self) -> int | None:
        """The folder's modification time, when it last changed over ``SETTLED_S`` ago (else None).
        status.json, meta.json and model.keras are replaced by a rename, which changes it: readers
        keep what they read of a run under this stamp (a clock tick cannot hide a later change)."""
        try:
            stamp = self.path.stat().st_mtime_ns
        except OSError:
            return None
        return stamp if time.time() - stamp / 1e9 > SETTLED_S else None

    def may_be_active(self) -> bool:
        """False, reading no file, for a run whose status said it had ended and whose folder has
        not changed since (a resume rewrites its status); else whether it is active."""
        stamp = self.settled_stamp()
        if stamp is not None and _ended.get(self.path) == stamp:
            return False
        active = self.is_active()
        if not active and stamp is not None and self.status().get("state") not in ACTIVE_STATES:
            _ended[self.path] = stamp  # a recorded end (a dead process's run is read again)
        return active

    def can_resume(self) -> bool:
        """A killed, failed or stopped run continues from its last finished epoch."""
        return self.state() in ("failed", "stopped") and self.latest_checkpoint() is not None

    def append_metric(self, record: dict) -> None:
        with open(self.path / "metrics.jsonl", "a") as f:
            f.write(json.dumps(record) + "\n")
            f.flush()

    def metrics(self, kind: str | None = None) -> list[dict]:
        """Recorded lines (``kind`` "epoch" or "batch" to filter); a half-written last line, and
        any line that is binary or not a record of numbers, is skipped."""
        try:
            lines = (self.path / "metrics.jsonl").read_bytes().splitlines()
        except OSError:
            return []
        records = []
        for line in lines:
            try:
                record = json.loads(line.decode("utf-8"))
            except ValueError:  # UnicodeDecodeError is one
                continue
            if not check_metric(record):
                continue
            if kind is None or record.get("kind") == kind:
                records.append(record)
        return records

    def truncate_metrics(self, last_epoch: int) -> None:
        """Drop records after ``last_epoch`` (1-based), before resuming from its checkpoint."""
        kept = [r for r in self.metrics() if r.get("epoch", 0) <= last_epoch]
        tmp = self.path / ".metrics.tmp"
        tmp.write_text("".join(json.dumps(r) + "\n" for r in kept))
        os.replace(tmp, self.path / "metrics.jsonl")

    def request_stop(self) -> None:
        """Write ``STOP`` in the folder itself: a ``STOP`` symlink (dangling, or pointing
        anywhere) is replaced by a plain file, never followed."""
        stop = self.path / "STOP"
        if stop.is_symlink():
            stop.unlink()
        fd = os.open(stop, os.O_WRONLY | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0), 0o644)
        os.close(fd)

    def stop_requested(self) -> bool:
        return os.path.lexists(self.path / "STOP")

    def inside(self, root: str | Path) -> bool:
        """Whether the folder, symlinks resolved, is directly inside ``root`` (resolved)."""
        try:
            return self.path.resolve().parent == Path(root).resolve()
        except (OSError, RuntimeError):  # a symlink loop
            return False

    def clear_stop(self) -> None:
        (self.path / "STOP").unlink(missing_ok=True)

    @property
    def meta_path(self) -> Path:
        return self.path / "meta.json"

    def meta(self) -> RunMeta:
        """Tags, note, archived mark and study; all empty when there is no meta.json, and when it
        is cut, binary or of the wrong shape (then ``damaged`` names the file and the fix)."""
        if not self.meta_path.exists():
            return RunMeta()
        try:
            meta = read_json(self.meta_path, META_FIX)
            wrong = [k for k, check in META_FIELDS.items() if k in meta and not check(meta[k])] \
                if isinstance(meta, dict) else ["all"]
            if wrong:
                raise DamagedFileError(self.meta_path, f"{', '.join(wrong)} of the wrong type", META_FIX)
        except DamagedFileError as e:
            return RunMeta(damaged=str(e))
        return RunMeta(tuple(meta.get("tags", ())), meta.get("note", ""), meta.get("archived", False),
                       meta.get("study"))

    def update_meta(self, **fields) -> RunMeta:
        """Set some of tags (a list of tags), note, archived and study; the others are kept (a
        damaged meta.json is replaced). ``ValueError`` names a value that cannot be kept."""
        unknown = set(fields) - set(META_FIELDS)
        if unknown:
            raise ValueError(f"no run meta field {', '.join(sorted(unknown))}; known: {', '.join(META_FIELDS)}")
        if "tags" in fields:
            fields["tags"] = list(check_tags(fields["tags"]))
        if "note" in fields and isinstance(fields["note"], str):
            fields["note"] = fields["note"].strip()
        wrong = [k for k, v in fields.items() if not META_FIELDS[k](v)]
        if wrong:
            raise ValueError(f"run meta {', '.join(wrong)}: a value that cannot be kept (a note holds at "
                             f"most {MAX_NOTE_CHARS} characters; archived is true or false; a study is a "
                             "plain name)")
        old = self.meta()
        meta = {"tags": list(old.tags), "note": old.note, "archived": old.archived, "study": old.study,
                **fields}
        write_json_atomic(self.meta_path, {k: v for k, v in meta.items() if v not in (None, "", [], False)})
        return self.meta()


SETTLED_S = 2.0  # seconds after its last change that a run folder's time is trusted
_ended: dict[Path, int] = {}  # run folder -> its time when its status said it had ended


# runs folder -> (its time, the names of its runs, of its other folders), once settled: a run
# folder is added, removed or linked by a change of the folder itself. A folder without its
# config yet (a run being unpacked) is looked at again on each call.
_listings: dict[Path, tuple[int, list[Run], list[str]]] = {}


def list_runs(root: str | Path | None = None) -> list[Run]:
    """Runs under ``root``, newest first."""
    root = Path(root or default_runs_dir())
    try:
        stamp = root.stat().st_mtime_ns
        kept = _listings.get(root)
        if kept is None or kept[0] != stamp:
            # a symlink to a folder elsewhere is no run of this folder (nothing is written
            # through it); only links need resolving: a plain folder listed here is inside root
            with os.scandir(root) as entries:
                folders = [e.name for e in entries if e.is_dir(follow_symlinks=False)
                           or (e.is_symlink() and Run(e.path).inside(root))]
            runs = {name for name in folders if Run(root / name).exists()}
            kept = (stamp, [Run(root / name) for name in sorted(runs, reverse=True)],
                    [name for name in folders if name not in runs])
            if time.time() - stamp / 1e9 > SETTLED_S:
                _listings[root] = kept
    except OSError:  # no folder (yet)
        return []
    late = [Run(root / name) for name in kept[2] if Run(root / name).exists()]
    return sorted(kept[1] + late, key=lambda r: r.id, reverse=True) if late else list(kept[1])


def delete_run(run: Run, root: str | Path | None = None) -> None:
    """Delete the run's folder and all in it. Only a run folder itself (no link) directly inside
    ``root``, symlinks resolved, and never an active run: ``JobError`` says why not."""
    root = Path(root or default_runs_dir())
    if run.path.is_symlink() or not run.inside(root) or not run.exists():
        raise JobError(f"{run.path} is no run folder of {root} (a link, a folder elsewhere, or a folder "
                       "without config.json): nothing was deleted. Fix: delete it by hand if you mean it.")
    if run.is_active():
        raise JobError(f"run {run.id} is {run.state()}: stop it first (the Stop button, or "
                       f"`python -m dae_core stop {run.id}`), then delete it.")
    shutil.rmtree(run.path.resolve())


def prepared_run(path: str | Path, root: str | Path | None = None) -> Run:
    """The run folder at ``path``, when it is one of ``root``'s runs (symlinks resolved, as
    ``Run.inside``); else ``NotFoundError``, before anything is written: a training writes only
    in a folder of the runs folder (and its lock beside it)."""
    root = Path(root or default_runs_dir())
    run = Run(path)
    if not run.inside(root) or not run.exists():
        raise NotFoundError(f"{path} is no run folder of {root}: nothing was trained or written. Fix: "
                            "`python -m dae_core train TASK` prepares a run (--runs-dir names the runs folder).")
    return Run(root / run.path.resolve().name)


def find_run(ref: str, root: str | Path | None = None) -> Run:
    """A run of ``root`` by id, by unambiguous id prefix, or by the path of its folder; a
    reference to anything outside ``root``, symlinks resolved, names no run (commands never
    write outside it)."""
    root = Path(root or default_runs_dir())
    if Path(ref).is_dir() and root.is_dir() and Path(ref).resolve().parent == root.resolve():
        ref = Path(ref).resolve().name
    if ref and "/" not in ref and ref not in (".", "..") and (root / ref).is_symlink() \
            and not Run(root / ref).inside(root):
        raise NotFoundError(f"{root / ref} is a link to a folder outside {root}: it is no run of "
                            "this folder, and nothing is written there. Fix: move the run folder "
                            f"itself into {root}.")
    runs = list_runs(root)
    matches = [r for r in runs if r.id == ref] or [r for r in runs if ref and r.id.startswith(ref)]
    if not matches:
        raise NotFoundError(f"no run {ref!r} under {root}: `python -m dae_core runs` lists them.")
    if len(matches) > 1:
        raise NotFoundError(f"{ref!r} starts {len(matches)} run ids under {root} "
                            f"({', '.join(r.id for r in matches[:3])}, ...): give more of the id.")
    return matches[0]
