"""Uploads of photo-like pictures: does the 28 x 28 form still work (a benchmark, not a test)?

    python -m benchmarks photo [--n 500] [--seed 0]   (from the project folder)

Renders ``n`` Fashion-MNIST and ``n`` MNIST test images as photos (tests.support.renderings: dark on
light paper, uneven light, off-centre, tilted, tinted, some blurred or noisy, JPEG or PNG), sends
each through ``imaging.prepare_upload`` as the dashboard does, and prints: top-1 accuracy of every
shipped Task 2 / Task 3 classifier on the original images and on the renderings; for digits, the
prepared digit's height (rows with ink above imaging.MNIST_INK) and its centre of mass's distance
from (14, 14), against the goals 20 +- 3 px and 3 px; milliseconds per upload, also for the
same pictures enlarged to 1024 px and to a 4032 px phone photo. Uses models/ (or $DAE_MODELS_DIR).
"""

from __future__ import annotations

import argparse
import io
import os
import time

import numpy as np
from PIL import Image

try:
    from dae_core.data import datasets
    from dae_core.errors import ImageError
    from dae_core.images import imaging
    from dae_core.models import catalog
    from tests.support import renderings
except ModuleNotFoundError as e:  # run as a file: the project folder is not on the path
    raise SystemExit(f"{e}: run it from the project folder as `python -m benchmarks photo`") from None

HEIGHT_GOAL, HEIGHT_TOL, CENTRE_TOL = 20, 3, 3.0


def prepare_all(items: list, form: str) -> tuple[np.ndarray, list[float], int]:
    """(N, 28, 28) prepared images (zeros where refused), ms per upload, refusals."""
    out, ms, refused = np.zeros((len(items), 28, 28), np.float32), [], 0
    for k, item in enumerate(items):
        start = time.perf_counter()
        try:
            out[k] = imaging.prepare_upload(item.data, form)[0]
        except ImageError:
            refused += 1
        ms.append((time.perf_counter() - start) * 1000)
    return out, ms, refused


def enlarged(items: list, side: int, count: int = 20) -> list:
    """The first ``count`` renderings re-saved as JPEG with the longest side ``side``."""
    result = []
    for item in items[:count]:
        img = Image.open(io.BytesIO(item.data)).convert("RGB")
        scale = side / max(img.size)
        img = img.resize((round(img.width * scale), round(img.height * scale)), Image.Resampling.BICUBIC)
        buffer = io.BytesIO()
        img.save(buffer, format="JPEG", quality=90)
        result.append(renderings.Rendering(buffer.getvalue(), item.label, item.index))
    return result


def spread(ms: list[float]) -> str:
    return f"median {np.median(ms):.1f} ms, p95 {np.percentile(ms, 95):.1f}, max {max(ms):.1f}"


def fashion_report(items: list, prepared: np.ndarray) -> list[str]:
    from dae_core.models.builders import load_model  # TensorFlow only here: rendering needs none

    originals = datasets.load_bundled("fashion-mnist")[0][[i.index for i in items]].astype(np.float32) / 255
    labels = np.array([i.label for i in items])
    lines = [f"{'classifier':<18}{'originals':>10}{'renderings':>12}{'difference':>12}"]
    for entry in catalog.shipped_models():
        if entry.task not in ("task2", "task3"):
            continue
        model = load_model(entry.path)
        acc = [float((model.predict(x[..., None], batch_size=250, verbose=0).argmax(1) == labels).mean())
               for x in (originals, prepared)]
        lines.append(f"{entry.name:<18}{acc[0]:>10.3f}{acc[1]:>12.3f}{acc[1] - acc[0]:>+12.3f}")
    return lines


def digit_geometry(digit: np.ndarray) -> tuple[int, float]:
    """(height in px of the rows with ink above MNIST_INK, centre of mass's distance from 14, 14)."""
    rows = np.flatnonzero((digit > imaging.MNIST_INK).any(axis=1))
    if digit.max() <= 0 or rows.size == 0:
        return 0, float("inf")
    row, col = imaging.centre_of_mass(digit)
    return int(rows[-1] - rows[0] + 1), float(np.hypot(row - imaging.MNIST_CENTRE, col - imaging.MNIST_CENTRE))


