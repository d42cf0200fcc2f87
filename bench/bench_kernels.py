"""The kernel-family figures of docs/benchmarks.md in one run, as one Markdown table.

    python bench/bench_kernels.py [--quick]

Runs the reduction cases of bench_reduce.py (float32 sum of 16M elements, and along each dim
of 4096x4096: GB/s read) and the matmul cases of bench_matmul.py (float32 at 256, 1024 and
2048, float64 at 1024: GFLOP/s) in the same process, so every ratio compares libraries
measured minutes apart on the same machine, and prints each row with its target.
"""
from __future__ import annotations

import sys

import numpy as np
from bench_matmul import row as matmul_row
from bench_reduce import sum_rows

import clgrad

TARGETS = {"sum": "vs NumPy >= 1.5x", "sum(dim=0)": "vs NumPy >= 1.0x",
           "sum(dim=1)": "vs NumPy >= 1.0x", "matmul 1024 float32": ">= 2x CLBlast, >= 0.3x NumPy"}


def _reduce_lines(quick: bool) -> list:
    rng = np.random.default_rng(0)
    n = 1 << 20 if quick else 1 << 24
    side = 1024 if quick else 4096
    flat = rng.random(n, dtype=np.float32)
    square = flat[: side * side].reshape(side, side)
    lines = []
    for name, array, dim in (("sum", flat, None), ("sum(dim=0)", square, 0),
                             ("sum(dim=1)", square, 1)):
        got = dict(sum_rows(array, dim))
        shape = "x".join(map(str, array.shape))
        other = got.get("pyopencl.array")
        other = f"{other:.1f} (pyopencl.array)" if other else ""
        lines.append(f"| {name} {shape} float32 (GB/s) | {got['clgrad']:.1f} | "
                     f"{got['numpy']:.1f} | {got.get('torch cpu', float('nan')):.1f} | "
                     f"{other} | {got['clgrad'] / got['numpy']:.2f}x | | {TARGETS[name]} |")
    return lines


def _matmul_lines(quick: bool) -> list:
    dev = clgrad.runtime.default_device()
    cases = [(256, np.float32), (1024, np.float32), (2048, np.float32), (1024, np.float64)]
    if quick:
        cases = [(256, np.float32), (512, np.float64)]
    lines = []
    for n, dtype in cases:
        if dtype == np.float64 and not dev.fp64:
            continue
        r = matmul_row(n, dtype, 3 if n >= 2048 else 5)
        name = f"matmul {n} {np.dtype(dtype).name}"
        lines.append(f"| {name} (GFLOP/s) | {r['clgrad']:.1f} | {r['numpy']:.1f} | "
                     f"{r.get('torch', float('nan')):.1f} | {r['clblast']:.1f} (CLBlast) | "
                     f"{r['clgrad'] / r['numpy']:.2f}x | {r['clgrad'] / r['clblast']:.2f}x | "
                     f"{TARGETS.get(name, '')} |")
    return lines


def main(argv) -> None:
    quick = "--quick" in argv
    dev = clgrad.runtime.default_device()
    print(f"device: {dev} = {dev.platform_name} : {dev.name} (driver {dev.driver_version})\n")
    print("| benchmark | clgrad | NumPy | PyTorch CPU | other | vs NumPy | vs CLBlast | target |")
    print("|---|---|---|---|---|---|---|---|")
    for line in _reduce_lines(quick) + _matmul_lines(quick):
        print(line, flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
