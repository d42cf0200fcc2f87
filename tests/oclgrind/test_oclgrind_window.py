"""Sliding-window kernels (window.cl: im2col, col2im, maxpool) on Oclgrind.

Reached through clgrad.nn.functional and the backward passes, which run the other kernel of
the pair (im2col <-> col2im) and scatter_add (max pooling). im2col has two variants: one
element per work-item (GPU launch shapes, chunk 1) and one column row per work-item (CPU
shapes), so every case runs in both styles. Odd sizes, stride, padding, dilation, ceil-mode
windows past the end, groups, transposed inputs and empty batches; references in NumPy
(float64), written on padded arrays rather than with clgrad's index arithmetic.
"""
import numpy as np
import pytest

import clgrad
import clgrad.nn.functional as F
from clgrad.tensor import window

from .oclgrind_helpers import close, to_numpy

pytestmark = pytest.mark.oclgrind


@pytest.fixture(autouse=True)
def every_im2col_row(monkeypatch):
    """The CPU style walks column rows even for these small images (normally only from
    window._MIN_ROWS rows on), so both im2col variants run."""
    monkeypatch.setattr(window, "_MIN_ROWS", 1)

FLOATS = ["float32", "float64"]
TOL = {"float16": (2e-2, 2e-2), "float32": (1e-4, 1e-5), "float64": (1e-10, 1e-12),
       "int64": (0, 0)}


def _need(dev, dtype):
    if dtype == "float64" and not dev.fp64:
        pytest.skip("the device has no cl_khr_fp64")
    if dtype == "float16" and not dev.fp16:
        pytest.skip("the device has no cl_khr_fp16")


def _check(got, want, dtype):
    rtol, atol = TOL[dtype]
    close(got, np.asarray(want).astype(to_numpy(got).dtype), rtol=rtol, atol=atol)


def _data(rng, shape, dtype):
    if dtype == "int64":
        return rng.integers(-9, 9, shape)
    return rng.uniform(-1, 1, shape).astype(dtype)


def _transposed(a, dev):
    """`a` as a (..., H, W) view of a (..., W, H) tensor: non-contiguous."""
    return clgrad.tensor(np.ascontiguousarray(np.swapaxes(a, -1, -2)), device=dev).transpose(
        -1, -2)


def _kernels(dev):
    return {getattr(k, "function_name", "") for v in dev.kernels.values()
            for k in (v if isinstance(v, tuple) else (v,))}


