"""Real, tiny trainings on the real datasets: each task runs end to end as a recorded run."""

import dataclasses
import json

import keras
import numpy as np
import pytest

from dae_core.analysis import metrics
from dae_core.errors import JobError
from dae_core.models.builders import encoder_of, load_model
from dae_core.store.runs import Run
from dae_core.training import callbacks, jobs, train
from dae_core.training.config import make_config

pytestmark = pytest.mark.data
QUICK = dict(epochs=2, train_size=2000, batch_size=100)


@pytest.fixture(scope="module")
def task1_run(tmp_path_factory, data_dir):
    runs = tmp_path_factory.mktemp("runs")
    return train.train_config(make_config("task1", data_dir=str(data_dir), **QUICK), runs, verbose=False)


def tensorboard_scalars(folder) -> dict[str, list[float]]:
    """Tag -> values, by step, of the event files in ``folder`` (as TensorBoard reads them); an
    autoencoder's digits (the images plugin, tests/integration/test_tensorboard.py) left out."""
    import tensorflow as tf

    found = {}
    for path in sorted(folder.glob("events.out.tfevents.*")):
        for record in tf.data.TFRecordDataset(str(path)):
            event = tf.compat.v1.Event.FromString(record.numpy())
            for value in event.summary.value:
                if value.metadata.plugin_data.plugin_name == "images":
                    continue
                assert value.metadata.plugin_data.plugin_name == "scalars"
                found.setdefault(value.tag, []).append(float(tf.make_ndarray(value.tensor)))
    return found


def epoch_losses(run):
    return [r["loss"] for r in run.metrics("epoch")]


def test_autoencoder_run_writes_its_files_and_learns(task1_run):
    status = task1_run.status()
    assert status["state"] == "completed" and status["epoch"] == 2 and "CPU" in status["device"]
    for name in ("config.json", "status.json", "metrics.jsonl", "model.keras", "checkpoint-0002.keras"):
        assert (task1_run.path / name).exists(), name
    assert [epoch for epoch, _ in task1_run.checkpoints()] == [2, 1]  # the last two
    losses = epoch_losses(task1_run)
    assert len(losses) == 2 and losses[1] < losses[0]
    assert task1_run.metrics("batch"), "progress inside epochs is recorded"
    assert tensorboard_scalars(task1_run.path / "tensorboard" / "validation")["epoch_loss"] == \
        pytest.approx([r["val_loss"] for r in task1_run.metrics("epoch")])
    test = status["test"]
    assert test["images"] == 10_000 and test["psnr_noisy"] == pytest.approx(9.4, abs=0.2)


@pytest.mark.parametrize("task,preset", [("task2", "seed"), ("task3", "seed"), ("frozen_ae", "seed"),
                                         ("frozen_ae_noisy", "seed"), ("task2", "improved")])
def test_classifier_tasks_train_and_report(task, preset, task1_run, data_dir, tmp_path):
    config = make_config(task, preset, encoder_from=str(task1_run.model_path), data_dir=str(data_dir),
                         **QUICK)
    run = train.train_config(config, tmp_path, verbose=False)
    status = run.status()
    assert status["state"] == "completed", status.get("error")
    epochs = run.metrics("epoch")
    assert epochs[1]["loss"] < epochs[0]["loss"]
    assert status["test"]["images"] == 10_000 and 0 <= status["test"]["accuracy"] <= 1
    # Above chance (0.1) after QUICK's 40 steps; the improved arch's six batch norms included.
    above = 0.5 if preset == "improved" else 0.15
    assert epochs[1]["val_accuracy"] > above and status["test"]["accuracy"] > above, epochs[1]
    # The improved arch ships the flip-averaged model and records the one-view accuracy too;
    # the checkpoint (for resume) stays the plain classifier.
    mirrored = "mirror" in [layer.name for layer in load_model(run.model_path).layers]
    assert mirrored == (preset == "improved") == ("accuracy_one_view" in status["test"])
    checkpoint = load_model(run.latest_checkpoint()[1])
    assert "mirror" not in [layer.name for layer in checkpoint.layers]


def test_task3_starts_from_the_autoencoders_encoder(task1_run, data_dir):
    from dae_core.models import builders

    config = make_config("task3", encoder_from=str(task1_run.model_path), data_dir=str(data_dir))
    model = train.build_model(config, steps_per_epoch=10)
    source = encoder_of(load_model(task1_run.model_path)).get_weights()
    for ours, theirs in zip(model.get_layer("encoder").get_weights(), source):
        np.testing.assert_array_equal(ours, theirs)
    assert isinstance(model.get_layer("encoder"), type(builders.build_encoder()))


