"""The command line: ``python -m dae_core`` (or ``dae-lab``) with a sub-command; ``--help`` lists them."""

from __future__ import annotations

import argparse
import errno
import json
import os
import sys
import time
from pathlib import Path

from dae_core import settings
from dae_core.cli import remote, study
from dae_core.cli.console import ProgressLine, import_tensorflow_quietly
from dae_core.cli.values import LabParser, path_text, positive_int
from dae_core.data import datasets
from dae_core.data.noise import NOISE_KINDS
from dae_core.errors import DamagedFileError, LabError
from dae_core.models import catalog
from dae_core.store.files import NAME_MAX, long_name
from dae_core.store.runs import Run, delete_run, find_run, parse_tags, prepared_run
from dae_core.tasks import TASKS, task_spec
from dae_core.training.config import PRECISIONS, PRESETS, SCHEDULES, cap_train_size, make_config
from dae_core.training import preflight


def _add_common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--data-dir", type=path_text, help=f"folder with the datasets (default: ${settings.DATA_DIR_ENV})")
    p.add_argument("--runs-dir", type=path_text, help=f"where runs are stored (default: ${settings.RUNS_DIR_ENV} or ./runs)")
    p.add_argument("--verbose", action="store_true", help="let TensorFlow's start-up logs through")


def _add_train_overrides(p: argparse.ArgumentParser) -> None:
    p.add_argument("--preset", choices=PRESETS, default="seed")
    p.add_argument("--epochs", type=int)
    p.add_argument("--batch-size", type=int)
    p.add_argument("--learning-rate", "--lr", type=float)
    p.add_argument("--schedule", choices=SCHEDULES)
    p.add_argument("--noise", dest="noise_kind", choices=NOISE_KINDS)
    p.add_argument("--noise-level", type=float)
    p.add_argument("--train-size", type=int, help="train on a subset (quick runs)")
    p.add_argument("--encoder-from", type=path_text, help="Task 1 model (.keras) that task3/variants start from")
    p.add_argument("--init-from", type=path_text, help="continue from this trained model's weights (.keras of the "
                   "same task and preset), with a fresh optimiser and schedule")
    p.add_argument("--seed", type=int)
    p.add_argument("--augment", action=argparse.BooleanOptionalAction, default=None)
    p.add_argument("--clean-fraction", type=float, help="with --augment: the last share of the "
                   "epochs (0-1) trains on plain images")
    p.add_argument("--erase", type=float, help="with --augment: the share of images (0-1) that "
                   "get a random patch erased")
    p.add_argument("--label-smoothing", type=float)
    p.add_argument("--arch-value", dest="arch_values", action="append", metavar="NAME=VALUE",
                   help="change one value of the preset's architecture, e.g. bn_momentum=0.9 or "
                        "cnn_filters=[32,64] (repeatable; names: dae_core/models/arch.py)")
    p.add_argument("--precision", choices=PRECISIONS, help="auto (default): mixed bfloat16 where this "
                   "CPU has bfloat16 units and it was measured faster, mixed float16 on a GPU, else "
                   "float32; the run records what it used")


def _arch_values(pairs: list[str] | None) -> dict | None:
    """``["bn_momentum=0.9"]`` -> ``{"bn_momentum": 0.9}``; values are JSON, else plain strings."""
    if not pairs:
        return None
    values = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep:
            raise ValueError(f"--arch-value takes NAME=VALUE, got {pair!r}")
        try:
            values[name.strip()] = json.loads(value)
        except ValueError:
            values[name.strip()] = value
    return values


def _overrides(args) -> dict:
    keys = ("epochs", "batch_size", "learning_rate", "schedule", "noise_kind", "noise_level",
            "train_size", "encoder_from", "init_from", "seed", "augment", "clean_fraction",
            "erase", "label_smoothing", "data_dir", "precision")
    return {**{k: getattr(args, k, None) for k in keys},
            "arch_values": _arch_values(getattr(args, "arch_values", None))}


def cmd_train(args) -> int:
    if args.run_dir:  # a run prepared by the dashboard (jobs.start_training), in the runs folder
        status = remote.train_run(args, prepared_run(args.run_dir, args.runs_dir))
        return 0 if status["state"] in ("completed", "stopped") else 1
    config = make_config(args.task, args.preset, **_overrides(args))
    config, note = cap_train_size(config, datasets.TRAIN_SIZE)
    if note:
        print(note)
    if not args.ray:  # on a cluster, the workers read their own data
        preflight.data_source(config)  # no data and no download: one line now, not a failed run later
    run = remote.train_config(args, config, args.runs_dir)
    _print_status(run)
    if args.ship:
        catalog.ship_run(run, catalog.invocation())
        print(f"shipped as models/{config.task}-{config.preset}.keras")
    return 0


