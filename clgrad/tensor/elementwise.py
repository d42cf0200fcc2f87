"""The elementwise engine: promotion, broadcasting, layout choice and launch.

`run(op, operands, out)` is the per-call path of every elementwise op, so it is written to
stay lean: dtype resolution is memoised per operand signature, a same-shape contiguous call
skips all stride work, and the kernel comes from a dict keyed by what the source depends on.
"""
from __future__ import annotations

import warnings

import numpy as np

from ..runtime import program
from . import dtype as dt
from .shape import Size, broadcast_shapes, broadcast_strides, collapse, contiguous_strides

# 32-bit kernel indices while every offset, plus a work-item's chunk and the launch padding,
# stays below 2**31 (storage sizes in bytes bound the element counts).
_INT31 = 2**31 - 1 - 2**20
_SCALAR_NP = {"uchar": np.uint8, "char": np.int8, "short": np.int16, "int": np.int32,
              "long": np.int64, "float": np.float32, "double": np.float64}
_IDX_NP = {"int": np.int32, "long": np.int64}


class Op:
    """An elementwise op: C expressions per input category and how its dtype is derived.

    result: "same"  computes and returns the promoted dtype;
            "float" like "same" but integer/bool inputs promote to the default float;
            "bool"  computes in the promoted dtype, returns bool.
    exprs:  {category: C expression over a0, a1, ...}; a missing category is unsupported.
    """

    __slots__ = ("_types", "arity", "bool_as", "bool_error", "exprs", "helpers", "name",
                 "result", "strict_scalars", "vector")

    def __init__(self, name, arity, result, float_expr=None, int_expr=None, bool_expr=None,
                 helpers=(), bool_error=None, strict_scalars=False, bool_as=None,
                 vector=False):
        self.name = name
        self.arity = arity
        self.result = result
        self.exprs = {dt.FLOAT: float_expr, dt.INT: int_expr, dt.BOOL: bool_expr}
        self.helpers = helpers
        self.bool_error = bool_error
        # PyTorch refuses an out-of-range scalar in clamp/where/fill; arithmetic wraps ints
        # and overflows floats to inf.
        self.strict_scalars = strict_scalars
        self.bool_as = bool_as          # the dtype bool inputs compute in (square: int64)
        # float_expr is valid on OpenCL vectors (builtins): True, or a C condition over the
        # vectors for when it is (other vectors go element by element)
        self.vector = vector
        self._types = dt.register_cache({})  # operand signature -> (compute, result) dtypes

    def types(self, signature, operands):
        """(compute, result) dtypes for operands whose signature is not memoised yet."""
        dims, zero_dims, scalars = [], [], []
        for x in operands:
            if isinstance(x, Tensor):
                (dims if x._shape else zero_dims).append(x.dtype)
            else:
                scalars.append(dt.scalar_dtype(x))
        compute = dt.result_type(dims, zero_dims, scalars)
        if self.result == "float" and compute.category != dt.FLOAT:
            compute = dt.get_default_dtype()
        elif compute is dt.bool_ and self.bool_as is not None:
            compute = self.bool_as
        if self.exprs[compute.category] is None:
            if compute is dt.bool_ and self.bool_error:
                raise RuntimeError(self.bool_error)
            raise NotImplementedError(f"{self.name} is not implemented for dtype "
                                      f"{compute.name}")
        result = dt.bool_ if self.result == "bool" else compute
        self._types[signature] = (compute, result)
        return compute, result


Tensor = None        # bound by tensor.py (tensor imports this module first)


