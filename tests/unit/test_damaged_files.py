"""A fault injector: every file the lab reads, damaged every way (cut, empty, binary, wrong
shape, wrong types, a symlink to a file outside), against the module that owns it. Each case
asserts that the owner names the file (or skips or marks the item), that the sidebar's
``catalog.all_models`` and ``python -m dae_core runs`` stay up, and that nothing is written
outside the folder. Fast: no datasets, no TensorFlow."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from dae_core import settings
from dae_core.analysis import classical
from dae_core.cli.main import main
from dae_core.errors import DamagedFileError, LabError, NotFoundError
from dae_core.models import catalog
from dae_core.store.runs import Run, find_run, list_runs
from dae_core.studies import store
from dae_core.training import jobs, run_table

BINARY = bytes(range(256)) * 4
CONFIG = {"task": "task2", "preset": "seed", "epochs": 3}
STATUS = {"state": "completed", "epoch": 3, "epochs": 3, "test": {"accuracy": 0.9}}
METRICS = ('{"kind": "epoch", "epoch": 1, "loss": 0.5}\n{"kind": "epoch", "epoch": 2, "loss": 0.4}\n'
           '{"kind": "batch", "epoch": 3, "step": 2, "steps": 5, "loss": 0.3}\n')
MANIFEST = {"models": [{"name": "task2-seed", "task": "task2", "preset": "seed", "file": "task2-seed.keras"}]}
STUDY = {"design": {"name": "demo", "question": "?", "axis": None, "value": "accuracy",
                    "members": [{"key": "a/seed=0", "arm": "a", "seed": 0, "config": dict(CONFIG),
                                 "setting": {}}]},
         "runs": {}, "created": 0}
RESULTS = "key,arm,seed,preset,accuracy,run\na/seed=0,task2,0,seed,0.9,r1\nb/seed=0,task3,0,seed,0.91,r2\n"
ABOUT = {"command": "python -m dae_core study seeds", "seconds": 60, "finished": "2026-01-01"}
PARAMS = {"params": {"gaussian": {"0.5": {"median": 3, "blur": 0.5, "tv": 0.1, "nl_means": 0.1}}}}

# Each file kind: its valid text, and its wrong shape and wrong types (valid JSON or CSV).
KINDS = {
    "config": (json.dumps(CONFIG), "[]", json.dumps({"task": "task2", "preset": ["x"], "epochs": "two"})),
    "status": (json.dumps(STATUS), "[]", json.dumps({"epoch": "two", "epochs": "x", "test": [1, 2]})),
    "metrics": (METRICS, "[1, 2]\nnull\n", '{"kind": "epoch", "epoch": "two", "loss": "low"}\n'),
    "manifest": (json.dumps(MANIFEST), "[]", json.dumps({"models": [{"name": 1, "task": "task2"}]})),
    "study": (json.dumps(STUDY), "[]", json.dumps({**STUDY, "design": {**STUDY["design"], "members": "x"}})),
    "results": (RESULTS, "a,b\n1,2\n", "key,arm,seed,accuracy\nk,task2,one,high\n"),
    "about": (json.dumps(ABOUT), "[]", json.dumps({"command": 1, "seconds": "long"})),
    "params": (json.dumps(PARAMS), "[]", json.dumps({"params": {"gaussian": {"0.5": {"median": "three"}}}})),
}
DAMAGES = ("cut", "empty", "binary", "wrong_shape", "wrong_types", "symlink_outside")


def damage(path: Path, kind: str, how: str, outside: Path) -> None:
    """Write ``how``'s damage into ``path`` (a ``kind`` file); a symlink points at a file in
    ``outside`` that holds the wrong shape."""
    valid, shape, types = KINDS[kind]
    path.unlink(missing_ok=True)
    if how == "cut":
        path.write_text(valid[:len(valid) // 2] if kind not in ("results", "metrics") else valid[:7])
    elif how == "empty":
        path.write_text("")
    elif how == "binary":
        path.write_bytes(BINARY)
    elif how == "wrong_shape":
        path.write_text(shape)
    elif how == "wrong_types":
        path.write_text(types)
    else:
        target = outside / f"target-{kind}"
        target.write_text(shape)
        path.symlink_to(target)


def snapshot(folder: Path) -> dict:
    return {str(p): p.read_bytes() if p.is_file() else None for p in sorted(folder.rglob("*"))}


@pytest.fixture
def lab(tmp_path, monkeypatch):
    """A runs folder with one finished run, a models folder with its manifest, a shipped
    studies folder, and a folder outside all of them that nothing may write into."""
    runs, models, studies, outside = (tmp_path / n for n in ("runs", "models", "studies", "outside"))
    for folder in (runs, models, studies, outside):
        folder.mkdir()
    (outside / "keep.txt").write_text("untouched")
    monkeypatch.setenv(settings.RUNS_DIR_ENV, str(runs))
    monkeypatch.setenv(settings.MODELS_DIR_ENV, str(models))
    monkeypatch.setenv(settings.STUDIES_DIR_ENV, str(studies))
    run = Run(runs / "20260101-000000-task2-seed")
    run.path.mkdir()
    (run.path / "config.json").write_text(KINDS["config"][0])
    (run.path / "status.json").write_text(KINDS["status"][0])
    (run.path / "metrics.jsonl").write_text(METRICS)
    (run.path / "model.keras").write_bytes(b"not read here")
    (models / "manifest.json").write_text(KINDS["manifest"][0])
    (models / "task2-seed.keras").write_bytes(b"not read here")
    (studies / "seeds").mkdir()
    (studies / "seeds" / "results.csv").write_text(RESULTS)
    (studies / "seeds" / "about.json").write_text(KINDS["about"][0])
    study = runs / "studies" / "demo"
    study.mkdir(parents=True)
    (study / "study.json").write_text(KINDS["study"][0])
    catalog.clear_run_cache()
    return {"runs": runs, "models": models, "studies": studies, "outside": outside, "run": run,
            "study": study, "tmp": tmp_path}


def stays_up(lab, capsys) -> None:
    """The sidebar's model list and ``runs`` work; the summary of every run is readable."""
    catalog.clear_run_cache()
    catalog.all_models()
    for run in list_runs():
        run_table.row_of(run)
        jobs.progress(run)
    capsys.readouterr()
    assert main(["runs"]) == 0
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err


