"""Reduction kernels on Oclgrind: every strategy of clgrad/tensor/reduction.py.

GPU launch shapes: "group" (inner dim, whole tensor; with parts from 2048 elements on few
outputs) and "loop" (outer dims; with parts from 4096 reduced elements). CPU launch shapes
add "vec" (contiguous inner dim; parts from 32768), "band" (outer-dim sums, >= 32 rows,
>= 16 columns), "cols" (outer dim, >= 64 contiguous columns). Every multi-part plan runs a
second "loop" pass over the partials.
"""
import numpy as np
import pytest

import clgrad
from clgrad.tensor import reduction

from .oclgrind_helpers import close, layouts

pytestmark = pytest.mark.oclgrind

CASES = [   # shape, dim: chosen to hit each mode with and without parts, with ragged tails
    ((), None), ((0, 3), 0), ((0, 3), 1), ((5,), 0), ((3, 37), 1), ((37, 3), 0),
    ((2, 2100), 1), ((2101,), None), ((4099, 3), 0), ((3, 33001), 1), ((131, 21), 0),
    ((37, 19), 0), ((67, 70), 0), ((5, 70), 0), ((3, 5, 7), (0, 2)),
]


def _modes(x, dim):
    """The strategies the reduction engine picks for x (for the coverage record)."""
    dims = tuple(range(x.dim())) if dim is None else (dim,) if isinstance(dim, int) else dim
    dims = tuple(sorted(d % max(x.dim(), 1) for d in dims))
    spec = reduction.spec("sum", x.dtype, x.dtype, x.dtype, kahan=True)
    m = 1
    for d, s in enumerate(x.shape):
        m *= 1 if d in dims else s
    if not m:
        return None
    key = (x._shape, x._stride, None, dims, spec.key, x.device, False)
    return reduction._plan(key, x, None, dims, spec, m)[4:6]


@pytest.mark.parametrize("shape,dim", CASES, ids=str)
def test_sum_family(dev, shape, dim):
    rng = np.random.default_rng(8)
    a = rng.uniform(-1, 1, shape).astype(np.float32)
    kw = {} if dim is None else {"dim": dim}
    nkw = {} if dim is None else {"axis": dim}
    for name, x in layouts(a, dev)[:2 if a.size > 20000 else 3]:
        _modes(x, dim)
        close(x.sum(**kw), a.sum(**nkw, dtype=np.float64).astype(np.float32), rtol=1e-4,
              atol=1e-4)
        if a.size:
            close(x.amax(**kw), a.max(**nkw))
            close(x.mean(**kw), a.mean(**nkw, dtype=np.float64).astype(np.float32),
                  rtol=1e-4, atol=1e-5)
        if a.size <= 20000:
            close((x * x).sum(**kw), (a.astype(np.float64) ** 2).sum(**nkw), rtol=1e-4,
                  atol=1e-4)


@pytest.mark.parametrize("shape,dim", [((3, 37), 1), ((37, 3), 0), ((2101,), 0),
                                       ((4099, 3), 0), ((67, 70), 0), ((5,), 0)], ids=str)
def test_arg_and_stats(dev, shape, dim):
    rng = np.random.default_rng(9)
    a = rng.uniform(-3, 3, shape).astype(np.float32)
    for _, x in layouts(a, dev)[:2]:
        close(x.argmax(dim), a.argmax(dim))
        close(x.argmin(dim), a.argmin(dim))
        close(x.max(dim).values, a.max(dim))
        close(x.var(dim), a.var(dim, ddof=1), rtol=1e-4, atol=1e-5)
        close(clgrad.logsumexp(x, dim), np.log(np.exp(a.astype(np.float64)).sum(dim)),
              rtol=1e-5, atol=1e-5)
        close(x.abs().sum(dim), np.abs(a).sum(dim), rtol=1e-4, atol=1e-4)
    close(clgrad.tensor(a, device=dev).argmax(), a.argmax())


@pytest.mark.parametrize("dtype", ["int32", "int64", "uint8", "bool", "float64"])
def test_dtypes(dev, dtype):
    rng = np.random.default_rng(10)
    a = rng.integers(0, 3, (37, 19)).astype(dtype)
    for _, x in layouts(a, dev):
        close(x.sum(0), a.sum(0))
        close(x.sum(1), a.sum(1))
        if dtype != "bool":
            close(x.prod(1), a.prod(1))
            close(x.amin(0), a.min(0))
        close(x.any(1), a.any(1))
        close(x.all(0), a.all(0))


def test_dot_and_norm(dev):
    rng = np.random.default_rng(11)
    a = rng.uniform(-1, 1, 2101).astype(np.float32)
    b = rng.uniform(-1, 1, 2101).astype(np.float32)
    x, y = clgrad.tensor(a, device=dev), clgrad.tensor(b, device=dev)
    close(clgrad.dot(x, y), np.dot(a.astype(np.float64), b), rtol=1e-4)
    close(clgrad.dot(x[:2100:3], y[1::3]), np.dot(a[:2100:3].astype(np.float64), b[1::3]),
          rtol=1e-4)
    close(x.norm(), np.linalg.norm(a.astype(np.float64)), rtol=1e-5)
