"""The reduce engine: which dims, which strategy, which kernel, one or two launches.

`reduce(x, dims, spec)` reduces the dims `dims` of `x` (any strides, no copy) into a new
dense tensor of the kept dims. The input is split into kept dims (the output walks them in
order) and reduced dims, each set collapsed where its strides allow. The strategy depends on
the device type and on which side the contiguous dim is (DESIGN.md point 5):

- reducing the innermost (smallest-stride) dim, or everything: "group" mode, one work-group
  per output whose work-items stride through the reduced elements and meet in a
  local-memory tree (on a CPU device each work-group is one thread's contiguous chunk, read
  as vectors across the group's work-items);
- reducing an outer dim: "loop" mode, one work-item per output walking the reduced dims, so
  neighbouring work-items read neighbouring addresses.

When the outputs alone cannot fill the device (a whole-tensor sum, a sum over a long outer dim
into few outputs), the reduced range is split into parts that write partial results, and a
second launch reduces the partials.
"""
from __future__ import annotations

import functools

import numpy as np
import pyopencl as cl

from ..runtime import program
from . import dtype as dt
from .shape import collapse

_INT31 = 2**31 - 1 - 2**20
_NP = {"uchar": np.uint8, "char": np.int8, "short": np.int16, "int": np.int32, "long": np.int64,
       "float": np.float32, "double": np.float64}
_IDX = {"int": np.int32, "long": np.int64}


class Spec:
    """What a reduction computes; `key` is the part of the kernel cache key it determines.

    combine  sum | prod | max | min | and | or | argmax | argmin (see reduce.cl)
    ct, acc  dtypes the element is read in (MAP's x) and accumulated in
    out      dtype of the result (int64 indices for arg* are extra)
    map/post C expressions (reduce.cl); kahan: compensated float sums
    binary   MAP also reads y, the element of a second input (`other` of reduce)
    """

    __slots__ = ("acc", "binary", "combine", "count", "ct", "kahan", "key", "map", "out", "post")

    def __init__(self, combine, ct, acc, out, map="x", post="r", kahan=False, count=0,
                 binary=False):
        self.combine, self.ct, self.acc, self.out = combine, ct, acc, out
        self.map, self.post, self.count, self.binary = map, post, count, binary
        self.kahan = kahan and combine == "sum" and acc.category == dt.FLOAT
        self.key = (combine, ct, acc, out, map, post, self.kahan, binary)


# The Spec of each distinct reduction, built once (its kernel key included), not per call.
spec = functools.lru_cache(maxsize=1024)(Spec)

Tensor = None        # bound by reduce.py


def reduce(x, dims, spec: Spec, aux=None, other=None):
    """Reduce `dims` (sorted, normalised) of `x`; returns (values, indices or None).

    `aux`: a dense tensor with one value per output (read by MAP/POST as aux).
    `other`: for a binary spec, a tensor of x's shape (any strides) read as y.
    The outputs are dense with the kept dims' shape.
    """
    device = x._storage.device
    kept_shape = tuple(s for d, s in enumerate(x._shape) if d not in dims)
    out = Tensor._empty(kept_shape, spec.out, device)
    arg = spec.combine in ("argmax", "argmin")
    out_j = Tensor._empty(kept_shape, dt.int64, device) if arg else None
    if out._numel == 0:
        return out, out_j
    big = x._storage.nbytes > _INT31 or (other is not None and other._storage.nbytes > _INT31)
    plan_key = (x._shape, x._stride, other._stride if other is not None else None, dims,
                spec.key, device, big)
    plan = _PLANS.get(plan_key) or _plan(plan_key, x, other, dims, spec, out._numel)
    kshape, kst, rshape, rst, mode, parts, part_len, idx = plan
    m = out._numel
    sync = x._storage.shared
    if parts == 1 and mode != "band":
        _run(device, spec, mode, idx, (x, None, other), (out, out_j), kshape, kst, rshape,
             rst, m, 1, part_len, aux, first=True)
    else:
        # partial results: (parts, m) where a work-item stores neighbouring outputs
        # ("cols", "band": twice, the sums then their compensations), else (m, parts);
        # a second launch reduces them
        layout = (parts, m) if mode in ("cols", "band") else (m, parts)
        if mode == "band":                     # sums, then their compensations
            layout = (2, parts, m)
        part = Tensor._empty(layout, spec.acc, device)
        part_j = Tensor._empty(layout, dt.int64, device) if arg else None
        _run(device, spec, mode, idx, (x, None, other), (part, part_j), kshape, kst, rshape,
             rst, m, parts, part_len, aux, first=True)
        pst = (1, m) if mode in ("cols", "band") else (parts, 1)
        count = 2 * parts if mode == "band" else parts
        _run(device, spec, "loop", idx, (part, part_j, None), (out, out_j), (m,),
             (pst[:1],), (count,), (pst[1:],), m, 1, count, aux, first=False)
    if sync:
        device.queue.finish()
    return out, out_j