def names(error: BaseException, path: Path) -> None:
    assert isinstance(error, LabError) and str(path) in str(error), str(error)


CASES = [(kind, how) for kind in KINDS for how in DAMAGES]


@pytest.mark.parametrize(("kind", "how"), CASES, ids=[f"{k}-{h}" for k, h in CASES])
def test_a_damaged_file_is_named_and_the_rest_stays_up(lab, kind, how, capsys):
    run, outside = lab["run"], lab["outside"]
    path = {"config": run.config_path, "status": run.status_path, "metrics": run.path / "metrics.jsonl",
            "manifest": lab["models"] / "manifest.json", "study": lab["study"] / "study.json",
            "results": lab["studies"] / "seeds" / "results.csv",
            "about": lab["studies"] / "seeds" / "about.json",
            "params": lab["tmp"] / f"params-{how}.json"}[kind]
    if kind == "params":
        path.write_text(KINDS["params"][0])
        assert classical.params_for("gaussian", 0.5, classical.load_params(path))["median"] == 3
    damage(path, kind, how, outside)
    before = snapshot(outside)

    if kind == "config":
        with pytest.raises(DamagedFileError) as caught:
            run.config()
        names(caught.value, path)
        assert run_table.row_of(run).state == "damaged"
        assert jobs.progress(run).state == "damaged" and str(path) in jobs.progress(run).message
        assert all(e.name != run.id for e in catalog.all_models())
        with pytest.raises(NotFoundError, match="damaged"):
            catalog.resolve_model(run.id)
    elif kind == "status":
        status = run.status()
        assert status["state"] == "damaged" and str(path) in status["damaged"]
        assert run_table.row_of(run).state == "damaged"
        assert "damaged" in jobs.progress(run).message
        assert not jobs.progress(run).resumable
    elif kind == "metrics":
        records = run.metrics()
        assert all(isinstance(r, dict) and isinstance(r.get("epoch"), int) for r in records)
        assert catalog.epoch_history(run) == [] or all("loss" in r for r in catalog.epoch_history(run))
    elif kind == "manifest":
        problems = catalog.manifest_problems()
        assert problems and all(str(path) in p for p in problems)
        assert catalog.shipped_models() == []
        with pytest.raises(NotFoundError) as caught:
            catalog.resolve_model("task2-seed")
        assert "manifest is damaged" in str(caught.value) and str(path) in str(caught.value)
        capsys.readouterr()
        assert main(["evaluate", "task2-seed"]) == 2
        assert "manifest is damaged" in capsys.readouterr().err
    elif kind == "study":
        with pytest.raises(DamagedFileError) as caught:
            store.Study(lab["study"]).read()
        names(caught.value, path)
        capsys.readouterr()
        code = main(["study", "label-efficiency", "--id", "demo", "--results-only"])
        err = capsys.readouterr().err
        assert code == 2 and str(path) in err and "other settings" not in err
    elif kind == "results":
        with pytest.raises(DamagedFileError) as caught:
            store.shipped_results("seeds")
        names(caught.value, path)
        with pytest.raises(DamagedFileError):
            store.read_results(path.parent)
    elif kind == "about":
        with pytest.raises(DamagedFileError) as caught:
            store.shipped_about("seeds")
        names(caught.value, path)
    else:
        classical.load_params.cache_clear()  # it was read whole above
        with pytest.raises(DamagedFileError) as caught:
            classical.load_params(path)
        names(caught.value, path)

    stays_up(lab, capsys)
    assert snapshot(outside) == before  # nothing written outside


def test_metrics_keep_their_good_lines_around_damaged_ones(lab):
    run = lab["run"]
    with open(run.path / "metrics.jsonl", "ab") as f:
        f.write(b"\xff\xfe\x00binary\n[1, 2]\nnull\n" + b'{"kind": "epoch", "epoch": "two"}\n'
                + b'{"kind": "epoch", "epoch": 4, "loss": 0.2}\n')
    assert [r["epoch"] for r in run.metrics("epoch")] == [1, 2, 4]


