"""Matmul tile configurations: a built-in table per device type, a tuner, an on-disk store.

The matmul kernel (kernels/matmul.cl) takes its tile sizes, vector width and work-group
shape as template parameters. `config_for(device, dtype)` picks them: a configuration
`tune_matmul()` measured on this device (stored as JSON under `config.cache_dir()`, keyed by
device name, driver version and dtype) if there is one, else the built-in entry for the
device type. The parameters are part of every kernel's cache key. This module works on raw
pyopencl buffers (the runtime layer knows nothing about Tensor).
"""
from __future__ import annotations

import json
import os
import sys
import time
from typing import NamedTuple

import numpy as np
import pyopencl as cl

from . import config, program
from .device import default_device
from .device import device as resolve_device

STORE = "matmul_tuning.json"
_NP = {"uchar": np.uint8, "char": np.int8, "short": np.int16, "int": np.int32,
       "long": np.int64, "float": np.float32, "double": np.float64, "half": np.float16}
_C = {np.dtype(v): k for k, v in _NP.items()}


class Config(NamedTuple):
    """Template parameters of one matmul kernel (see the comment atop matmul.cl)."""

    tm: int           # work-group tile rows
    tn: int           # work-group tile columns
    tk: int           # K tile in local memory (local) or K unroll (direct)
    wgm: int          # work-items along M
    wgn: int          # work-items along N (local id 0)
    vw: int           # vector width along N
    local: bool       # stage tiles in local memory
    m_major: bool     # work-group id 0 walks M

    def describe(self) -> str:
        rm, rn = self.tm // self.wgm, self.tn // self.wgn
        where = "local-memory" if self.local else "direct"
        return (f"{where} {self.tm}x{self.tn} tile (k {self.tk}), work-group "
                f"{self.wgm}x{self.wgn}, {rm}x{rn} per work-item, vector {self.vw}"
                f"{', M-major' if self.m_major else ''}")


# Built-in choices by device type. cpu: measured on pocl 3.1 / Zen 5 (see bench_matmul.py);
# gpu: the classic local-memory tiling (64x64 tiles, 16x16 work-items, 4x4 each).
BUILTIN = {
    "cpu": Config(6, 32, 4, 1, 1, 16, False, True),
    "gpu": Config(64, 64, 16, 16, 16, 1, True, False),
    "default": Config(32, 32, 16, 8, 8, 1, True, False),
}

# Products with one column (mv, dot): one column per work-item, rows spread over the group.
VECTOR = {
    "cpu": Config(4, 1, 4, 1, 1, 1, False, True),
    "gpu": Config(64, 1, 16, 64, 1, 1, True, False),
}

# Products with few columns (1 < N < NARROW_N) on CPUs: a 6x32 tile wastes much of its width
# there; 8x16 measured 1.2-1.8x faster on pocl at N = 10..100 (M, K = 64..1000).
NARROW_N = 128
NARROW = {
    "cpu": Config(8, 16, 1, 1, 1, 16, False, False),
}

# Products whose A and B are both contiguous along K (B a transposed matrix: x @ W.T, the
# gradient g @ B.T) on CPUs: dot products vectorised along K (the N-vector tiles above would
# gather B column by column). 4x4 outputs per work-item, 8-wide along K.
DOT = {
    "cpu": Config(4, 4, 1, 1, 1, 8, False, True),
}

# What tune_matmul tries when not given candidates.
CANDIDATES = {
    "cpu": [Config(tm, tn, tk, 1, 1, vw, False, mm)
            for tm, tn, vw in ((4, 32, 16), (6, 32, 16), (8, 32, 16), (4, 64, 16),
                               (8, 16, 16), (12, 16, 16), (4, 32, 8), (8, 32, 8))
            for tk in (1, 4) for mm in (True, False)]
    + [Config(32, 32, 16, 8, 8, 1, True, False), Config(64, 64, 32, 4, 4, 4, True, True)],
    "gpu": [Config(tm, tn, tk, wgm, wgn, vw, True, False)
            for tm, tn, tk, wgm, wgn, vw in (
                (64, 64, 16, 16, 16, 1), (32, 32, 16, 8, 8, 1), (64, 64, 16, 8, 8, 2),
                (128, 64, 16, 16, 16, 1), (64, 128, 16, 16, 8, 2), (128, 128, 16, 16, 16, 2),
                (64, 64, 32, 16, 16, 1), (32, 64, 16, 8, 16, 1))],
}


def _dtype(dtype) -> np.dtype:
    """A NumPy dtype from a NumPy/clgrad dtype or a name ('float32')."""
    return np.dtype(getattr(dtype, "np", dtype))


def _key(device, np_dtype: np.dtype) -> str:
    return f"{device.platform_name}:{device.name}|{device.driver_version}|{np_dtype.name}"


def _store_path():
    return config.cache_dir() / STORE


def _read_store() -> dict:
    try:
        with open(_store_path()) as f:
            data = json.load(f)
        return data if isinstance(data, dict) else {}
    except (OSError, ValueError):
        return {}


