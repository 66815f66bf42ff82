"""``train`` without the datasets and without a download says so in one line before a run exists,
instead of leaving a failed run behind (the Train page checks the same: issue 26 point 3)."""

from dae_core.cli.main import main
from tests.support.offline import offline_env


def test_train_without_data_refuses_before_a_run_folder_exists(tmp_path, monkeypatch, capsys):
    for name, value in offline_env(tmp_path).items():
        monkeypatch.setenv(name, value)
    runs = tmp_path / "runs"
    code = main(["train", "task2", "--epochs", "1", "--runs-dir", str(runs)])
    error = capsys.readouterr().err.strip()
    assert code == 2 and not runs.exists()
    assert error.startswith("error: Fashion-MNIST is not on this machine, and it cannot be downloaded now")
    assert "pass --data-dir FOLDER or set DAE_DATA_DIR=FOLDER" in error and "\n" not in error


def test_data_names_a_data_folder_that_does_not_exist(tmp_path, capsys):
    assert main(["data", "--data-dir", str(tmp_path / "none")]) == 2
    assert f"the data folder {tmp_path / 'none'} does not exist" in capsys.readouterr().err
