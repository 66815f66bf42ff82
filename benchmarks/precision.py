"""Training and inference in float32 against mixed bfloat16, side by side in one process.

    python -m benchmarks precision [--tasks task1,task2,task3] [--presets seed,improved]
        [--rounds 2] [--epochs 3] [--seed-steps 6] [--improved-steps 12] [--train-size 4096]
        [--images 10000] [--repeats 100] [--profile]

Training: each task's model is built as the training loop builds it (``train.build_model``: the
preset's architecture, optimiser, schedule and loss; Task 3 from the shipped autoencoder of its
preset) and fitted at the preset's batch size on real images through the run's own input
pipeline (noise, augmentation, erasing), in float32 and in mixed bfloat16, alternated (f32,
bf16, f32, bf16, ...: the machine's speed drifts). Each fit's first epoch (tracing) is left
out; samples/s is the median over the other epochs of all rounds. Epochs are fixed numbers of
steps (``--seed-steps``, ``--improved-steps``) on a subset of ``--train-size`` images.

Inference: each shipped model of the task and preset (``models/``) behind the dashboard's
``Predictor`` (XLA for one image where the dashboard uses it: the autoencoders), loaded in
float32 and as a mixed-bfloat16 copy: one image's latency (warm, median) and the evaluation of
``--images`` test images in batches of 1,000, and how far the two precisions' outputs differ.
About 5 minutes on a busy 2-core CPU; ``--profile`` adds 3.

``--profile``: where the improved preset's epoch goes: the models' multiply-adds per image and
parameters, and the improved Task 2 CNN timed (float32) without batch norm, at batch 1,000, and
the seed CNN at batch 128; and compiled by XLA in both precisions. Reads $DAE_DATA_DIR (or ``--data-dir``).
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import statistics
import time

import numpy as np

from benchmarks.training import latency_ms
from dae_core.data import datasets
from dae_core.data.noise import NoiseConfig, add_noise
from dae_core.training import train
from dae_core.training.config import make_config

POLICIES = ("float32", "mixed_bfloat16")


class EpochTimer:
    """A Keras callback's two hooks, collecting each epoch's wall time."""

    def __init__(self):
        import keras

        self.seconds = []
        self.callback = keras.callbacks.LambdaCallback(
            on_epoch_begin=lambda epoch, logs: self.seconds.append(-time.perf_counter()),
            on_epoch_end=lambda epoch, logs: self.seconds.__setitem__(-1, self.seconds[-1] + time.perf_counter()))


def bench_config(task: str, preset: str, args, **values):
    return make_config(task, preset, train_size=args.train_size, epochs=args.epochs,
                       steps_per_epoch=args.seed_steps if preset == "seed" else args.improved_steps,
                       data_dir=args.data_dir, **values)


def fit_epoch_seconds(config, arrays: dict, policy: str, jit: bool = False) -> list[float]:
    """Seconds of each epoch of ``config`` fitted under ``policy``, the model and pipeline as a
    run builds them (``jit``: compiled by XLA, which Keras leaves off on a CPU); checks that the
    model's output is float32."""
    import keras

    keras.backend.clear_session()
    keras.mixed_precision.set_global_policy(policy)
    keras.utils.set_random_seed(config.seed)
    try:
        model = train.build_model(config, config.steps_per_epoch)
        assert model.output.dtype == "float32", (config.task, policy, model.output.dtype)
        if jit:
            model.compile(optimizer=model.optimizer, loss=model.loss, jit_compile=True,
                          metrics=["mse"] if config.is_autoencoder else ["accuracy"])
        y = None if config.is_autoencoder else arrays["y_train"]
        data = train.make_dataset(arrays["x_train"], y, config.batch_size, shuffle=True, seed=config.seed,
                                  noise=config.input_noise, augment=config.augment, erase=config.erase,
                                  repeat=True)
        timer = EpochTimer()
        model.fit(data, epochs=config.epochs, steps_per_epoch=config.steps_per_epoch, verbose=0,
                  callbacks=[timer.callback])
        return timer.seconds
    finally:
        keras.mixed_precision.set_global_policy("float32")