def builtin_config(device) -> Config:
    """The built-in configuration for `device`'s type."""
    return BUILTIN.get(device.kind, BUILTIN["default"])


def vector_config(device) -> Config:
    """The configuration for products with a single output column (matrix @ vector)."""
    return VECTOR.get(device.kind, VECTOR["gpu"])


def dot_config(device):
    """The configuration for K-contiguous A and B (dot-product kernel), or None where the
    device type has none (the tiled kernels read any layout)."""
    return DOT.get(device.kind)


def narrow_config(device, dtype) -> Config:
    """The configuration for products with fewer than NARROW_N columns: the tuned one if
    there is one, else the built-in narrow entry for the device type."""
    return _tuned(device, dtype) or NARROW.get(device.kind) or builtin_config(device)


def config_for(device, dtype) -> Config:
    """The tuned configuration stored for (device, driver, dtype), else the built-in one."""
    return _tuned(device, dtype) or builtin_config(device)


def _tuned(device, dtype):
    entry = _read_store().get(_key(device, _dtype(dtype)))
    if entry is not None:
        try:
            return Config(**entry["config"])
        except (KeyError, TypeError):
            pass
    return None


def forget(device) -> None:
    """Drop the memoised matmul kernels of `device` (after tuning changes its choice)."""
    for key in [k for k in device.kernels if isinstance(k, tuple) and k[:1] == ("mm",)]:
        del device.kernels[key]


def scalar_dtypes(idx: str, at: str) -> list:
    """pyopencl's argument types of the matmul kernel (see its signature)."""
    i, a = _NP[idx], _NP[at]
    return [i, i, i, a, a] + [None, i, i, i, i] * 4


def matmul_kernel(device, st: str, at: str, cfg: Config, units: tuple, idx: str = "int",
                  dot: bool = False):
    """The kernel for storage/accumulate C types `st`/`at`, config `cfg` and the unit-stride
    flags `units` = (a_kunit, a_munit, b_nunit, c_nunit, d_nunit); `dot`: the dot-product
    variant (A and B contiguous along K); built on first use."""
    key = ("matmul", st, at, cfg, units, idx, dot)
    kernel = device.kernels.get(key)
    if kernel is None:
        tag = "".join("1" if u else "s" for u in units)
        name = (f"matmul_{st}_{'l' if cfg.local else 'd'}{cfg.tm}x{cfg.tn}x{cfg.tk}_"
                f"w{cfg.wgm}x{cfg.wgn}v{cfg.vw}{'m' if cfg.m_major else 'n'}_{tag}_{idx}"
                f"{'_dot' if dot else ''}")
        a_kunit, a_munit, b_nunit, c_nunit, d_nunit = units
        kernel = program.compile_kernel(
            device, key, "matmul.cl", name, scalar_dtypes(idx, at), st=st, at=at,
            tm=cfg.tm, tn=cfg.tn, tk=cfg.tk, wgm=cfg.wgm, wgn=cfg.wgn, vw=cfg.vw,
            local=cfg.local, m_major=cfg.m_major, a_kunit=a_kunit, a_munit=a_munit,
            b_nunit=b_nunit, c_nunit=c_nunit, d_nunit=d_nunit, dot=dot, idx=idx,
            fp64="double" in (st, at), fp16="half" in (st, at))
    return kernel


def launch(device, kernel, cfg: Config, m: int, n: int, k: int, batch: int, alpha, beta,
           a, b, c, d) -> None:
    """Enqueue `kernel`; a, b, c, d are (buffer, offset, batch, row, column strides)."""
    tiles_m = (m + cfg.tm - 1) // cfg.tm
    tiles_n = (n + cfg.tn - 1) // cfg.tn
    if cfg.m_major:
        grid = (tiles_m * cfg.wgn, tiles_n * cfg.wgm, batch)
    else:
        grid = (tiles_n * cfg.wgn, tiles_m * cfg.wgm, batch)
    local = (cfg.wgn, cfg.wgm, 1)
    try:
        kernel(device.queue, grid, local, m, n, k, alpha, beta, *a, *b, *c, *d)
    except cl.Error as exc:
        raise program.launch_error(device, kernel, grid, local, exc) from None


# -- the tuner ---------------------------------------------------------------------------------
def _sizes(sizes) -> list:
    out = []
    for s in sizes:
        out.append((s, s, s) if isinstance(s, int) else tuple(s))
    return out


