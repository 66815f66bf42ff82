"""Fitting a ``TrainConfig`` as a recorded run: input pipeline, callbacks, devices.

The training process writes everything to its run folder (see ``runs``), so the
dashboard or another shell can follow it live, stop it, or resume it.
"""

from __future__ import annotations

import fcntl
import os
import signal
import time
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from dae_core import catalog, data, evaluate, noise as noise_lib
from dae_core.config import NEEDS_AUTOENCODER, TrainConfig
from dae_core.runs import Run

BATCH_RECORD_EVERY_S = 0.5  # progress lines inside an epoch, at most this often


# --- devices -----------------------------------------------------------------

def setup_device():
    """Memory growth, mixed precision and a mirrored strategy on GPUs; default on CPU.

    Returns (strategy, description). Must run before TensorFlow first touches a GPU.
    """
    import keras
    import tensorflow as tf

    gpus = tf.config.list_physical_devices("GPU")
    for gpu in gpus:
        try:
            tf.config.experimental.set_memory_growth(gpu, True)
        except RuntimeError:  # already initialised in this process
            pass
    if not gpus:
        return tf.distribute.get_strategy(), f"CPU ({os.cpu_count()} cores)"
    keras.mixed_precision.set_global_policy("mixed_float16")
    names = [tf.config.experimental.get_device_details(g).get("device_name", g.name) for g in gpus]
    strategy = tf.distribute.MirroredStrategy() if len(gpus) > 1 else tf.distribute.get_strategy()
    return strategy, f"{len(gpus)} x GPU ({', '.join(names)}), mixed precision"


# --- input pipeline ----------------------------------------------------------

def make_dataset(x: np.ndarray, y: np.ndarray | None, batch_size: int, *, shuffle: bool,
                 seed: int = 0, noise: noise_lib.NoiseConfig | None = None,
                 augment: bool = False):
    """A ``tf.data`` pipeline of (input, target) batches.

    ``y`` None means autoencoding: the target is the clean image. Noise and
    augmentation run per batch inside the graph, so every epoch sees fresh draws.
    ``augment`` may be a boolean ``tf.Variable``: each batch reads it, so a callback can
    turn augmentation off for the last epochs (Keras starts a new iterator per epoch).
    """
    import keras
    import tensorflow as tf

    x_all = tf.constant(x)
    y_all = None if y is None else tf.one_hot(tf.constant(y), 10)
    add_noise = noise_lib.tf_noise_fn(noise) if noise else None
    shift = (keras.layers.RandomTranslation(0.08, 0.08, fill_mode="constant", seed=seed)
             if augment is not False else None)

    def augmented(xb):
        return shift(tf.image.random_flip_left_right(xb), training=True)

    def gather(idx):
        xb = tf.gather(x_all, idx)
        target = xb if y_all is None else tf.gather(y_all, idx)
        if isinstance(augment, tf.Variable):
            xb = tf.cond(augment, lambda: augmented(xb), lambda: xb)
        elif augment:
            xb = augmented(xb)
        if add_noise:
            xb = add_noise(xb)
        return xb, target

    ds = tf.data.Dataset.range(len(x))
    if shuffle:
        ds = ds.shuffle(len(x), seed=seed, reshuffle_each_iteration=True)
    ds = ds.batch(batch_size).map(gather, num_parallel_calls=tf.data.AUTOTUNE)
    return ds.prefetch(tf.data.AUTOTUNE)