# -- NumPy references: windows gathered from (and folded into) a padded array ----------------
def _blocks(size, kernel, stride, padding, dilation, ceil=False):
    span = size + 2 * padding - dilation * (kernel - 1) - 1
    out = (-(-span // stride) if ceil else span // stride) + 1
    return out - 1 if ceil and (out - 1) * stride >= size + padding else out


def _geometry(size, kernel, stride=1, padding=0, dilation=1, ceil=False):
    """((KH, KW), (SH, SW), (PH, PW), (DH, DW), (OH, OW)) for an (H, W) input."""
    pair = [(v, v) if isinstance(v, int) else tuple(v)
            for v in (kernel, stride, padding, dilation)]
    blocks = tuple(_blocks(s, *a, ceil) for s, *a in zip(size, *pair))
    return (*pair, blocks)


def _positions(geometry):
    """Row (KH, OH) and column (KW, OW) positions of every window element, padded coords."""
    kernel, stride, _, dilation, blocks = geometry
    return [np.arange(o)[None] * s + np.arange(k)[:, None] * d
            for k, s, d, o in zip(kernel, stride, dilation, blocks)]


def _padded(shape, geometry, fill):
    rows, cols = _positions(geometry)
    _, _, (ph, pw), _, _ = geometry
    h = max(shape[-2] + 2 * ph, rows.max() + 1)
    w = max(shape[-1] + 2 * pw, cols.max() + 1)
    return np.full(shape[:-2] + (h, w), fill, np.float64)


def windows_np(x, geometry, fill=0.0):
    """(N, C, KH, KW, OH, OW): every window of the (N, C, H, W) `x`; `fill` outside it."""
    _, _, (ph, pw), _, _ = geometry
    p = _padded(x.shape, geometry, fill)
    p[..., ph:ph + x.shape[-2], pw:pw + x.shape[-1]] = x
    rows, cols = _positions(geometry)
    return p[:, :, rows[:, None, :, None], cols[None, :, None, :]]


def fold_np(cols, size, geometry):
    """The adjoint of windows_np: (N, C, KH, KW, OH, OW) summed into (N, C, *size)."""
    _, _, (ph, pw), _, _ = geometry
    p = _padded(cols.shape[:2] + tuple(size), geometry, 0.0)
    rows, cc = _positions(geometry)
    np.add.at(p, (slice(None), slice(None), rows[:, None, :, None], cc[None, :, None, :]),
              cols)
    return p[..., ph:ph + size[0], pw:pw + size[1]]


# -- convolution ------------------------------------------------------------------------------
CONVS = {   # x shape, weight shape, groups, stride, padding, dilation, bias, transposed input
    "groups": ((2, 4, 5, 7), (6, 2, 3, 2), 2, (2, 1), (1, 2), (1, 2), False, True),
    "bias": ((1, 3, 5, 7), (4, 3, 3, 2), 1, 1, 1, 1, True, False),     # bias inside baddbmm
    "depthwise": ((2, 3, 6, 5), (3, 1, 2, 3), 3, 3, (0, 1), (2, 1), True, True),
    "empty": ((0, 3, 5, 7), (4, 3, 3, 2), 1, 2, 1, 1, True, False),
}


def _conv_ref(a, wt, b, groups, geometry):
    """conv2d(a, wt, b) and the gradient of its sum with respect to a."""
    n, c = a.shape[:2]
    oc, blocks = wt.shape[0], geometry[4]
    w = wt.astype(np.float64).reshape(groups, oc // groups, -1)
    cols = windows_np(a, geometry).reshape(n, groups, w.shape[2], blocks[0] * blocks[1])
    out = np.einsum("gok,ngkl->ngol", w, cols).reshape(n, oc, *blocks)
    ones = np.ones((n, groups, oc // groups, blocks[0] * blocks[1]))
    gx = fold_np(np.einsum("gok,ngol->ngkl", w, ones).reshape(n, c, *wt.shape[2:], *blocks),
                 a.shape[2:], geometry)
    return out + (0 if b is None else b[:, None, None]), gx


# GPU launch shapes make every matmul slow on Oclgrind: float64 once (im2col/col2im's float64
# variants also run in the unfold, fold and pooling tests)
@pytest.mark.parametrize("case,dtype", [("groups", "float32"), ("groups", "float64"),
                                        ("bias", "float32"), ("depthwise", "float32"),
                                        ("empty", "float64")])
def test_conv2d(dev, case, dtype):
    _need(dev, dtype)
    shape, wshape, groups, stride, padding, dilation, bias, transposed = CONVS[case]
    rng = np.random.default_rng(40)
    a, wt, b = _data(rng, shape, dtype), _data(rng, wshape, dtype), _data(rng, wshape[0], dtype)
    x = _transposed(a, dev) if transposed else clgrad.tensor(a, device=dev)
    x.requires_grad_()
    out = F.conv2d(x, clgrad.tensor(wt, device=dev),
                   clgrad.tensor(b, device=dev) if bias else None, stride, padding, dilation,
                   groups)
    out.sum().backward()                                               # col2im
    geometry = _geometry(shape[2:], wshape[2:], stride, padding, dilation)
    want, gx = _conv_ref(a, wt, b if bias else None, groups, geometry)
    _check(out, want, dtype)
    _check(x.grad, gx, dtype)
    rows = f"im2col_{dtype}_int{'_rows' if dev.chunk > 1 else ''}"
    assert not shape[0] or {rows, f"col2im_{dtype}_int"} <= _kernels(dev)


def test_conv1d(dev):
    rng = np.random.default_rng(41)
    a, wt = _data(rng, (2, 9, 3), "float32"), _data(rng, (4, 3, 3), "float32")
    x = clgrad.tensor(a, device=dev).transpose(1, 2)                   # (2, 3, 9), strided
    x.requires_grad_()
    out = F.conv1d(x, clgrad.tensor(wt, device=dev), stride=2, padding=1, dilation=2)
    out.sum().backward()
    a4 = a.transpose(0, 2, 1)[:, :, None]
    want, gx = _conv_ref(a4, wt[:, :, None], None, 1, _geometry((1, 9), (1, 3), (1, 2),
                                                                  (0, 1), (1, 2)))
    _check(out, want[:, :, 0], "float32")
    _check(x.grad, gx[:, :, 0], "float32")


def test_conv_transpose2d(dev):
    dtype = "float32"
    rng = np.random.default_rng(42)
    groups, stride, padding, out_pad, dilation = 2, (2, 3), (1, 0), (1, 2), (2, 1)
    a, wt = _data(rng, (2, 4, 3, 4), dtype), _data(rng, (4, 3, 3, 2), dtype)
    x = _transposed(a, dev)
    x.requires_grad_()
    out = F.conv_transpose2d(x, clgrad.tensor(wt, device=dev), None, stride, padding, out_pad,
                             groups, dilation)
    out.sum().backward()
    n, c, h, w = a.shape
    oc = wt.shape[1] * groups
    size = [(i - 1) * s - 2 * p + d * (k - 1) + o + 1 for i, k, s, p, o, d in
            zip((h, w), wt.shape[2:], stride, padding, out_pad, dilation)]
    geometry = (wt.shape[2:], stride, padding, dilation, (h, w))
    wg = wt.astype(np.float64).reshape(groups, c // groups, -1)
    cols = np.einsum("gik,ngil->ngkl", wg, a.reshape(n, groups, c // groups, h * w))
    want = fold_np(cols.reshape(n, oc, *wt.shape[2:], h, w), size, geometry)
    ones = windows_np(np.ones((n, oc, *size)), geometry).reshape(n, groups, -1, h * w)
    _check(out, want, dtype)
    _check(x.grad, np.einsum("gik,ngkl->ngil", wg, ones).reshape(a.shape), dtype)


@pytest.mark.parametrize("dtype", FLOATS + ["int64"])
def test_unfold_fold(dev, dtype):
    _need(dev, dtype)
    rng = np.random.default_rng(43)
    grad = dtype != "int64"
    kernel, dilation, padding, stride = (3, 2), (1, 2), 1, (2, 1)
    a = _data(rng, (2, 3, 5, 7), dtype)
    geometry = _geometry((5, 7), kernel, stride, padding, dilation)
    x = _transposed(a, dev).requires_grad_(grad)
    cols = F.unfold(x, kernel, dilation, padding, stride)
    want = windows_np(a, geometry)
    _check(cols, want.reshape(2, 18, -1), dtype)
    if grad:
        (cols * cols).sum().backward()                                 # col2im of 2 * cols
        _check(x.grad, fold_np(2 * want, (5, 7), geometry), dtype)
    c = _data(rng, (2, 18, want.shape[-2] * want.shape[-1]), dtype)
    y = _transposed(c, dev).requires_grad_(grad)
    folded = F.fold(y, (5, 7), kernel, dilation, padding, stride)
    want = fold_np(c.reshape(2, 3, 3, 2, *geometry[4]), (5, 7), geometry)
    _check(folded, want, dtype)
    if grad:
        (folded * folded).sum().backward()                             # im2col of 2 * fold
        _check(y.grad, windows_np(2 * want, geometry).reshape(c.shape), dtype)
    empty = F.unfold(clgrad.zeros(0, 3, 5, 7, dtype=getattr(clgrad, dtype), device=dev), 2)
    assert tuple(empty.shape) == (0, 12, 24)
    assert tuple(F.fold(empty, (5, 7), 2).shape) == (0, 3, 5, 7)


# -- pooling ----------------------------------------------------------------------------------
def _max_pool_ref(a, geometry):
    """Values and flat H*W indices with PyTorch's rules: the first maximum in window order,
    the last NaN over anything, positions outside the input skipped."""
    h, w = a.shape[2:]
    win = windows_np(a, geometry, np.nan)
    rows, cols = _positions(geometry)
    ph, pw = geometry[2]
    best = np.full(win.shape[:2] + win.shape[4:], -np.inf)
    at = np.full(best.shape, -1)
    for kh in range(win.shape[2]):
        for kw in range(win.shape[3]):
            ih, iw = rows[kh][:, None] - ph, cols[kw][None, :] - pw
            inside = (ih >= 0) & (ih < h) & (iw >= 0) & (iw < w)
            v = win[:, :, kh, kw]
            at = np.where(inside & (at < 0), ih * w + iw, at)
            take = inside & ((v > best) | np.isnan(v))
            best, at = np.where(take, v, best), np.where(take, ih * w + iw, at)
    return best, at


POOLS = [   # x shape, kernel, stride, padding, dilation, ceil_mode
    ((2, 3, 5, 7), (2, 4), (2, 3), (0, 1), 1, True),   # ceil: last windows past the end
    ((1, 2, 7, 5), (3, 2), (2, 1), 1, 2, False),
]


@pytest.mark.parametrize("dtype", FLOATS + ["int64"])
def test_max_pool2d(dev, dtype):
    _need(dev, dtype)
    rng = np.random.default_rng(44)
    for shape, kernel, stride, padding, dilation, ceil in POOLS:
        a = _data(rng, shape, dtype)
        if dtype != "int64":
            a.flat[[3, 9, 10, 40]] = np.nan                             # one window, two NaNs
        x = _transposed(a, dev)
        x.requires_grad_(dtype != "int64")
        out, where = F.max_pool2d(x, kernel, stride, padding, dilation, ceil, True)
        geometry = _geometry(shape[2:], kernel, stride, padding, dilation, ceil)
        want, at = _max_pool_ref(a, geometry)
        _check(out, want, dtype)
        close(where, at)
        if dtype != "int64":
            out.sum().backward()
            grad = np.zeros((a.shape[0] * a.shape[1], a.shape[2] * a.shape[3]))
            np.add.at(grad, (np.arange(grad.shape[0])[:, None], at.reshape(grad.shape[0], -1)),
                      1)
            _check(x.grad, grad.reshape(a.shape), dtype)
    empty = F.max_pool2d(clgrad.zeros(0, 2, 5, 7, device=dev), 2)
    assert tuple(empty.shape) == (0, 2, 2, 3)
    assert f"maxpool_{dtype}_int" in _kernels(dev)


AVGS = [   # kernel, stride, padding, ceil_mode, count_include_pad, divisor_override
    ((2, 4), (2, 3), (0, 1), True, False, None),      # ceil: last windows past the end
    (4, (2, 3), (2, 1), True, True, None),            # ... and past the padding
    ((3, 2), 1, 1, False, True, 3),
]


@pytest.mark.parametrize("dtype", FLOATS + ["int64"])
def test_avg_pool2d(dev, dtype):
    _need(dev, dtype)
    rng = np.random.default_rng(45)
    a = _data(rng, (2, 3, 5, 7), dtype)
    for kernel, stride, padding, ceil, include, override in AVGS:
        x = _transposed(a, dev)
        x.requires_grad_(dtype != "int64")
        out = F.avg_pool2d(x, kernel, stride, padding, ceil, include, override)
        geometry = _geometry((5, 7), kernel, stride, padding, 1, ceil)
        sums = windows_np(a, geometry).sum((2, 3))
        if override:
            div = np.full(sums.shape[2:], override)
        elif include:        # positions in the padded input count, those past it do not
            ph, pw = geometry[2]
            ones = np.ones((1, 1, 5 + 2 * ph, 7 + 2 * pw))
            div = windows_np(ones, geometry[:2] + ((0, 0),) + geometry[3:]).sum((2, 3))[0, 0]
        else:
            div = windows_np(np.ones((1, 1, 5, 7)), geometry).sum((2, 3))[0, 0]
        if dtype == "int64":
            _check(out, np.sign(sums) * (np.abs(sums) // div), dtype)
            continue
        _check(out, sums / div, dtype)
        out.sum().backward()
        per = np.broadcast_to(1 / div, (2, 3) + geometry[0] + div.shape)
        _check(x.grad, fold_np(per, (5, 7), geometry), dtype)
    empty = F.avg_pool2d(clgrad.zeros(0, 2, 5, 7, device=dev), 2, ceil_mode=True)
    assert tuple(empty.shape) == (0, 2, 3, 4)


def test_adaptive_avg_pool2d(dev):
    dtype = "float32"
    rng = np.random.default_rng(46)
    for shape, size in [((2, 3, 6, 4), (3, 2)), ((1, 2, 5, 7), (3, 4)), ((2, 2, 5, 7), 1)]:
        a = _data(rng, shape, dtype)
        x = _transposed(a, dev)
        x.requires_grad_()
        out = F.adaptive_avg_pool2d(x, size)
        out.sum().backward()
        oh, ow = (size, size) if isinstance(size, int) else size
        want, grad = np.zeros(shape[:2] + (oh, ow)), np.zeros(shape)
        for i in range(oh):
            r = slice(i * shape[2] // oh, -(-(i + 1) * shape[2] // oh))
            for j in range(ow):
                c = slice(j * shape[3] // ow, -(-(j + 1) * shape[3] // ow))
                want[:, :, i, j] = a[:, :, r, c].mean((2, 3))
                grad[:, :, r, c] += 1 / a[:, :, r, c][0, 0].size
        _check(out, want, dtype)
        _check(x.grad, grad, dtype)


def test_float16(dev):
    """im2col, col2im and maxpool in half (computing in float), where the device has it."""
    _need(dev, "float16")
    rng = np.random.default_rng(47)
    shape, wshape, groups, stride, padding, dilation, _, _ = CONVS["groups"]
    a, wt = _data(rng, shape, "float16"), _data(rng, wshape, "float16")
    x = _transposed(a, dev)
    x.requires_grad_()
    out = F.conv2d(x, clgrad.tensor(wt, device=dev), None, stride, padding, dilation, groups)
    out.sum().backward()
    want, gx = _conv_ref(a, wt, None, groups, _geometry(shape[2:], wshape[2:], stride,
                                                        padding, dilation))
    _check(out, want, "float16")
    _check(x.grad, gx, "float16")
    shape, kernel, stride, padding, dilation, ceil = POOLS[0]
    a = _data(rng, shape, "float16")
    a.flat[[3, 9, 10]] = np.nan
    out, where = F.max_pool2d(_transposed(a, dev), kernel, stride, padding, dilation, ceil,
                              True)
    want, at = _max_pool_ref(a, _geometry(shape[2:], kernel, stride, padding, dilation, ceil))
    _check(out, want, "float16")
    close(where, at)
