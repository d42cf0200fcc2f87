"""`python -m clgrad`: list every OpenCL device, then self-test the default device.

`python -m clgrad --probe` only checks that a default device can run kernels (exit 0/1).
"""
from __future__ import annotations

import sys
import time

import numpy as np


def _list_devices(clgrad) -> None:
    devices = clgrad.runtime.all_devices()
    print(f"OpenCL devices ({len(devices)}):")
    for d in devices:
        problem = d.problem() if not d.is_simulator else None
        status = f"UNUSABLE: {problem}" if problem else "ok"
        print(f"  opencl:{d.ordinal}  {d.platform_name} : {d.name}")
        print(f"             {d.describe()}  [{status}]")


def _self_test(clgrad) -> bool:
    """A few ops on the default device, checked against NumPy."""
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal((37, 53)).astype(np.float32), rng.random(53).astype(np.float32)
    x, y = clgrad.tensor(a), clgrad.tensor(b)
    checks = {
        "x * y + x (broadcast)": ((x * y + x).numpy(), a * b + a),
        "x.t() + 1 (strided)": ((x.t() + 1).numpy(), a.T + 1),
        "exp(x[::2, 1:9])": (clgrad.exp(x[::2, 1:9]).numpy(), np.exp(a[::2, 1:9])),
        "arange(10) % 3": (clgrad.arange(10).remainder(3).numpy(), np.arange(10) % 3),
        "(x > 0).sum via numpy": ((x > 0).numpy().sum(), (a > 0).sum()),
    }
    ok = True
    for name, (got, want) in checks.items():
        good = np.allclose(got, want, rtol=1e-5, atol=1e-6)
        ok = ok and good
        print(f"  {'PASS' if good else 'FAIL'}  {name}")
    return ok


def main(argv) -> int:
    import clgrad
    try:
        dev = clgrad.runtime.default_device()
    except RuntimeError as exc:
        if "--probe" not in argv:
            _list_devices(clgrad)
        print(f"\nclgrad: no usable default device.\n{exc}", file=sys.stderr)
        return 1
    if "--probe" in argv:
        print(f"clgrad: default device {dev} ({dev.platform_name} : {dev.name}) works")
        return 0
    _list_devices(clgrad)
    print(f"\nDefault device: {dev} = opencl:{dev.ordinal} ({dev.name})")
    start = time.perf_counter()
    ok = _self_test(clgrad)
    print(f"Self-test {'passed' if ok else 'FAILED'} in {time.perf_counter() - start:.2f} s "
          f"(first run includes kernel builds)")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
