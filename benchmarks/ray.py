"""Seconds per study member beyond its training: the local executor beside Ray (a fresh local
cluster of two workers, on loopback), for the tests' study of 8 tiny members.

    python -m benchmarks ray          (reads $DAE_DATA_DIR; needs pip install ray==2.60.0)
    python -m benchmarks ray run      one run's seconds beyond its epochs, here and on Ray (ray_run.py)
    python -m benchmarks ray channel  the channel a remote run's records travel by (ray_channel.py)
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from itertools import pairwise

from dae_core import settings
from dae_core.studies import designs, runner
from dae_core.studies.ray_executor import execute
from dae_core.training.ray_cluster import start_local_cluster
from dae_core.studies.store import Study


def main(argv=None) -> dict:
    if argv and argv[0] in ("run", "channel"):
        import importlib

        return importlib.import_module(f"benchmarks.ray_{argv[0]}").main(argv[1:])
    parser = argparse.ArgumentParser(prog="python -m benchmarks ray", description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", default=None)
    data_dir = parser.parse_args(argv).data_dir
    import ray

    design = designs.label_efficiency(seeds=2, budgets=(100, 300), arms=("scratch", "random-init"),
                                            epochs_scale=0.1, steps_per_epoch=5,
                                            data_dir=str(data_dir or settings.data_dir() or "") or None)
    with tempfile.TemporaryDirectory() as tmp:
        local, marks = Study.open(design, "local", tmp), [time.time()]
        runner.run_locally(local, verbose=False, on_member=lambda member: marks.append(time.time()))
        figures = {"local": [b - a - sum(r["seconds"] for r in local.run_of(m.key).metrics("epoch"))
                             for (a, b), m in zip(pairwise(marks), design.members)]}
        walls = {"local": marks[-1] - marks[0]}
        start_local_cluster(num_cpus=2)
        try:
            started = time.time()
            figures["ray"] = execute(Study.open(design, "ray", tmp), verbose=False)[1]
            walls["ray"] = time.time() - started
        finally:
            ray.shutdown()
    for name, seconds in figures.items():
        print(f"{name:>5}: beyond training per member: median {statistics.median(seconds):.1f} s (min "
              f"{min(seconds):.1f}, max {max(seconds):.1f}); {len(seconds)} members in {walls[name]:.0f} s")
    return figures

