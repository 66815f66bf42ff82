"""Fitting a ``TrainConfig`` as a recorded run: input pipeline, callbacks, devices.

The training process writes everything to its run folder (see ``runs``), so the
dashboard or another shell can follow it live, stop it, or resume it.
"""

from __future__ import annotations

import fcntl
import os
import signal
import time
import zipfile
from contextlib import contextmanager

import numpy as np

from dae_core.analysis import metrics
from dae_core.data import datasets
from dae_core.data import noise as noise_lib
from dae_core.errors import DamagedModelFile
from dae_core.store.runs import Run
from dae_core.training.config import TrainConfig
from dae_core.training.preflight import check_config, resolve_autoencoder

# --- devices -----------------------------------------------------------------

def setup_device(config: TrainConfig, policy: str | None = None, why: str | None = None):
    """Memory growth and a mirrored strategy on GPUs, and Keras's global dtype policy: the
    config's precision resolved for this machine (``device.resolve_precision``), or ``policy``
    (with ``why``) where given: a resumed run keeps the one it started with.

    Returns (strategy, description, policy, why). Must run before TensorFlow first touches a GPU.
    """
    import keras
    import tensorflow as tf

    from dae_core.models import device

    device.enable_gpu_memory_growth()
    names = device.gpu_names()
    if policy:
        why = why or "kept from the run's start"
    else:
        policy, why = device.resolve_precision(config.precision, config.task, config.arch, gpu=bool(names))
    keras.mixed_precision.set_global_policy(policy)
    if not names:
        return tf.distribute.get_strategy(), device.device_description(), policy, why
    strategy = tf.distribute.MirroredStrategy() if len(names) > 1 else tf.distribute.get_strategy()
    return strategy, f"{len(names)} x GPU ({', '.join(names)})", policy, why


@contextmanager
def global_policy_restored():
    """Keras's global dtype policy as it was, after a run set its own (tests and studies train
    several runs in one process, and build other models between them)."""
    import keras

    before = keras.mixed_precision.global_policy()
    try:
        yield
    finally:
        keras.mixed_precision.set_global_policy(before)


# --- input pipeline ----------------------------------------------------------

def make_dataset(x: np.ndarray, y: np.ndarray | None, batch_size: int, *, shuffle: bool,
                 seed: int = 0, noise: noise_lib.NoiseConfig | None = None,
                 augment: bool = False, erase: float = 0.0, repeat: bool = False,
                 whole_epochs: bool = False, augmented_batches: int | None = None):
    """A ``tf.data`` pipeline of (input, target) batches.

    ``y`` None means autoencoding: the target is the clean image. Noise and
    augmentation run per batch inside the graph, so every epoch sees fresh draws.
    ``repeat``: endless, so that Keras keeps one iterator for the whole run (given the steps of
    an epoch); with ``whole_epochs``, each run of ceil(n / batch) batches is one pass over the
    images, as an epoch of a finite dataset is; without, the images go round as often as epochs
    of a fixed number of steps need. ``augmented_batches``: only the first this many batches are
    augmented (the clean phase after them), counted in the pipeline, so batches read ahead of the
    training step are never the wrong kind.
    """
    import keras
    import tensorflow as tf

    x_all = tf.constant(x)
    y_all = None if y is None else tf.one_hot(tf.constant(y), 10)
    add_noise = noise_lib.tf_noise_fn(noise) if noise else None
    # The pipeline's images stay float32 under a mixed precision policy (the model casts them).
    shift = (keras.layers.RandomTranslation(0.08, 0.08, fill_mode="constant", seed=seed, dtype="float32")
             if augment else None)

    # Random erasing (Zhong et al. 2017): a patch of 2-25% of the image set to background.
    eraser = (keras.layers.RandomErasing(factor=(erase, erase), scale=(0.02, 0.25), fill_value=0.0,
                                         value_range=(0, 1), seed=seed, dtype="float32")
              if augment and erase else None)

    def augmented(xb):
        xb = shift(tf.image.random_flip_left_right(xb), training=True)
        return eraser(xb, training=True) if eraser else xb

    def gather(batch, idx):
        xb = tf.gather(x_all, idx)
        target = xb if y_all is None else tf.gather(y_all, idx)
        if augment and augmented_batches is None:
            xb = augmented(xb)
        elif augment:
            xb = tf.cond(batch < augmented_batches, lambda: augmented(xb), lambda: xb)
        if add_noise:
            xb = add_noise(xb)
        return xb, target

    ds = tf.data.Dataset.range(len(x))
    if shuffle:
        ds = ds.shuffle(len(x), seed=seed, reshuffle_each_iteration=True)
    if repeat and not whole_epochs:
        ds = ds.repeat().batch(batch_size)
    else:
        ds = ds.batch(batch_size)
        ds = ds.repeat() if repeat else ds
    ds = ds.enumerate().map(gather, num_parallel_calls=tf.data.AUTOTUNE)
    return ds.prefetch(tf.data.AUTOTUNE)


