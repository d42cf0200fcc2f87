"""Transcendental elementwise ops on the default device, against NumPy and PyTorch CPU.

    python bench/bench_math.py [--quick]

Each op runs on 4M float32 values in [0.5, 1.5] (1M with --quick); the table gives
milliseconds per call (best of several) and clgrad's speed-up over each library. On CPU
devices clgrad's dense kernels run vector-safe builtins on OpenCL vectors (elementwise.cl's
`vw`): pocl vectorises log, erf, atan2... only when written that way.
"""
from __future__ import annotations

import sys

import numpy as np
from bench_elementwise import best_time, header, torch

import clgrad

OPS = [
    ("exp", lambda m, x, y: m.exp(x)), ("log", lambda m, x, y: m.log(x)),
    ("sin", lambda m, x, y: m.sin(x)), ("tanh", lambda m, x, y: m.tanh(x)),
    ("erf", lambda m, x, y: m.erf(x) if m is not np else None),
    ("atan", lambda m, x, y: m.atan(x) if m is not np else np.arctan(x)),
    ("atan2", lambda m, x, y: m.atan2(x, y) if m is not np else np.arctan2(x, y)),
    ("log1p", lambda m, x, y: m.log1p(x)), ("sqrt", lambda m, x, y: m.sqrt(x)),
    ("x ** 2", lambda m, x, y: x ** 2), ("x ** 2.5", lambda m, x, y: x ** 2.5),
]


def main(argv) -> None:
    n = 1 << 20 if "--quick" in argv else 1 << 22
    dev = clgrad.runtime.default_device()
    host = np.random.default_rng(0).uniform(0.5, 1.5, (2, n)).astype(np.float32)
    libs = [("clgrad", clgrad, [clgrad.tensor(h) for h in host], dev.synchronize),
            ("numpy", np, list(host), lambda: None)]
    if torch is not None:
        libs.append(("torch", torch, [torch.from_numpy(h) for h in host], lambda: None))
    print(header())
    print(f"{n} float32, ms per call (clgrad's speed-up in brackets)\n")
    print("| op | " + " | ".join(name for name, *_ in libs) + " |")
    print("|---" * (len(libs) + 1) + "|")
    for op, fn in OPS:
        cells, ours = [], None
        for name, lib, (x, y), sync in libs:
            if fn(lib, x, y) is None:
                cells.append("-")
                continue
            ms = best_time(lambda f=fn, m=lib, x=x, y=y: f(m, x, y), sync, repeat=5) * 1e3
            ours = ms if ours is None else ours
            cells.append(f"{ms:.2f}" + ("" if name == "clgrad" else f" ({ms / ours:.1f}x)"))
        print(f"| {op} | " + " | ".join(cells) + " |", flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
