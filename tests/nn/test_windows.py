"""Convolution, transposed convolution, pooling and unfold/fold against torch.nn.functional:
values and gradients of .sum() on the same float64 data over strides, paddings, dilations,
groups, ceil mode and non-contiguous inputs; gradcheck/gradgradcheck; PyTorch's errors."""
from __future__ import annotations

import numpy as np
import pytest
from conftest import assert_same_error

import clgrad
import clgrad.nn.functional as F
from clgrad.autograd import gradcheck, gradgradcheck

torch = pytest.importorskip("torch")
TF = torch.nn.functional


@pytest.fixture
def rng():
    return np.random.default_rng(11)


def _tensors(arrays, transpose):
    """The arrays as (clgrad, torch) leaf pairs; `transpose` ones are non-contiguous views
    (stored with their last two dims swapped)."""
    pairs = []
    for i, a in enumerate(arrays):
        if a is None:
            pairs.append((None, None))
            continue
        if i in transpose:
            stored = np.ascontiguousarray(np.swapaxes(a, -1, -2))
            ours = clgrad.tensor(stored).transpose(-1, -2).detach().requires_grad_()
            assert not ours.is_contiguous() or not a.size
        else:
            ours = clgrad.tensor(a).requires_grad_(a.dtype.kind == "f")
        pairs.append((ours, torch.tensor(a).requires_grad_(a.dtype.kind == "f")))
    return pairs


def check(fn, *arrays, transpose=(), rtol=1e-10, atol=1e-10):
    """fn(F, *tensors) in clgrad and torch: same values and the same gradients of the sum
    (weighted by a fixed random tensor, so each output element counts differently)."""
    pairs = _tensors(arrays, transpose)
    out = fn(F, *[p[0] for p in pairs])
    ref = fn(TF, *[p[1] for p in pairs])
    if isinstance(ref, tuple):
        for o, r in zip(out[1:], ref[1:]):
            np.testing.assert_array_equal(o.numpy(), r.numpy())
        out, ref = out[0], ref[0]
    assert tuple(out.shape) == tuple(ref.shape)
    np.testing.assert_allclose(out.detach().numpy(), ref.detach().numpy(), rtol=rtol,
                               atol=atol)
    if not ref.requires_grad:
        return
    weight = np.random.default_rng(0).standard_normal(tuple(ref.shape))
    (out * clgrad.tensor(weight, dtype=out.dtype)).sum().backward()
    (ref * torch.tensor(weight, dtype=ref.dtype)).sum().backward()
    for i, (ours, theirs) in enumerate(pairs):
        if theirs is not None and theirs.grad is not None:
            np.testing.assert_allclose(ours.grad.numpy(), theirs.grad.numpy(), rtol=rtol,
                                       atol=atol, err_msg=f"gradient of input {i}")


# -- convolution -------------------------------------------------------------------------------
CONV2D = [  # input shape, (out channels, kernel), options
    ((2, 3, 7, 9), (4, (3, 3)), {}),
    ((1, 2, 5, 5), (3, (1, 1)), {"stride": 2}),
    ((3, 4, 8, 7), (6, (3, 2)), {"stride": (2, 1), "padding": (1, 2), "dilation": (1, 2)}),
    ((2, 4, 9, 9), (6, (3, 3)), {"groups": 2, "padding": 1}),
    ((2, 6, 6, 5), (6, (2, 3)), {"groups": 6, "stride": (1, 2)}),
    ((2, 3, 7, 6), (5, (4, 3)), {"padding": "same", "dilation": (1, 2)}),
    ((2, 3, 7, 6), (5, (2, 2)), {"padding": "same"}),
    ((2, 3, 7, 6), (5, (3, 3)), {"padding": "valid", "stride": 3}),
    ((3, 6, 6), (4, (3, 3)), {"padding": 1}),                         # unbatched
    ((0, 3, 6, 6), (4, (3, 3)), {}),                                  # empty batch
]


