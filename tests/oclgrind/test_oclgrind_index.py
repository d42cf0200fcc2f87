"""Indexing, scatter, scan, sort and random kernels on Oclgrind."""
import numpy as np
import pytest

import clgrad

from .oclgrind_helpers import close, layouts

pytestmark = pytest.mark.oclgrind


def test_gather_family(dev):
    rng = np.random.default_rng(15)
    a = rng.uniform(-1, 1, (5, 13)).astype(np.float32)
    idx = np.array([4, 0, -1, 2, 2])
    for _, x in layouts(a, dev):
        close(x[clgrad.tensor(idx, device=dev)], a[idx])
        close(x[:, clgrad.tensor([12, 0, 3], device=dev)], a[:, [12, 0, 3]])
        close(x[clgrad.tensor([1, 3], device=dev), clgrad.tensor([2, 5], device=dev)],
              a[[1, 3], [2, 5]])
        close(x[x > 0], a[a > 0])                               # mask: nonzero + compact
        close(clgrad.index_select(x, 1, clgrad.tensor([7, 7, 1], device=dev)), a[:, [7, 7, 1]])
        g = rng.integers(0, 13, (5, 4))
        close(clgrad.gather(x, 1, clgrad.tensor(g, device=dev)), np.take_along_axis(a, g, 1))
        close(x.take(clgrad.tensor([0, 64, 17], device=dev)), a.reshape(-1)[[0, 64, 17]])
    close(clgrad.tensor(a, device=dev)[clgrad.tensor([], dtype=clgrad.int64, device=dev)],
          a[np.array([], np.int64)])
    close(clgrad.nonzero(clgrad.tensor(a > 0.3, device=dev)), np.argwhere(a > 0.3))
    close(clgrad.masked_select(clgrad.tensor(a, device=dev), clgrad.tensor(a > 2, device=dev)),
          a[a > 2])


@pytest.mark.parametrize("dtype", ["float32", "float64", "int32", "int64"])
def test_scatter_and_put(dev, dtype):
    rng = np.random.default_rng(16)
    a = rng.integers(-5, 5, (6, 9)).astype(dtype)
    src = rng.integers(-5, 5, (6, 9)).astype(dtype)
    idx = rng.integers(0, 9, (6, 9))
    x, s = clgrad.tensor(a, device=dev), clgrad.tensor(src, device=dev)
    want = a.copy()
    np.add.at(want, (np.arange(6)[:, None], idx), src)            # duplicates accumulate
    close(x.scatter_add(1, clgrad.tensor(idx, device=dev), s), want)
    rows = np.array([5, 0, 5, 2])
    want = a.copy()
    np.add.at(want, rows, src[:4])
    close(x.clone().index_add_(0, clgrad.tensor(rows, device=dev), s[:4]), want)
    y = x.clone()
    y[clgrad.tensor([1, 4], device=dev), 2::3] = 7
    want = a.copy()
    want[[1, 4], 2::3] = 7
    close(y, want)
    y = x.clone().t()
    y.index_put_((clgrad.tensor([0, 8, 0], device=dev),), s.t()[:3], accumulate=True)
    want = a.T.copy()
    np.add.at(want, np.array([0, 8, 0]), src.T[:3])
    close(y, want)
    z = x.clone()
    z.masked_fill_(x > 0, -1)
    close(z, np.where(a > 0, -1, a).astype(dtype))
    uniq = np.array([3, 0, 8])                                     # scatter_ without duplicates
    want = a.copy()
    want[:, uniq] = src[:, :3]
    close(x.clone().scatter_(1, clgrad.tensor(np.tile(uniq, (6, 1)), device=dev), s[:, :3]),
          want)


@pytest.mark.parametrize("shape,dim", [((), 0), ((0, 4), 1), ((3, 37), 1), ((37, 3), 0),
                                       ((2, 700), 1), ((1, 5000), 1)], ids=str)
def test_scan(dev, shape, dim):
    rng = np.random.default_rng(17)
    a = rng.uniform(0.9, 1.1, shape).astype(np.float32)
    for _, x in layouts(a, dev)[:2]:
        close(x.cumsum(dim), np.cumsum(a.astype(np.float64), dim if a.ndim else None)
              .reshape(shape), rtol=1e-4, atol=1e-4)
        if a.size < 1000:
            close(x.cumprod(dim), np.cumprod(a.astype(np.float64), dim if a.ndim else None)
                  .reshape(shape), rtol=1e-4, atol=1e-4)
    i = rng.integers(-3, 4, shape).astype(np.int32)
    close(clgrad.tensor(i, device=dev).cumsum(dim),
          np.cumsum(i, dim if i.ndim else None, dtype=np.int64).reshape(shape))


@pytest.mark.parametrize("shape,dim", [((), 0), ((0, 3), 1), ((5, 1), 1), ((3, 37), 1),
                                       ((37, 3), 0), ((2, 3, 9), 1)], ids=str)
def test_sort_topk(dev, shape, dim):
    rng = np.random.default_rng(18)
    a = rng.permutation(max(int(np.prod(shape)), 1))[:int(np.prod(shape))]
    a = a.reshape(shape).astype(np.float32)
    for _, x in layouts(a, dev):
        values, indices = x.sort(dim, descending=True)
        close(values, -np.sort(-a, dim if a.ndim else None).reshape(shape))
        close(indices, np.argsort(-a, dim if a.ndim else None, kind="stable").reshape(shape))
        close(x.argsort(dim), np.argsort(a, dim if a.ndim else None).reshape(shape))
        if a.ndim and a.shape[dim] >= 2:
            close(x.topk(2, dim).values, -np.sort(-a, dim).take([0, 1], dim))


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_random(dev, dtype):
    d = getattr(clgrad, dtype)
    clgrad.manual_seed(5)
    u = clgrad.rand(3, 37, dtype=d, device=dev)
    n = clgrad.randn(257, dtype=d, device=dev)
    r = clgrad.randint(-3, 9, (5, 11), device=dev)
    e = clgrad.rand(0, 4, dtype=d, device=dev)
    s = clgrad.rand((), dtype=d, device=dev)
    t = clgrad.zeros(6, 9, dtype=d, device=dev)[:, ::2].uniform_(2, 3)   # strided target
    clgrad.manual_seed(5)
    close(clgrad.rand(3, 37, dtype=d, device=dev), u)                       # reproducible
    u, n, r, t = (v.numpy(force=True) for v in (u, n, r, t))
    assert ((0 <= u) & (u < 1)).all() and u.std() > 0.1
    assert abs(n.mean()) < 0.3 and 0.7 < n.std() < 1.3
    assert ((-3 <= r) & (r < 9)).all() and len(np.unique(r)) > 5
    assert ((2 <= t) & (t < 3)).all() and t.shape == (6, 5)
    assert e.shape == (0, 4) and s.shape == ()