def run(op: Op, operands, out=None, result_dtype=None, unsafe=False, compute=None):
    """Apply `op` to tensors/Python scalars; write into `out` if given (in-place, out=).

    `result_dtype` overrides the output dtype (casts); `unsafe` allows any cast into `out`
    (copy_), where in-place ops and out= refuse to cast to a lower category. `compute`
    overrides the dtype the expression runs in (fills, ranges). With no tensor operand the
    op is a generator (fill, arange, ...) and writes into `out`.
    """
    device = None
    signature = []
    shape = None
    same_shape = True
    for x in operands:
        if isinstance(x, Tensor):
            signature.append((x.dtype, not x._shape))
            if device is None:
                device, shape = x._storage.device, x._shape
            else:
                if x._storage.device is not device:
                    _device_error(op, operands)
                if x._shape != shape:
                    same_shape = False
        else:
            signature.append(type(x))
    fill = device is None          # no tensor operand: every element gets the same value
    if fill:
        device, shape = out._storage.device, out._shape
    signature = tuple(signature)
    if compute is None:
        types = op._types.get(signature)
        compute, result = types if types is not None else op.types(signature, operands)
    else:
        result = compute
    if result_dtype is not None:
        result = result_dtype
    if not same_shape:
        shape = broadcast_shapes(*[x._shape for x in operands if isinstance(x, Tensor)])
    if out is None:
        out = Tensor._empty(shape, result, device)
        if out._numel:
            _launch(op, operands, out, compute, result, device, same_shape)
        return out
    target = out
    if out._shape != shape and not (fill or unsafe) and all(x is not out for x in operands):
        # out= (not in-place) of another shape: PyTorch resizes it. The result goes to new
        # storage that `out` adopts once the launch went through.
        out = Tensor._empty(tuple(shape), out.dtype, out._storage.device)
    _check_out(op, out, shape, result, device, unsafe, fill)
    operands = _unalias(operands, out)
    if out._numel:
        _launch(op, operands, out, compute, out.dtype, device, same_shape)
    out._written()                         # only once the launch went through
    if out is not target:
        resize_out(target, shape, op.name, fresh=out)
    return target


def _check_out(op, out, shape, result, device, unsafe, fill):
    if out._storage.device is not device:
        raise RuntimeError(f"{op.name}: expected all tensors to be on the same device, but "
                           f"the output is on {out._storage.device} and inputs on {device}")
    if not unsafe and not dt.can_cast(result, out.dtype):
        raise RuntimeError(f"{op.name}: result type {result.name} can't be cast to the "
                           f"desired output type {out.dtype.name}")
    if out._shape != shape:
        raise RuntimeError(f"{op.name}: output with shape {list(out._shape)} doesn't match "
                           f"the broadcast shape {list(shape)}")
    if not (fill or out._contig) and any(st == 0 and n > 1
                                          for n, st in zip(out._shape, out._stride)):
        raise RuntimeError(f"{op.name}: unsupported operation: more than one element of the "
                           f"written-to tensor (shape {list(out._shape)}, strides "
                           f"{list(out._stride)}) refers to a single memory location. Please "
                           "clone() the tensor before performing the operation.")


def resize_out(out, shape, name: str = "", stacklevel: int = 4, fresh=None) -> None:
    """Resize an out= tensor to `shape` as PyTorch's resize_ does (with its warning when `out`
    had elements; `name` prefixes it): contiguous strides from its storage offset in the same
    storage, grown when too small, so a view of a larger tensor is written in place. `fresh`,
    a result computed elsewhere, is then copied in."""
    if out._numel:
        warnings.warn(f"{name + ': ' if name else ''}An output with one or more elements was "
                      f"resized since it had shape {list(out._shape)}, which does not match the "
                      f"required output shape {list(shape)}.", UserWarning,
                      stacklevel=stacklevel)
    n = 1
    for s in shape:
        n *= s
    out._storage.grow((out._offset + n) * out.dtype.itemsize)
    out._shape, out._stride = Size(shape), contiguous_strides(shape)
    out._numel, out._contig = n, True
    out._written()                 # a graph that saved `out` sees it changed
    if fresh is not None and n:
        out.copy_(fresh)


def _unalias(operands, out):
    """Operands that share `out`'s memory in another layout, replaced by copies.

    Reading and writing one buffer through different strides in one launch would read
    elements the same launch already overwrote (x[1:] = x[:-1]).
    """
    st = out._storage
    if not any(isinstance(x, Tensor) and x._storage is st and
               (x._offset != out._offset or x._stride != out._stride or
                x._shape != out._shape) for x in operands):
        return operands
    return tuple(x.clone() if isinstance(x, Tensor) and x._storage is st else x
                 for x in operands)


def _device_error(op, operands):
    devices = sorted({str(x._storage.device) for x in operands if isinstance(x, Tensor)})
    raise RuntimeError(f"{op.name}: expected all tensors to be on the same device, but found "
                       f"at least two devices, {' and '.join(devices)}!")


