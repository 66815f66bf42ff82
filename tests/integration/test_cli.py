"""The command line: every sub-command parses to itself; evaluate, compare and ship do their work."""

import json
import subprocess

import pytest

from dae_core import settings
from dae_core.analysis import metrics
from dae_core.cli.main import COMMANDS, build_parser, main
from dae_core.data.datasets import load_dataset
from dae_core.models import catalog
from dae_core.models.builders import load_model


@pytest.mark.parametrize("argv", [["train", "task1", "--epochs", "2"], ["resume", "r"], ["stop", "r"],
                                  ["runs"], ["evaluate", "m"], ["compare"], ["reproduce"],
                                  ["ship", "r", "--made-by", "python -m dae_core train"], ["data"]])
def test_each_command_parses_to_itself(argv):
    args = build_parser().parse_args(argv)
    assert args.command == argv[0] and args.command in COMMANDS


def test_evaluate_prints_the_models_test_accuracy(tiny_models, data_dir, monkeypatch, capsys):
    monkeypatch.setenv(settings.MODELS_DIR_ENV, str(tiny_models))
    assert main(["evaluate", "task2-seed", "--data-dir", str(data_dir)]) == 0
    ds = load_dataset("fashion-mnist", data_dir)
    expected = metrics.classifier_report(load_model(tiny_models / "task2-seed.keras"), ds.x_test, ds.y_test)
    assert f"test accuracy {expected.accuracy:.4f}" in capsys.readouterr().out


def test_compare_writes_markdown_and_csv(tiny_models, data_dir, monkeypatch, tmp_path, capsys):
    monkeypatch.setenv(settings.MODELS_DIR_ENV, str(tiny_models))
    monkeypatch.setenv(settings.CACHE_DIR_ENV, str(tmp_path / "cache"))  # not the real runs folder's
    assert main(["compare", "--out", str(tmp_path), "--data-dir", str(data_dir)]) == 0
    markdown = (tmp_path / "task4.md").read_text()
    assert "assignment Task 2" in markdown and "0.9160" in markdown and "Is the difference real?" in markdown
    assert (tmp_path / "task4_per_class.csv").read_text().count("\n") == 12  # header, 10 classes, macro


def test_ship_lists_the_model_with_its_command(tiny_models, tmp_path, monkeypatch):
    from dae_core.store.runs import Run

    run = Run.create({"task": "task2", "preset": "seed", "epochs": 1, "data_dir": "/somewhere",
                      "init_from": "/somewhere/task2-before.keras"}, tmp_path)
    run.model_path.write_bytes((tiny_models / "task2-seed.keras").read_bytes())
    run.append_metric({"kind": "epoch", "epoch": 1, "loss": 0.5, "accuracy": 0.8, "partial": False})
    run.set_status("completed", test={"accuracy": 0.8})
    monkeypatch.setenv(settings.MODELS_DIR_ENV, str(tmp_path / "models"))
    assert main(["ship", run.id, "--runs-dir", str(tmp_path), "--made-by", "python -m dae_core train task2"]) == 0
    (entry,) = catalog.shipped_models()
    assert (entry.name, entry.command, entry.test) == ("task2-seed", "python -m dae_core train task2",
                                                        {"accuracy": 0.8})
    assert entry.history == [{"epoch": 1, "loss": 0.5, "accuracy": 0.8}]
    assert entry.config["init_from"] == "task2-before.keras"  # no local folder in the manifest
    assert entry.config["data_dir"] is None and load_model(entry.path).output_shape == (None, 10)


def test_unknown_model_is_a_clear_error(tiny_models, monkeypatch, capsys):
    monkeypatch.setenv(settings.MODELS_DIR_ENV, str(tiny_models))
    assert main(["evaluate", "nope"]) == 2
    assert "no model 'nope'" in capsys.readouterr().err


def test_missing_data_exits_with_a_message(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    code = main(["train", "task2", "--data-dir", str(tmp_path / "none"), "--runs-dir", str(tmp_path / "runs")])
    assert code == 2 and f"The data folder {tmp_path / 'none'} does not exist" in capsys.readouterr().err
    assert not (tmp_path / "runs").exists()  # refused before a run was made


def test_run_references_outside_the_runs_folder_are_refused_and_nothing_is_written(tmp_path, capsys):
    runs, victim = tmp_path / "runs", tmp_path / "victim"
    victim.mkdir()
    (victim / "config.json").write_text(json.dumps({"task": "task2", "preset": "seed"}))
    for command in ("stop", "resume", "ship"):
        assert main([command, str(victim), "--runs-dir", str(runs)]) == 2
        assert "no run" in capsys.readouterr().err
    assert sorted(p.name for p in victim.iterdir()) == ["config.json"] and not runs.exists()


def test_resume_refuses_a_run_that_is_still_active(tmp_path, capsys):
    from dae_core.store.runs import Run

    run = Run.create({"task": "task2", "preset": "seed", "epochs": 2}, tmp_path)
    with subprocess.Popen(["sleep", "30"]) as trainer:  # a live process holding the run
        run.set_status("running", pid=trainer.pid)
        assert main(["resume", run.id, "--runs-dir", str(tmp_path)]) == 2
        trainer.kill()
    assert "already" in capsys.readouterr().err and run.status()["state"] == "running"


def test_bad_settings_are_refused_before_any_run_folder_exists(tmp_path, capsys):
    for bad in (["--seed", "-1"], ["--seed", str(2**40)], ["--epochs", "0"]):
        assert main(["train", "task2", "--runs-dir", str(tmp_path), *bad]) == 2
        assert "must be" in capsys.readouterr().err
    assert not tmp_path.exists() or not any(tmp_path.iterdir())


def test_evaluate_an_autoencoder_puts_the_classical_denoisers_beside_it(tiny_models, data_dir, monkeypatch,
                                                                        capsys, tmp_path):
    monkeypatch.setenv(settings.MODELS_DIR_ENV, str(tiny_models))
    monkeypatch.setenv(settings.CACHE_DIR_ENV, str(tmp_path))  # the classical table is kept there
    assert main(["evaluate", str(tiny_models / "task1-seed.keras"), "--classical-images", "20",
                 "--data-dir", str(data_dir)]) == 0  # by path: any .keras file
    out = capsys.readouterr().out
    assert "the autoencoder beside the classical denoisers, first 20 test images" in out
    for method in ("median", "blur", "tv", "nl_means"):
        assert method in out
