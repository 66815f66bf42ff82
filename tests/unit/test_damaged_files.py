"""A fault injector: every file the lab reads, damaged every way (cut, empty, binary, wrong
shape, wrong types, a symlink to a file outside), against the module that owns it: the run's
files, the manifest, a study's files, the classical parameters, and the binary kinds (checkpoints,
model files, dataset IDX files). Each case asserts that the owner names the file (or skips or
marks the item), that the sidebar's ``catalog.all_models`` and ``python -m dae_core runs`` stay
up, that a command says it in one line (exit 2), and that nothing is written outside the folder.
Then the confinement of ``--run-dir`` and a study member's encoder, and values refused where they
enter. Fast: no datasets; two tiny Keras models."""

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


def damage(path: Path, kind: str, how: str, outside: Path, contents=None) -> None:
    """Write ``how``'s damage into ``path`` (a ``kind`` file); a symlink points at a file in
    ``outside`` that holds the wrong shape. ``contents``: (valid, wrong shape[, wrong types]),
    text or bytes; default ``KINDS[kind]``."""
    valid, shape, *types = contents or KINDS[kind]
    path.unlink(missing_ok=True)
    write = path.write_bytes if isinstance(valid, bytes) else path.write_text
    if how == "cut":
        write(valid[:len(valid) // 2] if kind not in ("results", "metrics") else valid[:7])
    elif how == "empty":
        write(valid[:0])
    elif how == "binary":
        path.write_bytes(BINARY)
    elif how == "wrong_shape":
        write(shape)
    elif how == "wrong_types":
        write(types[0])
    else:
        target = outside / f"target-{kind}"
        (target.write_bytes if isinstance(shape, bytes) else target.write_text)(shape)
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
        with pytest.raises(DamagedFileError) as caught:
            store.shipped_seeds("seed")  # Compare's reader of a preset's seeds study
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


# --- model files, checkpoints and dataset files: binary kinds (a tiny real model, IDX gzip) ---

FILE_DAMAGES = ("cut", "empty", "binary", "wrong_shape", "symlink_outside")


@pytest.fixture(scope="module")
def keras_files(tmp_path_factory) -> dict:
    """The bytes of a tiny classifier (a valid task2 model file) and of a tiny autoencoder (a model
    of the wrong kind for a task2 run): real ``.keras`` files, saved compiled as checkpoints are."""
    import keras

    folder = tmp_path_factory.mktemp("keras")
    inputs = keras.Input((28, 28, 1))
    models = {"classifier": keras.Model(inputs, keras.layers.Dense(10, activation="softmax")(
                  keras.layers.Flatten()(inputs))),
              "autoencoder": keras.Model(inputs, keras.layers.Conv2D(1, 3, padding="same")(inputs))}
    for name, model in models.items():
        model.compile(optimizer="adam", loss="mse")
        model.save(folder / f"{name}.keras")
    return {name: (folder / f"{name}.keras").read_bytes() for name in models}


def idx_gzip(array, magic: int) -> bytes:
    import gzip
    import struct

    return gzip.compress(struct.pack(f">{1 + array.ndim}I", magic, *array.shape) + array.astype("uint8").tobytes())


def dataset_folder(root: Path) -> Path:
    """A small mnist folder of the four IDX gzip files (valid: read without complaint)."""
    import numpy as np

    from dae_core.data import datasets

    folder = root / "mnist"
    folder.mkdir(parents=True)
    for part, n in (("train", 120), ("test", 20)):
        (folder / datasets.IDX_FILES[f"{part}_images"]).write_bytes(
            idx_gzip(np.zeros((n, 28, 28)), datasets.IMAGE_MAGIC))
        (folder / datasets.IDX_FILES[f"{part}_labels"]).write_bytes(
            idx_gzip(np.arange(n) % 10, datasets.LABEL_MAGIC))
    return folder


def one_line_naming(capsys, path: Path) -> str:
    err = capsys.readouterr().err
    assert err.startswith("error: ") and err.count("\n") == 1 and "Traceback" not in err, err
    assert str(path) in err or path.name in err, err
    return err


@pytest.mark.parametrize("how", FILE_DAMAGES)
def test_a_damaged_checkpoint_is_named_and_resume_says_so_in_one_line(lab, how, keras_files, capsys):
    from dae_core.training import train
    from dae_core.training.config import TrainConfig

    run, outside = lab["run"], lab["outside"]
    run.set_status("stopped")
    path = run.checkpoint_for(1)
    damage(path, "checkpoint", how, outside, (keras_files["classifier"], keras_files["autoencoder"]))
    before = snapshot(outside)
    if how == "wrong_shape":  # a real .keras archive: Keras loads it, the task's check refuses it
        with pytest.raises(DamagedFileError) as caught:
            train.resume_point(run, TrainConfig.from_dict(run.config()), verbose=False)
        names(caught.value, path)
    else:  # found before TensorFlow, the data or the queue: the command says it at once
        assert main(["resume", run.id]) == 2
        assert "damaged" in one_line_naming(capsys, path)
        assert str(path) in run.status()["error"]  # the page's run view says it too
    assert (run.path / f"{path.name}.damaged").exists() and not run.can_resume()
    stays_up(lab, capsys)
    assert snapshot(outside) == before


def test_resume_falls_back_past_a_checkpoint_of_another_kind(lab, keras_files):
    from dae_core.training import train
    from dae_core.training.config import TrainConfig

    run = lab["run"]
    run.checkpoint_for(1).write_bytes(keras_files["classifier"])
    run.checkpoint_for(2).write_bytes(keras_files["autoencoder"])
    epoch, model = train.resume_point(run, TrainConfig.from_dict(run.config()), verbose=False)
    assert epoch == 1 and model.output_shape == (None, 10)
    assert "checkpoint-0002.keras is damaged (a model whose output" in run.status()["note"]


@pytest.mark.parametrize("how", FILE_DAMAGES)
def test_a_damaged_shipped_model_file_is_named_by_evaluate(lab, how, keras_files, capsys):
    from dae_core.models import builders

    path, outside = lab["models"] / "task2-seed.keras", lab["outside"]
    damage(path, "model", how, outside, (keras_files["classifier"], keras_files["autoencoder"]))
    before = snapshot(outside)
    if how == "symlink_outside":  # the manifest's entry leaves its folder: never loaded
        assert catalog.shipped_models() == []
    else:
        with pytest.raises(DamagedFileError) as caught:
            builders.load_model(path, "task2")
        names(caught.value, path)
    capsys.readouterr()
    assert main(["evaluate", "task2-seed"]) == 2
    one_line_naming(capsys, path)
    stays_up(lab, capsys)
    assert snapshot(outside) == before


@pytest.mark.parametrize("how", FILE_DAMAGES)
def test_a_damaged_run_model_file_is_named_by_evaluate(lab, how, keras_files, capsys):
    run, outside = lab["run"], lab["outside"]
    damage(run.model_path, "model", how, outside, (keras_files["classifier"], keras_files["autoencoder"]))
    before = snapshot(outside)
    catalog.clear_run_cache()
    listed = [e.name for e in catalog.all_models()]
    assert (run.id in listed) == (how != "symlink_outside")  # a link out of the run is no model of it
    capsys.readouterr()
    assert main(["evaluate", run.id]) == 2
    one_line_naming(capsys, run.model_path)
    stays_up(lab, capsys)
    assert snapshot(outside) == before


@pytest.mark.parametrize("how", FILE_DAMAGES)
def test_a_damaged_dataset_file_names_itself(lab, how, capsys):
    import numpy as np

    from dae_core.data import datasets

    folder, outside = dataset_folder(lab["tmp"] / "data"), lab["outside"]
    path = folder / datasets.IDX_FILES["test_images"]
    valid = path.read_bytes()
    damage(path, "dataset", how, outside, (valid, idx_gzip(np.zeros((20, 32, 32)), datasets.IMAGE_MAGIC)))
    before = snapshot(outside)
    with pytest.raises(DamagedFileError) as caught:
        datasets.read_idx_folder(folder)
    names(caught.value, path)
    assert isinstance(caught.value, datasets.DataError)  # load_test_set falls back on the bundled set
    test = datasets.load_test_set("mnist", lab["tmp"] / "data")
    assert len(test.x) == 10_000 and str(path) in test.source
    capsys.readouterr()
    assert main(["train", "task1", "--epochs", "1", "--data-dir", str(lab["tmp"] / "data")]) == 2  # MNIST
    one_line_naming(capsys, path)
    assert snapshot(outside) == before


def test_labels_of_another_count_or_range_are_named(lab):
    import numpy as np

    from dae_core.data import datasets

    folder = dataset_folder(lab["tmp"] / "data")
    labels = folder / datasets.IDX_FILES["test_labels"]
    for wrong in (np.arange(19) % 10, np.full(20, 200)):
        labels.write_bytes(idx_gzip(wrong, datasets.LABEL_MAGIC))
        with pytest.raises(DamagedFileError) as caught:
            datasets.read_idx_folder(folder)
        names(caught.value, labels)


# --- confinement: a prepared run folder, a study member's encoder ---------------------------------

def test_train_run_dir_trains_only_a_folder_of_the_runs_folder(lab, capsys):
    outside, runs = lab["outside"], lab["runs"]
    elsewhere = outside / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "config.json").write_text(json.dumps(CONFIG))
    (runs / "20270101-000000-task2-seed").symlink_to(elsewhere)
    before, tmp_before = snapshot(outside), sorted(p.name for p in lab["tmp"].iterdir())
    for folder in (elsewhere, runs / "20270101-000000-task2-seed", lab["tmp"], runs / "none"):
        assert main(["train", "--run-dir", str(folder)]) == 2
        assert "no run folder of" in one_line_naming(capsys, folder)
    assert snapshot(outside) == before and sorted(p.name for p in lab["tmp"].iterdir()) == tmp_before
    # one of the runs folder's is taken (its damaged config is then named)
    lab["run"].config_path.write_text("[]")
    assert main(["train", "--run-dir", str(lab["run"].path), "--runs-dir", str(runs)]) == 2
    one_line_naming(capsys, lab["run"].config_path)


@pytest.mark.parametrize("source", ["outside", "/etc/passwd", "member:nobody", 5, "models", "member:a/seed=0"])
def test_a_study_members_encoder_is_a_member_or_a_file_of_the_lab(lab, source):
    from dae_core.studies import runner

    allowed = source in ("models", "member:a/seed=0")
    source = {"outside": str(lab["outside"] / "keep.txt"), "models": str(lab["models"] / "task2-seed.keras")
              }.get(source, source)
    member = {**STUDY["design"]["members"][0], "config": {**CONFIG, "task": "task3", "encoder_from": source}}
    study_file = lab["study"] / "study.json"
    study_file.write_text(json.dumps({**STUDY, "design": {**STUDY["design"], "members": [member]}}))
    study = store.Study(lab["study"])
    if allowed:
        runner.check_encoder_from(study, study.design().members[0])
        return
    with pytest.raises(DamagedFileError) as caught:
        runner.member_config(study, study.design().members[0])
    names(caught.value, study_file)


# --- values that enter the command line --------------------------------------------------------

LONG = "a" * 300


@pytest.mark.parametrize("argv", [
    ["stop", LONG], ["resume", LONG], ["ship", LONG], ["evaluate", LONG], ["runs", "--archive", LONG],
    ["train", "task2", "--runs-dir", f"/tmp/{LONG}"], ["train", "--run-dir", f"/tmp/{LONG}/x"],
    ["compare", LONG], ["evaluate", "task2-seed", "--data-dir", LONG],
])
def test_a_name_too_long_is_said_so_where_it_enters(lab, argv, capsys):
    with pytest.raises(SystemExit) as exited:
        main(argv)
    assert exited.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "too long" in err and "disk" not in err, err


def test_a_name_too_long_from_the_file_system_is_no_full_disk(lab, monkeypatch, capsys):
    """Whatever path reaches the file system too long is reported as such, never as a full disk."""
    import errno

    def too_long(*args, **kwargs):
        raise OSError(errno.ENAMETOOLONG, "File name too long", f"/tmp/{LONG}")

    monkeypatch.setattr("dae_core.cli.main.find_run", too_long)
    assert main(["stop", "x"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "too long" in err and "disk" not in err and LONG not in err, err


@pytest.mark.parametrize("arms", [["label-efficiency", "bogus"], ["pretraining", "scratch"], ["seeds", "scratch"],
                                  ["label-efficiency", "scratch,bogus"]])
def test_arms_are_checked_against_the_study_as_the_command_line_is_read(lab, arms, capsys, monkeypatch):
    from dae_core.cli import main as cli

    monkeypatch.setattr(cli, "import_tensorflow_quietly", None)  # refused before it would be called
    with pytest.raises(SystemExit) as exited:
        main(["study", arms[0], "--arms", arms[1]])
    assert exited.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--arms" in err, err


def test_compare_refuses_an_autoencoder_in_one_line(lab, capsys):
    entries = [{"name": f"{task}-seed", "task": task, "preset": "seed", "file": f"{task}-seed.keras"}
               for task in ("task1", "task2")]
    (lab["models"] / "manifest.json").write_text(json.dumps({"models": entries}))
    assert main(["compare", "task1-seed", "task2-seed"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "two classifiers" in err and "task1-seed is an autoencoder" in err, err


def test_a_shipped_studys_machine_of_the_wrong_type_is_named(tmp_path, monkeypatch):
    """about.json's ``machine`` (where the members trained) is a string, or the file is damaged."""
    folder = tmp_path / "studies" / "seeds"
    folder.mkdir(parents=True)
    monkeypatch.setenv(settings.STUDIES_DIR_ENV, str(tmp_path / "studies"))
    (folder / "about.json").write_text(json.dumps({**ABOUT, "machine": "CPU (2 cores)"}))
    assert store.shipped_about("seeds")["machine"] == "CPU (2 cores)"
    (folder / "about.json").write_text(json.dumps({**ABOUT, "machine": ["CPU (2 cores)"]}))
    with pytest.raises(DamagedFileError, match="machine"):
        store.shipped_about("seeds")
