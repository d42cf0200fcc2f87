"""Elementwise benchmarks on the default device, with NumPy / PyTorch / pyopencl.array in one run.

    python bench/bench_elementwise.py [--quick]

Prints one table: effective bandwidth (bytes of the operands read + result written, per
second) for `x*y+x` on 16M float32 and `a.t() + a` on 4096x4096, and the per-op time of a
chain of 2000 tiny (8-element) adds. Each figure is the best of several repeats (the
machines are shared and noisy: compare ratios within one run, not absolute times).
"""
from __future__ import annotations

import sys
import time

import numpy as np

import clgrad

try:
    import torch
except ImportError:
    torch = None


def best_time(fn, sync=lambda: None, repeat=7, number=1) -> float:
    """Best wall time of `number` calls of fn (after one warm-up), over `repeat` tries."""
    fn()
    sync()
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        for _ in range(number):
            fn()
        sync()
        best = min(best, (time.perf_counter() - start) / number)
    return best


def fma_rows(n: int) -> list:
    """x*y+x on n float32: 3 arrays of traffic per call (x and y read, result written)."""
    rng = np.random.default_rng(0)
    a, b = rng.random(n, dtype=np.float32), rng.random(n, dtype=np.float32)
    gb = 3 * 4 * n / 1e9
    dev = clgrad.runtime.default_device()
    x, y = clgrad.tensor(a), clgrad.tensor(b)
    rows = [("clgrad", gb / best_time(lambda: x * y + x, dev.synchronize))]
    rows.append(("clgrad addcmul", gb / best_time(lambda: x.addcmul(x, y), dev.synchronize)))
    rows.append(("numpy", gb / best_time(lambda: a * b + a)))
    if torch is not None:
        ta, tb = torch.from_numpy(a), torch.from_numpy(b)
        rows.append(("torch cpu", gb / best_time(lambda: ta * tb + ta)))
    rows.append(("pyopencl.array", _pyopencl_fma(dev, a, b, gb)))
    return rows


def _pyopencl_fma(dev, a, b, gb) -> float:
    import pyopencl.array as cla
    pa, pb = cla.to_device(dev.queue, a), cla.to_device(dev.queue, b)
    return gb / best_time(lambda: pa * pb + pa, dev.queue.finish)


def transpose_rows(n: int) -> list:
    """a.t() + a on n x n float32: 3 arrays of traffic, one operand read across rows."""
    a = np.random.default_rng(1).random((n, n), dtype=np.float32)
    gb = 3 * 4 * n * n / 1e9
    dev = clgrad.runtime.default_device()
    x = clgrad.tensor(a)
    rows = [("clgrad", gb / best_time(lambda: x.t() + x, dev.synchronize, repeat=5))]
    rows.append(("numpy", gb / best_time(lambda: a.T + a, repeat=5)))
    if torch is not None:
        ta = torch.from_numpy(a)
        rows.append(("torch cpu", gb / best_time(lambda: ta.t() + ta, repeat=5)))
    return rows


def tiny_rows(chain: int = 2000) -> list:
    """Per-op time (us) of a chain of dependent adds on 8 elements."""
    dev = clgrad.runtime.default_device()

    def run(start, other, sync=lambda: None):
        def go():
            x = start
            for _ in range(chain):
                x = x + other
            sync()
        return best_time(go, repeat=5) / chain * 1e6

    rows = [("clgrad", run(clgrad.ones(8), clgrad.ones(8), dev.synchronize))]
    rows.append(("numpy", run(np.ones(8, np.float32), np.ones(8, np.float32))))
    if torch is not None:
        rows.append(("torch cpu", run(torch.ones(8), torch.ones(8))))
    return rows


def table(title: str, unit: str, rows: list, higher_is_better: bool = True) -> str:
    """Rows of (library, value) with each value's ratio to clgrad's."""
    ours = rows[0][1]
    lines = [f"{title}", f"  {'library':16s} {unit:>12s}   clgrad speed-up"]
    for name, value in rows:
        ratio = ours / value if higher_is_better else value / ours
        lines.append(f"  {name:16s} {value:12.2f}   {ratio:6.2f}x")
    return "\n".join(lines)


def header() -> str:
    """The device and library versions a benchmark run measured."""
    dev = clgrad.runtime.default_device()
    return (f"device: {dev} = {dev.platform_name} : {dev.name} (driver {dev.driver_version})\n"
            f"numpy {np.__version__}, torch {torch.__version__ if torch else 'not installed'}, "
            f"torch threads {torch.get_num_threads() if torch else '-'}\n")


def main(argv) -> None:
    quick = "--quick" in argv
    print(header())
    n = 1 << 20 if quick else 1 << 24
    print(table(f"x*y+x, {n} float32 (effective GB/s)", "GB/s", fma_rows(n)), "\n")
    side = 1024 if quick else 4096
    print(table(f"a.t() + a, {side}x{side} float32 (effective GB/s)", "GB/s",
                transpose_rows(side)), "\n")
    print(table("chain of 2000 tiny adds (8 elements), per op", "us/op", tiny_rows(),
                higher_is_better=False))


if __name__ == "__main__":
    main(sys.argv[1:])