def test_init_from_continues_from_a_trained_model(task1_run, data_dir, tmp_path):
    # A shipped improved classifier wraps its classifier (flip averaging): the weights come
    # from inside it; a model of another task is refused with a clear message.
    config = make_config("task2", "improved", data_dir=str(data_dir), **QUICK)
    trained = train.train_config(config, tmp_path, verbose=False)
    resumed = train.build_model(make_config("task2", "improved", init_from=str(trained.model_path)), 10)
    plain = load_model(trained.latest_checkpoint()[1])
    for ours, theirs in zip(resumed.get_weights(), plain.get_weights(), strict=True):
        np.testing.assert_array_equal(ours, theirs)
    with pytest.raises(ValueError, match="do not match"):
        train.build_model(make_config("task2", init_from=str(task1_run.model_path)), 10)


class Untouchable:
    """Stands in for the test set while a run trains: any use of it fails the test."""

    def _touched(self, *args, **kwargs):
        raise AssertionError("the test set was read before the final evaluation")

    __array__ = __len__ = __getitem__ = __iter__ = __getattr__ = _touched


def test_training_never_reads_the_test_set_before_its_final_evaluation(data_dir, tmp_path, monkeypatch):
    real_load, real_summary = train.datasets.load_dataset, metrics.test_summary
    finals = []

    def sealed(*args, **kwargs):  # the dataset a run sees, test arrays sealed
        return dataclasses.replace(real_load(*args, **kwargs), x_test=Untouchable(), y_test=Untouchable())

    def final_evaluation(model, config, dataset):  # unseals them, for the evaluation only
        finals.append(config.task)
        return real_summary(model, config, real_load(config.dataset, config.data_dir))

    monkeypatch.setattr(train.datasets, "load_dataset", sealed)
    monkeypatch.setattr(metrics, "test_summary", final_evaluation)
    config = make_config("task2", "improved", data_dir=str(data_dir), **QUICK)  # augment, clean phase
    status = train.train_config(config, tmp_path, verbose=False).status()
    assert status["state"] == "completed", status.get("error")
    assert finals == ["task2", "task2"] and status["test"]["accuracy"] > 0.1  # mirrored and one view


def test_stop_request_ends_within_a_batch_and_keeps_the_model(data_dir, tmp_path, monkeypatch):
    config = make_config("task2", epochs=5, train_size=3000, batch_size=50, data_dir=str(data_dir))
    run = Run.create(config.to_dict(), tmp_path)

    original = train.run_callbacks

    def with_a_stop_click(run_, *args):
        # As the dashboard's Stop button would, mid-epoch: at the 10th batch of epoch 2.
        click = keras.callbacks.LambdaCallback(on_train_batch_begin=lambda batch, logs=None: (
            batch == 9 and click.model.optimizer.iterations.numpy() > 60 and run_.request_stop()))
        return [click, *original(run_, *args)]

    monkeypatch.setattr(train, "run_callbacks", with_a_stop_click)
    monkeypatch.setattr(callbacks, "BATCH_RECORD_EVERY_S", 0.0)  # record every batch, to see where it ended
    status = train.train_run(run, verbose=False)
    assert status["state"] == "stopped" and status["epoch"] == 1
    last = run.metrics("epoch")[-1]
    assert last["partial"] and last["epoch"] == 2
    assert max(r["step"] for r in run.metrics("batch") if r["epoch"] == 2) == 10
    assert load_model(run.model_path).output_shape == (None, 10)
    assert "accuracy" in status["test"]


def killed_in_a_third_epoch(data_dir, tmp_path) -> Run:
    """A run of 2 epochs made to look as if its process died during a third."""
    config = make_config("task2", epochs=2, train_size=1000, batch_size=100, data_dir=str(data_dir))
    run = train.train_config(config, tmp_path, verbose=False)
    (run.path / "config.json").write_text(json.dumps({**run.config(), "epochs": 3}))
    run.append_metric({"kind": "batch", "epoch": 3, "step": 1})
    run.set_status("running", pid=999_999)
    assert run.state() == "failed"
    return run


