"""Sliding windows over the last two dims: im2col and its adjoint col2im (window.cl).

Convolution is im2col + matmul, transposed convolution matmul + col2im, and pooling a
reduction over im2col's window dim, so these two kernels are the only ones the
convolution and pooling layers add. Both take (kernel, dilation, padding, stride) as
(height, width) pairs and the window grid (OH, OW) explicitly, so ceil-mode pooling (windows
past the padded end) needs nothing special: any position outside the input reads `fill`.
"""
from __future__ import annotations

from ..runtime import program
from .dtype import int64
from .elementwise import _SCALAR_NP
from .indexing import mark_valid
from .linalg import baddbmm, bmm
from .scan import _IDX_NP, _fp_flags, index_type
from .tensor import Tensor

_MIN_ROWS = 256       # im2col column rows below which CPUs take one work-item per element


def grid(size: int, kernel: int, dilation: int, padding: int, stride: int,
         ceil_mode: bool = False) -> int:
    """Windows along one dim: PyTorch's output-size formula (ceil mode drops a last window
    that would start in the right padding)."""
    span = size + 2 * padding - dilation * (kernel - 1) - 1
    if not ceil_mode:
        return span // stride + 1
    out = -(-span // stride) + 1
    return out - 1 if (out - 1) * stride >= size + padding else out


def im2col(input: Tensor, kernel, dilation, padding, stride, blocks, fill=0,
           matrix=False) -> Tensor:
    """(N, C*KH*KW, OH*OW) columns of the (N, C, H, W) `input`; (OH, OW) = `blocks`.

    `matrix`: stored as one (C*KH*KW, N*OH*OW) matrix, of which the result is a view (what
    a convolution's weight gradient multiplies by in one matmul)."""
    n, c, h, w = input._shape
    kh, kw = kernel
    oh, ow = blocks
    rows, length = c * kh * kw, oh * ow
    if matrix:
        store = Tensor._empty((rows, n, length), input.dtype, input.device)
        out = Tensor._make(store._storage, (n, rows, length), (length, n * length, 1), 0,
                           input.dtype)
    else:
        out = Tensor._empty((n, rows, length), input.dtype, input.device)
    if out._numel:
        # CPUs: a work-item per column row (no division per element) when there are
        # enough rows to spread over the cores
        rows = input.device.chunk > 1 and n * c * kh * kw >= _MIN_ROWS
        items = out._numel // (oh * ow) if rows else out._numel
        args = [input._storage.buffer, input._offset, *input._stride, out._storage.buffer,
                out._stride[0], out._stride[1], fill, c, h, w, oh, ow, kh, kw, *stride,
                *padding, *dilation, items]
        _launch("im2col", input, out, args, items, rows)
    return out


def col2im(cols: Tensor, size, kernel, dilation, padding, stride, blocks) -> Tensor:
    """The (N, C, H, W) sum of `cols` (N, C*KH*KW, OH*OW) folded back to where im2col read
    each column element from; (H, W) = `size`, (OH, OW) = `blocks`."""
    n, ckk, _ = cols._shape
    kh, kw = kernel
    c = ckk // (kh * kw)
    out = Tensor._empty((n, c, *size), cols.dtype, cols.device)
    if out._numel:
        args = [cols._storage.buffer, cols._offset, *cols._stride, out._storage.buffer,
                c, *size, *blocks, kh, kw, *stride, *padding, *dilation, out._numel]
        _launch("col2im", cols, out, args, out._numel)
    return out


def convolution(input: Tensor, weight: Tensor, bias, stride, padding, dilation, groups: int,
                blocks) -> tuple:
    """(out, cols): the (N, OC, OH, OW) cross-correlation of the (N, C, H, W) `input` with
    the (OC, C / groups, KH, KW) `weight` (+ `bias`), and its im2col columns (matrix layout).

    One group: one batched matmul that also adds the bias. Groups: one matmul batched over
    the groups, then the (OC, N) -> (N, OC) transpose (with the bias add)."""
    n, oc = input._shape[0], weight._shape[0]
    cols = im2col(input, tuple(weight._shape[2:]), dilation, padding, stride, blocks,
                  matrix=True)
    rows, length = cols._shape[1], cols._shape[2]
    if groups == 1:
        w = weight.reshape(1, oc, rows).expand(n, oc, rows)
        out = bmm(w, cols) if bias is None else baddbmm(
            bias.view(1, oc, 1).expand(n, oc, length), w, cols)
    else:
        y = bmm(weight.reshape(groups, oc // groups, -1),
                cols.transpose(0, 1).view(groups, rows // groups, n * length))
        out = y.view(oc, n, length).transpose(0, 1)
        out = out.contiguous() if bias is None else out + bias.view(oc, 1)
    return out.view(n, oc, *blocks), cols


def max_pool(input: Tensor, kernel, dilation, padding, stride, blocks, lowest):
    """(values, flat H*W indices), each (N, C, OH, OW): the maximum of every window of the
    (N, C, H, W) `input` (PyTorch's max-pool ties and NaN rules); `lowest` is the dtype's
    smallest value."""
    n, c, h, w = input._shape
    out = Tensor._empty((n, c, *blocks), input.dtype, input.device)
    where = Tensor._empty(out._shape, int64, input.device)
    if out._numel:
        args = [input._storage.buffer, input._offset, *input._stride, out._storage.buffer,
                where._storage.buffer, lowest, c, h, w, *blocks, *kernel, *stride, *padding,
                *dilation, out._numel]
        _launch("maxpool", input, out, args, out._numel)
    if tuple(dilation) == (1, 1):   # then every window holds a position of the input (with
        mark_valid(where, h * w)    # PyTorch's padding limits), so no index is -1: backward
    return out, where               # scatters at them without a bounds check


def _launch(kind: str, src: Tensor, out: Tensor, args: list, items: int,
            rows: bool = False) -> None:
    device = src.device
    idx = index_type(src, out)
    key = ("window", kind, src.dtype, idx, rows)
    kernel = device.kernels.get(key) or _compile(device, key)
    program.launch(device, kernel, items, *args)
    if src._storage.shared or out._storage.shared:
        device.queue.finish()


def _compile(device, key):
    _, kind, dtype, idx, rows = key
    i = _IDX_NP[idx]
    fill = _SCALAR_NP[dtype.opmath]
    if kind == "im2col":
        scalars = [None, i, i, i, i, i, None, i, i, fill] + [i] * 14
    elif kind == "maxpool":
        scalars = [None, i, i, i, i, i, None, None, fill] + [i] * 14
    else:
        scalars = [None, i, i, i, i, None] + [i] * 14
    return program.compile_kernel(
        device, key, "window.cl", f"{kind}_{dtype.name}_{idx}{'_rows' * rows}", scalars,
        kind=kind, rows=rows, ctype=dtype.ctype, acc=dtype.opmath, idx=idx,
        nan=dtype.is_floating_point, **_fp_flags(dtype))