def cmd_resume(args) -> int:
    from dae_core.errors import JobError

    run = find_run(args.run, args.runs_dir)
    if run.is_active() and run.status().get("pid") != os.getpid():
        raise JobError(f"run {run.id} is {run.state()} already: stop it first, or wait for it.")
    run.clear_stop()
    remote.train_run(args, run, resume=True)
    _print_status(run)
    return 0


def cmd_stop(args) -> int:
    run = find_run(args.run, args.runs_dir)
    run.request_stop()
    print(f"stop requested for {run.id}; it ends after the current batch")
    return 0


def cmd_runs(args) -> int:
    from dae_core.studies.store import mark_members
    from dae_core.training import run_table

    if args.archive or args.unarchive:
        run = find_run(args.archive or args.unarchive, args.runs_dir)
        run.update_meta(archived=bool(args.archive))
        print(f"{run.id} {'archived' if args.archive else 'unarchived'}")
        return 0
    if args.delete:
        run = find_run(args.delete, args.runs_dir)
        study = run.meta().study
        member = f", a member of study {study} (continuing the study trains it again)" if study else ""
        if not args.yes and not _confirm(f"Delete run {run.id}{member} and all its files? [y/N] "):
            print("nothing deleted")
            return 1
        delete_run(run, args.runs_dir)
        print(f"deleted {run.id}")
        return 0
    mark_members(args.runs_dir)
    rows = run_table.run_rows(args.runs_dir)
    shown = run_table.select(rows, tags=parse_tags(args.tag or ""), archived=args.all)
    print(run_table.text_table(shown) or "no runs")
    archived = len(run_table.select(rows, tags=parse_tags(args.tag or ""), archived=True)) - len(shown)
    if archived:
        print(f"({archived} archived run{'s' * (archived != 1)} left out: --all lists them)")
    return 0


def _confirm(question: str) -> bool:
    try:
        return input(question).strip().lower() in ("y", "yes")
    except EOFError:  # no terminal to answer from
        return False


def _print_status(run: Run) -> None:
    status = run.status()
    print(f"run {run.id}: {status['state']}; test {json.dumps(status.get('test', {}))}")


def cmd_evaluate(args) -> int:
    from dae_core.analysis import metrics
    from dae_core.models.builders import load_model
    from dae_core.models.inference import Predictor

    entry = catalog.resolve_model(args.model, args.runs_dir)
    model = Predictor(load_model(entry.path, entry.task), compile_single_image=False)  # one traced graph, no pipeline per call
    spec = task_spec(entry.task)
    # Never a download: the bundled test sets are the full ones, and offline a download only fails.
    test = datasets.load_test_set(spec.dataset, args.data_dir)
    print(f"{entry.label}: {entry.task}/{entry.preset} on {len(test.x)} test images from {test.source}")
    if spec.is_autoencoder:
        with ProgressLine("evaluate: denoising the test images") as progress:
            scores = metrics.denoise_scores(model, test.x, progress=progress)
        print(metrics.score_table(scores).to_string(index=False, float_format="%.3f"))
        _print_classical(scores, entry.label, test.x[:args.classical_images])
    else:
        with ProgressLine("evaluate: predicting the test images") as progress:
            report = metrics.classifier_report(model, test.x, test.y, progress=progress)
        print(f"test accuracy {report.accuracy:.4f}  test loss {report.loss:.4f}")
        print(report.per_class.to_string(index=False, float_format="%.4f"))
    return 0


def _print_classical(scores, label: str, x) -> None:
    """The autoencoder beside the classical denoisers (tuned on validation digits), on the same
    images: the classical methods are CPU loops, so a subset of the test set (the first images,
    whose noise is that of the autoencoder's whole table: ``metrics.denoise_scores``). Their table
    is kept on disk (``classical.kept_classical_table``): it depends on no model."""
    import pandas as pd

    from dae_core.analysis import classical, metrics

    ours = metrics.score_table(scores, len(x))
    with ProgressLine("evaluate: classical denoisers") as progress:
        others, kept = classical.kept_classical_table(x, progress=progress)
    both = pd.concat([ours.assign(method=label), others])
    side = both.pivot_table(index=["noise", "level"], columns="method", values="psnr_denoised", sort=False)
    side = side.reindex(pd.MultiIndex.from_frame(ours[["noise", "level"]]))  # the autoencoder table's order
    print(f"\nPSNR (dB) denoised, the autoencoder beside the classical denoisers, first {len(x)} test images:")
    print(side[[label, *classical.METHODS]].to_string(float_format="%.2f"))
    print("ms per image" + (" (timed when the kept table was computed)" if kept else "") + ":",
          others.groupby("method", sort=False)["ms_per_image"].mean().round(2).to_dict())