class _Problem:
    """Random operands of one size on the device, and the reference product."""

    def __init__(self, device, np_dtype, m, n, k, rng):
        self.m, self.n, self.k = m, n, k
        if np_dtype.kind == "f":
            a, b = rng.uniform(-1, 1, (m, k)), rng.uniform(-1, 1, (k, n))
        else:
            a, b = rng.integers(-3, 4, (m, k)), rng.integers(-3, 4, (k, n))
        self.a, self.b = a.astype(np_dtype), b.astype(np_dtype)
        wide = np.float64 if np_dtype.kind == "f" else np.int64
        self.want = self.a.astype(wide) @ self.b.astype(wide)
        flags = cl.mem_flags.READ_WRITE | cl.mem_flags.COPY_HOST_PTR
        self.buf_a = cl.Buffer(device.context, flags, hostbuf=self.a)
        self.buf_b = cl.Buffer(device.context, flags, hostbuf=self.b)
        self.out = np.empty((m, n), np_dtype)
        self.buf_d = cl.Buffer(device.context, cl.mem_flags.READ_WRITE, max(self.out.nbytes, 1))

    def run(self, device, kernel, cfg):
        m, n, k = self.m, self.n, self.k
        launch(device, kernel, cfg, m, n, k, 1, 1, 0, (self.buf_a, 0, 0, k, 1),
               (self.buf_b, 0, 0, n, 1), (self.buf_d, 0, 0, n, 1), (self.buf_d, 0, 0, n, 1))

    def correct(self, device, kernel, cfg) -> bool:
        cl.enqueue_fill_buffer(device.queue, self.buf_d, np.float32(np.nan), 0,
                               self.out.nbytes - self.out.nbytes % 4)
        self.run(device, kernel, cfg)
        cl.enqueue_copy(device.queue, self.out, self.buf_d, is_blocking=True)
        if self.out.dtype.kind != "f":
            return np.array_equal(self.out, self.want.astype(self.out.dtype))
        tol = {np.float16: 1e-2, np.float32: 1e-4}.get(self.out.dtype.type, 1e-10)
        scale = np.abs(self.a).astype(np.float64) @ np.abs(self.b).astype(np.float64)
        return bool(np.all(np.abs(self.out - self.want) <= tol * (scale + 1)))

    def seconds(self, device, kernel, cfg, repeat: int) -> float:
        best = float("inf")
        for _ in range(repeat):
            device.queue.finish()
            start = time.perf_counter()
            self.run(device, kernel, cfg)
            device.queue.finish()
            best = min(best, time.perf_counter() - start)
        return best


def _measure(device, st, at, cfg, problems, repeat):
    """GFLOP/s of `cfg` over `problems`, or the reason it was rejected."""
    try:
        kernel = matmul_kernel(device, st, at, cfg, (True, False, True, True, True))
        if cfg.wgm * cfg.wgn > device.max_work_group_size:
            return "work-group too large"
        if not all(p.correct(device, kernel, cfg) for p in problems):
            return "wrong result"
        flops = sum(2 * p.m * p.n * p.k for p in problems)
        return flops / sum(p.seconds(device, kernel, cfg, repeat) for p in problems) / 1e9
    except (ValueError, cl.Error, RuntimeError) as exc:
        return f"failed: {str(exc).splitlines()[0][:80]}"


def tune_matmul(device=None, dtype="float32", sizes=(256, 1024), candidates=None,
                repeat: int = 3, verbose: bool = False) -> Config:
    """Time candidate matmul configurations on `device` and remember the fastest.

    `candidates` defaults to the built-in configuration plus a list per device type. Each
    candidate's output is checked against a NumPy reference before its time counts.
    `sizes` are ints (square) or (M, N, K) triples; the winner (highest total GFLOP/s) is
    stored under `config.cache_dir()` for this device, driver version and dtype, and every
    later matmul of that dtype on the device uses it. Returns the winning Config.
    """
    device = default_device() if device is None else resolve_device(device)
    np_dtype = _dtype(dtype)
    st = _C[np_dtype]
    at = "float" if st == "half" else st
    if st == "double":
        device.require_extension("cl_khr_fp64", "float64")
    if st == "half":
        device.require_extension("cl_khr_fp16", "float16")
    rng = np.random.default_rng(0)
    problems = [_Problem(device, np_dtype, m, n, k, rng) for m, n, k in _sizes(sizes)]
    if candidates is None:
        candidates = [builtin_config(device)] + CANDIDATES.get(device.kind, CANDIDATES["gpu"])
    results = {}
    for cfg in dict.fromkeys(candidates):
        results[cfg] = _measure(device, st, at, cfg, problems, repeat)
        if verbose:
            value = results[cfg]
            shown = f"{value:8.1f} GFLOP/s" if isinstance(value, float) else value
            print(f"  {cfg.describe():70s} {shown}", file=sys.stderr)
    timed = {c: v for c, v in results.items() if isinstance(v, float)}
    if not timed:
        raise RuntimeError(f"tune_matmul: no candidate configuration ran correctly on {device} "
                           f"({device.name}): {results}")
    best = max(timed, key=timed.get)
    _save(device, np_dtype, best, timed[best], sizes)
    forget(device)
    return best


def _save(device, np_dtype, cfg: Config, gflops: float, sizes) -> None:
    data = _read_store()
    data[_key(device, np_dtype)] = {"config": cfg._asdict(), "gflops": round(gflops, 2),
                                    "sizes": [list(s) for s in _sizes(sizes)]}
    path = _store_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(data, indent=1, sort_keys=True))
    os.replace(tmp, path)
