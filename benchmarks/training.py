"""Training throughput and single-image denoise latency, ours against plain Keras, measured side
by side in one process.

    python -m benchmarks training [--train-size 6000] [--epochs 3] [--fit-repeats 3] [--repeats 200]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time

import numpy as np

from dae_core.data import datasets
from dae_core.data.noise import NoiseConfig, add_noise
from dae_core.models import catalog
from dae_core.training import train
from dae_core.training.config import make_config


def _steady_rate(epoch_seconds: list[float], samples: int) -> float:
    """Samples per second over the epochs after the first (which pays for tracing)."""
    steady = epoch_seconds[1:] or epoch_seconds
    return samples / statistics.median(steady)


def plain_fit_rate(x: np.ndarray, x_val: np.ndarray, epochs: int, batch_size: int) -> float:
    """A plain Keras run of Task 1: noise drawn once up front, ``model.fit`` on arrays,
    validated every epoch on as many images as a ``dae_core`` run of this size is."""
    import keras

    from dae_core.models.builders import build_autoencoder

    keras.utils.set_random_seed(0)
    model = build_autoencoder()
    model.compile(optimizer="adam", loss="binary_crossentropy")
    noise = NoiseConfig("gaussian", 0.5)
    noisy = add_noise(x, noise, np.random.default_rng(0))
    noisy_val = add_noise(x_val, noise, np.random.default_rng(1))
    times = []
    timer = keras.callbacks.LambdaCallback(
        on_epoch_begin=lambda e, logs: times.append(-time.perf_counter()),
        on_epoch_end=lambda e, logs: times.__setitem__(-1, times[-1] + time.perf_counter()))
    model.fit(noisy, x, epochs=epochs, batch_size=batch_size, shuffle=True, verbose=0,
              validation_data=(noisy_val, x_val), callbacks=[timer])
    return _steady_rate(times, len(x))


def dae_core_rate(train_size: int, epochs: int, batch_size: int, data_dir) -> float:
    """The same model through ``dae_core``: a recorded run with fresh noise every epoch."""
    config = make_config("task1", "seed", epochs=epochs, batch_size=batch_size,
                         train_size=train_size, data_dir=data_dir)
    with tempfile.TemporaryDirectory() as runs_dir:
        run = train.train_config(config, runs_dir, verbose=False)
        seconds = [r["seconds"] for r in run.metrics("epoch")]
    return _steady_rate(seconds, train_size)


def latency_ms(fn, x, repeats: int) -> float:
    """Median wall time of ``fn(x)`` in ms, after warming up."""
    for _ in range(5):
        fn(x)
    samples = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn(x)
        samples.append((time.perf_counter() - start) * 1000)
    return statistics.median(samples)


def denoise_latencies(model, image: np.ndarray, repeats: int) -> dict[str, float]:
    from dae_core.models.inference import Predictor

    predictor = Predictor(model)
    predictor.xla_done.wait()  # measure the path a warm dashboard takes
    return {
        "model.predict(x)": latency_ms(lambda x: model.predict(x, verbose=0), image, repeats),
        "model(x)": latency_ms(lambda x: model(x, training=False).numpy(), image, repeats),
        "Predictor, traced graph only": latency_ms(Predictor(model, compile_single_image=False),
                                                   image, repeats),
        "Predictor (dashboard: XLA)" if predictor.uses_xla else "Predictor (dashboard)":
            latency_ms(predictor, image, repeats),
    }


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks training", description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", help="the datasets (default: $DAE_DATA_DIR)")
    parser.add_argument("--train-size", type=int, default=6000)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--repeats", type=int, default=200, help="single-image calls timed per path")
    parser.add_argument("--fit-repeats", type=int, default=3, help="plain fit against our run, alternated")
    args = parser.parse_args(argv)
    from dae_core.models.builders import ARCHS, build_autoencoder, load_model

    ds = datasets.load_dataset("mnist", args.data_dir)
    x, _ = datasets.subset(ds.x_train, ds.y_train, args.train_size, 0)
    x_val, _ = datasets.subset(ds.x_val, ds.y_val, train.validation_size(len(x)), 0)
    batch = 1000
    print(f"training: Task 1 autoencoder, {len(x)} MNIST images ({len(x_val)} validated), batch {batch}, "
          f"{args.epochs} epochs (first epoch excluded)")
    ratios = []
    for repeat in range(1, args.fit_repeats + 1):  # alternated: the machine's speed drifts
        plain = plain_fit_rate(x, x_val, args.epochs, batch)
        ours = dae_core_rate(len(x), args.epochs, batch, args.data_dir)
        ratios.append(ours / plain)
        print(f"  repeat {repeat}: plain model.fit (noise once)          {plain:10.0f} samples/s")
        print(f"  repeat {repeat}: dae_core run (fresh noise, recording) {ours:10.0f} samples/s   "
              f"{ours / plain:.2f}x")
    print(f"  dae_core run against plain fit: median {statistics.median(ratios):.2f}x "
          f"(range {min(ratios):.2f}-{max(ratios):.2f}x over {len(ratios)} repeats)")
    image = add_noise(ds.x_test[:1], NoiseConfig("gaussian", 0.5), np.random.default_rng(0))
    for preset in ("seed", "improved"):
        shipped = catalog.shipped_model_path("task1", preset)
        model = load_model(shipped) if shipped.exists() else build_autoencoder(ARCHS[preset])
        print(f"single-image denoise, task1-{preset}{'' if shipped.exists() else ' (untrained)'}, "
              f"warm, median of {args.repeats}:")
        for name, ms in denoise_latencies(model, image, args.repeats).items():
            print(f"  {name:32s} {ms:8.2f} ms")
