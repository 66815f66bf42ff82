"""Inside a Task 1 autoencoder, timed: its codes of the test digits, each 2-D map of 2,000 codes,
and the linear probe's table (codes against raw pixels, digits and garments).

    python -m benchmarks latent [MODEL]      (default: models/task1-seed.keras)
"""

from __future__ import annotations

import argparse
import time

from dae_core.analysis.latent import METHODS, fit_map, linear_probe, split_autoencoder
from dae_core.data import datasets
from dae_core.models.builders import load_model


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks latent", description=__doc__.splitlines()[0])
    parser.add_argument("model", nargs="?", default="models/task1-seed.keras")
    path = parser.parse_args(argv).model

    model = split_autoencoder(load_model(path))
    mnist, fashion = datasets.load_test_set("mnist"), datasets.load_test_set("fashion-mnist")
    start = time.perf_counter()
    codes = model.codes(mnist.x)
    print(f"codes of {len(codes):,} test digits: {time.perf_counter() - start:.1f} s")
    for method in METHODS:
        start = time.perf_counter()
        fit_map(codes[:2000], method)
        print(f"{METHODS[method]} of 2,000 codes: {time.perf_counter() - start:.1f} s")
    start = time.perf_counter()
    table = linear_probe(model, {"MNIST": (mnist.x, mnist.y), "Fashion-MNIST": (fashion.x, fashion.y)})
    print(f"linear probe: {time.perf_counter() - start:.1f} s")
    print(table.pivot_table("accuracy", ["dataset", "n_train"], "features").round(4).to_string())
