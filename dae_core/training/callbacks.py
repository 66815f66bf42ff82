"""The Keras callbacks of a recorded run, one job each (as Keras's own ``CSVLogger`` and
``ModelCheckpoint``): record metrics, checkpoint, honour a stop request, write the status,
print a console line (the clean phase is the input pipeline's: ``train.make_dataset``).

Callbacks run in list order at each hook; ``train`` puts the checkpoint before the status,
so the epoch a status names always has its checkpoint on disk.
"""

from __future__ import annotations

import json
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


class TensorBoardLog(_EpochSteps):
    """TensorBoard event files of a run, laid out as Keras's own ``TensorBoard`` callback does
    (``train/`` and ``validation/`` under ``tensorboard/``, tags ``epoch_<metric>``), so
    ``tensorboard --logdir runs/`` overlays every run:

    - each whole epoch's figures, train and validation (loss, and accuracy or mse), and the
      learning rate it ended at (``train/epoch_learning_rate``);
    - the run's settings in the HParams plugin's format, once, when the run starts (in
      ``tensorboard/`` itself, so the plugin finds the metrics of ``train/`` and ``validation/``);
    - for an autoencoder, ``samples`` (noisy validation digits and their clean originals) as
      one image per epoch: noisy, denoised and clean rows (``validation/denoised_digits``).

    Written with ``tf.summary.write`` and each plugin's metadata: ``tf.summary.scalar`` and
    ``image`` would need the tensorboard package, which only viewing the files needs
    (requirements-dev.txt). The HParams record is made by tensorboard's ``hp.hparams_pb`` when
    it is installed, else from the same protocol buffer fields (``hparams_summary``).
    """

    def __init__(self, run: Run, steps: int, config=None, samples=None):
        from tensorflow.core.framework import summary_pb2

        super().__init__(steps)
        self.run, self.config, self.samples = run, config, samples
        self.folder = run.path / "tensorboard"
        self.writers = {}
        self.scalar = summary_pb2.SummaryMetadata(
            plugin_data=summary_pb2.SummaryMetadata.PluginData(plugin_name="scalars"))
        self.image = summary_pb2.SummaryMetadata(
            plugin_data=summary_pb2.SummaryMetadata.PluginData(plugin_name="images"),
            summary_description="Rows: noisy validation digits, the autoencoder's output, the clean digits.")

    def _writer(self, part: str):
        import tensorflow as tf

        if part not in self.writers:
            self.writers[part] = tf.summary.create_file_writer(str(self.folder / part if part else self.folder))
        return self.writers[part]

    def on_train_begin(self, logs=None):
        import tensorflow as tf

        if self.config is None or self.folder.exists():  # a resumed run has its record already
            return
        status = self.run.status()
        values = hparams_of(self.config, status.get("precision"))
        with self._writer("").as_default():
            tf.summary.experimental.write_raw_pb(hparams_summary(values, status.get("started")), step=0)
        self._writer("").flush()

    def on_epoch_end(self, epoch, logs=None):
        import tensorflow as tf

        if self.partial:
            return
        figures = scalars(logs)
        learning_rate = self._learning_rate()
        if learning_rate is not None:
            figures["learning_rate"] = learning_rate
        for key, value in figures.items():
            part = "validation" if key.startswith("val_") else "train"
            with self._writer(part).as_default():
                tf.summary.write(f"epoch_{key.removeprefix('val_')}", value, step=epoch + 1, metadata=self.scalar)
        if self.samples is not None:
            with self._writer("validation").as_default():
                tf.summary.write("denoised_digits", self._digits_png(), step=epoch + 1, metadata=self.image)
        for writer in self.writers.values():
            writer.flush()

    def _learning_rate(self) -> float | None:
        """The optimizer's learning rate now (a schedule's value at the current step)."""
        try:
            return float(np.asarray(self.model.optimizer.learning_rate))
        except (AttributeError, TypeError, ValueError):
            return None

    def _digits_png(self):
        """The image plugin's tensor: width, height, then one PNG (noisy / denoised / clean rows,
        each digit twice its size so it reads at TensorBoard's default zoom)."""
        import tensorflow as tf

        noisy, clean = self.samples
        denoised = np.asarray(self.model(noisy, training=False), np.float32)
        rows = [np.concatenate(list(np.pad(images[..., 0], ((0, 0), (1, 1), (1, 1)), constant_values=0.5)), axis=1)
                for images in (noisy, denoised, clean)]
        grid = np.clip(np.concatenate(rows, axis=0), 0, 1).repeat(2, axis=0).repeat(2, axis=1)
        png = tf.image.encode_png(np.round(grid * 255).astype(np.uint8)[..., None])
        return tf.stack([tf.as_string(grid.shape[1]), tf.as_string(grid.shape[0]), png])

    def on_train_end(self, logs=None):
        for writer in self.writers.values():
            writer.close()


