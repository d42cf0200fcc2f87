"""Reduction benchmarks on the default device, with NumPy / PyTorch / pyopencl.array in one run.

    python bench/bench_reduce.py [--quick]

Prints one table per case: effective bandwidth (bytes of the input read per second) of a
float32 `sum` of 16M elements and of `sum` along each dim of a 4096x4096 matrix. Each figure
is the best of several repeats; compare ratios within one run, not absolute times.
"""
from __future__ import annotations

import sys

import numpy as np
from bench_elementwise import best_time, header, table, torch

import clgrad

REPEAT = 15     # the 2-thread kernels here vary by +-20% run to run: best of many


def sum_rows(a: np.ndarray, dim) -> list:
    """Rows of (library, GB/s) for a.sum(dim)."""
    gb = a.nbytes / 1e9
    dev = clgrad.runtime.default_device()
    x = clgrad.tensor(a)
    rows = [("clgrad", gb / best_time(lambda: x.sum(dim), dev.synchronize, REPEAT))]
    rows.append(("numpy", gb / best_time(lambda: a.sum(dim), repeat=REPEAT)))
    if torch is not None:
        t = torch.from_numpy(a)
        rows.append(("torch cpu", gb / best_time(lambda: t.sum(dim), repeat=REPEAT)))
    if dim is None:
        import pyopencl.array as cla
        p = cla.to_device(dev.queue, a)
        rows.append(("pyopencl.array", gb / best_time(lambda: cla.sum(p), dev.queue.finish,
                                                      REPEAT)))
    return rows


def main(argv) -> None:
    quick = "--quick" in argv
    print(header())
    rng = np.random.default_rng(0)
    n = 1 << 20 if quick else 1 << 24
    flat = rng.random(n, dtype=np.float32)
    print(table(f"sum of {n} float32 (GB/s read)", "GB/s", sum_rows(flat, None)), "\n")
    side = 1024 if quick else 4096
    square = flat[: side * side].reshape(side, side)
    for dim in (0, 1):
        print(table(f"sum(dim={dim}) of {side}x{side} float32 (GB/s read)", "GB/s",
                    sum_rows(square, dim)), "\n")


if __name__ == "__main__":
    main(sys.argv[1:])