def validation_size(train_size: int | None) -> int | None:
    """Validation images for a run on ``train_size`` training images (None: all of both)."""
    return None if train_size is None else max(100, train_size // 4)


def load_task_data(config: TrainConfig) -> dict:
    """Train/val arrays for the task; noisy validation inputs use a fixed seed."""
    ds = data.load_dataset(config.dataset, config.data_dir)
    x_train, y_train = data.subset(ds.x_train, ds.y_train, config.train_size, config.seed)
    x_val, y_val = data.subset(ds.x_val, ds.y_val, validation_size(config.train_size), config.seed)
    noisy_val = config.is_autoencoder or config.noisy_inputs
    x_val_in = noise_lib.add_noise(x_val, config.noise, np.random.default_rng(1)) if noisy_val else x_val
    return dict(dataset=ds, x_train=x_train, y_train=y_train, x_val=x_val, y_val=y_val,
                x_val_in=x_val_in)


# --- models --------------------------------------------------------------------

def resolve_autoencoder(config: TrainConfig) -> Path:
    if config.encoder_from:
        return Path(config.encoder_from)
    return catalog.shipped_model_path("task1", config.preset)


def build_model(config: TrainConfig, steps_per_epoch: int):
    """The task's model, compiled with the config's optimiser, schedule and loss."""
    import keras

    from dae_core import models

    arch = models.ARCHS[config.arch]
    if config.task == "task1":
        model = models.build_autoencoder(arch)
    elif config.task == "task2":
        model = models.build_cnn_classifier(arch)
    else:
        ae = models.load_model(resolve_autoencoder(config))
        if config.task == "task3":
            model = models.build_transfer_classifier(ae, arch, trainable=True)
        else:
            model = models.build_autoencoder_classifier(ae, arch, trainable=config.task == "unfrozen_ae")
    if config.init_from:
        copy_weights(models.load_model(config.init_from), model)
    lr = config.learning_rate
    if config.schedule == "cosine":
        lr = keras.optimizers.schedules.CosineDecay(lr, config.epochs * steps_per_epoch, alpha=0.01)
    if config.is_autoencoder:
        loss, metrics = "binary_crossentropy", ["mse"]
    else:
        loss = keras.losses.CategoricalCrossentropy(label_smoothing=config.label_smoothing)
        metrics = ["accuracy"]
    model.compile(optimizer=keras.optimizers.Adam(lr), loss=loss, metrics=metrics)
    return model


def copy_weights(source, model) -> None:
    """Give ``model`` the weights of ``source``: a model of the same architecture, or a
    shipped one that wraps it (a flip-averaged classifier holds it as a layer)."""
    inner = source
    if source.name != model.name and model.name in {layer.name for layer in source.layers}:
        inner = source.get_layer(model.name)
    if [w.shape for w in inner.weights] != [w.shape for w in model.weights]:
        raise ValueError(f"cannot continue from {source.name!r}: its layers do not match a new "
                         f"{model.name!r} of this task and arch; pick a model of the same preset.")
    model.set_weights(inner.get_weights())


# --- recording -----------------------------------------------------------------

def _floats(logs: dict | None) -> dict:
    return {k: float(v) for k, v in (logs or {}).items() if np.ndim(v) == 0}


def make_recorder(run: Run, epochs: int, steps: int, initial_epoch: int = 0):
    """A callback that records progress to the run, checkpoints each epoch and honours STOP."""
    import keras

    class RunRecorder(keras.callbacks.Callback):
        def on_train_begin(self, logs=None):
            self.started = time.time()
            self.epoch_times = []

        def on_epoch_begin(self, epoch, logs=None):
            self.epoch_start = self.last_record = time.time()
            self.steps_done = 0

        def on_train_batch_end(self, batch, logs=None):
            self.steps_done = batch + 1
            if run.stop_requested():
                self.model.stop_training = True
            now = time.time()
            if now - self.last_record >= BATCH_RECORD_EVERY_S:
                self.last_record = now
                run.append_metric({"kind": "batch", "epoch": self.epoch_number(), "step": batch + 1,
                                   "steps": steps, "time": now, **_floats(logs)})

        def epoch_number(self):
            return initial_epoch + len(self.epoch_times) + 1

        def on_epoch_end(self, epoch, logs=None):
            seconds = time.time() - self.epoch_start
            partial = self.steps_done < steps
            record = {"kind": "epoch", "epoch": epoch + 1, "seconds": seconds, "time": time.time(),
                      "partial": partial, **_floats(logs)}
            run.append_metric(record)
            if partial:
                return
            self.epoch_times.append(seconds)
            eta = float(np.mean(self.epoch_times[-5:])) * (epochs - epoch - 1)
            previous = run.latest_checkpoint()
            save_model_atomic(self.model, run.checkpoint_for(epoch + 1))
            if previous:
                previous[1].unlink(missing_ok=True)
            run.set_status("running", epoch=epoch + 1, epochs=epochs, eta_s=eta,
                           last=_floats(logs))

    return RunRecorder()


def save_model_atomic(model, path: Path) -> None:
    """Save to a temporary ``.keras`` beside ``path``, then rename over it."""
    tmp = path.with_name(f".{path.stem}.partial.keras")
    model.save(tmp)
    with open(tmp, "rb") as f:
        os.fsync(f.fileno())
    os.replace(tmp, path)


# --- the run -----------------------------------------------------------------------

@contextmanager
def training_slot(run: Run, poll_s: float = 0.5):
    """One training at a time per runs folder: wait (queued) for the lock, or stop if asked."""
    lock_path = run.path.parent / ".train.lock"
    with open(lock_path, "a") as lock:
        while True:
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if run.stop_requested():
                    yield False
                    return
                time.sleep(poll_s)
        try:
            yield True
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _install_stop_signal(run: Run) -> None:
    """SIGTERM and SIGINT become a stop request: finish the batch, keep the model."""
    def handler(signum, frame):
        run.request_stop()

    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, handler)