def digit_report(items: list, prepared: np.ndarray) -> list[str]:
    geometry = [digit_geometry(d) for d in prepared]
    heights = np.array([h for h, _ in geometry])
    offsets = np.array([o for _, o in geometry])
    originals = datasets.load_bundled("mnist")[0][[i.index for i in items]]
    own = np.array([digit_geometry(d.astype(np.float32) / 255)[0] for d in originals])  # wide: under 20
    # What MNIST's procedure gives for the same digit turned as in the photo (turning changes its height)
    ideal = np.array([digit_geometry(renderings.reference_digit(d, i.angle))[0]
                      for d, i in zip(originals, items)])
    ok_height = np.abs(heights - HEIGHT_GOAL) <= HEIGHT_TOL
    ok_centre = offsets <= CENTRE_TOL
    worst = sorted(range(len(items)), key=lambda k: (-abs(heights[k] - ideal[k]), -offsets[k]))[:5]
    return [f"height {HEIGHT_GOAL} +- {HEIGHT_TOL} px: {ok_height.mean():.3f} "
            f"({(~ok_height).sum()} outside; min {heights.min()}, max {heights.max()}, "
            f"median {np.median(heights):.0f}); the same {len(items)} MNIST originals: "
            f"{(np.abs(own - HEIGHT_GOAL) <= HEIGHT_TOL).mean():.3f}",
            f"height within {HEIGHT_TOL} px of the original's: {(np.abs(heights - own) <= HEIGHT_TOL).mean():.3f}",
            f"height within {HEIGHT_TOL} px of MNIST's procedure on the clean turned digit: "
            f"{(np.abs(heights - ideal) <= HEIGHT_TOL).mean():.3f} (max difference "
            f"{np.abs(heights - ideal).max()} px; {(np.abs(ideal - HEIGHT_GOAL) > HEIGHT_TOL).sum()} "
            f"of these references are outside {HEIGHT_GOAL} +- {HEIGHT_TOL} px themselves)",
            f"centre within {CENTRE_TOL:g} px: {ok_centre.mean():.3f} ({(~ok_centre).sum()} outside; "
            f"max {offsets.max():.2f} px, median {np.median(offsets):.2f})",
            f"both: {(ok_height & ok_centre).mean():.3f}",
            "worst: " + ", ".join(f"#{items[k].index} ({heights[k]} px, original {own[k]}, reference {ideal[k]}, "
                                  f"{offsets[k]:.1f} px off)" for k in worst)]


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=500, help="renderings of each set")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    start = time.perf_counter()
    garments = renderings.renderings("fashion-mnist", args.n, args.seed)
    digits = renderings.renderings("mnist", args.n, args.seed)
    print(f"{args.n} renderings of each set, seed {args.seed}: {time.perf_counter() - start:.1f} s  |  "
          f"CPUs: {os.cpu_count()}  |  load average: {' '.join(f'{x:.1f}' for x in os.getloadavg())}")

    fashion, fashion_ms, fashion_refused = prepare_all(garments, "fashion")
    mnist, mnist_ms, mnist_refused = prepare_all(digits, "mnist")
    print(f"\nFashion-MNIST renderings (top-1 accuracy on the same {args.n} test images; "
          f"{fashion_refused} uploads refused)")
    print("\n".join(fashion_report(garments, fashion)))
    print(f"\nMNIST renderings ({mnist_refused} uploads refused)")
    print("\n".join(digit_report(digits, mnist)))

    print("\nms per upload (prepare_upload: decode, grey, find the item, 28 x 28)")
    print(f"renderings as made ({len(garments) + len(digits)}, up to ~1000 px): "
          f"{spread(fashion_ms + mnist_ms)}")
    for side in (1024, 4032):
        ms = prepare_all(enlarged(garments, side), "fashion")[1] + prepare_all(enlarged(digits, side), "mnist")[1]
        print(f"enlarged to {side} px JPEG ({len(ms)}): {spread(ms)}")

