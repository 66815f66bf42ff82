"""The task table is the one answer to what a task needs; configs, runs and the CLI ask it."""

import tomllib

import pytest

from dae_core import settings
from dae_core.cli.main import main
from dae_core.store.runs import Run
from dae_core.tasks import TASK_SPECS, TASKS, VARIANTS, task_spec, task_title
from dae_core.training import run_table
from dae_core.training.config import make_config


def test_every_task_has_a_consistent_spec():
    assert TASKS[:3] == ("task1", "task2", "task3") and set(VARIANTS) < set(TASKS)
    for spec in TASK_SPECS.values():
        assert spec.dataset == ("mnist" if spec.name == "task1" else "fashion-mnist")
        assert spec.curves == ("loss", "mse" if spec.is_autoencoder else "accuracy")
        assert spec.headline == ("psnr_denoised" if spec.is_autoencoder else "accuracy")
    assert [t for t in TASKS if task_spec(t).noisy_inputs] == ["task1", "frozen_ae_noisy", "fashion_ae", "mlp_ae"]
    assert [t for t in TASKS if not task_spec(t).needs_autoencoder] == ["task1", "task2", "fashion_ae", "mlp_ae"]
    for spec in TASK_SPECS.values():  # a classifier starts from an autoencoder task's encoder
        assert task_spec(spec.autoencoder_task).is_autoencoder
    assert task_spec("mlp").autoencoder_task == "mlp_ae" and task_spec("probe").autoencoder_task == "task1"


def test_configs_take_dataset_and_noise_from_the_spec():
    assert make_config("task1").input_noise == make_config("task1").noise
    assert make_config("frozen_ae_noisy", noise_level=0.3).input_noise.level == 0.3
    assert make_config("task2").input_noise is None and make_config("task2").dataset == "fashion-mnist"
    with pytest.raises(ValueError, match="task 'task9' unknown"):
        make_config("task9")
    assert task_title("task9") == "task9"  # an old run's unknown task still shows


def test_the_runs_table_shows_the_headline_figure_and_survives_a_damaged_run(tmp_path):
    done = Run.create({"task": "task1", "preset": "seed", "epochs": 3}, tmp_path)
    done.set_status("completed", epoch=3, test={"psnr_denoised": 19.1, "psnr_noisy": 9.4})
    broken = Run.create({"task": "task2", "preset": "seed", "epochs": 3}, tmp_path)
    (broken.path / "config.json").write_text('{"task": "ta')  # truncated by a crash
    by_id = {row.id: row for row in run_table.run_rows(tmp_path)}
    assert by_id[done.id].test == "PSNR 19.10 dB" and by_id[done.id].as_row()["epochs"] == "3/3"
    assert by_id[broken.id].state == "damaged"


def test_the_console_command_is_the_module_main():
    project = tomllib.loads((settings.PROJECT_ROOT / "pyproject.toml").read_text())["project"]
    assert project["scripts"]["dae-lab"] == "dae_core.cli.main:main"
    with pytest.raises(SystemExit) as help_exit:
        main(["--help"])
    assert help_exit.value.code == 0