def training_rows(args) -> list[dict]:
    rows = []
    for preset in args.presets:
        for task in args.tasks:
            config = bench_config(task, preset, args)
            arrays = train.load_task_data(config)
            samples = config.steps_per_epoch * config.batch_size
            steady = {policy: [] for policy in POLICIES}
            for _ in range(args.rounds):
                for policy in POLICIES:
                    steady[policy] += fit_epoch_seconds(config, arrays, policy)[1:]
            rate = {p: samples / statistics.median(s) for p, s in steady.items()}
            row = dict(task=task, preset=preset, batch=config.batch_size, steps=config.steps_per_epoch,
                       f32=rate["float32"], bf16=rate["mixed_bfloat16"],
                       ratio=rate["mixed_bfloat16"] / rate["float32"],
                       f32_epochs=[samples / s for s in steady["float32"]],
                       bf16_epochs=[samples / s for s in steady["mixed_bfloat16"]])
            rows.append(row)
            print(f"  {task:11s} {preset:9s} batch {row['batch']:5d}  float32 {row['f32']:7.0f}  "
                  f"bfloat16 {row['bf16']:7.0f} samples/s  {row['ratio']:.2f}x   (per epoch: "
                  f"f32 {' '.join(f'{r:.0f}' for r in row['f32_epochs'])}; "
                  f"bf16 {' '.join(f'{r:.0f}' for r in row['bf16_epochs'])})", flush=True)
    return rows


def inference_rows(args) -> list[dict]:
    from dae_core.models import builders, catalog
    from dae_core.models.inference import Predictor

    rows = []
    for preset in args.presets:
        for task in args.tasks:
            path = catalog.shipped_model_path(task, preset)
            if not path.exists():
                print(f"  {task}-{preset}: no shipped model, skipped")
                continue
            model = builders.load_model(path)
            autoencoder = model.output_shape == model.input_shape
            test = datasets.load_test_set(make_config(task, preset).dataset, args.data_dir)
            x = test.x[:args.images]
            if autoencoder:
                x = add_noise(x, NoiseConfig("gaussian", 0.5), np.random.default_rng(0))
            outputs, row = {}, dict(task=task, preset=preset)
            for policy in POLICIES:
                typed = model if policy == "float32" else builders.in_policy(model, policy)
                predictor = Predictor(typed, compile_single_image=autoencoder)  # as the dashboard
                predictor.xla_done.wait()
                row[f"{policy}_one_ms"] = latency_ms(predictor, x[:1], args.repeats)
                start = time.perf_counter()  # traced at construction: no first-call cost left
                outputs[policy] = predictor.predict(x, batch_size=1000)
                row[f"{policy}_batch_s"] = time.perf_counter() - start
                assert outputs[policy].dtype == np.float32
            f32, bf16 = outputs["float32"], outputs["mixed_bfloat16"]
            if autoencoder:
                row["agreement"] = f"max |diff| {np.abs(f32 - bf16).max():.3f}"
            else:
                accuracy = {p: float((o.argmax(1) == test.y[:len(x)]).mean()) for p, o in outputs.items()}
                row["agreement"] = (f"same class {np.mean(f32.argmax(1) == bf16.argmax(1)):.2%}, accuracy "
                                    f"{accuracy['float32']:.4f} / {accuracy['mixed_bfloat16']:.4f}")
            rows.append(row)
            print(f"  {task:11s} {preset:9s} one image {row['float32_one_ms']:6.2f} / "
                  f"{row['mixed_bfloat16_one_ms']:6.2f} ms   {len(x):,} images "
                  f"{row['float32_batch_s']:5.2f} / {row['mixed_bfloat16_batch_s']:5.2f} s   "
                  f"{row['agreement']}", flush=True)
    return rows


def multiply_adds(model) -> int:
    """Multiply-adds per image of the model's Conv2D and Dense layers (nested models included)."""
    import keras

    total = 0
    for layer in model.layers:
        if isinstance(layer, keras.Model):
            total += multiply_adds(layer)
        elif isinstance(layer, keras.layers.Conv2D):
            _, h, w, c_out = layer.output.shape
            kh, kw = layer.kernel_size
            total += h * w * kh * kw * layer.input.shape[-1] * c_out
        elif isinstance(layer, keras.layers.Dense):
            total += layer.input.shape[-1] * layer.units
    return total


