"""Pages against a full runs folder: do they draw as fast with 500 finished runs as with none?

    python -m benchmarks runs_scale [--runs 500] [--repeats 5] [--pages overview train runs]
                                    [--baseline DIR]

Creates ``--runs`` tiny finished run folders (``Run.create`` and a completed status with test
figures, a few epoch records and a stand-in model file: no page loads a run's model to draw) in a
temporary runs folder, then times AppTest script runs of each page (seconds, median of
``--repeats`` after one warm-up run, and the fastest) against that folder, an empty one and one of a
single run (a page shows a run's curves and cards once it has one: the cost of the content, apart
from the cost of the count), side by side; the machine's load moves medians, the fastest runs show
what the page itself costs.
Each (page, folder) is timed in a fresh Python process, so no cache of one carries to the other;
TensorFlow's background import ends before the timed runs.
``--baseline DIR``: the same on another checkout of the lab first (``git archive COMMIT | tar -x
-C DIR``), so both sets of figures come from the same machine under the same load. Uses
models/ (or $DAE_MODELS_DIR) and the bundled test sets.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TASKS = ("task1", "task2", "task3")

WORKER = """
import json, statistics, sys, time
from streamlit.testing.v1 import AppTest
app, page, repeats = sys.argv[1], sys.argv[2], int(sys.argv[3])
times = []
for n in range(repeats + 1):  # the first run imports the libraries: not counted
    at = AppTest.from_file(app, default_timeout=600)
    at.switch_page(page)
    start = time.perf_counter()
    at.run()
    times.append(time.perf_counter() - start)
    if at.exception:
        raise SystemExit(f"{page}: {at.exception[0].message}")
    if n == 0:  # the app imports TensorFlow in the background after a page: not during the timings
        from dashboard import runtime
        runtime.wait_for_tensorflow()
print(json.dumps([statistics.median(times[1:]), min(times[1:])]))
"""


def fill(root: Path, count: int) -> None:
    """``count`` finished runs of Tasks 1-3 in ``root``, each with a test figure and 3 epochs."""
    from dae_core.store.runs import Run
    from dae_core.training.config import make_config

    now = time.time()
    for n in range(count):
        task = TASKS[n % len(TASKS)]
        run = Run.create(make_config(task, "seed", epochs=3, seed=n).to_dict(), root)
        for epoch in range(1, 4):
            run.append_metric({"kind": "epoch", "epoch": epoch, "loss": 1.0 / epoch, "val_loss": 1.1 / epoch,
                               "accuracy": 0.8, "val_accuracy": 0.79, "mse": 0.02, "val_mse": 0.021,
                               "seconds": 1.5})
        test = ({"psnr_denoised": 19.0 + n / count, "psnr_noisy": 6.0, "ssim_denoised": 0.7}
                if task == "task1" else {"accuracy": 0.85 + n / count / 20, "loss": 0.4})
        run.model_path.write_bytes(b"a stand-in: no page loads a run's model to draw")
        run.set_status("completed", epoch=3, epochs=3, started=now - 60, finished=now, test=test,
                       device="CPU")


def time_page(project: Path, page: str, runs_dir: Path, repeats: int) -> list[float]:
    env = {**os.environ, "DAE_RUNS_DIR": str(runs_dir), "PYTHONPATH": str(project),
           "TF_CPP_MIN_LOG_LEVEL": "3"}
    out = subprocess.run([sys.executable, "-c", WORKER, str(project / "app.py"), f"pages/{page}.py",
                          str(repeats)], cwd=project, env=env, capture_output=True, text=True)
    if out.returncode:
        raise SystemExit(f"{page} in {project} failed:\n{out.stderr[-2000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def measure(project: Path, pages: list[str], folders: dict[str, Path], repeats: int, label: str) -> None:
    print(f"{label} ({project}): seconds, median (fastest)")
    print(f"  {'page':10s}" + "".join(f"{name:>18s}" for name in folders) + "   fastest: full / none, full / one")
    for page in pages:
        if not (project / "pages" / f"{page}.py").exists():
            print(f"  {page:10s} (no such page there)")
            continue
        times = [time_page(project, page, folder, repeats) for folder in folders.values()]
        print(f"  {page:10s}" + "".join(f"{median:11.2f} ({fastest:.2f})" for median, fastest in times)
              + f"   {times[-1][1] / times[0][1]:5.2f}x {times[-1][1] / times[1][1]:5.2f}x", flush=True)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks runs_scale", description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=500)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--pages", nargs="+", default=["overview", "train", "runs"])
    parser.add_argument("--baseline", type=Path, help="another checkout, timed first")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="dae-runs-scale-") as tmp:
        folders = {"no runs": Path(tmp) / "empty", "one run": Path(tmp) / "one", f"{args.runs} runs": Path(tmp) / "full"}
        folders["no runs"].mkdir()
        start = time.perf_counter()
        fill(folders["one run"], 1)
        fill(folders[f"{args.runs} runs"], args.runs)
        print(f"{args.runs} finished runs created in {time.perf_counter() - start:.1f} s; AppTest script "
              f"runs, median of {args.repeats} after a warm-up, each page in a fresh process")
        if args.baseline:
            measure(args.baseline.resolve(), args.pages, folders, args.repeats, "baseline")
        measure(ROOT, args.pages, folders, args.repeats, "this checkout")


if __name__ == "__main__":
    main()