def test_resume_continues_from_the_last_checkpoint(data_dir, tmp_path):
    run = killed_in_a_third_epoch(data_dir, tmp_path)
    status = train.train_run(run, resume=True, verbose=False)
    assert status["state"] == "completed" and status["epoch"] == 3 and "note" not in status
    assert [r["epoch"] for r in run.metrics("epoch")] == [1, 2, 3]
    assert [epoch for epoch, _ in run.checkpoints()] == [3, 2]


def test_resume_falls_back_past_a_damaged_checkpoint(data_dir, tmp_path):
    run = killed_in_a_third_epoch(data_dir, tmp_path)
    newest = run.checkpoint_for(2)
    newest.write_bytes(newest.read_bytes()[:5000])  # truncated, as by a full disk or a bad copy
    status = train.train_run(run, resume=True, verbose=False)
    assert status["state"] == "completed" and status["epoch"] == 3
    assert "checkpoint-0002.keras is damaged" in status["note"] == jobs.progress(run).note  # as the page shows it
    assert (run.path / "checkpoint-0002.keras.damaged").exists()  # kept, for whoever looks into it
    assert [r["epoch"] for r in run.metrics("epoch")] == [1, 2, 3]  # epoch 2 trained again


def test_missing_autoencoder_is_a_clear_error(tmp_path, data_dir):
    config = make_config("task3", encoder_from=str(tmp_path / "none.keras"), data_dir=str(data_dir))
    with pytest.raises(JobError, match="autoencoder.*does not exist"):
        train.train_config(config, tmp_path)
    (tmp_path / "damaged.keras").write_bytes(b"half a file")
    with pytest.raises(JobError, match="not a Keras model file"):
        train.train_config(make_config("task2", init_from=str(tmp_path / "damaged.keras")), tmp_path)
    assert not list(tmp_path.glob("*/config.json"))  # nothing was started, no run folder left


def augmented_flags(augment_batches: int | None, count: int) -> list[bool]:
    """Which of the first ``count`` batches of 8 images (an epoch each) come out augmented."""
    x = np.random.default_rng(0).random((8, 28, 28, 1), dtype=np.float32)
    ds = train.make_dataset(x, np.arange(8) % 10, 8, shuffle=False, augment=True, repeat=True,
                            whole_epochs=True, augmented_batches=augment_batches)
    batches = iter(ds)
    return [not np.array_equal(next(batches)[0].numpy(), x) for _ in range(count)]


def test_only_the_first_augmented_batches_are_augmented_whatever_is_read_ahead():
    flags = augmented_flags(3, 8)
    assert any(flags[:3]) and flags[3:] == [False] * 5
    assert any(augmented_flags(None, 5))  # no clean phase: augmented throughout


def test_erasing_blacks_out_a_patch_of_the_chosen_share_of_images():
    x = np.ones((200, 28, 28, 1), dtype=np.float32)  # all ink: a flip or shift alone erases no pixel

    def erased_share(erase: float) -> np.ndarray:  # per image, inside the 3 pixels shifts may pad
        ds = train.make_dataset(x, np.zeros(200, int), 200, shuffle=False, augment=True, erase=erase)
        images = next(iter(ds))[0].numpy()[:, 3:-3, 3:-3]
        return (images == 0).reshape(200, -1).mean(axis=1)

    assert erased_share(0.0).max() == 0
    erased = erased_share(0.5)
    assert 0.3 < (erased > 0).mean() < 0.7 and erased.max() <= 0.6
    with pytest.raises(ValueError, match="erase"):
        make_config("task2", "improved", erase=1.5)


@pytest.mark.parametrize("epochs,fraction,augmented", [(20, 0.25, 15), (15, 0.25, 11), (2, 0.25, 1),
                                                        (10, 0.0, 10), (10, 1.0, 0)])
def test_clean_phase_augments_only_the_first_epochs_a_resumed_run_included(epochs, fraction, augmented):
    config = make_config("task2", "improved", epochs=epochs, clean_fraction=fraction)
    assert config.augmented_epochs == augmented
    for resumed_at in (0, 1, augmented, epochs - 1):  # a fresh run, and one resumed at epoch k
        assert train.augmented_batches(config, 7, resumed_at) == max(0, augmented - resumed_at) * 7
    assert make_config("task2", "improved", augment=False).augmented_epochs == 0
    with pytest.raises(ValueError, match="clean_fraction"):
        make_config("task2", "improved", clean_fraction=1.5)