def cmd_compare(args) -> int:
    from dae_core.analysis import report

    test = datasets.load_test_set("fashion-mnist", args.data_dir)  # the bundled one: the full test set
    a, b = catalog.resolve_model(args.a, args.runs_dir), catalog.resolve_model(args.b, args.runs_dir)
    for entry in (a, b):  # Task 4's figures (accuracy, McNemar's test) are a classifier's
        if task_spec(entry.task).is_autoencoder:
            raise ValueError(f"compare takes two classifiers, and {entry.name} is an autoencoder "
                             f"({entry.task}). Fix: `python -m dae_core evaluate {entry.name}` for its figures.")
    comp = _compared(a, b, test.x, test.y)
    paths = report.write_comparison(comp, args.out)
    print(paths[-1].read_text())
    print("written:", ", ".join(str(p) for p in paths))
    return 0


def _compared(a, b, x, y):
    """``report.compare`` with a progress line per model (none when its predictions are kept)."""
    from dae_core.analysis import predictions, report

    made = []
    for entry in (a, b):
        with ProgressLine(f"compare: {entry.name}") as progress:
            made.append(predictions.predict(entry.path, x, y, progress=progress))
    return report.comparison(a, b, *made, y)


def cmd_reproduce(args) -> int:
    """Task 1, 2 and 3 at the preset's settings, then the Task 4 comparison."""
    from dae_core.analysis import metrics, report
    from dae_core.models.builders import load_model
    from dae_core.training.durations import format_duration
    from dae_core.training.train import train_config

    start, overrides = time.time(), _overrides(args)
    out = Path(args.out) / args.preset
    print(f"reproduce {args.preset}, step 1 of 4: Task 1, the denoising autoencoder", flush=True)
    task1 = train_config(make_config("task1", args.preset, **overrides), args.runs_dir)
    print(f"reproduce {args.preset}, step 2 of 4: Task 2, the classifier from scratch", flush=True)
    task2 = train_config(make_config("task2", args.preset, **overrides), args.runs_dir)
    overrides["encoder_from"] = str(task1.model_path)
    print(f"reproduce {args.preset}, step 3 of 4: Task 3, the classifier on Task 1's encoder", flush=True)
    task3 = train_config(make_config("task3", args.preset, **overrides), args.runs_dir)
    print(f"reproduce {args.preset}, step 4 of 4: Task 4, the comparison, and Task 1's test figures", flush=True)
    if args.ship:
        for run in (task1, task2, task3):
            catalog.ship_run(run, catalog.invocation())
    entries = {e.name: e for e in catalog.run_models(args.runs_dir)}
    ds = datasets.load_dataset("fashion-mnist", args.data_dir)
    comp = _compared(entries[task2.id], entries[task3.id], ds.x_test, ds.y_test)
    paths = report.write_comparison(comp, out)
    mnist = datasets.load_dataset("mnist", args.data_dir)
    with ProgressLine("reproduce: denoising the test images") as progress:
        denoise = metrics.denoise_table(load_model(task1.model_path), mnist.x_test, progress=progress)
    denoise.to_csv(out / "task1_denoise.csv", index=False)
    print(paths[-1].read_text())
    print(denoise.to_string(index=False, float_format="%.3f"))
    print(f"reproduce {args.preset}: {format_duration(time.time() - start)} in all; written to {out}")
    return 0


def cmd_ship(args) -> int:
    run = find_run(args.run, args.runs_dir)
    preset = run.config().get("preset")  # the file name is made of a known task and preset only
    if preset not in PRESETS:
        raise DamagedFileError(run.config_path, f"preset {preset!r} is not one of {', '.join(PRESETS)}",
                               "ship only a run trained at a preset")
    entry = catalog.ship_run(run, args.made_by or "")
    print(f"shipped {run.id} as {entry.path}")
    return 0


def cmd_data(args) -> int:
    """Where each dataset loads from; with --download, fetch what is missing through Keras."""
    from dae_core.data import datasets

    if args.data_dir and not Path(args.data_dir).expanduser().is_dir():
        raise ValueError(f"the data folder {args.data_dir} does not exist: name a folder holding mnist/ and "
                         "fashion-mnist/ (the four IDX .gz files each)")
    for name in datasets.DATASETS:
        if args.download:
            datasets.load_dataset(name, args.data_dir, download=True)  # DataError: what was tried, the fix
        print(f"{name}: {datasets.dataset_source(name, args.data_dir)}")
    return 0


DESCRIPTION = ("DAE Lab: denoising autoencoders and transfer learning on MNIST and Fashion-MNIST. Train "
               "and manage runs, evaluate and compare models, reproduce the assignment, run studies. "
               "python -m dae_core COMMAND --help lists a command's options.")  # --help shows it as is


