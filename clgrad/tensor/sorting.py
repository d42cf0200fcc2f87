"""Sorting along one dim (sort, argsort, topk): a bitonic sort of (key, index) pairs.

Rows are laid out as in scan.py; each row is padded to a power of two, and comparing the
index on ties makes every sort stable.
"""
from __future__ import annotations

import numpy as np

from ..runtime import program
from . import dtype as dt
from . import results
from .gather import _into
from .scan import _IDX_NP, _fp_flags, batch_layout, index_type
from .shape import normalize_dim
from .tensor import Tensor


def _sorted_rows(x: Tensor, d: int, descending: bool) -> tuple:
    """(keys, indices) work buffers of rows x P holding every row of `x` along `d` sorted."""
    device = x.device
    n = x._shape[d]
    rows = x._numel // n
    padded = 1 << max(n - 1, 0).bit_length()
    if padded * rows >= 2**31 or n >= 2**31:
        raise RuntimeError(f"sort: rows of {n} elements ({rows} rows) are too large for "
                           "32-bit sort indices")
    keys = Tensor._empty((rows, padded), x.dtype, device)
    ind = Tensor._empty((rows, padded), dt.int32, device)
    bshape, (ist,) = batch_layout(x._shape, [x._stride], d)
    idx = index_type(x, keys)
    kernel = _sort_kernel(device, "init", x.dtype, descending, len(bshape), idx)
    args = [x._storage.buffer, x._offset, x._stride[d]]
    for size, st in zip(bshape, ist):
        args += [size, st]
    total = rows * padded
    program.launch(device, kernel, total, *args, keys._storage.buffer, ind._storage.buffer,
                   n, padded, total)
    step = _sort_kernel(device, "step", x.dtype, descending, 0, idx)
    half = padded // 2
    k = 2
    while k <= padded:
        j = k // 2
        while j:
            program.launch(device, step, rows * half, keys._storage.buffer,
                           ind._storage.buffer, k, j, n, half, rows * half)
            j //= 2
        k *= 2
    return keys, ind


def _sort_kernel(device, kind, dtype, descending, ndim, idx):
    key = ("sort", kind, dtype, descending, ndim, idx)
    kernel = device.kernels.get(key)
    if kernel is None:
        i = _IDX_NP[idx]
        scalars = ([None, i, i] + [i, i] * ndim + [None, None, i, i, i] if kind == "init" else
                   [None, None, i, i, np.int32, i, i])
        name = f"sort_{kind}_{dtype.name}_{'desc' if descending else 'asc'}_nd{ndim}_{idx}"
        kernel = program.compile_kernel(
            device, key, "sort.cl", name, scalars, kind=kind, key_type=dtype.ctype,
            is_float=dtype.is_floating_point, descending=descending, ndim=ndim, idx=idx,
            **_fp_flags(dtype))
    return kernel


def _top(op: str, input: Tensor, dim, descending: bool, count) -> tuple:
    """(values, indices) of the first `count` (None: all) of each row sorted along `dim`."""
    if not isinstance(input, Tensor):
        raise TypeError(f"{op}(): argument 'input' must be Tensor, not {type(input).__name__}")
    x = input if input._shape else input.view(1)
    d = normalize_dim(dim, len(input._shape))
    n = x._shape[d]
    m = n if count is None else count
    if not 0 <= m <= n:
        raise RuntimeError(f"{op}(): selected index k out of range (k={m}, dimension {d} has "
                           f"size {n})")
    shape = x._shape[:d] + (m,) + x._shape[d + 1:]
    values = Tensor._empty(shape, input.dtype, input.device)
    indices = Tensor._empty(shape, dt.int64, input.device)
    if values._numel:
        keys, ind = _sorted_rows(x, d, descending)
        perm = [e for e in range(len(shape)) if e != d] + [d]
        batch = tuple(shape[e] for e in perm)
        values.permute(perm).copy_(keys[:, :m].view(batch))
        indices.permute(perm).copy_(ind[:, :m].view(batch))
    if not input._shape:
        values, indices = values.view(()), indices.view(())
    return values, indices


def sort(input: Tensor, dim: int = -1, descending: bool = False, stable: bool = False, *,
         out=None):
    """(values, indices) sorted along `dim`; NaN sorts as the largest value. Always stable."""
    values, indices = _top("sort", input, dim, descending, None)
    if out is not None:
        _check_out("sort", out, values, indices)
        values, indices = _into(values, out[0]), _into(indices, out[1])
    return results.sort(values, indices)


def argsort(input: Tensor, dim: int = -1, descending: bool = False,
            stable: bool = False) -> Tensor:
    """The indices that sort `input` along `dim` (stable)."""
    return _top("argsort", input, dim, descending, None)[1]


def topk(input: Tensor, k: int, dim: int = -1, largest: bool = True, sorted: bool = True, *,
         out=None):
    """(values, indices) of the `k` largest (or smallest) elements along `dim`, in order."""
    values, indices = _top("topk", input, dim, largest, int(k))
    if out is not None:
        _check_out("topk", out, values, indices)
        values, indices = _into(values, out[0]), _into(indices, out[1])
    return results.topk(values, indices)


# Type names in PyTorch's out= dtype errors (C++ type names, not the Python dtype names).
_CPP_NAMES = {"bool": "bool", "uint8": "unsigned char", "int8": "signed char",
              "int16": "short int", "int32": "int", "int64": "long int", "float16": "c10::Half",
              "float32": "float", "float64": "double"}


def _check_out(op: str, out, values: Tensor, indices: Tensor) -> None:
    """Check an out= (values, indices) pair (which _into then resizes, as PyTorch does)."""
    if not isinstance(out, (tuple, list)) or not all(isinstance(t, Tensor) for t in out):
        raise TypeError(f"{op}(): argument 'out' must be tuple of Tensors, not "
                        f"{type(out).__name__}")
    if len(out) != 2:
        raise TypeError(f"expected tuple of 2 elements but got {len(out)}")
    for result, target in zip((values, indices), out):
        if target.dtype is not result.dtype:
            raise RuntimeError(f"Expected out tensor to have dtype "
                               f"{_CPP_NAMES[result.dtype.name]}, but got "
                               f"{_CPP_NAMES[target.dtype.name]} instead")


def install(namespace: dict) -> None:
    """Define this module's functions in `namespace` and its methods on Tensor."""
    for function in (sort, argsort, topk):
        namespace[function.__name__] = function
        setattr(Tensor, function.__name__, function)