def hparams_of(config, precision: str | None = None) -> dict:
    """A run's settings as HParams values (numbers, booleans, strings): a model file by its name,
    an architecture value as ``arch.<name>``; unset ones and the data folder left out."""
    values = {}
    for key, value in config.to_dict().items():
        if key == "arch_values":
            values.update({f"arch.{name}": v for name, v in (value or {}).items()})
        elif key in ("encoder_from", "init_from") and value:
            values[key] = Path(value).name
        elif key != "data_dir":
            values[key] = value
    if precision:
        values["precision"] = precision  # what "auto" resolved to on this machine
    return {k: v if isinstance(v, (bool, int, float, str)) else json.dumps(v) for k, v in values.items()
            if v is not None}


def hparams_summary(values: dict, start_time: float | None = None) -> bytes:
    """A serialized ``Summary`` holding the HParams plugin's session start record of ``values``
    (what tensorboard's ``hp.hparams`` writes): by tensorboard when installed, else built here
    from the plugin's protocol buffer fields, which tests/integration/test_tensorboard.py checks
    against tensorboard's."""
    start_time = time.time() if start_time is None else float(start_time)
    try:
        from tensorboard.plugins.hparams import api as hp
    except ImportError:
        return _hparams_summary_without_tensorboard(values, start_time)
    return hp.hparams_pb(values, start_time_secs=start_time).SerializeToString()


def _hparams_summary_without_tensorboard(values: dict, start_time: float) -> bytes:
    """The ``Summary`` of ``hp.hparams_pb(values)``: tag ``_hparams_/session_start_info``, plugin
    ``hparams``, content an ``HParamsPluginData`` (version 0) whose ``session_start_info`` (field
    3) holds the values (field 1, a map of ``google.protobuf.Value``), the group name (field 4,
    the SHA-256 of the values as sorted JSON, as tensorboard names it) and the start time (5)."""
    import hashlib
    import struct

    from google.protobuf import struct_pb2
    from tensorflow.core.framework import summary_pb2, tensor_pb2, tensor_shape_pb2, types_pb2

    def varint(n: int) -> bytes:
        out = b""
        while True:
            out += bytes([n & 0x7F | (0x80 if n > 0x7F else 0)])
            n >>= 7
            if not n:
                return out

    def field(number: int, payload: bytes) -> bytes:  # length-delimited
        return varint(number << 3 | 2) + varint(len(payload)) + payload

    def value(v) -> bytes:
        if isinstance(v, bool):
            return struct_pb2.Value(bool_value=v).SerializeToString()
        if isinstance(v, (int, float)):
            return struct_pb2.Value(number_value=v).SerializeToString()
        return struct_pb2.Value(string_value=v).SerializeToString()

    group = hashlib.sha256(json.dumps(values, sort_keys=True, separators=(",", ":")).encode()).hexdigest()
    start = b"".join(field(1, field(1, name.encode()) + field(2, value(values[name]))) for name in sorted(values))
    start += field(4, group.encode()) + varint(5 << 3 | 1) + struct.pack("<d", start_time)
    metadata = summary_pb2.SummaryMetadata(plugin_data=summary_pb2.SummaryMetadata.PluginData(
        plugin_name="hparams", content=field(3, start)))
    empty = tensor_pb2.TensorProto(dtype=types_pb2.DT_FLOAT, tensor_shape=tensor_shape_pb2.TensorShapeProto(
        dim=[tensor_shape_pb2.TensorShapeProto.Dim(size=0)]))
    summary = summary_pb2.Summary(value=[summary_pb2.Summary.Value(
        tag="_hparams_/session_start_info", metadata=metadata, tensor=empty)])
    return summary.SerializeToString()