def _launch(op, operands, out, compute, result, device, same_shape):
    """Pick the layout variant, fetch (or build) the kernel and enqueue it."""
    n = out._numel
    dense = same_shape and out._contig
    kinds = []
    args = [out._storage.buffer, out._offset]
    sync = out._storage.shared
    big = out._storage.nbytes > _INT31     # element offsets may need 64 bits
    for x in operands:
        if isinstance(x, Tensor):
            st = x._storage
            sync = sync or st.shared
            big = big or st.nbytes > _INT31
            if x._numel == 1 and (x._shape != out._shape or not x._contig):
                kinds.append(("one", x.dtype))
            else:
                kinds.append(("buf", x.dtype))
                dense = dense and x._contig
            args.append(st.buffer)
            args.append(x._offset)
        else:
            kinds.append(("scalar", None))
            args.append(_scalar_value(op, x, compute))
    ndim = 0
    if not dense:
        ndim = _strided_args(operands, kinds, out, args)
    idx = "long" if big else "int"
    args.append(n)
    key = (op.name, compute, result, tuple(kinds), ndim, idx)
    kernel = device.kernels.get(key) or _compile(op, key, device)
    program.launch(device, kernel, (n + device.chunk - 1) // device.chunk, *args)
    if sync:
        device.queue.finish()


def _strided_args(operands, kinds, out, args) -> int:
    """Append collapsed sizes and strides; return the number of dims the kernel walks."""
    shape = out._shape
    buffers = [x for x, (kind, _) in zip(operands, kinds) if kind == "buf"]
    strides = [out._stride] + [broadcast_strides(x._shape, x._stride, shape) for x in buffers]
    cshape, cstrides = collapse(shape, strides)
    if len(cshape) <= 1 and all(s == (1,) or not s for s in cstrides):
        return 0
    for d, size in enumerate(cshape):
        args.append(size)
        for st in cstrides:
            args.append(st[d])
    return len(cshape)


def _scalar_value(op, value, compute):
    """A Python scalar as the kernel argument of dtype `compute` (PyTorch's conversion)."""
    if compute is dt.bool_:
        return 1 if value else 0
    if op.strict_scalars:
        dt.check_scalar_fits(value, compute)
    if compute.category == dt.INT:
        return dt.wrap_int(int(value), compute)
    return dt.to_float(float(value), compute)


def _compile(op, key, device):
    """Render and build the kernel for `key` (cache miss path only)."""
    name, compute, result, kinds, ndim, idx = key
    used = {compute, result} | {d for _, d in kinds if d is not None}
    for d in used:
        if d.extension:
            device.require_extension(d.extension, d.name)
    ct = compute.opmath
    operands = []
    for kind, d in kinds:
        operands.append((kind, d.ctype if d is not None else ct, ct))
    expr = op.exprs[compute.category]
    scalar_dtypes = [None, _IDX_NP[idx]]
    for kind, _, vt in operands:
        scalar_dtypes += [_SCALAR_NP[vt]] if kind == "scalar" else [None, _IDX_NP[idx]]
    n_buf = sum(1 for kind, _, _ in operands if kind == "buf")
    scalar_dtypes += [_IDX_NP[idx]] * (ndim * (2 + n_buf)) + [_IDX_NP[idx]]
    tag = "_".join(d.name if d is not None else "s" for _, d in kinds)
    vw = _vector_width(op, compute, result, kinds, ndim, device)
    kname = (f"ew_{name}_{result.name}_{tag}_{'dense' if ndim == 0 else f'nd{ndim}'}_{idx}"
             f"{f'_v{vw}' if vw else ''}")
    return program.compile_kernel(
        device, key, "elementwise.cl", kname, scalar_dtypes,
        out_type=result.ctype, out_bool=result is dt.bool_, ct=ct, operands=operands,
        expr=expr, ndim=ndim, idx=idx, helpers=[h for h in op.helpers if h in expr],
        chunk=device.chunk, vw=vw, guard=op.vector if vw and op.vector is not True else "",
        fp64=any(d is dt.float64 for d in used), fp16=any(d is dt.float16 for d in used))


def _vector_width(op, compute, result, kinds, ndim, device) -> int:
    """Elements per vector for a dense chunked kernel of a vector-safe float op whose
    operands and result are stored in the compute type (64-byte vectors), else 0."""
    if not (op.vector and ndim == 0 and device.chunk > 1 and compute.category == dt.FLOAT
            and result is compute and compute.ctype == compute.opmath
            and all(d is compute for kind, d in kinds if kind != "scalar")):
        return 0
    vw = 64 // compute.itemsize
    return vw if device.chunk % vw == 0 else 0