def profile(args) -> None:
    """Where the improved preset's time goes: compute per image, batch norm, batch size."""
    import keras

    print("models, float32: multiply-adds per image, parameters")
    for preset in ("seed", "improved"):
        for task in ("task1", "task2", "task3"):
            keras.backend.clear_session()
            model = train.build_model(make_config(task, preset), 1)
            print(f"  {task:11s} {preset:9s} {multiply_adds(model) / 1e6:7.2f} M multiply-adds   "
                  f"{model.count_params():>9,} parameters", flush=True)
    print(f"task2 improved, {args.improved_steps * 128:,} images an epoch, samples/s (median of the "
          f"epochs after the first, {args.rounds} rounds):")
    variants = {  # label -> (config values, policy)
        "as the preset (batch norm, batch 128)": ({}, "float32"),
        "as the preset, mixed bfloat16": ({}, "mixed_bfloat16"),
        "as the preset, XLA": ({"jit": True}, "float32"),
        "as the preset, mixed bfloat16, XLA": ({"jit": True}, "mixed_bfloat16"),
        "without batch norm": ({"arch_values": {"batch_norm": False}}, "float32"),
        "without batch norm, mixed bfloat16": ({"arch_values": {"batch_norm": False}}, "mixed_bfloat16"),
        "without augmentation": ({"augment": False}, "float32"),
        "batch 1,000": ({"batch_size": 1000}, "float32"),
        "seed architecture at batch 128": ({"arch": "seed"}, "float32"),
    }
    samples = args.improved_steps * 128  # the same images an epoch at every batch size
    for label, (values, policy) in variants.items():
        values = dict(values)
        jit = values.pop("jit", False)
        steps = max(2, round(samples / values.get("batch_size", 128)))
        config = dataclasses.replace(bench_config("task2", "improved", args, **values), steps_per_epoch=steps)
        arrays = train.load_task_data(config)
        steady = []
        for _ in range(args.rounds):
            steady += fit_epoch_seconds(config, arrays, policy, jit)[1:]
        rate = config.steps_per_epoch * config.batch_size / statistics.median(steady)
        print(f"  {label:40s} {rate:7.0f} samples/s  ({48_000 / rate:5.0f} s per 48,000-image epoch)",
              flush=True)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks precision", description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", help="the datasets (default: $DAE_DATA_DIR)")
    parser.add_argument("--tasks", default="task1,task2,task3")
    parser.add_argument("--presets", default="seed,improved")
    parser.add_argument("--rounds", type=int, default=2, help="float32 then bfloat16, this many times")
    parser.add_argument("--epochs", type=int, default=3, help="per fit; the first is left out")
    parser.add_argument("--seed-steps", type=int, default=6, help="steps an epoch at the seed preset (batch 1,000)")
    parser.add_argument("--improved-steps", type=int, default=12, help="steps an epoch at the improved preset (batch 128)")
    parser.add_argument("--train-size", type=int, default=4096, help="training images the epochs draw from")
    parser.add_argument("--images", type=int, default=10_000, help="test images evaluated per precision")
    parser.add_argument("--repeats", type=int, default=100, help="single-image calls timed")
    parser.add_argument("--skip", choices=("training", "inference"), action="append", default=[])
    parser.add_argument("--profile", action="store_true", help="also: where the improved preset's epoch goes")
    args = parser.parse_args(argv)
    args.tasks, args.presets = args.tasks.split(","), args.presets.split(",")
    if args.epochs < 2:
        parser.error("--epochs must be at least 2: the first is left out")
    from dae_core.models import device

    flags = [f for f in device.BF16_FLAGS if f in device.cpu_flags()]
    print(f"CPU: {os.cpu_count()} cores, bfloat16 units: {', '.join(flags) or 'none'}; oneDNN "
          f"{'on' if device.onednn_enabled() else 'off'}; load average {os.getloadavg()[0]:.2f}")
    if "training" not in args.skip:
        print(f"training, samples/s (median of the epochs after each fit's first; {args.rounds} rounds "
              f"alternated f32/bf16, {args.epochs} epochs each), bfloat16 / float32:", flush=True)
        training_rows(args)
    if "inference" not in args.skip:
        print(f"inference, the dashboard's Predictor, float32 / bfloat16 (one image: median of "
              f"{args.repeats}; evaluation in batches of 1,000):", flush=True)
        inference_rows(args)
    if args.profile:
        profile(args)
    print(f"load average at the end {os.getloadavg()[0]:.2f}")
