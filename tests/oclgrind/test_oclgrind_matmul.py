"""Matmul on Oclgrind: every configuration of the built-in tables (runtime/tuning.py).

The device kind picks the table entry: gpu (BUILTIN/VECTOR gpu), cpu (BUILTIN, VECTOR,
NARROW and DOT cpu: x @ y.t() with both K-contiguous), any other kind (BUILTIN default). Sizes are not multiples of any tile.
"""
import numpy as np
import pytest

import clgrad
from clgrad.runtime import tuning
from clgrad.tensor import reduction

from .oclgrind_helpers import close

pytestmark = pytest.mark.oclgrind

SIZES = [(1, 1, 1), (7, 0, 5), (67, 13, 71), (5, 37, 1), (70, 9, 3), (1, 70, 66)]


@pytest.fixture(params=["table", "accelerator"])
def kind(request, dev):
    """The style's own table entries, or (on the GPU style only) the 'default' entry."""
    if request.param == "accelerator" and dev.kind != "gpu":
        pytest.skip("the default entry is covered once, under the GPU launch shapes")
    saved = dev.kind
    if request.param == "accelerator":
        dev.kind = "accelerator"
    tuning.forget(dev)
    yield dev.kind
    dev.kind = saved
    tuning.forget(dev)
    reduction._PLANS.clear()


@pytest.mark.parametrize("m,k,n", SIZES, ids=str)
def test_mm_layouts(dev, kind, m, k, n):
    rng = np.random.default_rng(12)
    a = rng.uniform(-1, 1, (m, k)).astype(np.float32)
    b = rng.uniform(-1, 1, (k, n)).astype(np.float32)
    want = a.astype(np.float64) @ b
    x, y = clgrad.tensor(a, device=dev), clgrad.tensor(b, device=dev)
    xt = clgrad.tensor(np.ascontiguousarray(a.T), device=dev).t()
    yt = clgrad.tensor(np.ascontiguousarray(b.T), device=dev).t()
    close(x @ y, want, rtol=1e-4, atol=1e-5)
    close(xt @ yt, want, rtol=1e-4, atol=1e-5)
    close(x @ yt, want, rtol=1e-4, atol=1e-5)        # both K-contiguous: cpu's dot kernel
    if kind == "cpu" and k > 1 and n > 1:
        assert any(key[0] == "matmul" and key[-1] for key in dev.kernels)
    if k > 1:
        close(x[:, ::2] @ y[::2], a[:, ::2].astype(np.float64) @ b[::2], rtol=1e-4, atol=1e-5)


def test_batched_addmm_mv(dev, kind):
    rng = np.random.default_rng(13)
    a = rng.uniform(-1, 1, (3, 9, 17)).astype(np.float32)
    b = rng.uniform(-1, 1, (17, 5)).astype(np.float32)
    c = rng.uniform(-1, 1, (5,)).astype(np.float32)
    x, y, z = (clgrad.tensor(v, device=dev) for v in (a, b, c))
    close(x @ y, a @ b, rtol=1e-4, atol=1e-5)                     # broadcast batch
    close(clgrad.bmm(x, y.expand(3, 17, 5)), a @ b, rtol=1e-4, atol=1e-5)
    close(clgrad.addmm(z, x[1], y, beta=0.5, alpha=2), 0.5 * c + 2 * (a[1] @ b),
          rtol=1e-4, atol=1e-5)
    close(x[2] @ y[:, 1], a[2] @ b[:, 1], rtol=1e-4, atol=1e-5)     # mv (strided vector)


@pytest.mark.parametrize("dtype", ["float64", "int32", "int64"])
def test_dtypes(dev, kind, dtype):
    rng = np.random.default_rng(14)
    a = rng.integers(-3, 4, (9, 11)).astype(dtype)
    b = rng.integers(-3, 4, (11, 7)).astype(dtype)
    x, y = clgrad.tensor(a, device=dev), clgrad.tensor(b, device=dev)
    close(x @ y, a @ b)
    close(x @ y[:, 2], a @ b[:, 2])