_PLANS = dt.register_cache({})    # (layout, dims, spec, device) -> how to launch


def _plan(plan_key, x, other, dims, spec, m):
    """Collapsed kept/reduced dims, strategy and index type for one reduction layout.

    Strides come as one tuple per input (x, and y for a binary spec)."""
    arg = spec.combine in ("argmax", "argmin")
    inputs = [x] if other is None else [x, other]
    kshape, kst = _collapsed(inputs, [d for d in range(len(x._shape)) if d not in dims], False)
    rshape, rst = _collapsed(inputs, list(dims), not arg)
    n = 1
    for size in rshape:
        n *= size
    mode, parts, part_len = _strategy(x._storage.device, spec, m, n, kshape, kst, rshape, rst)
    idx = "long" if plan_key[-1] or m * parts > _INT31 else "int"
    if len(_PLANS) > 4096:
        _PLANS.clear()
    plan = _PLANS[plan_key] = (kshape, kst, rshape, rst, mode, parts, part_len, idx)
    return plan


def _collapsed(inputs, dims, by_stride):
    """Sizes and (per input) strides of `dims`, collapsed; reduced dims of an order-free
    reduction are walked by decreasing stride of x first (memory order), arg* reductions
    keep logical order."""
    dims = list(dims)
    if by_stride:
        dims.sort(key=lambda d: -inputs[0]._stride[d])
    shape = tuple(inputs[0]._shape[d] for d in dims)
    return collapse(shape, [tuple(t._stride[d] for d in dims) for t in inputs])


_VEC_MAPS = frozenset({"x", "x * x", "x * y", "fabs(x)", "exp(x - aux)",
                       "(x - aux) * (x - aux)"})
_VEC_COMBINES = frozenset({"sum", "prod", "max", "min"})
_BAND_ROWS = 8           # rows "band" mode adds in registers per pass over the outputs


