"""Copies and joins on Oclgrind: contiguous(), clone, to(), cat/stack, tensor <-> host."""
import numpy as np
import pytest

import clgrad

from .oclgrind_helpers import close, layouts

pytestmark = pytest.mark.oclgrind


@pytest.mark.parametrize("shape", [(), (0, 3), (7,), (5, 9), (3, 4, 5)], ids=str)
def test_contiguous_clone_cast(dev, shape):
    a = np.random.default_rng(6).uniform(-9, 9, shape).astype(np.float32)
    for _, x in layouts(a, dev):
        close(x.contiguous(), a)
        close(x.clone(), a)
        close(x.to(clgrad.int32), a.astype(np.int32))
        close(x.to(clgrad.float64), a.astype(np.float64))
        if x.dim() >= 2:
            close(x.t().contiguous() if x.dim() == 2 else x.permute(2, 0, 1).contiguous(),
                  a.T if a.ndim == 2 else a.transpose(2, 0, 1))


def test_expand_and_copy_into_views(dev):
    a = np.arange(5, dtype=np.float32)
    x = clgrad.tensor(a, device=dev)
    close(x.expand(3, 5).contiguous(), np.broadcast_to(a, (3, 5)))
    dst = clgrad.zeros((4, 11), device=dev)
    dst[1:4, 2:7].copy_(x.expand(3, 5))
    want = np.zeros((4, 11), np.float32)
    want[1:4, 2:7] = a
    close(dst, want)


def test_cat_stack_split(dev):
    rng = np.random.default_rng(7)
    a = rng.uniform(size=(3, 5)).astype(np.float32)
    b = rng.uniform(size=(3, 2)).astype(np.float32)
    x, y = clgrad.tensor(a, device=dev), clgrad.tensor(b, device=dev)
    close(clgrad.cat([x, y], 1), np.concatenate([a, b], 1))
    close(clgrad.cat([x.t(), y.t()], 0), np.concatenate([a.T, b.T], 0))
    close(clgrad.cat([x, clgrad.zeros((0, 5), device=dev)], 0), a)
    close(clgrad.stack([x, x * 2]), np.stack([a, a * 2]))
    close(clgrad.stack([x[:, :2], y], 2),
          np.stack([a[:, :2], b], 2))
