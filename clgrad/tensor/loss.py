"""Fused cross entropy of (N, C) logits with class-index targets (loss.cl): one launch for
the per-row losses, one for the gradient (nn.functional.cross_entropy's fast path)."""
from __future__ import annotations

import numpy as np

from ..runtime import program
from .dtype import float16, float32
from .indexing import device_flag, flag_raised
from .scan import _IDX_NP, _fp_flags, index_type
from .tensor import Tensor


def cross_entropy_rows(x: Tensor, target: Tensor, weight, ignore_index: int) -> tuple:
    """(loss, rw, lse), each (N,): per-row weighted losses, the weight each row counts with
    (0 where ignored) and the rows' log-sum-exp. `target` is int64 (N,); a target outside
    [0, C) that is not ignore_index raises IndexError (one wait for the device)."""
    n, c = x._shape
    device = x.device
    loss, rw = (Tensor._empty((n,), x.dtype, device) for _ in range(2))
    lse = Tensor._empty((n,), float32 if x.dtype is float16 else x.dtype, device)
    flag = device_flag(device)
    args = [x._storage.buffer, x._offset, *x._stride, target._storage.buffer, target._offset,
            target._stride[0]]
    if weight is not None:
        args += [weight._storage.buffer, weight._offset, weight._stride[0]]
    args += [ignore_index, loss._storage.buffer, rw._storage.buffer, lse._storage.buffer,
             flag._storage.buffer, c, n]
    _launch("forward", x, weight is not None, n, args, (x, target))
    if flag_raised(flag):
        bad = target._host_array().reshape(-1)
        bad = bad[(bad != ignore_index) & ((bad < 0) | (bad >= c))]
        raise IndexError(f"Target {int(bad[0])} is out of bounds.")
    return loss, rw, lse


def cross_entropy_grad(x: Tensor, target: Tensor, rw: Tensor, lse: Tensor, scale: Tensor,
                       ignore_index: int) -> Tensor:
    """d(loss)/dx for cross_entropy_rows' results: scale[i] * rw[i] * (softmax - onehot);
    `scale` is 0-d (one factor) or (N,)."""
    n, c = x._shape
    grad = Tensor._empty((n, c), x.dtype, x.device)
    sst = scale._stride[0] if scale._shape else 0
    args = [x._storage.buffer, x._offset, *x._stride, target._storage.buffer, target._offset,
            target._stride[0], rw._storage.buffer, lse._storage.buffer, scale._storage.buffer,
            scale._offset, sst, ignore_index, grad._storage.buffer, c, n * c]
    _launch("backward", x, False, n * c, args, (x, target, grad))
    return grad


def _launch(kind: str, x: Tensor, weighted: bool, items: int, args: list, tensors) -> None:
    device = x.device
    idx = index_type(*tensors)
    key = ("cross_entropy", kind, x.dtype, weighted, idx)
    kernel = device.kernels.get(key) or _compile(device, key)
    program.launch(device, kernel, items, *args)
    if any(t._storage.shared for t in tensors):
        device.queue.finish()


def _compile(device, key):
    _, kind, dtype, weighted, idx = key
    i = _IDX_NP[idx]
    if kind == "forward":
        scalars = ([None, i, i, i, None, i, i] + [None, i, i] * weighted
                   + [np.int64, None, None, None, None, i, i])
    else:
        scalars = [None, i, i, i, None, i, i, None, None, None, i, i, np.int64, None, i, i]
    name = f"cross_entropy_{kind}_{dtype.name}{'_w' * weighted}_{idx}"
    return program.compile_kernel(device, key, "loss.cl", name, scalars, kind=kind,
                                  ctype=dtype.ctype, acc=dtype.opmath, weighted=weighted,
                                  idx=idx, **_fp_flags(dtype))