def _strategy(device, spec, m, n, kshape, kstrides, rshape, rstrides):
    """(mode, parts, part_len) for m outputs of n elements each on `device`."""
    wg = device.work_group
    cpu = device.kind == "cpu"
    kst, rst = kstrides[0], rstrides[0]             # x's strides decide
    inner = not kst or (rst and min(rst) < min(kst))
    vector = (cpu and spec.combine in _VEC_COMBINES and spec.map in _VEC_MAPS
              and spec.ct.opmath == spec.acc.opmath)
    outer = rshape[0] if rshape else 1
    if n == 0:
        return "loop", 1, 1
    if vector and inner and len(rshape) == 1 and all(r[0] == 1 for r in rstrides):
        # measured on pocl (16M floats): work-groups of 16 work-items, each summing
        # 4K-64K contiguous elements, read 33-37 GB/s; 32 long work-items only 24-32
        parts = 1
        if m < 1024 and n >= 1 << 15:
            parts = min(-(-1024 // m), n >> 14)
        part_len = max(1, -(-n // parts))
        return "vec", max(1, -(-n // part_len)), part_len
    lanes = _lanes(spec.acc)
    vector = vector and not spec.binary
    if (vector and spec.combine == "sum" and not inner and len(kshape) == 1 and kst[0] == 1
            and len(rshape) == 1 and kshape[0] >= lanes and outer >= 4 * _BAND_ROWS
            and kshape[0] * spec.acc.itemsize <= 1 << 17):
        parts = min(4 * device.compute_units, outer // (4 * _BAND_ROWS))
        part_len = -(-outer // parts)
        return "band", -(-outer // part_len), part_len
    width = 4 * lanes
    if vector and not inner and kst[-1] == 1 and kshape[-1] >= width:
        blocks = m // kshape[-1] * -(-kshape[-1] // width)
        parts = 1
        if blocks < 16 * device.compute_units and n >= 64:
            parts = min(outer, -(-16 * device.compute_units // blocks))
        part_len = -(-outer // parts)
        return "cols", -(-outer // part_len), part_len
    if inner and n >= 2 * wg:
        groups = device.compute_units * (8 if cpu else 4)
        least = wg * (64 if cpu else 4)        # elements per part worth a launch slot
        parts = 1
        if m < groups and n >= 2 * least:
            parts = min(-(-groups // m), n // least)
        part_len = -(-n // parts)
        part_len = -(-part_len // wg) * wg
        return "group", -(-n // part_len), part_len
    items = device.compute_units * wg * (4 if cpu else 16)
    parts = 1
    if m < items and n >= 4096:
        parts = min(outer, -(-items // m))
    part_len = max(1, -(-outer // parts))
    return "loop", max(1, -(-outer // part_len)), part_len


def _lanes(acc: dt.dtype) -> int:
    """Vector width of the CPU vector modes: 64 bytes of accumulators, at most 16 lanes."""
    return min(16, 64 // acc.itemsize)


def _run(device, spec, mode, idx, src, dst, kshape, kst, rshape, rst, m, parts, part_len,
         aux, first):
    """One launch: src (values, indices, y) -> dst (values, indices) with `parts` parts.

    kst/rst hold one stride tuple per input (x, then y)."""
    x, x_j, y = src
    out, out_j = dst
    if not rshape:                      # nothing left to reduce: one element per output
        rshape, rst = (1,), [(0,)] * len(rst)
    key = ("reduce", spec.key, x.dtype, out.dtype, mode, len(kshape), len(rshape), idx,
           first, aux is not None, y.dtype if y is not None else None)
    kernel = device.kernels.get(key) or _compile(device, key, spec, (x, y), out, first, aux)
    args = [x._storage.buffer, x._offset]
    if y is not None:
        args += [y._storage.buffer, y._offset]
    if x_j is not None:
        args += [x_j._storage.buffer, x_j._offset]
    if aux is not None:
        args += [aux._storage.buffer, aux._offset]
    args += [out._storage.buffer, out._offset]
    if out_j is not None:
        args += [out_j._storage.buffer, out_j._offset]
    for d, size in enumerate(kshape):
        args.append(size)
        args += [st[d] for st in kst]
    for d, size in enumerate(rshape):
        args.append(size)
        args += [st[d] for st in rst]
    args += [m, parts, part_len, spec.count]
    wg = device.work_group
    if mode == "group":
        _enqueue(device, kernel, (m * parts * wg,), (wg,), args)
        return
    items = m * parts
    if mode == "band":
        items = parts
    elif mode == "cols":
        width = 4 * _lanes(spec.acc)
        items = m // kshape[-1] * -(-kshape[-1] // width) * parts
    if items < 4 * wg:
        wg = 1                  # a few long work-items: one per CPU task
    _enqueue(device, kernel, ((items + wg - 1) // wg * wg,), (wg,), args)


def _enqueue(device, kernel, size, local, args) -> None:
    try:
        kernel(device.queue, size, local, *args)
    except cl.Error as exc:
        raise program.launch_error(device, kernel, size, local, exc) from None


def _compile(device, key, spec, inputs, out, first, aux):
    """Render and build the kernel for `key` (cache miss path only)."""
    _, _, _, _, mode, kdim, rdim, idx, _, _, _ = key
    x, y = inputs
    binary = y is not None
    used = {x.dtype, out.dtype, spec.acc, spec.ct} | ({y.dtype} if binary else set())
    for d in used:
        if d.extension:
            device.require_extension(d.extension, d.name)
    arg = spec.combine in ("argmax", "argmin")
    with_idx = arg and not first
    acc = spec.acc.opmath
    i = _IDX[idx]
    types = [None, i] * (1 + binary + with_idx + (aux is not None)) + [None, i]
    types += [None, i] * arg + [i] * ((2 + binary) * (kdim + rdim)) + [i, i, i, _NP[acc]]
    tag = f"{spec.combine}_{x.dtype.name}_{out.dtype.name}_{mode}_k{kdim}r{rdim}_{idx}"
    return program.compile_kernel(
        device, key, "reduce.cl", f"reduce_{tag}{'' if first else '_p2'}", types,
        in_type=x.dtype.ctype, in2_type=y.dtype.ctype if binary else None, binary=binary,
        ct=spec.ct.opmath if first else acc, acc=acc,
        out_type=out.dtype.ctype, combine=spec.combine, kahan=spec.kahan, map=spec.map,
        post=spec.post, aux=aux is not None, first=first, with_idx=with_idx, mode=mode,
        wg=device.work_group, vw=_lanes(spec.acc), R=_BAND_ROWS, kdim=kdim, rdim=rdim, idx=idx,
        fp64=dt.float64 in used, fp16=dt.float16 in used)
