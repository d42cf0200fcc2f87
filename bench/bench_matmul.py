"""Matmul benchmark on the default device, with NumPy, CLBlast and PyTorch in the same run.

    python bench/bench_matmul.py [--quick] [--sweep] [--peak]

Prints one table of GFLOP/s (2*M*N*K per product) for float32 square products at 256, 1024
and 2048 and float64 at 1024, with clgrad's ratio to NumPy and to CLBlast (pyclblast, on
the same OpenCL device and queue). `--peak` adds the device's measured FMA peak (a kernel of
independent vector FMAs), the roofline the kernel is held against; `--sweep` times every
candidate tile configuration of the tuner at 1024 (the effect of each tile parameter).
Each figure is the best of several repeats: compare ratios within one run.
"""
from __future__ import annotations

import sys

import numpy as np
import pyopencl as cl
from bench_elementwise import best_time

import clgrad
from clgrad.runtime import tuning

try:
    import torch
except ImportError:
    torch = None

PEAK_SOURCE = """
__kernel void peak(__global float *out, int iters)
{
    float16 x0 = (float16)(get_global_id(0)), y = (float16)(0.999f), z = (float16)(1e-3f);
% for i in range(1, acc):
    float16 x${i} = x0 + ${i};
% endfor
    for (int i = 0; i < iters; ++i) {
% for i in range(acc):
        x${i} = fma(x${i}, y, z);
% endfor
    }
    float16 s = x0;
% for i in range(1, acc):
    s += x${i};
% endfor
    out[get_global_id(0)] = s.s0 + s.sf;
}
"""


def row(n: int, dtype, repeat: int) -> dict:
    """GFLOP/s of an n x n x n product per library."""
    rng = np.random.default_rng(0)
    a = rng.uniform(-1, 1, (n, n)).astype(dtype)
    b = rng.uniform(-1, 1, (n, n)).astype(dtype)
    flop = 2 * n**3 / 1e9
    dev = clgrad.runtime.default_device()
    x, y = clgrad.tensor(a), clgrad.tensor(b)
    got = (x @ y).numpy()
    assert np.allclose(got, a.astype(np.float64) @ b, rtol=1e-3, atol=1e-3 * n), "wrong result"
    out = {"clgrad": flop / best_time(lambda: x @ y, dev.synchronize, repeat)}
    out["numpy"] = flop / best_time(lambda: a @ b, repeat=repeat)
    out["clblast"] = _clblast(dev, a, b, flop, repeat)
    if torch is not None:
        ta, tb = torch.from_numpy(a), torch.from_numpy(b)
        out["torch"] = flop / best_time(lambda: ta @ tb, repeat=repeat)
    return out


def _clblast(dev, a, b, flop, repeat):
    try:
        import pyclblast
        import pyopencl.array as cla
    except ImportError:
        return float("nan")
    n = a.shape[0]
    pa, pb = cla.to_device(dev.queue, a), cla.to_device(dev.queue, b)
    pc = cla.zeros(dev.queue, (n, n), a.dtype)
    return flop / best_time(lambda: pyclblast.gemm(dev.queue, n, n, n, pa, pb, pc, a_ld=n,
                                                   b_ld=n, c_ld=n), dev.queue.finish, repeat)


def peak(acc: int = 16, iters: int = 20000) -> float:
    """GFLOP/s of independent float16-vector FMAs, one work-item per core-thread slice."""
    dev = clgrad.runtime.default_device()
    from mako.template import Template
    prog = cl.Program(dev.context, Template(PEAK_SOURCE).render(acc=acc)).build()
    items = 64 * dev.cl_device.max_compute_units
    buf = cl.Buffer(dev.context, cl.mem_flags.WRITE_ONLY, 4 * items)
    kernel = prog.peak
    kernel.set_scalar_arg_dtypes([None, np.int32])
    seconds = best_time(lambda: kernel(dev.queue, (items,), (1,), buf, iters), dev.queue.finish,
                        repeat=9)
    return items * iters * acc * 16 * 2 / seconds / 1e9


def sweep(n: int = 1024) -> None:
    """GFLOP/s of every tuner candidate at n (float32)."""
    dev = clgrad.runtime.default_device()
    problem = tuning._Problem(dev, np.dtype(np.float32), n, n, n, np.random.default_rng(0))
    candidates = [tuning.builtin_config(dev)] + tuning.CANDIDATES.get(dev.kind, [])
    for cfg in dict.fromkeys(candidates):
        value = tuning._measure(dev, "float", "float", cfg, [problem], 3)
        shown = f"{value:7.1f}" if isinstance(value, float) else value
        print(f"  {cfg.describe():80s} {shown}")


def main(argv) -> None:
    quick = "--quick" in argv
    dev = clgrad.runtime.default_device()
    cfg = tuning.config_for(dev, np.float32)
    print(f"device: {dev} = {dev.platform_name} : {dev.name} (driver {dev.driver_version})")
    print(f"numpy {np.__version__}, torch {torch.__version__ if torch else 'not installed'}; "
          f"float32 config: {cfg.describe()}\n")
    cases = [(256, np.float32), (1024, np.float32), (2048, np.float32), (1024, np.float64)]
    if quick:
        cases = [(256, np.float32), (512, np.float64)]
    names = ["clgrad", "numpy", "clblast"] + (["torch"] if torch is not None else [])
    print(f"  {'size':>5s} {'dtype':8s}" + "".join(f"{n:>10s}" for n in names)
          + "   vs numpy  vs clblast   (GFLOP/s)")
    for n, dtype in cases:
        if dtype == np.float64 and not dev.fp64:
            continue
        r = row(n, dtype, 3 if n >= 2048 else 5)
        print(f"  {n:5d} {np.dtype(dtype).name:8s}" + "".join(f"{r[k]:10.1f}" for k in names)
              + f"   {r['clgrad'] / r['numpy']:7.2f}x {r['clgrad'] / r['clblast']:8.2f}x")
    if "--peak" in argv:
        print(f"\n  measured float32 FMA peak of the device: {peak():.0f} GFLOP/s")
    if "--sweep" in argv:
        print("\n  tuner candidates, float32 1024 (GFLOP/s):")
        sweep()


if __name__ == "__main__":
    main(sys.argv[1:])
