"""``python -m benchmarks [NAME] [ARGS]``: every measurement of the lab behind one entry point.
Without a name it lists them; ``python -m benchmarks NAME --help`` gives a benchmark's options.
Benchmarks print figures side by side in one run; they are never imported by the product."""

from __future__ import annotations

import importlib
import sys

BENCHMARKS = {  # name -> (module, what it measures)
    "training": ("training", "training throughput against plain Keras; single-image denoise latency"),
    "latent": ("latent", "a Task 1 encoder's codes, 2-D maps and linear probe, timed"),
    "classical": ("classical", "the classical denoisers' PSNR and SSIM on test digits"),
    "photo": ("photo_bench", "photo-like uploads through the 28 x 28 form, per shipped classifier"),
    "ray": ("ray", "seconds per study member beyond training, local executor against Ray"),
    "load": ("load_test", "the Denoise page under N concurrent sessions (a real server)"),
    "ui": ("measure_ui", "how fast the dashboard feels in a real Chromium"),
    "runs_scale": ("runs_scale", "Overview, Train and Runs with 500 finished runs against none (AppTest)"),
    "compare": ("compare_page", "the Compare page: first open and a change of model, cold and cached (Chromium)"),
    "bn_momentum": ("bn_momentum", "validation accuracy of a short improved run by batch-norm momentum"),
    "precision": ("precision", "training and inference in float32 against mixed bfloat16, per task and preset"),
    "idle": ("idle", "the idle stretches of a running process, with the stacks it waited in"),
    "threads": ("threads", "trainings sharing the cores: alone, several at once, with threads capped"),
}


def main(argv: list[str]) -> int:
    if not argv or argv[0] not in BENCHMARKS:
        if argv and argv[0] not in ("-h", "--help"):
            print(f"unknown benchmark {argv[0]!r}", file=sys.stderr)
        print("python -m benchmarks NAME [--help]; NAME is one of:")
        for name, (_, what) in BENCHMARKS.items():
            print(f"  {name:12s} {what}")
        return 0 if not argv or argv[0] in ("-h", "--help") else 2
    module = importlib.import_module(f"benchmarks.{BENCHMARKS[argv[0]][0]}")
    sys.argv[0] = f"python -m benchmarks {argv[0]}"  # argparse's name for the command in --help
    module.main(argv[1:])
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