def train_run(run: Run, resume: bool = False, verbose: bool = True) -> dict:
    """Train the run's config to the end (or a stop); returns the final status."""
    config = TrainConfig.from_dict(run.config())
    run.set_status("queued", pid=os.getpid())
    _install_stop_signal(run)
    with training_slot(run) as got_slot:
        if not got_slot:
            return run.set_status("stopped", error="stopped while queued")
        try:
            return _fit(run, config, resume, verbose)
        except Exception as e:
            run.set_status("failed", error=f"{type(e).__name__}: {e}")
            raise


def _fit(run: Run, config: TrainConfig, resume: bool, verbose: bool) -> dict:
    import keras
    import tensorflow as tf

    from dae_core import progress

    strategy, device = setup_device()
    keras.utils.set_random_seed(config.seed)
    checkpoint = run.latest_checkpoint() if resume else None
    initial_epoch = checkpoint[0] if checkpoint else 0
    run.set_status("running", device=device, started=time.time(), epoch=initial_epoch,
                   epochs=config.epochs, test=None, finished=None)  # a resumed run's old results go
    arrays = load_task_data(config)
    steps = -(-len(arrays["x_train"]) // config.batch_size)
    noise = config.noise if (config.is_autoencoder or config.noisy_inputs) else None
    y = None if config.is_autoencoder else arrays["y_train"]
    augmenting = tf.Variable(True, trainable=False) if config.augment else False  # see clean_phase
    train_ds = make_dataset(arrays["x_train"], y, config.batch_size, shuffle=True, seed=config.seed,
                            noise=noise, augment=augmenting)
    val_ds = make_validation_dataset(arrays, config)
    with strategy.scope():
        if checkpoint:
            model = keras.models.load_model(checkpoint[1])
            run.truncate_metrics(initial_epoch)
        else:
            model = build_model(config, steps)
    run.clear_stop()
    callbacks = [make_recorder(run, config.epochs, steps, initial_epoch)]
    if config.augment:
        callbacks.insert(0, clean_phase(augmenting, config))
    if verbose:
        callbacks.append(progress.epoch_printer(config.epochs, f"{config.task}/{config.preset}"))
    model.fit(train_ds, validation_data=val_ds, epochs=config.epochs, initial_epoch=initial_epoch,
              callbacks=callbacks, shuffle=False, verbose=0)  # the pipeline shuffles
    stopped = run.stop_requested()
    final = finished_model(model, config)
    save_model_atomic(final, run.model_path)  # the checkpoints keep the plain model, for resume
    test = evaluate.test_summary(final, config, arrays["dataset"])
    if final is not model:  # what the mirror view adds, measured on the same test images
        test["accuracy_one_view"] = evaluate.test_summary(model, config, arrays["dataset"])["accuracy"]
    return run.set_status("stopped" if stopped else "completed", finished=time.time(), test=test)


def clean_phase(augmenting, config: TrainConfig):
    """A callback that augments only the first ``config.augmented_epochs`` epochs (a resumed
    run included): the improved classifiers gained most from a few epochs on plain images
    at a small learning rate, after underfitting the augmented ones."""
    import keras

    return keras.callbacks.LambdaCallback(
        on_epoch_begin=lambda epoch, logs=None: augmenting.assign(epoch < config.augmented_epochs))


def finished_model(model, config: TrainConfig):
    """The model a run ships: a classifier of an arch with ``flip_average`` predicts the mean
    over each image and its mirror image; otherwise the trained model itself."""
    from dae_core import models

    if config.is_autoencoder or not models.ARCHS[config.arch].flip_average:
        return model
    return models.flip_averaged(models.weights_only(model))


def make_validation_dataset(arrays: dict, config: TrainConfig):
    """Fixed validation batches: (noisy or clean input, clean image or one-hot label)."""
    import tensorflow as tf

    if config.is_autoencoder:
        targets = arrays["x_val"]
    else:
        targets = np.eye(10, dtype=np.float32)[arrays["y_val"]]
    return tf.data.Dataset.from_tensor_slices((arrays["x_val_in"], targets)).batch(1000)


def train_config(config: TrainConfig, runs_dir=None, verbose: bool = True) -> Run:
    """Create a run for ``config`` and train it in this process."""
    if config.task in NEEDS_AUTOENCODER:
        path = resolve_autoencoder(config)
        if not path.exists():
            raise FileNotFoundError(f"{config.task} starts from a Task 1 autoencoder, but {path} "
                                    "does not exist: train task1 first or pass --encoder-from.")
    run = Run.create(config.to_dict(), runs_dir)
    train_run(run, verbose=verbose)
    return run
