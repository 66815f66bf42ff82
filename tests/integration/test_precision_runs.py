"""Tiny real runs in mixed bfloat16: the run records its precision, saves a model that predicts
in float32 as the dashboard loads it, and a resumed run keeps the precision it started with."""

import json

import keras
import numpy as np
import pytest

from dae_core.data import datasets
from dae_core.models import builders, device
from dae_core.models.inference import Predictor
from dae_core.store.runs import Run
from dae_core.training import train
from dae_core.training.config import make_config

pytestmark = pytest.mark.data


def test_a_bfloat16_run_records_it_and_saves_a_float32_model(data_dir, tmp_path):
    config = make_config("task2", epochs=1, train_size=1000, batch_size=100, precision="bfloat16",
                         data_dir=str(data_dir))
    run = train.train_config(config, tmp_path, verbose=False)
    status = run.status()
    assert status["state"] == "completed" and status["precision"] == "mixed_bfloat16"
    assert status["precision_why"] == "bfloat16 as asked"
    assert keras.mixed_precision.global_policy().name == "float32"  # the process's policy put back
    trained = keras.models.load_model(run.latest_checkpoint()[1])  # as a resume loads it
    assert builders.layer_policies(trained)["cnn_conv1_1"] == "mixed_bfloat16"
    model = builders.load_model(run.model_path)  # as the dashboard loads it
    assert set(builders.layer_policies(model).values()) == {"float32"} and model.output.dtype == "float32"
    test = datasets.load_test_set("fashion-mnist", data_dir)
    shown = Predictor(model, compile_single_image=False).predict(test.x)
    assert shown.dtype == np.float32
    # The dashboard shows the figures the run recorded: the same float32 model, the same predictions.
    assert (shown.argmax(1) == test.y).mean() == pytest.approx(status["test"]["accuracy"], abs=1e-3)
    # And within bfloat16's rounding of the model as it trained.
    as_trained = trained.predict(test.x, batch_size=1000, verbose=0)
    assert np.abs(as_trained - shown).mean() < 0.01 and (as_trained.argmax(1) == shown.argmax(1)).mean() > 0.97


@pytest.mark.parametrize("started,resumed,kept", [("amx_bf16 avx512_bf16", "none", "mixed_bfloat16"),
                                                  ("none", "amx_bf16 avx512_bf16", "float32")])
def test_a_resumed_run_keeps_the_precision_it_started_with(started, resumed, kept, data_dir, tmp_path,
                                                           monkeypatch):
    monkeypatch.delenv("TF_ENABLE_ONEDNN_OPTS", raising=False)
    monkeypatch.setenv(device.CPU_FLAGS_ENV, started)  # auto resolves on these units ("none": forced off)
    config = make_config("task2", epochs=2, train_size=300, batch_size=100, data_dir=str(data_dir))
    run = train.train_config(config, tmp_path, verbose=False)
    assert run.status()["precision"] == kept
    # Made to look as if its process died during a third epoch, then resumed on other units.
    (run.path / "config.json").write_text(json.dumps({**run.config(), "epochs": 3}))
    run.set_status("running", pid=999_999)
    monkeypatch.setenv(device.CPU_FLAGS_ENV, resumed)
    status = train.train_run(Run(run.path), resume=True, verbose=False)
    assert status["state"] == "completed" and status["epoch"] == 3 and status["precision"] == kept
    checkpoint = keras.models.load_model(run.latest_checkpoint()[1])
    assert builders.layer_policies(checkpoint)["cnn_conv1_1"] == kept
    assert set(builders.layer_policies(builders.load_model(run.model_path)).values()) == {"float32"}


def test_the_precision_benchmark_trains_and_predicts_in_both_precisions(data_dir, capsys):
    from benchmarks import precision

    precision.main(["--tasks", "task2", "--presets", "seed", "--rounds", "1", "--epochs", "2",
                    "--seed-steps", "2", "--images", "500", "--repeats", "3", "--data-dir", str(data_dir)])
    out = capsys.readouterr().out
    trained, predicted = (line for line in out.splitlines() if line.startswith("  task2       seed"))
    assert "float32" in trained and "bfloat16" in trained and trained.count("x ") == 1
    assert "one image" in predicted and "500 images" in predicted and "same class" in predicted
    assert keras.mixed_precision.global_policy().name == "float32"