def test_a_run_folder_linked_from_outside_is_no_run(lab, capsys):
    """A symlink in runs/ to a folder outside: not listed, not found, never stopped or resumed."""
    outside_run = lab["outside"] / "elsewhere"
    outside_run.mkdir()
    (outside_run / "config.json").write_text(json.dumps(CONFIG))
    (outside_run / "status.json").write_text(json.dumps({**STATUS, "state": "stopped"}))
    (outside_run / "checkpoint-0001.keras").write_bytes(b"x")
    link = lab["runs"] / "20270101-000000-task2-seed"
    link.symlink_to(outside_run)
    before = snapshot(lab["outside"])
    assert link.name not in [r.id for r in list_runs()]
    with pytest.raises(NotFoundError, match="outside"):
        find_run(link.name)
    for command in (["stop", link.name], ["resume", link.name], ["ship", link.name],
                    ["stop", str(link)], ["resume", str(outside_run)]):
        assert main(command) == 2, command
    assert snapshot(lab["outside"]) == before
    assert link.name not in capsys.readouterr().out
    assert all(row.id != link.name for row in run_table.run_rows())


@pytest.mark.parametrize("target", ["dangling", "outside"])
def test_a_stop_symlink_is_not_followed(lab, target):
    run, outside = lab["run"], lab["outside"]
    aim = outside / ("missing" if target == "dangling" else "keep.txt")
    (run.path / "STOP").symlink_to(aim)
    before = snapshot(outside)
    assert main(["stop", run.id]) == 0
    assert snapshot(outside) == before and not (outside / "missing").exists()
    assert not (run.path / "STOP").is_symlink() and run.stop_requested()


def test_ship_names_its_file_from_a_known_task_and_preset_only(lab, capsys):
    run, outside = lab["run"], lab["outside"]
    for config in ({**CONFIG, "task": "/../../../outside/pwn"}, {**CONFIG, "preset": "../../outside/x"},
                   {**CONFIG, "preset": "other"}):
        run.config_path.write_text(json.dumps(config))
        before = snapshot(outside), snapshot(lab["models"])
        assert main(["ship", run.id]) == 2
        assert "damaged" in capsys.readouterr().err
        assert (snapshot(outside), snapshot(lab["models"])) == before


def test_a_manifest_entry_outside_the_models_folder_is_left_out(lab):
    (lab["outside"] / "evil.keras").write_bytes(b"x")
    entries = [{"name": n, "task": "task2", "preset": "seed", "file": f}
               for n, f in (("a", "../outside/evil.keras"), ("b", "/etc/passwd"), ("c", "task2-seed.keras"))]
    (lab["models"] / "manifest.json").write_text(json.dumps({"models": entries}))
    assert [e.name for e in catalog.shipped_models()] == ["c"]
    assert sum("outside" in p for p in catalog.manifest_problems()) == 2


@pytest.mark.parametrize("study_id", ["../../x", "/tmp/x", "a/b", "..", ""])
def test_a_study_id_is_a_plain_name(lab, study_id, capsys):
    before = snapshot(lab["tmp"])
    with pytest.raises(SystemExit) as exited:
        main(["study", "label-efficiency", "--id", study_id, "--results-only"])
    assert exited.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "plain name" in err
    assert snapshot(lab["tmp"]) == before
    with pytest.raises(LabError):
        store.study_folder(study_id)


def test_a_study_json_member_run_that_is_a_path_is_damaged(lab):
    (lab["study"] / "study.json").write_text(json.dumps({**STUDY, "runs": {"a/seed=0": str(lab["outside"])}}))
    with pytest.raises(DamagedFileError, match="no run id"):
        store.Study(lab["study"]).read()


@pytest.mark.parametrize("argv", [
    ["study", "label-efficiency", "--epochs-scale", "inf"], ["study", "label-efficiency", "--epochs-scale", "-1"],
    ["evaluate", "task2-seed", "--classical-images", "0"], ["study", "seeds", "--seeds", "0"],
    ["study", "seeds", "--seeds", "-1"], ["study", "label-efficiency", "--budgets", ""],
    ["study", "label-efficiency", "--budgets", "abc"], ["study", "label-efficiency", "--steps-per-epoch", "0"],
    ["study", "label-efficiency", "--arms", "bogus", "--results-only"],
])
def test_values_are_refused_where_they_enter_in_one_line(lab, argv, capsys):
    before = snapshot(lab["tmp"])
    with pytest.raises(SystemExit) as exited:
        raise SystemExit(main(argv))
    assert exited.value.code == 2
    out, err = capsys.readouterr()
    assert err.startswith("error: ") and err.count("\n") == 1 and "Traceback" not in err, err
    assert snapshot(lab["tmp"]) == before


def test_a_closed_pipe_is_no_full_disk(lab, monkeypatch, capsys):
    def closed(*args, **kwargs):
        raise BrokenPipeError(32, "Broken pipe")

    monkeypatch.setattr("builtins.print", closed)
    assert main(["runs"]) == 1
    assert "disk" not in capsys.readouterr().err
