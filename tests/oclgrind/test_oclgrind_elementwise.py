"""Elementwise kernels on Oclgrind: dense, strided (nd), broadcast 'one' operands, scalars."""
import math

import numpy as np
import pytest

import clgrad

from .oclgrind_helpers import close, layouts

pytestmark = pytest.mark.oclgrind

SHAPES = [(), (0, 5), (257,), (3, 37), (2, 3, 5)]


@pytest.mark.parametrize("shape", SHAPES, ids=str)
def test_binary_layouts(dev, shape):
    rng = np.random.default_rng(1)
    a = rng.uniform(-3, 3, shape).astype(np.float32)
    b = rng.uniform(1, 3, shape).astype(np.float32)
    for (_, x), (_, y) in zip(layouts(a, dev), reversed(layouts(b, dev))):
        close(x + y, a + b)
        close(x * 2.5 - y, a * 2.5 - b)
        close(x / y, a / b)
        close(clgrad.maximum(x, y), np.maximum(a, b))
        close(x < y, a < b)


@pytest.mark.parametrize("dtype", ["int32", "int64", "uint8", "float64", "bool"])
def test_dtypes_and_promotion(dev, dtype):
    rng = np.random.default_rng(2)
    a = (rng.integers(0, 9, (5, 7)) if dtype != "bool" else rng.random((5, 7)) < .5)
    a = a.astype(dtype)
    b = rng.uniform(-2, 2, (7,)).astype(np.float32)
    for _, x in layouts(a, dev):
        close(x + clgrad.tensor(b, device=dev), a + b)         # promotion, broadcast
        if dtype not in ("bool", "uint8"):
            close(x * 3 - 1, (a * 3 - 1).astype(dtype))
        if dtype in ("int32", "int64"):
            close(x // 4, a // 4)
            close(x % 3, a % 3)
            close(x ** 2, a ** 2)
        close(x.to(clgrad.float32), a.astype(np.float32))


def test_one_element_operands(dev):
    rng = np.random.default_rng(3)
    a = rng.uniform(-1, 1, (4, 33)).astype(np.float32)
    s = np.float32(1.5)
    x = clgrad.tensor(a, device=dev)
    one = clgrad.tensor(s, device=dev)                     # 0-d: read once, broadcast
    close(x * one, a * s)
    close(one - x[:, ::3], s - a[:, ::3])
    close(x + clgrad.tensor([[2.0]], device=dev), a + 2)
    close(clgrad.where(x > 0, x, one), np.where(a > 0, a, s))


def test_unary_and_float_helpers(dev):
    rng = np.random.default_rng(4)
    a = rng.uniform(0.5, 4, (3, 19)).astype(np.float32)
    for _, x in layouts(a, dev):
        close(x.exp(), np.exp(a), rtol=1e-5)
        close(x.sqrt(), np.sqrt(a))
        close(x.log(), np.log(a), rtol=1e-5, atol=1e-6)
        close(-x.abs(), -np.abs(a))
        close(x.clamp(1, 2), np.clip(a, 1, 2))
        close(x // 0.7, a // np.float32(0.7))
        close(x % 0.7, np.mod(a, np.float32(0.7)), rtol=1e-4, atol=1e-5)
        close(x.sigmoid(), 1 / (1 + np.exp(-a)), rtol=1e-5)


def test_generators(dev):
    close(clgrad.arange(37, device=dev), np.arange(37))
    close(clgrad.arange(0.5, 9.7, 0.3, device=dev), np.arange(0.5, 9.7, 0.3, dtype=np.float32))
    close(clgrad.linspace(-1, 1, 41, device=dev), np.linspace(-1, 1, 41, dtype=np.float32))
    close(clgrad.eye(5, 7, device=dev), np.eye(5, 7, dtype=np.float32))
    close(clgrad.full((3, 5), 7, device=dev), np.full((3, 5), 7))
    close(clgrad.zeros((0, 3), device=dev), np.zeros((0, 3), np.float32))
    close(clgrad.ones((), device=dev), np.ones((), np.float32))


def test_inplace_and_out(dev):
    rng = np.random.default_rng(5)
    a = rng.uniform(-1, 1, (6, 11)).astype(np.float32)
    x = clgrad.tensor(a, device=dev)
    x[:, 1::2] += 1                                  # strided in-place
    a[:, 1::2] += 1
    close(x, a)
    x[1:] = x[:-1].clone()
    a[1:] = a[:-1].copy()
    close(x, a)
    y = clgrad.tensor(a, device=dev)
    y[1:] = y[:-1]                                  # overlapping: unaliased copy
    a[1:] = a[:-1].copy()
    close(y, a)


def _strided_kernels(dev):
    return {k.function_name for k in dev.kernels.values() if hasattr(k, "function_name")
            and "_nd" in k.function_name}


@pytest.mark.parametrize("dtype", ["float32", "int32", "int64"])
def test_strided_broadcast_chunks(dev, dtype):
    """The strided path over 3-4 uncollapsible dims: the CPU shapes' chunks (32 elements)
    start and end mid-row, so each work-item's odometer walk carries across dims from an
    unravelled start, and the last chunk is partial."""
    rng = np.random.default_rng(6)

    def data(*shape):
        return rng.integers(-9, 9, shape).astype(dtype)

    a, b = data(5, 3, 7), data(3, 1)
    x, y = clgrad.tensor(a, device=dev), clgrad.tensor(b, device=dev)
    close(x + y, a + b)                                           # (5, 3, 7) + (3, 1)
    close(y * x[:, :, 1::2], b * a[:, :, 1::2])                   # strided: 60 elements
    close(x.transpose(0, 2) - y, a.transpose(2, 1, 0) - b)        # (7, 3, 5) - (3, 1)
    c = data(4, 2, 5, 3)
    p = clgrad.tensor(c, device=dev).permute(1, 3, 0, 2)          # (2, 3, 4, 5), no dim merges
    cp = c.transpose(1, 3, 0, 2)
    row = data(1, 4, 5)
    close(p * clgrad.tensor(row, device=dev), cp * row)           # permuted 4-D x scalar-row
    last = data(5)
    close(p + clgrad.tensor(last, device=dev)[None], cp + last)
    close(clgrad.where(p > 0, p, clgrad.tensor(row, device=dev)), np.where(cp > 0, cp, row))
    small = data(2, 3, 5)                                          # one partial chunk
    close(clgrad.tensor(small, device=dev).transpose(0, 1) * clgrad.tensor(b[:, :, None],
          device=dev), small.transpose(1, 0, 2) * b[:, :, None])
    out = clgrad.tensor(data(5, 3, 14), device=dev)
    want = out.numpy(force=True).copy()
    view = out[:, :, ::2]                                          # strided output, in place
    view += y
    want[:, :, ::2] += b
    close(out, want)
    names = _strided_kernels(dev)
    assert any("_nd3_" in n for n in names) and any("_nd4_" in n for n in names), names


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_vector_path(dev, dtype):
    """CPU shapes run full chunks of vector-safe builtins as vload/vstore vectors (no reads
    past the end: the partial last chunk goes element by element), from unaligned views."""
    rng = np.random.default_rng(5)
    a = rng.uniform(0.5, 4, 1000).astype(dtype)
    b = rng.uniform(0.5, 4, 1000).astype(dtype)
    x, y = clgrad.tensor(a, device=dev), clgrad.tensor(b, device=dev)
    close(x[3:].log(), np.log(a[3:]), rtol=1e-5)
    close(x[:997].erf(), np.array([math.erf(v) for v in a[:997]], dtype), rtol=1e-5)
    close(clgrad.atan2(x[1:], y[:-1]), np.arctan2(a[1:], b[:-1]), rtol=1e-5)
    close(clgrad.atan2(x, y[5]), np.arctan2(a, b[5]), rtol=1e-5)
    a[::7] = 1e20                      # vectors holding a huge lane: sin goes element by element
    close(clgrad.tensor(a, device=dev)[2:].sin(), np.sin(a[2:]), rtol=1e-5, atol=1e-6)
