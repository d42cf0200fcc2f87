"""Scans along one dim (cumsum, cumprod), and the row layout sorting shares.

A tensor is viewed as rows along `dim`: the other dims are the batch (collapsed where they
are contiguous) and each kernel unravels a row number over them, so inputs of any layout are
read in place and results are written in the input's shape.
"""
from __future__ import annotations

import numpy as np

from ..runtime import program
from . import dtype as dt
from .elementwise import _INT31
from .shape import collapse, normalize_dim
from .tensor import Tensor

_IDX_NP = {"int": np.int32, "long": np.int64}
# Work-items a long-row scan aims for: enough blocks to fill the device, each walking a
# contiguous block of at least _MIN_BLOCK elements.
_SCAN_ITEMS = 8192
_MIN_BLOCK = 64


def batch_layout(shape, strides_list, d: int):
    """Collapsed (shape, [strides per operand]) of the dims other than `d` (the rows' batch)."""
    return collapse(shape[:d] + shape[d + 1:], [st[:d] + st[d + 1:] for st in strides_list])


def index_type(*tensors) -> str:
    """"long" when some storage is too big for 31-bit element offsets, else "int"."""
    return "long" if any(t._storage.nbytes > _INT31 for t in tensors) else "int"


def _fp_flags(*dtypes) -> dict:
    return {"fp64": any(d is dt.float64 for d in dtypes),
            "fp16": any(d is dt.float16 for d in dtypes)}


def _scan(op: str, input: Tensor, dim, dtype, out) -> Tensor:
    if not isinstance(input, Tensor):
        raise TypeError(f"cum{op}(): argument 'input' must be Tensor, not "
                        f"{type(input).__name__}")
    name = "cumsum" if op == "add" else "cumprod"
    d = normalize_dim(dim, len(input._shape))
    if dtype is None:
        dtype = input.dtype if input.dtype.is_floating_point else dt.int64
    if dtype is dt.bool_ or (out is not None and out.dtype is dt.bool_):
        raise RuntimeError(f"{name} is not implemented for a bool result")
    if out is None:
        out = Tensor._empty(input._shape, dtype, input.device)
    elif out._shape != input._shape:
        from .joins import _resize
        _resize(out, input._shape)
    if out.device is not input.device:
        raise RuntimeError(f"{name}: expected out on {input.device}, got {out.device}")
    if out._storage is input._storage and (out._offset, out._stride) != (
            input._offset, input._stride):
        input = input.clone()
    if out._numel:
        out._written()
        if input._shape:
            _scan_into(op, input, d, out)
        else:
            _scan_into(op, input.view(1), 0, out.view(1))
    return out


def _scan_into(op: str, x: Tensor, d: int, out: Tensor) -> None:
    """Write the inclusive scan of `x` along `d` into `out` (same shape, any layouts)."""
    device = x.device
    n = x._shape[d]
    rows = x._numel // n
    acc = dt.int64 if out.dtype.category != dt.FLOAT else (
        dt.float64 if device.fp64 else dt.float32)
    block = n
    if rows < _SCAN_ITEMS and n > _MIN_BLOCK:
        per_row = max(1, _SCAN_ITEMS // rows)
        block = max(_MIN_BLOCK, -(-n // per_row))
    blocks = -(-n // block)
    carry = None
    if blocks > 1:
        carry = Tensor._empty((rows, blocks), acc, device)
        _launch_scan(op, x, d, carry, acc, "sums", None, block, blocks)
        _scan_into(op, carry, 1, carry)
    _launch_scan(op, x, d, out, acc, "scan", carry, block, blocks)


def _launch_scan(op, x, d, out, acc, mode, carry, block, blocks) -> None:
    device = x.device
    n = x._shape[d]
    rows = x._numel // n
    ostride = out._stride if mode == "scan" else x._stride     # sums: dense, unused
    bshape, (ist, ost) = batch_layout(x._shape, [x._stride, ostride], d)
    idx = index_type(x, out)
    key = ("scan", op, x.dtype, out.dtype, acc, mode, carry is not None, len(bshape), idx)
    kernel = device.kernels.get(key) or _compile_scan(device, key)
    args = [x._storage.buffer, x._offset, x._stride[d]]
    if mode == "sums":
        args.append(out._storage.buffer)
    else:
        args += [out._storage.buffer, out._offset, out._stride[d]]
    if carry is not None:
        args.append(carry._storage.buffer)
    for size, a, b in zip(bshape, ist, ost):
        args += [size, a, b]
    args += [n, block, blocks, rows * blocks]
    program.launch(device, kernel, rows * blocks, *args)
    if x._storage.shared or out._storage.shared:
        device.queue.finish()


def _compile_scan(device, key):
    _, op, in_dtype, out_dtype, acc, mode, carry, ndim, idx = key
    i = _IDX_NP[idx]
    scalars = [None, i, i] + ([None] if mode == "sums" else [None, i, i])
    scalars += [None] * carry + [i] * (3 * ndim + 4)
    name = (f"scan_{op}_{in_dtype.name}_{out_dtype.name}_{acc.name}_{mode}"
            f"{'_carry' if carry else ''}_nd{ndim}_{idx}")
    return program.compile_kernel(
        device, key, "scan.cl", name, scalars, in_type=in_dtype.ctype,
        out_type=out_dtype.ctype, acc=acc.ctype, op=op, mode=mode, carry=carry, ndim=ndim,
        idx=idx, **_fp_flags(in_dtype, out_dtype, acc))


def cumsum(input: Tensor, dim: int, *, dtype=None, out: Tensor | None = None) -> Tensor:
    """Cumulative sum along `dim`; integer and bool inputs give int64 unless `dtype` is set."""
    return _scan("add", input, dim, dtype, out)


def cumprod(input: Tensor, dim: int, *, dtype=None, out: Tensor | None = None) -> Tensor:
    """Cumulative product along `dim`; integer and bool inputs give int64 unless `dtype`."""
    return _scan("mul", input, dim, dtype, out)


def _cumsum_(self: Tensor, dim: int) -> Tensor:
    return _scan("add", self, dim, None, self)


def _cumprod_(self: Tensor, dim: int) -> Tensor:
    return _scan("mul", self, dim, None, self)


def install(namespace: dict) -> None:
    """Define cumsum/cumprod in `namespace` and as Tensor methods (with in-place forms)."""
    for function in (cumsum, cumprod):
        namespace[function.__name__] = function
        setattr(Tensor, function.__name__, function)
    Tensor.cumsum_ = _cumsum_
    Tensor.cumprod_ = _cumprod_