def build_parser() -> argparse.ArgumentParser:
    parser = LabParser(prog="python -m dae_core", description=DESCRIPTION)
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("train", help="train one model as a recorded run")
    p.add_argument("task", nargs="?", choices=TASKS, default="task2")
    p.add_argument("--run-dir", type=path_text, help="train an already prepared run folder (one of the runs "
                   "folder's: jobs.start_training prepares it)")
    p.add_argument("--ship", action="store_true", help="copy the model into models/ when done")
    _add_train_overrides(p)
    remote.add_ray_arguments(p)
    p = sub.add_parser("resume", help="continue a stopped or killed run from its last epoch")
    p.add_argument("run", type=path_text)
    remote.add_ray_arguments(p)
    p = sub.add_parser("stop", help="ask a running training to stop after its current batch")
    p.add_argument("run", type=path_text)
    p = sub.add_parser("runs", help="list runs (--tag to filter), archive or delete one")
    p.add_argument("--tag", help="only runs with these tags (comma-separated)")
    p.add_argument("--all", action="store_true", help="archived runs too")
    manage = p.add_mutually_exclusive_group()
    manage.add_argument("--archive", metavar="RUN", type=path_text, help="archive a run: kept, but out of model lists")
    manage.add_argument("--unarchive", metavar="RUN", type=path_text, help="bring an archived run back")
    manage.add_argument("--delete", metavar="RUN", type=path_text, help="delete a run's folder (asks first)")
    p.add_argument("--yes", action="store_true", help="with --delete: do not ask")
    p = sub.add_parser("evaluate", help="test figures of a model (shipped name, run id or path)")
    p.add_argument("model", type=path_text)
    p.add_argument("--classical-images", type=positive_int, default=1000,
                   help="autoencoders: test images for the comparison with classical denoisers")
    p = sub.add_parser("compare", help="Task 4: compare two classifiers")
    p.add_argument("a", nargs="?", type=path_text, default="task2-seed")
    p.add_argument("b", nargs="?", type=path_text, default="task3-seed")
    p.add_argument("--out", type=path_text, default="reports/compare")
    p = sub.add_parser("reproduce", help="train Task 1, 2, 3 and write the Task 4 comparison")
    _add_train_overrides(p)
    p.add_argument("--out", type=path_text, default="reports")
    p.add_argument("--ship", action="store_true", help="copy the models into models/")
    p = sub.add_parser("ship", help="copy a finished run's model into models/")
    p.add_argument("run", type=path_text)
    p.add_argument("--made-by", help="the command that trained it, for the manifest")
    study.add_parser(sub)
    p = sub.add_parser("data", help="where the datasets load from (--download: fetch them through Keras)")
    p.add_argument("--download", action="store_true")
    for p in sub.choices.values():
        _add_common(p)
    return parser


COMMANDS = {"train": cmd_train, "resume": cmd_resume, "stop": cmd_stop, "runs": cmd_runs,
            "evaluate": cmd_evaluate, "compare": cmd_compare, "reproduce": cmd_reproduce,
            "ship": cmd_ship, "study": study.cmd_study, "data": cmd_data}


NO_TENSORFLOW = ("stop", "runs", "data")  # commands that never load it (data --download does)


def main(argv=None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    problem = study.args_problem(args) if args.command == "study" else None
    if problem:
        parser.error(problem)  # one line, exit 2, before anything loads or runs
    try:
        if not args.verbose and (args.command not in NO_TENSORFLOW or getattr(args, "download", False)):
            import_tensorflow_quietly()  # its C++ start-up logs out of the way: dae_core.cli.console
        return COMMANDS[args.command](args)
    except (LabError, ValueError) as e:  # what the user can fix; anything else is a bug
        print(f"error: {e}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # `python -m dae_core runs | head`: the reader has all it wants
        try:  # no second error when Python flushes stdout at exit
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        except (OSError, ValueError):  # stdout is no file (captured)
            pass
        return 1
    except OSError as e:
        print(f"error: {_os_error_line(e)}", file=sys.stderr)
        return 2


UNWRITABLE = (errno.ENOSPC, errno.EROFS, errno.EACCES, errno.EPERM, errno.EDQUOT)


def _os_error_line(e: OSError) -> str:
    """What went wrong with a file, and the fix, in one line (the file's name shortened if long)."""
    name = e.filename or "a file"
    if e.errno == errno.ENAMETOOLONG:
        return (f"the name {long_name(name) or name} is too long ({e.strerror}): a file or folder name "
                f"holds at most {NAME_MAX} bytes. Fix: a shorter name.")
    if e.errno not in UNWRITABLE:
        return f"{name}: {e.strerror or e}"
    return (f"cannot write {name} ({e.strerror or e}). Fix: free some disk space or make the folder "
            f"writable (or point {settings.RUNS_DIR_ENV} elsewhere).")
