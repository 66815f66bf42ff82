"""TensorBoard, as the README promises (`tensorboard --logdir runs/`): a run's event files, read
back by TensorBoard's own reader, hold loss and accuracy (or mse) per epoch for train and
validation, the learning rate, the run's settings for the HParams plugin and, for an
autoencoder, denoised digits per epoch."""

import io

import numpy as np
import pytest
import tensorflow as tf
from PIL import Image
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
from tensorboard.plugins.hparams import plugin_data_pb2
from tensorflow.core.framework import summary_pb2

from dae_core.store.runs import list_runs
from dae_core.training import callbacks
from dae_core.training.config import make_config


def events(folder):
    accumulator = EventAccumulator(str(folder), size_guidance={"tensors": 0})
    accumulator.Reload()
    return accumulator


def plugin_tags(accumulator, plugin: str) -> set:
    try:
        return set(accumulator.PluginTagToContent(plugin))
    except KeyError:  # no tag of that plugin
        return set()


def value(record) -> float:
    return float(tf.make_ndarray(record.tensor_proto))


@pytest.fixture(scope="module")
def tiny_runs(tiny_models):
    """The 1-epoch runs behind ``tiny_models`` (tests/conftest.py), by task."""
    return {run.config()["task"]: run for run in list_runs(tiny_models.parent / "runs")}


@pytest.mark.parametrize("task, metric", [("task1", "mse"), ("task2", "accuracy")])
def test_each_epoch_has_its_figures_for_train_and_validation_and_the_learning_rate(tiny_runs, task, metric):
    folder = tiny_runs[task].path / "tensorboard"
    train, validation = events(folder / "train"), events(folder / "validation")
    assert plugin_tags(train, "scalars") == {"epoch_loss", f"epoch_{metric}", "epoch_learning_rate"}
    assert {"epoch_loss", f"epoch_{metric}"} <= plugin_tags(validation, "scalars")
    (rate,) = train.Tensors("epoch_learning_rate")
    assert rate.step == 1 and value(rate) == pytest.approx(1e-3)  # the seed preset's
    (loss,) = validation.Tensors("epoch_loss")
    recorded = tiny_runs[task].metrics("epoch")[-1]["val_loss"]
    assert loss.step == 1 and value(loss) == pytest.approx(recorded, rel=1e-6)


@pytest.mark.parametrize("task", ["task1", "task2", "task3"])
def test_the_runs_settings_are_there_for_the_hparams_plugin(tiny_runs, task):
    run = tiny_runs[task]
    root = events(run.path / "tensorboard")
    content = root.PluginTagToContent("hparams")["_hparams_/session_start_info"]
    start = plugin_data_pb2.HParamsPluginData.FromString(content).session_start_info
    values = {name: getattr(kept, kept.WhichOneof("kind")) for name, kept in start.hparams.items()}
    config = run.config()
    assert values["task"] == task and values["epochs"] == 1 and values["batch_size"] == config["batch_size"]
    assert values["learning_rate"] == pytest.approx(1e-3) and values["augment"] is config["augment"]
    assert values["precision"] == run.status()["precision"]  # what "auto" resolved to
    assert "data_dir" not in values and start.start_time_secs == pytest.approx(run.status()["started"])
    if task == "task3":
        assert values["encoder_from"].endswith(".keras") and "/" not in values["encoder_from"]


def test_an_autoencoder_shows_noisy_denoised_and_clean_digits_per_epoch(tiny_runs):
    validation = events(tiny_runs["task1"].path / "tensorboard" / "validation")
    assert plugin_tags(validation, "images") == {"denoised_digits"}
    (record,) = validation.Tensors("denoised_digits")
    width, height, png = record.tensor_proto.string_val
    image = np.asarray(Image.open(io.BytesIO(png)))
    assert image.shape == (int(height), int(width)) == (3 * 30 * 2, 8 * 30 * 2)  # 3 rows of 8, padded, x2
    assert record.step == 1 and image.std() > 10  # digits, not a blank
    assert not plugin_tags(events(tiny_runs["task2"].path / "tensorboard" / "validation"), "images")


def test_the_hparams_record_without_tensorboard_is_tensorboards_own():
    """Training needs no tensorboard package (a runtime install has none): the record is then
    built from the plugin's fields, and must read as the one tensorboard makes."""
    config = make_config("task3", "improved", encoder_from="/somewhere/task1-improved.keras",
                         arch_values={"cnn_filters": [32, 64], "bn_momentum": 0.9}, train_size=500)
    values = callbacks.hparams_of(config, "mixed_bfloat16")
    assert values["arch.cnn_filters"] == "[32, 64]" and values["encoder_from"] == "task1-improved.keras"
    ours = summary_pb2.Summary.FromString(callbacks._hparams_summary_without_tensorboard(values, 1234.5))
    theirs = summary_pb2.Summary.FromString(callbacks.hparams_summary(values, 1234.5))
    content = [plugin_data_pb2.HParamsPluginData.FromString(s.value[0].metadata.plugin_data.content)
               for s in (ours, theirs)]
    assert content[0] == content[1] and len(content[0].session_start_info.hparams) == len(values)
    for summary in (ours, theirs):
        summary.value[0].metadata.plugin_data.content = b""
    assert ours == theirs