@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("shape,weight,options", CONV2D)
def test_conv2d(rng, shape, weight, options, bias):
    oc, kernel = weight
    groups = options.get("groups", 1)
    w = rng.standard_normal((oc, shape[-3] // groups, *kernel))
    b = rng.standard_normal(oc) if bias else None
    check(lambda f, x, w, b: f.conv2d(x, w, b, **options), rng.standard_normal(shape), w, b,
          transpose=(0,))


@pytest.mark.parametrize("options", [{}, {"stride": 2, "padding": 2}, {"dilation": 3},
                                     {"groups": 3, "padding": "same"}])
def test_conv1d(rng, options):
    groups = options.get("groups", 1)
    w = rng.standard_normal((6, 6 // groups, 3))
    check(lambda f, x, w, b: f.conv1d(x, w, b, **options), rng.standard_normal((2, 6, 11)), w,
          rng.standard_normal(6), transpose=(0, 1))


def test_conv2d_float32(rng):
    x, w = rng.standard_normal((4, 3, 10, 10)), rng.standard_normal((8, 3, 3, 3))
    check(lambda f, x, w: f.conv2d(x.float(), w.float(), padding=1), x, w, rtol=1e-4,
          atol=1e-4)


CONV_T = [  # input shape, (in channels per group... weight shape), options
    ((2, 4, 5, 6), (4, 3, 3, 3), {}),
    ((2, 4, 5, 6), (4, 3, 3, 2), {"stride": 2, "padding": 1, "output_padding": 1}),
    ((1, 4, 4, 4), (4, 2, 2, 3), {"stride": (2, 3), "dilation": (2, 1), "groups": 2}),
    ((2, 6, 3, 5), (6, 1, 3, 3), {"groups": 3, "padding": (0, 1), "stride": 3,
                                  "output_padding": (2, 1)}),
    ((4, 5, 5), (4, 3, 3, 3), {"stride": 2}),                          # unbatched
]


@pytest.mark.parametrize("shape,wshape,options", CONV_T)
def test_conv_transpose2d(rng, shape, wshape, options):
    oc = wshape[1] * options.get("groups", 1)
    check(lambda f, x, w, b: f.conv_transpose2d(x, w, b, **options), rng.standard_normal(shape),
          rng.standard_normal(wshape), rng.standard_normal(oc), transpose=(0,))


def test_conv_transpose1d(rng):
    check(lambda f, x, w: f.conv_transpose1d(x, w, stride=3, padding=1, output_padding=2,
                                             dilation=2),
          rng.standard_normal((2, 3, 7)), rng.standard_normal((3, 2, 4)))


def test_conv_transpose_is_conv_gradient(rng):
    """conv_transpose2d is the adjoint of conv2d: <conv(x), y> == <x, conv_t(y)>."""
    x = clgrad.tensor(rng.standard_normal((2, 3, 9, 8)))
    w = clgrad.tensor(rng.standard_normal((5, 3, 3, 2)))
    y = clgrad.tensor(rng.standard_normal((2, 5, 5, 5)))
    lhs = (F.conv2d(x, w, stride=2, padding=1) * y).sum().item()
    rhs = (x * F.conv_transpose2d(y, w, stride=2, padding=1)).sum()
    assert abs(lhs - rhs.item()) < 1e-9 * max(1.0, abs(lhs))


def test_conv_gradcheck(rng):
    x = clgrad.tensor(rng.standard_normal((2, 4, 5, 6)), requires_grad=True)
    w = clgrad.tensor(rng.standard_normal((2, 2, 3, 2)), requires_grad=True)
    b = clgrad.tensor(rng.standard_normal(2), requires_grad=True)
    conv = lambda x, w, b: F.conv2d(x, w, b, stride=(2, 1), padding=1, dilation=(1, 2),
                                    groups=2)
    assert gradcheck(conv, (x, w, b))
    assert gradgradcheck(conv, (x, w, b))
    wt = clgrad.tensor(rng.standard_normal((4, 1, 2, 3)), requires_grad=True)
    convt = lambda x, w: F.conv_transpose2d(x, w, stride=2, output_padding=1, groups=2)
    assert gradcheck(convt, (x, wt))
    assert gradgradcheck(convt, (x, wt))


# -- unfold / fold -----------------------------------------------------------------------------
@pytest.mark.parametrize("options", [{"kernel_size": 2}, {"kernel_size": (3, 2), "stride": 2},
                                     {"kernel_size": 3, "padding": 1, "dilation": (2, 1)}])
def test_unfold_fold(rng, options):
    check(lambda f, x: f.unfold(x, **options), rng.standard_normal((2, 3, 7, 6)),
          transpose=(0,))
    check(lambda f, x: f.unfold(x, **options), rng.standard_normal((3, 7, 6)))
    cols = TF.unfold(torch.zeros(2, 3, 7, 6), **options).shape
    check(lambda f, c: f.fold(c, (7, 6), **options), rng.standard_normal(tuple(cols)),
          transpose=(0,))
    check(lambda f, c: f.fold(c, (7, 6), **options), rng.standard_normal(tuple(cols)[1:]))


# -- pooling -----------------------------------------------------------------------------------
MAX_POOL = [
    (3, {}), (2, {"stride": 1}), ((3, 2), {"stride": (2, 1), "padding": (1, 0)}),
    (3, {"stride": 2, "padding": 1, "ceil_mode": True}), (2, {"dilation": 2, "ceil_mode": True}),
    ((2, 3), {"stride": 2, "dilation": (2, 1), "padding": 1}),
]


@pytest.mark.parametrize("indices", [False, True])
@pytest.mark.parametrize("kernel,options", MAX_POOL)
def test_max_pool2d(rng, kernel, options, indices):
    check(lambda f, x: f.max_pool2d(x, kernel, return_indices=indices, **options),
          rng.standard_normal((2, 3, 9, 8)), transpose=(0,))
    check(lambda f, x: f.max_pool2d(x, kernel, return_indices=indices, **options),
          rng.standard_normal((3, 7, 7)))


def test_max_pool_ties_nan_and_integers(rng):
    x = rng.integers(-2, 3, (2, 2, 6, 6)).astype(np.float64)     # many ties
    check(lambda f, x: f.max_pool2d(x, 3, stride=1, return_indices=True), x)
    x[0, 0, 1, 1] = np.nan
    x[1, 1] = -np.inf
    check(lambda f, x: f.max_pool2d(x, 2, padding=1), x)
    ints = rng.integers(-100, 100, (2, 3, 5, 5))
    check(lambda f, x: f.max_pool2d(x, 2, padding=1, ceil_mode=True), ints)


@pytest.mark.parametrize("options", [{}, {"stride": 2}, {"stride": 2, "padding": 1},
                                     {"padding": 1, "count_include_pad": False},
                                     {"stride": 2, "padding": 1, "ceil_mode": True},
                                     {"stride": 2, "ceil_mode": True, "count_include_pad": False},
                                     {"padding": 1, "divisor_override": 5}])
def test_avg_pool2d(rng, options):
    check(lambda f, x: f.avg_pool2d(x, 3, **options), rng.standard_normal((2, 3, 8, 7)),
          transpose=(0,))


def test_avg_pool_integers(rng):
    x = rng.integers(-50, 50, (2, 3, 7, 7))
    check(lambda f, x: f.avg_pool2d(x, 3, stride=2, padding=1, ceil_mode=True), x)


def test_pool1d(rng):
    x = rng.standard_normal((2, 3, 13))
    check(lambda f, x: f.max_pool1d(x, 3, stride=2, padding=1, return_indices=True), x,
          transpose=(0,))
    check(lambda f, x: f.avg_pool1d(x, 4, stride=3, ceil_mode=True), x)
    check(lambda f, x: f.adaptive_avg_pool1d(x, 5), x)


@pytest.mark.parametrize("size", [1, (1, 1), 3, (4, 2), (3, None), (5, 3), (7, 6), 9])
def test_adaptive_avg_pool2d(rng, size):
    check(lambda f, x: f.adaptive_avg_pool2d(x, size), rng.standard_normal((2, 3, 8, 6)),
          transpose=(0,))
    check(lambda f, x: f.adaptive_avg_pool2d(x, size), rng.standard_normal((3, 7, 6)))


def test_pool_gradcheck(rng):
    x = clgrad.tensor(rng.standard_normal((2, 2, 6, 5)), requires_grad=True)
    for fn in (lambda x: F.max_pool2d(x, 3, stride=2, padding=1, ceil_mode=True),
               lambda x: F.avg_pool2d(x, 3, stride=2, padding=1, count_include_pad=False),
               lambda x: F.adaptive_avg_pool2d(x, (4, 3))):
        assert gradcheck(fn, (x,))
        assert gradgradcheck(fn, (x,))


def test_float32_and_float16_pooling(rng):
    x = rng.standard_normal((2, 3, 8, 8)).astype(np.float32)
    check(lambda f, x: f.max_pool2d(x, 2), x)
    check(lambda f, x: f.avg_pool2d(x, 2), x, rtol=1e-6, atol=1e-6)


# -- errors ------------------------------------------------------------------------------------
ERRORS = [
    lambda f, t: f.conv2d(t.ones(1, 4, 8, 8), t.ones(16, 3, 3, 3)),
    lambda f, t: f.conv2d(t.ones(8, 8), t.ones(16, 3, 3, 3)),
    lambda f, t: f.conv2d(t.ones(1, 3, 2, 2), t.ones(16, 3, 3, 3)),
    lambda f, t: f.conv2d(t.ones(1, 3, 5, 5), t.ones(16, 3, 3, 3), stride=0),
    lambda f, t: f.conv2d(t.ones(1, 3, 5, 5), t.ones(16, 3, 3, 3), padding=-1),
    lambda f, t: f.conv2d(t.ones(1, 4, 5, 5), t.ones(3, 2, 3, 3), groups=2),
    lambda f, t: f.conv2d(t.ones(1, 3, 5, 5), t.ones(16, 3, 3, 3), t.ones(3)),
    lambda f, t: f.conv2d(t.ones(1, 3, 5, 5, dtype=t.float64), t.ones(16, 3, 3, 3)),
    lambda f, t: f.conv2d(t.ones(1, 3, 5, 5), t.ones(16, 3, 3, 3), t.ones(16, dtype=t.float64)),
    lambda f, t: f.conv2d(t.ones(1, 3, 5, 5), t.ones(16, 3, 3, 3), padding="same", stride=2),
    lambda f, t: f.conv2d(t.ones(1, 3, 5, 5), t.ones(16, 3, 3, 3), padding="full"),
    lambda f, t: f.conv2d(t.ones(1, 3, 5, 5), t.ones(16, 3, 3, 3), stride=(1, 1, 1)),
    lambda f, t: f.conv_transpose2d(t.ones(1, 3, 5, 5), t.ones(3, 2, 3, 3), output_padding=1),
    lambda f, t: f.fold(t.ones(1, 4, 15), 5, 2),
    lambda f, t: f.max_pool2d(t.ones(1, 3, 5, 5), 0),
    lambda f, t: f.max_pool2d(t.ones(1, 3, 5, 5), 3, padding=2),
    lambda f, t: f.avg_pool2d(t.ones(1, 3, 5, 5), 3, padding=2),
    lambda f, t: f.max_pool2d(t.ones(1, 3, 2, 2), 3),
    lambda f, t: f.avg_pool2d(t.ones(1, 3, 5, 5), 2, divisor_override=0),
    lambda f, t: f.max_pool2d(t.ones(1, 3, 5, 5), 0, 1),
    lambda f, t: f.max_pool2d(t.ones(1, 3, 5, 5), 2, dilation=0),
    lambda f, t: f.adaptive_avg_pool2d(t.ones(1, 3, 5, 5), (1, 2, 3)),
    lambda f, t: f.adaptive_avg_pool1d(t.ones(1, 3, 5), (2, 3)),
    lambda f, t: f.adaptive_avg_pool2d(t.ones(1, 3, 5, 5), (-1, 2)),
    lambda f, t: f.adaptive_avg_pool2d(t.ones(1, 3, 5, 5, dtype=t.int64), 2),
    lambda f, t: f.conv1d(t.ones(2, 3, 5), t.ones(4, 3, 3, 3)),
    lambda f, t: f.max_pool2d(t.zeros(1, 1, 2, 2), (1, 2), 1, (0, 3), dilation=(1, 5)),
    lambda f, t: f.max_pool1d(t.zeros(1, 1, 7), 3, 1, 2, dilation=2),
    lambda f, t: f.conv2d(t.zeros(2, 3, 5, 5), t.zeros(0, 3, 3, 3)),
    lambda f, t: f.max_pool2d(t.zeros(2, 0, 4, 4), 2),
    lambda f, t: f.avg_pool2d(t.zeros(2, 0, 4, 4), 2),
    lambda f, t: f.max_pool1d(t.zeros(2, 0, 4), 2),
    lambda f, t: f.avg_pool1d(t.zeros(2, 0, 4), 2),
    lambda f, t: f.conv_transpose2d(t.zeros(1, 3, 4, 4), t.zeros(3, 2, 3, 3), padding="same"),
]


@pytest.mark.parametrize("case", range(len(ERRORS)))
def test_errors_match_torch(case):
    assert_same_error(ERRORS[case], (F, clgrad), (TF, torch))


EDGES = [  # shapes PyTorch accepts at the edges: empty batches, empty features, numpy ints
    lambda f, t: f.conv_transpose2d(t.zeros(0, 3, 4, 5), t.zeros(3, 4, 3, 3)),
    lambda f, t: f.conv2d(t.ones(1, 3, 5, 5), t.ones(4, 3, 3, 3), stride=np.int64(2)),
    lambda f, t: f.max_pool2d(t.ones(1, 3, 5, 5), np.int64(2)),
    lambda f, t: f.max_pool2d(t.zeros(0, 3, 4, 4), 2),
    lambda f, t: f.conv2d(t.ones(1, 1, 40, 40), t.ones(2, 1, 3, 3)),   # few im2col rows
]


@pytest.mark.parametrize("case", range(len(EDGES)))
def test_edges_match_torch(case):
    ours, theirs = EDGES[case](F, clgrad), EDGES[case](TF, torch)
    assert tuple(ours.shape) == tuple(theirs.shape)
    np.testing.assert_allclose(ours.numpy(), theirs.numpy(), atol=1e-5)


def test_unfold_error():
    with pytest.raises(IndexError):
        TF.unfold(torch.ones(5, 5), 2)
    with pytest.raises(IndexError, match=r"4-d \(N, C, H, W\) input, got size \[5, 5\]"):
        F.unfold(clgrad.ones(5, 5), 2)
