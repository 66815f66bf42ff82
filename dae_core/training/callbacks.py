"""The Keras callbacks of a recorded run, one job each (as Keras's own ``CSVLogger`` and
``ModelCheckpoint``): record metrics, checkpoint, honour a stop request, write the status,
print a console line, switch augmentation off for the clean phase.

Callbacks run in list order at each hook; ``train`` puts the checkpoint before the status,
so the epoch a status names always has its checkpoint on disk.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import keras
import numpy as np

from dae_core.store.runs import Run
from dae_core.training.durations import eta_seconds, format_duration

BATCH_RECORD_EVERY_S = 0.5  # progress lines inside an epoch, at most this often


def scalars(logs: dict | None) -> dict:
    """The plain-number entries of Keras's ``logs``, as floats."""
    return {k: float(v) for k, v in (logs or {}).items() if np.ndim(v) == 0}


def save_model_atomic(model, path: Path) -> None:
    """Save to a temporary ``.keras`` beside ``path``, then rename over it: a reader or a
    resume never sees half a file."""
    tmp = path.with_name(f".{path.stem}.partial.keras")
    try:
        model.save(tmp)
        with open(tmp, "rb") as f:
            os.fsync(f.fileno())
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


class _EpochSteps(keras.callbacks.Callback):
    """Counts the steps of the current epoch: an epoch cut short by a stop is *partial*."""

    def __init__(self, steps: int):
        super().__init__()
        self.steps = steps
        self.steps_done = 0

    def on_epoch_begin(self, epoch, logs=None):
        self.steps_done = 0

    def on_train_batch_end(self, batch, logs=None):
        self.steps_done = batch + 1

    @property
    def partial(self) -> bool:
        return self.steps_done < self.steps


class MetricsRecorder(_EpochSteps):
    """Appends one flushed JSON line per epoch to the run's ``metrics.jsonl``, and one per
    batch at most every ``every_s`` seconds, so another process can follow the epoch."""

    def __init__(self, run: Run, steps: int, every_s: float | None = None):
        super().__init__(steps)
        self.run, self.every_s = run, BATCH_RECORD_EVERY_S if every_s is None else every_s

    def on_epoch_begin(self, epoch, logs=None):
        super().on_epoch_begin(epoch)
        self.epoch, self.epoch_start = epoch + 1, time.time()
        self.last_record = self.epoch_start

    def on_train_batch_end(self, batch, logs=None):
        super().on_train_batch_end(batch)
        now = time.time()
        if now - self.last_record >= self.every_s:
            self.last_record = now
            self.run.append_metric({"kind": "batch", "epoch": self.epoch, "step": batch + 1,
                                    "steps": self.steps, "time": now, **scalars(logs)})

    def on_epoch_end(self, epoch, logs=None):
        self.run.append_metric({"kind": "epoch", "epoch": epoch + 1, "time": time.time(),
                                "seconds": time.time() - self.epoch_start, "partial": self.partial,
                                **scalars(logs)})


class EpochCheckpoint(_EpochSteps):
    """Saves each whole epoch as ``checkpoint-NNNN.keras`` and keeps the last ``KEEP``: a
    resume finds the last whole epoch, or the one before if that file was damaged since."""

    KEEP = 2

    def __init__(self, run: Run, steps: int):
        super().__init__(steps)
        self.run = run

    def on_epoch_end(self, epoch, logs=None):
        if self.partial:
            return
        save_model_atomic(self.model, self.run.checkpoint_for(epoch + 1))
        for _, old in self.run.checkpoints()[self.KEEP:]:
            old.unlink(missing_ok=True)


class StopOnRequest(keras.callbacks.Callback):
    """Ends the fit after the current batch once the run's stop file exists."""

    def __init__(self, run: Run):
        super().__init__()
        self.run = run

    def on_train_batch_end(self, batch, logs=None):
        if self.run.stop_requested():
            self.model.stop_training = True


class StatusWriter(_EpochSteps):
    """Writes the run's status after each whole epoch: the epoch, its figures and the ETA."""

    def __init__(self, run: Run, steps: int, epochs: int):
        super().__init__(steps)
        self.run, self.epochs, self.durations = run, epochs, []

    def on_epoch_begin(self, epoch, logs=None):
        super().on_epoch_begin(epoch)
        self.epoch_start = time.time()

    def on_epoch_end(self, epoch, logs=None):
        if self.partial:
            return
        self.durations.append(time.time() - self.epoch_start)
        self.run.set_status("running", epoch=epoch + 1, epochs=self.epochs, last=scalars(logs),
                            eta_s=eta_seconds(self.durations, self.epochs - epoch - 1))


class EpochPrinter(keras.callbacks.Callback):
    """Prints ``[task1/seed] epoch 3/50  12.1s  loss ...  ETA 9:40`` after each epoch."""

    def __init__(self, epochs: int, title: str, stream=None):
        super().__init__()
        self.epochs, self.title, self.stream, self.durations = epochs, title, stream, []

    def on_epoch_begin(self, epoch, logs=None):
        self.start = time.time()

    def on_epoch_end(self, epoch, logs=None):
        self.durations.append(time.time() - self.start)
        figures = "  ".join(f"{k} {v:.4f}" for k, v in scalars(logs).items() if k != "learning_rate")
        eta = eta_seconds(self.durations, self.epochs - epoch - 1)
        print(f"[{self.title}] epoch {epoch + 1}/{self.epochs}  {self.durations[-1]:.1f}s  {figures}  "
              f"ETA {format_duration(eta)}", file=self.stream or sys.stdout, flush=True)


class CleanPhase(keras.callbacks.Callback):
    """Turns augmentation off after the first ``augmented_epochs`` (a resumed run included):
    the classifiers gain most from their last epochs on plain images at a small learning rate,
    after underfitting the augmented ones. ``switch`` is the boolean ``tf.Variable`` that the
    input pipeline reads for every batch."""

    def __init__(self, switch, augmented_epochs: int):
        super().__init__()
        self.switch, self.augmented_epochs = switch, augmented_epochs

    def on_epoch_begin(self, epoch, logs=None):
        self.switch.assign(epoch < self.augmented_epochs)


class TensorBoardScalars(_EpochSteps):
    """TensorBoard event files of each whole epoch's figures, laid out as Keras's own
    ``TensorBoard`` callback does (``train/`` and ``validation/`` under ``tensorboard/``, tags
    ``epoch_<metric>``), so ``tensorboard --logdir runs/`` overlays every run. Written with
    ``tf.summary.write`` and the scalar plugin's metadata: ``tf.summary.scalar`` would need the
    tensorboard package, which only viewing the files needs."""

    def __init__(self, run: Run, steps: int):
        from tensorflow.core.framework import summary_pb2

        super().__init__(steps)
        self.folder = run.path / "tensorboard"
        self.writers = {}
        self.scalar = summary_pb2.SummaryMetadata(
            plugin_data=summary_pb2.SummaryMetadata.PluginData(plugin_name="scalars"))

    def on_epoch_end(self, epoch, logs=None):
        import tensorflow as tf

        if self.partial:
            return
        for key, value in scalars(logs).items():
            part = "validation" if key.startswith("val_") else "train"
            if part not in self.writers:
                self.writers[part] = tf.summary.create_file_writer(str(self.folder / part))
            with self.writers[part].as_default():
                tf.summary.write(f"epoch_{key.removeprefix('val_')}", value, step=epoch + 1, metadata=self.scalar)
        for writer in self.writers.values():
            writer.flush()

    def on_train_end(self, logs=None):
        for writer in self.writers.values():
            writer.close()
