"""Seconds per training epoch of handgrad NumPy, its PyTorch and MLX twins and scikit-learn,
against the float32 GEMM limit; scaling with width, batch and depth; peak memory.

    python benchmarks/speed.py            # the same as: handgrad bench
    python benchmarks/speed.py --quick    # a smoke run on 12,000 examples

Writes benchmarks/results.md and benchmarks/scaling.png.
"""

import sys

from handgrad.cli import main

if __name__ == "__main__":
    sys.exit(main(["bench", *sys.argv[1:]]))
