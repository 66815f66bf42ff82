"""``python -m dae_core study NAME``: run or continue a study, summarise it, ship its results."""

from __future__ import annotations

import time
from pathlib import Path

from dae_core import settings
from dae_core.data import datasets
from dae_core.models import catalog
from dae_core.store.runs import Run
from dae_core.studies import evidence, store
from dae_core.cli import remote
from dae_core.cli.console import ProgressLine
from dae_core.cli.values import int_list, name_list, plain_name, positive_float, positive_int
from dae_core.tasks import TASKS
from dae_core.training.config import PRECISIONS, PRESETS

NAMES = ("label-efficiency", "pretraining", "seeds", "variants", "robustness")
LABEL_STUDIES = ("label-efficiency", "pretraining")  # a grid of arms x label budgets, at the seed preset


def add_parser(sub) -> None:
    p = sub.add_parser("study", help="run or continue a study (many runs), then summarise it")
    p.add_argument("name", choices=NAMES)
    p.add_argument("--seeds", type=positive_int, default=3, help="seeds per arm and setting (variants: use 1)")
    p.add_argument("--preset", choices=PRESETS, default="seed", help="seeds and variants: the preset")
    p.add_argument("--budgets", type=int_list, help="label budgets, comma-separated (default 100,...,48000; "
                   "pretraining: 100,...,10000)")
    p.add_argument("--arms", type=name_list, help="arms, comma-separated (default all)")
    p.add_argument("--tasks", type=name_list, help="seeds: the tasks, comma-separated (default task2,task3)")
    p.add_argument("--epochs-scale", type=positive_float, default=1.0, help="scale every member's epochs")
    p.add_argument("--steps-per-epoch", type=positive_int, help="steps of 100 images per epoch (default 100)")
    p.add_argument("--precision", choices=PRECISIONS, help="every member's precision (default: each "
                   "member's own, auto)")
    p.add_argument("--id", type=plain_name, help="the study's folder name (default: its name)")
    remote.add_ray_arguments(p)  # --ray ADDRESS: the members train there; --gpus-per-run
    p.add_argument("--against", type=plain_name, metavar="STUDY", help="set each arm against the same arm "
                   "of another study, paired by seed (a shipped study's name or a study id)")
    p.add_argument("--results-only", action="store_true", help="summarise without training")
    p.add_argument("--models", help="robustness: the classifiers, comma-separated (default: the shipped)")
    p.add_argument("--ship", action="store_true", help="keep the results in studies/ (shipped with the project)")


def args_problem(args) -> str | None:
    """What is wrong with options that depend on the study's name (None: nothing), found as the
    command line is read: an arm another study has, or none of this study's."""
    from dae_core.studies.designs import ARMS

    if not args.arms:
        return None
    if args.name not in ARMS:
        return f"argument --arms: applies to the {' and '.join(ARMS)} studies only"
    unknown = [arm for arm in args.arms if arm not in ARMS[args.name]]
    if unknown:
        return (f"argument --arms: {', '.join(unknown)} is no arm of the {args.name} study; its arms: "
                f"{', '.join(ARMS[args.name])}")
    return None


def cmd_study(args) -> int:
    """Run (or continue) a study, print its summary and what it shows; --ship keeps its results."""
    started = time.time()
    if args.name == "robustness":
        folder, table, notes = _robustness_study(args)
    else:
        study = _training_study(args)
        if study is None:
            return 1
        folder, table, notes = study.path, evidence.results(study), _training_findings(study, args)
    folder.mkdir(parents=True, exist_ok=True)
    print("\n".join(notes))
    print(f"written: {store.write_results(folder, table)}")
    if args.ship:
        _ship(args, folder, study if args.name != "robustness" else None, time.time() - started)
    return 0


def _check_complete(study) -> None:
    """Only a whole study ships: a part would show as its answer on the Studies and Compare pages."""
    from dae_core.studies import runner

    done, total = runner.progress(study)
    if done < total:
        raise ValueError(f"study {study.path.name} has {done} of its {total} members finished, and a study ships "
                         "whole: the same command without --results-only trains the rest, then ships it")


