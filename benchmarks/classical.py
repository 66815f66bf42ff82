"""The classical denoisers (tuned on validation digits) beside each other on test digits: PSNR and
SSIM per noise kind and level.

    python -m benchmarks classical [--images 1000] [--noise gaussian:0.5]
"""

from __future__ import annotations

import argparse

from dae_core.analysis.classical import classical_table
from dae_core.data import datasets


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks classical", description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=1000, help="test digits to denoise")
    parser.add_argument("--noise", metavar="KIND:LEVEL", help="this noise only")
    args = parser.parse_args(argv)
    kind, _, level = (args.noise or "").partition(":")
    table = classical_table(datasets.load_test_set("mnist").x[:args.images],
                            {kind: (float(level),)} if args.noise else None)
    print(table.to_string(index=False, float_format="%.3f"))