def augmented_batches(config: TrainConfig, steps: int, initial_epoch: int = 0) -> int:
    """The batches to augment from ``initial_epoch`` on: those of the epochs before the clean
    phase (the classifiers gain most from their last epochs on plain images)."""
    return max(0, config.augmented_epochs - initial_epoch) * steps


def validation_size(train_size: int | None) -> int | None:
    """Validation images for a run on ``train_size`` training images (None: all of both)."""
    return None if train_size is None else max(100, train_size // 4)


def load_task_data(config: TrainConfig) -> dict:
    """Train/val arrays for the task; noisy validation inputs use a fixed seed."""
    ds = datasets.load_dataset(config.dataset, config.data_dir)
    x_train, y_train = datasets.subset(ds.x_train, ds.y_train, config.train_size, config.seed)
    x_val, y_val = datasets.subset(ds.x_val, ds.y_val, validation_size(config.train_size), config.seed)
    noise = config.input_noise
    x_val_in = noise_lib.add_noise(x_val, noise, np.random.default_rng(1)) if noise else x_val
    return dict(dataset=ds, x_train=x_train, y_train=y_train, x_val=x_val, y_val=y_val,
                x_val_in=x_val_in)


# --- models --------------------------------------------------------------------

def epoch_steps(config: TrainConfig, train_images: int) -> int:
    return config.steps_per_epoch or -(-train_images // config.batch_size)


def build_model(config: TrainConfig, steps_per_epoch: int):
    """The task's model, compiled with the config's optimiser, schedule and loss."""
    import keras

    from dae_core.models import builders

    arch = config.architecture
    fully_connected = "mlp_ae" in (config.task, config.spec.autoencoder_task)
    new_autoencoder = builders.build_mlp_autoencoder if fully_connected else builders.build_autoencoder
    if config.is_autoencoder:
        model = new_autoencoder(arch)
    elif config.task == "task2":
        model = builders.build_cnn_classifier(arch)
    else:
        path = resolve_autoencoder(config)
        ae = builders.load_model(path) if path else new_autoencoder(arch)
        if config.task == "task3":
            model = builders.build_transfer_classifier(ae, arch, trainable=True)
        elif config.task in builders.FROZEN_HEADS:
            model = builders.build_frozen_classifier(ae, arch, head=builders.FROZEN_HEADS[config.task])
        elif config.task == "mlp":
            model = builders.build_mlp_classifier(ae, arch)
        else:
            model = builders.build_autoencoder_classifier(ae, arch, trainable=config.task == "unfrozen_ae")
    if config.init_from:
        copy_weights(builders.load_model(config.init_from), model)
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
    """Train the run's config to the end (or a stop); returns the final status. A resume whose
    checkpoints are all damaged fails at once, naming them (``check_resumable``)."""
    config = TrainConfig.from_dict(run.config())
    if resume:
        _failing(run, check_resumable, run)
    run.set_status("queued", pid=os.getpid())
    _install_stop_signal(run)
    with training_slot(run) as got_slot:
        if not got_slot:
            return run.set_status("stopped", error="stopped while queued")
        with global_policy_restored():
            return _failing(run, _fit, run, config, resume, verbose)


def _failing(run: Run, step, *args):
    """``step(*args)``; an exception marks the run failed with it (the error says why), then goes on."""
    try:
        return step(*args)
    except Exception as e:
        try:
            run.set_status("failed", error=f"{type(e).__name__}: {e}")
        except OSError:  # a full disk: once this process is gone, Run.state() says failed
            pass
        raise


def _fit(run: Run, config: TrainConfig, resume: bool, verbose: bool) -> dict:
    import keras

    from dae_core.training.callbacks import save_model_atomic

    from dae_core.models import builders

    # A resumed run keeps the precision it started with (one from before runs recorded theirs
    # trained in float32 on a CPU): its checkpoint's layers hold that policy anyway.
    before = run.status() if resume else {}
    kept = before.get("precision", "float32") if resume else None
    strategy, device, policy, why = setup_device(config, kept, before.get("precision_why"))
    keras.utils.set_random_seed(config.seed)
    run.set_status("running", device=device, precision=policy, precision_why=why,
                   started=time.time(), epochs=config.epochs,
                   test=None, finished=None, note=None)  # a resumed run's old results go
    arrays = load_task_data(config)
    steps = epoch_steps(config, len(arrays["x_train"]))
    with strategy.scope():
        resumed = resume_point(run, config, verbose) if resume else None
        initial_epoch, model = resumed or (0, build_model(config, steps))
    # One endless iterator for the whole run: Keras makes a new one per epoch of a finite dataset,
    # and dropping one can stall until tf.data's autotuning thread ends (docs/history.md,
    # "Stalls between epochs").
    y = None if config.is_autoencoder else arrays["y_train"]
    train_ds = make_dataset(arrays["x_train"], y, config.batch_size, shuffle=True, seed=config.seed,
                            noise=config.input_noise, augment=config.augment, erase=config.erase,
                            repeat=True, whole_epochs=config.steps_per_epoch is None,
                            augmented_batches=augmented_batches(config, steps, initial_epoch))
    val_ds = make_validation_dataset(arrays, config)
    run.truncate_metrics(initial_epoch)
    run.set_status("running", epoch=initial_epoch)
    run.clear_stop()
    model.fit(train_ds, validation_data=val_ds, epochs=config.epochs, initial_epoch=initial_epoch,
              steps_per_epoch=steps,
              callbacks=run_callbacks(run, config, steps, verbose, tensorboard_digits(arrays, config)),
              shuffle=False, verbose=0)  # the pipeline shuffles
    stopped = run.stop_requested()
    # The saved model computes in float32 whatever the run trained in: the dashboard predicts
    # with it, and the test figures are its own. The checkpoints keep the run's policy, for resume.
    keras.mixed_precision.set_global_policy("float32")
    trained = model if policy == "float32" else builders.in_policy(model)
    final = finished_model(trained, config)
    save_model_atomic(final, run.model_path)  # the checkpoints keep the plain model, for resume
    test = metrics.test_summary(final, config, arrays["dataset"])
    if final is not trained:  # what the mirror view adds, measured on the same test images
        test["accuracy_one_view"] = metrics.test_summary(trained, config, arrays["dataset"])["accuracy"]
    return run.set_status("stopped" if stopped else "completed", finished=time.time(), test=test)


CHECKPOINT_FIX = ("train the run again (its settings are in config.json: `python -m dae_core train`), "
                  "or delete the run")


def check_resumable(run: Run) -> None:
    """``DamagedModelFile``, before TensorFlow, the data or the queue, when the run has checkpoints
    and every one is no ``.keras`` file of its own folder (``_file_problem``); they are set aside
    (``_set_aside``) first. Otherwise ``resume_point`` sets aside the damaged ones as it goes."""
    found = [path for _, path in run.checkpoints()]
    problems = {path: _file_problem(path) for path in found}
    if found and all(problems.values()):
        for path, problem in problems.items():
            _set_aside(run, path, problem, verbose=False)  # the error says it, in one line
        raise _none_left(found[0])


def _file_problem(path) -> str | None:
    """What makes ``path`` no checkpoint to load, seen without TensorFlow (None: nothing)."""
    if path.is_symlink():
        return "a link out of the run folder"
    return None if zipfile.is_zipfile(path) else "no zip archive"


def _none_left(newest) -> DamagedModelFile:
    return DamagedModelFile(newest, "it and every checkpoint before it; each is kept as *.damaged",
                            CHECKPOINT_FIX)


def _set_aside(run: Run, path, problem: str, verbose: bool) -> None:
    """Rename a damaged checkpoint ``*.damaged`` (kept for whoever looks into it), said in the
    run's status note and, ``verbose``, in one line."""
    note = (f"checkpoint {path.name} is damaged ({problem}); kept as {path.name}.damaged; "
            "resuming from the checkpoint before it, if any.")
    path.rename(path.with_name(path.name + ".damaged"))
    run.set_status(run.state(), note=note)
    if verbose:
        print(note, flush=True)


def resume_point(run: Run, config: TrainConfig, verbose: bool):
    """(epoch, model with its optimizer state) from the newest checkpoint that loads and is a
    model of the run's task, or None when the run has none: start afresh. A damaged one (a disk
    fault, a bad copy) is set aside (``_set_aside``) and the one before it used;
    ``DamagedModelFile`` when none is left."""
    import keras

    from dae_core.models.builders import kind_problem

    found = run.checkpoints()
    for epoch, path in found:
        problem = _file_problem(path)
        if problem is None:
            try:
                model = keras.models.load_model(path)
                problem = kind_problem(model, config.task)
            except Exception as e:  # noqa: BLE001 - Keras raises many types for a damaged zip
                problem = type(e).__name__
        if problem is None:
            return epoch, model
        _set_aside(run, path, problem, verbose and path != found[-1][1])  # the last one: the error says it
    if found:
        raise _none_left(found[0][1])
    return None


def tensorboard_digits(arrays: dict, config: TrainConfig, count: int = 8):
    """An autoencoder's first ``count`` noisy validation digits and their clean originals, shown
    denoised in TensorBoard after each epoch; None for a classifier."""
    return (arrays["x_val_in"][:count], arrays["x_val"][:count]) if config.is_autoencoder else None


def run_callbacks(run: Run, config: TrainConfig, steps: int, verbose: bool, digits=None) -> list:
    """The callbacks of a recorded run, in the order they must act at each epoch's end."""
    from dae_core.training import callbacks

    chosen = [callbacks.StopOnRequest(run), callbacks.MetricsRecorder(run, steps),
               callbacks.EpochCheckpoint(run, steps), callbacks.StatusWriter(run, steps, config.epochs),
               callbacks.TensorBoardLog(run, steps, config, digits)]
    if verbose:
        chosen.append(callbacks.EpochPrinter(config.epochs, f"{config.task}/{config.preset}"))
    return chosen


def finished_model(model, config: TrainConfig):
    """The model a run ships: a classifier of an arch with ``flip_average`` predicts the mean
    over each image and its mirror image; otherwise the trained model itself."""
    from dae_core.models import builders

    if config.is_autoencoder or not config.architecture.flip_average:
        return model
    return builders.flip_averaged(builders.weights_only(model))


def make_validation_dataset(arrays: dict, config: TrainConfig):
    """Fixed validation batches: (noisy or clean input, clean image or one-hot label)."""
    import tensorflow as tf

    if config.is_autoencoder:
        targets = arrays["x_val"]
    else:
        targets = np.eye(10, dtype=np.float32)[arrays["y_val"]]
    ds = tf.data.Dataset.from_tensor_slices((arrays["x_val_in"], targets)).batch(1000)
    # Keras makes a new validation iterator for every evaluation, and dropping one that autotuning
    # serves can stall the same way; fixed batches need no tuning.
    options = tf.data.Options()
    options.autotune.enabled = False
    return ds.with_options(options)


def train_config(config: TrainConfig, runs_dir=None, verbose: bool = True) -> Run:
    """Create a run for ``config`` and train it in this process; its model files are checked
    first, so a run that cannot start leaves no folder behind."""
    run = Run.create(check_config(config).to_dict(), runs_dir)
    train_run(run, verbose=verbose)
    return run