def _training_study(args):
    """The study after running what is left of it; None when members are left (a stop)."""
    from dae_core.studies import designs, runner

    options = dict(seeds=args.seeds, epochs_scale=args.epochs_scale, data_dir=args.data_dir)
    if args.name not in LABEL_STUDIES:
        options["preset"] = args.preset
    if args.tasks:
        if args.name != "seeds":
            raise ValueError("--tasks applies to the seeds study only")
        unknown = set(args.tasks) - set(TASKS)
        if unknown:
            raise ValueError(f"task {', '.join(sorted(unknown))} unknown; choose from {', '.join(TASKS)}")
        options["tasks"] = args.tasks
    if args.preset != "seed" and args.name in LABEL_STUDIES:
        raise ValueError(f"the {args.name} study trains at the seed preset only")
    grid = dict(budgets=args.budgets, arms=args.arms, steps_per_epoch=args.steps_per_epoch)
    grid = {k: v for k, v in grid.items() if v}
    if grid and args.name not in LABEL_STUDIES:
        raise ValueError(f"--{next(iter(grid)).replace('_', '-')} applies to the label-efficiency and "
                         "pretraining studies only")
    design = designs.DESIGNS[args.name](**options, **grid)
    if args.precision:
        design = store.with_precision(design, args.precision)
    if args.results_only and not (store.study_folder(args.id or design.name, args.runs_dir) / store.STUDY_FILE).exists():
        raise ValueError(f"no study {args.id or design.name!r} in the runs folder: run it without --results-only")
    study = store.Study.open(design, args.id, args.runs_dir)
    if args.ray:
        from dae_core.studies import ray_executor

        left = ray_executor.run_on_ray(study, args.ray, gpus_per_run=args.gpus_per_run)
    else:
        left = [] if args.results_only else runner.run_locally(study)
    if left:
        print(f"study {study.path.name}: {len(left)} members left; run the same command to continue it.")
        return None
    return study


def _training_findings(study, args) -> list[str]:
    """The summary table (printed) and the sentences on what the members show."""

    table, design = evidence.results(study), study.design()
    if not len(table):
        return [f"study {study.path.name}: no member has finished yet (0 of {len(design.members)}); "
                "run the same command without --results-only to train them."]
    print(evidence.summary(table, design.axis, design.value).to_string(index=False, float_format="%.4f"))
    notes = evidence.findings(table, design.axis, design.value)
    if args.name == "pretraining":
        gains = evidence.pretraining_gains(table, design.axis, design.value)
        print(gains.to_string(index=False, float_format="%.4f"))
    notes.append(evidence.headline(args.name, table, design.axis, design.value))  # what the Studies page leads with
    if args.against:
        reference = _reference_results(args.against, args.runs_dir)
        print(f"against {args.against}:")
        print(evidence.against(table, reference, design.value).to_string(index=False, float_format="%.4f"))
    if args.name == "seeds" and design.value == "accuracy":
        test = datasets.load_test_set("fashion-mnist", args.data_dir)  # else the bundled one: the same images
        notes += evidence.mcnemar_per_seed(study, test.x, test.y)
    return notes


def _reference_results(name: str, runs_dir):
    """The results of study ``name``: the shipped ones, else those in the runs folder."""
    table = store.shipped_results(name)
    if table is None:
        table = store.read_results(store.study_folder(name, runs_dir))
    if table is None:
        raise ValueError(f"no results for study {name!r}: neither shipped nor in the runs folder")
    return table


def _robustness_study(args):
    """Each shipped (or named) classifier's accuracy under noise: (folder, table, notes)."""
    from dae_core.analysis import robustness
    from dae_core.models.builders import load_model

    names = args.models.split(",") if args.models else [
        e.name for e in catalog.shipped_models() if e.task in ("task2", "task3")]
    models = {name: load_model(catalog.resolve_model(name, args.runs_dir).path) for name in names}
    test = datasets.load_test_set("fashion-mnist", args.data_dir)  # else the bundled one: the same images
    with ProgressLine("study robustness") as progress:
        table = robustness.robustness_table(models, test.x, test.y, progress=progress)
    print(table.pivot_table(index=["noise", "level"], columns="model", values="accuracy")
          .to_string(float_format="%.4f"))
    folder = store.study_folder(args.id or "robustness", args.runs_dir or settings.runs_dir())
    return folder, table, robustness.findings(table)


def _ship(args, folder: Path, study, seconds: float) -> None:
    """Keep the results in studies/; the variants' models also go to models/ and the manifest."""
    from dae_core.studies import runner

    if study is not None:
        _check_complete(study)
    if study is not None and args.name == "variants":
        for key, run_id in study.read()["runs"].items():
            if key.endswith("/seed=0"):
                entry = catalog.ship_run(Run(study.runs_root / run_id), catalog.invocation())
                print(f"shipped {entry.path}")
    if study is not None:
        seconds, machine = runner.training_seconds(study), runner.trained_on(study)
    else:  # evaluated here, in this process
        from dae_core.models.device import device_description
        machine = device_description()
    made_by = " ".join(w for w in catalog.invocation().split() if w not in ("--results-only", "--ship"))
    target = store.ship(folder, folder.name, made_by, seconds, machine)  # by its id: --id never overwrites
    print(f"shipped: {target}")
