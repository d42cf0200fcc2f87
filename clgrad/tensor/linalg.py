"""Matrix products: mm, bmm, matmul (@), mv, dot, addmm, baddbmm, outer, einsum.

Every product is one launch of the batched, strided GEMM kernel (runtime/kernels/matmul.cl):
D = alpha * A @ B + beta * C over (batch, rows, cols) views with arbitrary strides, so
transposed, sliced and broadcast operands are read in place, never copied. `_gemm` is the
per-call path: unit-stride flags and the index width select a memoised kernel (a dict get);
its tile configuration comes from runtime.tuning (built-in per device type, or tuned).
"""
from __future__ import annotations

import itertools

from ..runtime import tuning
from . import dtype as dt
from . import reduction
from .elementwise import resize_out, run
from .shape import broadcast_shapes, collapse
from .tensor import Tensor

_INT31 = 2**31 - 1 - 2**20
_CNAME = {"float32": "float", "float64": "double", "float16": "c10::Half", "int64": "long",
          "int32": "int", "int16": "short", "int8": "signed char", "uint8": "unsigned char",
          "bool": "bool"}


# -- the launch --------------------------------------------------------------------------------
def _kernel(device, dtype, units, idx, n, dot):
    """(kernel, config) for this dtype/layout and width class of N (one column, narrow,
    wide, or A and B contiguous along K); built and memoised on first use."""
    width = 0 if n == 1 else 3 if dot else 1 if n < tuning.NARROW_N else 2
    key = ("mm", dtype, units, idx, width)
    entry = device.kernels.get(key)
    if entry is None:
        if dtype.extension:
            device.require_extension(dtype.extension, dtype.name)
        cfg = (tuning.vector_config(device), tuning.narrow_config(device, dtype.np),
               tuning.config_for(device, dtype.np), tuning.dot_config(device))[width]
        kernel = tuning.matmul_kernel(device, dtype.ctype, dtype.opmath, cfg, units, idx,
                                      width == 3)
        entry = device.kernels[key] = (kernel, cfg)
    return entry


def _scalar(value, dtype):
    if dtype.category == dt.FLOAT:
        return dt.to_float(float(value), dtype)
    return dt.wrap_int(int(value), dtype)


def _gemm(a, b, d, alpha=1, beta=0, c=None):
    """d = alpha * a @ b + beta * c for 3-D views (batch, M, K) @ (batch, K, N)."""
    batch, m, k = a._shape
    n = b._shape[2]
    if not (batch and m and n):
        return
    if c is None or beta == 0:
        c, beta = d, 0
    device = d._storage.device
    operands = (a, b, c, d)
    big = any(x._storage.nbytes > _INT31 for x in operands)
    sa, sb, sc, sd = (list(x._stride) for x in operands)
    for s, rows, cols in ((sa, m, k), (sb, k, n), (sc, m, n), (sd, m, n)):
        if batch == 1:
            s[0] = 0
        if cols == 1:
            s[2] = 1                      # a stride never used: make it the fast literal 1
        if rows == 1:
            s[1] = 0
    units = (sa[2] == 1, sa[1] == 1 and sa[2] != 1, sb[2] == 1, sc[2] == 1, sd[2] == 1)
    dot = units[0] and sb[1] == 1 and not units[2] and device.kind == "cpu"
    kernel, cfg = _kernel(device, d.dtype, units, "long" if big else "int", n, dot)
    args = [(x._storage.buffer, x._offset, *s) for x, s in zip(operands, (sa, sb, sc, sd))]
    tuning.launch(device, kernel, cfg, m, n, k, batch, _scalar(alpha, d.dtype),
                  _scalar(beta, d.dtype), *args)
    if any(x._storage.shared for x in operands):
        device.queue.finish()


def _view3(x, shape, stride, offset):
    return Tensor._make(x._storage, tuple(shape), tuple(stride), offset, x.dtype)


class _Operand:
    """A matrix's storage seen as (1, rows, cols): all that _gemm reads of a tensor, without
    making a Tensor (mm's per-call path)."""

    __slots__ = ("_offset", "_shape", "_storage", "_stride", "dtype")

    def __init__(self, x):
        self._storage, self._offset, self.dtype = x._storage, x._offset, x.dtype
        self._shape, self._stride = (1, *x._shape), (0, *x._stride)


def _as3(x):
    """A matrix as a (1, rows, cols) view."""
    return Tensor._make(x._storage, (1, *x._shape), (0, *x._stride), x._offset, x.dtype)


def _batched(a, b, d, alpha=1, beta=0, c=None):
    """_gemm over operands (..., M, K) @ (..., K, N) -> d (..., M, N), with equal batch shapes.

    Batch dims are collapsed into one kernel dim where the strides allow; otherwise the
    outer batch dims are walked here, one launch each.
    """
    ops = [a, b, d] + ([c] if c is not None else [])
    if any(x._storage is d._storage for x in (a, b)) or (
            c is not None and c._storage is d._storage and
            (c._stride, c._offset) != (d._stride, d._offset)):
        tmp = Tensor._empty(d._shape, d.dtype, d._storage.device)
        _batched(a, b, tmp, alpha, beta, c)
        d.copy_(tmp)
        return
    shape = d._shape[:-2]
    cshape, cstrides = collapse(shape, [x._stride[:-2] for x in ops])
    if not cshape:
        cshape, cstrides = (1,), [(0,) for _ in ops]
    for outer in itertools.product(*[range(s) for s in cshape[:-1]]):
        views = []
        for x, st in zip(ops, cstrides):
            offset = x._offset + sum(i * s for i, s in zip(outer, st))
            views.append(_view3(x, (cshape[-1],) + x._shape[-2:], (st[-1],) + x._stride[-2:],
                                offset))
        _gemm(views[0], views[1], views[2], alpha, beta, views[3] if c is not None else None)


# -- checks shared by the ops --------------------------------------------------------------------
def _tensor(x, op: str, name: str, position: int):
    if not isinstance(x, Tensor):
        raise TypeError(f"{op}(): argument '{name}' (position {position}) must be Tensor, not "
                        f"{type(x).__name__}")


def _same_device(*tensors):
    devices = []
    for t in tensors:
        if t._storage.device not in devices:
            devices.append(t._storage.device)
    if len(devices) > 1:
        raise RuntimeError(f"Expected all tensors to be on the same device, but found at least "
                           f"two devices, {devices[0]} and {devices[1]}!")


def _no_bool(dtype, kernel: str):
    if dtype is dt.bool_:
        raise NotImplementedError(f'"{kernel}" not implemented for \'Bool\'')


def _need_dim(t, ndim: int, message: str):
    if t.dim() != ndim:
        raise RuntimeError(message)


def _output(out, shape, dtype, device):
    """A new result tensor, or `out` checked (dtype, device) and resized as PyTorch does."""
    if out is None:
        return Tensor._empty(tuple(shape), dtype, device)
    _tensor(out, "matmul", "out", 3)
    if out.dtype is not dtype:
        raise RuntimeError(f"Expected out tensor to have dtype {_CNAME[dtype.name]}, but got "
                           f"{_CNAME[out.dtype.name]} instead")
    _same_device(out, Tensor._empty((0,), dtype, device))
    if tuple(out._shape) != tuple(shape):
        resize_out(out, shape, stacklevel=4)
    out._written()
    return out


def _in_place(self, shape):
    if tuple(self._shape) != tuple(shape):
        raise RuntimeError(f"Bad in-place call: input tensor size {list(self._shape)} and "
                           f"output tensor size {list(shape)} should match")
    self._written()
    return self


def _mm_checks(a, b, op="mm", first="self"):
    _tensor(a, op, "input", 1)
    _tensor(b, op, "mat2", 2)
    _need_dim(a, 2, f"{first} must be a matrix")
    _need_dim(b, 2, "mat2 must be a matrix")
    _same_device(a, b)
    if a._shape[1] != b._shape[0]:
        raise RuntimeError(f"mat1 and mat2 shapes cannot be multiplied ({a._shape[0]}x"
                           f"{a._shape[1]} and {b._shape[0]}x{b._shape[1]})")
    if a.dtype is not b.dtype:
        raise RuntimeError(f"expected m1 and m2 to have the same dtype, but got: "
                           f"{_CNAME[a.dtype.name]} != {_CNAME[b.dtype.name]}")
    _no_bool(a.dtype, "addmm_impl_cpu_")


def _bmm_checks(a, b, op="bmm"):
    _tensor(a, op, "input", 1)
    _tensor(b, op, "mat2", 2)
    _need_dim(a, 3, "batch1 must be a 3D tensor")
    _need_dim(b, 3, "batch2 must be a 3D tensor")
    _same_device(a, b)
    want = [a._shape[0], a._shape[2]]
    if list(b._shape[:2]) != want:
        raise RuntimeError(f"Expected size for first two dimensions of batch2 tensor to be: "
                           f"{want} but got: {list(b._shape[:2])}.")
    if a.dtype is not b.dtype:
        raise RuntimeError(f"expected scalar type {dt.torch_name(a.dtype)} but found "
                           f"{dt.torch_name(b.dtype)}")
    _no_bool(a.dtype, op)


# -- the ops -----------------------------------------------------------------------------------
def mm(input, mat2, *, out=None):
    """Matrix product of (n, m) and (m, p) matrices (torch.mm); strided operands in place."""
    _mm_checks(input, mat2)
    res = _output(out, (input._shape[0], mat2._shape[1]), input.dtype, input.device)
    if out is None:                    # the per-call path: no aliasing, one batch
        _gemm(_Operand(input), _Operand(mat2), _Operand(res))
    else:
        _batched(_as3(input), _as3(mat2), _as3(res))
    return res


def bmm(input, mat2, *, out=None):
    """Batched matrix product of (b, n, m) and (b, m, p) tensors (torch.bmm)."""
    _bmm_checks(input, mat2)
    res = _output(out, (*input._shape[:2], mat2._shape[2]), input.dtype, input.device)
    _batched(input, mat2, res)
    return res


def mv(input, vec, *, out=None):
    """Matrix-vector product (torch.mv)."""
    _tensor(input, "mv", "input", 1)
    _tensor(vec, "mv", "vec", 2)
    if input.dim() != 2 or vec.dim() != 1:
        raise RuntimeError(f"vector + matrix @ vector expected, got 1, {input.dim()}, "
                           f"{vec.dim()}")
    _same_device(input, vec)
    m, k = input._shape
    if vec._shape[0] != k:
        raise RuntimeError(f"size mismatch, got input ({m}), mat ({m}x{k}), vec "
                           f"({vec._shape[0]})")
    first = out.dtype if isinstance(out, Tensor) else vec.dtype
    if not input.dtype is vec.dtype is first:
        names = [dt.torch_name(d) for d in (first, input.dtype, vec.dtype)]
        raise RuntimeError(f"addmv input tensors must have the same dtype, but got "
                           f"{names[0]}, {names[1]}, and {names[2]}")
    _no_bool(input.dtype, "addmv_impl_cpu")
    if input._stride[1] == 1 or k == 1:          # rows contiguous: a streaming reduce
        value = _sum_of_products(input, vec.expand(m, k), (1,))
        return value if out is None else \
            _output(out, (m,), input.dtype, input.device).copy_(value)
    res = _output(out, (m,), input.dtype, input.device)
    _batched(input.unsqueeze(0), _view3(vec, (1, k, 1), (0, vec._stride[0], 1), vec._offset),
             _view3(res, (1, m, 1), (0, res._stride[0], 1), res._offset))
    return res


def dot(input, other, *, out=None):
    """Inner product of two 1-D tensors (torch.dot); returns a 0-d tensor."""
    _tensor(input, "dot", "input", 1)
    _tensor(other, "dot", "tensor", 2)
    if input.dim() != 1 or other.dim() != 1:
        raise RuntimeError(f"1D tensors expected, but got {input.dim()}D and {other.dim()}D "
                           "tensors")
    _same_device(input, other)
    if input._shape != other._shape:
        n1, n2 = input._shape[0], other._shape[0]
        raise RuntimeError(f"inconsistent tensor size, expected tensor [{n1}] and src [{n2}] "
                           f"to have the same number of elements, but got {n1} and {n2} "
                           "elements respectively")
    if input.dtype is not other.dtype:
        raise RuntimeError(f"dot : expected both vectors to have same dtype, but found "
                           f"{dt.torch_name(input.dtype)} and {dt.torch_name(other.dtype)}")
    _no_bool(input.dtype, "dot")
    if isinstance(out, Tensor) and out.dtype is not input.dtype:
        raise RuntimeError(f"result dtype {dt.torch_name(out.dtype)} does not match input dtype "
                           f"{dt.torch_name(input.dtype)}")
    value = _sum_of_products(input, other, (0,))
    return value if out is None else _output(out, (), input.dtype, input.device).copy_(value)


def _sum_of_products(a, b, dims):
    """sum(a * b) over `dims` (b of a's shape, any strides) in one reduce launch: mv and dot
    are memory-bound, and the reduce engine streams them (GEMM tiles would idle)."""
    acc = dt.float32 if a.dtype is dt.float16 else a.dtype
    spec = reduction.spec("sum", a.dtype, acc, a.dtype, map="x * y", kahan=True, binary=True)
    return reduction.reduce(a, dims, spec, other=b)[0]


def _matrix(t):
    """The last two dims of `t` as a view (valid even when a batch dim is empty)."""
    return t if t.dim() == 2 else t._view(t._shape[-2:], t._stride[-2:])


def _matmul_error_checks(a, b):
    if a.dim() == 0 or b.dim() == 0:
        raise RuntimeError(f"both arguments to matmul need to be at least 1D, but they are "
                           f"{a.dim()}D and {b.dim()}D")


def matmul(input, other, *, out=None):
    """Matrix product with PyTorch's rules for 1-D..N-D operands and broadcast batch dims."""
    _tensor(input, "matmul", "input", 1)
    _tensor(other, "matmul", "other", 2)
    _matmul_error_checks(input, other)
    da, db = input.dim(), other.dim()
    if da == 1 and db == 1:
        return dot(input, other, out=out)
    if da == 2 and db == 1:
        return mv(input, other, out=out)
    if da <= 2 and db == 2:
        if da == 2:
            return mm(input, other, out=out)
        _mm_checks(input.unsqueeze(0), other)
        res = _output(out, (other._shape[1],), input.dtype, input.device)
        mm(input.unsqueeze(0), other, out=res.unsqueeze(0))
        return res
    return _matmul_nd(input, other, out)


def _matmul_nd(input, other, out):
    _same_device(input, other)
    a = input if input.dim() > 1 else input.unsqueeze(0)
    b = other if other.dim() > 1 else other.unsqueeze(-1)
    batch = broadcast_shapes(a._shape[:-2], b._shape[:-2])
    (m, k), (k2, n) = a._shape[-2:], b._shape[-2:]
    if b.dim() == 2 or a.dim() == 2:
        rows = m * (1 if a.dim() == 2 else a._numel // max(m * k, 1))
        if k != k2:
            raise RuntimeError(f"mat1 and mat2 shapes cannot be multiplied ({rows}x{k} and "
                               f"{k2}x{n})")
        _mm_checks(_matrix(a), _matrix(b))   # one matrix of each (metadata only)
    elif k != k2:
        size = 1
        for s in batch:
            size *= s
        raise RuntimeError(f"Expected size for first two dimensions of batch2 tensor to be: "
                           f"[{size}, {k}] but got: [{size}, {k2}].")
    if a.dtype is not b.dtype:
        raise RuntimeError(f"expected scalar type {dt.torch_name(a.dtype)} but found "
                           f"{dt.torch_name(b.dtype)}")
    _no_bool(a.dtype, "bmm")
    shape = batch + (m, n)
    if input.dim() == 1:
        shape = batch + (n,)
    elif other.dim() == 1:
        shape = batch + (m,)
    res = _output(out, shape, a.dtype, a.device)
    _batched(a.expand(*batch, m, k), b.expand(*batch, k, n), res.view(*batch, m, n)
             if res._numel else res.reshape(*batch, m, n))
    return res


def addmm(input, mat1, mat2, *, beta=1, alpha=1, out=None, _inplace=False):
    """beta * input + alpha * (mat1 @ mat2), input broadcast to the product (torch.addmm).

    With beta == 0 the input is not read (NaN and inf in it are ignored), as in PyTorch.
    """
    _tensor(input, "addmm", "input", 1)
    for t, name in ((mat1, "mat1"), (mat2, "mat2")):
        _tensor(t, "addmm", name, 2)
        if t.dim() != 2:
            raise RuntimeError(f"{name} must be a matrix, got {t.dim()}-D tensor")
    _same_device(input, mat1, mat2)
    if input.dtype is not mat2.dtype:
        raise RuntimeError(f"self and mat2 must have the same dtype, but got "
                           f"{dt.torch_name(input.dtype)} and {dt.torch_name(mat2.dtype)}")
    _mm_checks(mat1, mat2, "addmm", "mat1")
    shape = (mat1._shape[0], mat2._shape[1])
    if _inplace:
        res = _in_place(input, shape)
    else:
        c = input.expand(shape)
        res = _output(out, shape, input.dtype, input.device)
        if out is None:                # the per-call path (nn.Linear): no aliasing
            _gemm(_Operand(mat1), _Operand(mat2), _Operand(res), alpha, beta, _Operand(c))
            return res
        input = c
    _batched(mat1.unsqueeze(0), mat2.unsqueeze(0), res.unsqueeze(0), alpha, beta,
             input.unsqueeze(0))
    return res


def baddbmm(input, batch1, batch2, *, beta=1, alpha=1, out=None, _inplace=False):
    """beta * input + alpha * (batch1 @ batch2) over a batch (torch.baddbmm)."""
    _tensor(input, "baddbmm", "input", 1)
    _bmm_checks(batch1, batch2, "baddbmm")
    _same_device(input, batch1)
    if input.dtype is not batch1.dtype:
        raise RuntimeError(f"Input dtypes must be the same, got: input {_CNAME[input.dtype.name]}"
                           f", batch1: {_CNAME[batch1.dtype.name]}, batch2: "
                           f"{_CNAME[batch2.dtype.name]}")
    shape = (*batch1._shape[:2], batch2._shape[2])
    if _inplace:
        res = _in_place(input, shape)
    else:
        c = input.expand(shape)
        res = _output(out, shape, input.dtype, input.device)
        input = c
    _batched(batch1, batch2, res, alpha, beta, input)
    return res


def outer(input, vec2, *, out=None):
    """Outer product of two 1-D tensors, with type promotion (torch.outer)."""
    for t, name in ((input, "self"), (vec2, "vec2")):
        _tensor(t, "outer", "input" if name == "self" else name, 1 if name == "self" else 2)
        if t.dim() != 1:
            raise RuntimeError(f"outer: Expected 1-D argument {name}, but got {t.dim()}-D")
    from .ops import OPS
    return run(OPS["mul"], (input.unsqueeze(1), vec2), out)


def _install_methods():
    def addmm_(self, mat1, mat2, *, beta=1, alpha=1):
        return addmm(self, mat1, mat2, beta=beta, alpha=alpha, _inplace=True)

    def baddbmm_(self, batch1, batch2, *, beta=1, alpha=1):
        return baddbmm(self, batch1, batch2, beta=beta, alpha=alpha, _inplace=True)

    def rmatmul(self, other):
        return matmul(other, self) if isinstance(other, Tensor) else NotImplemented

    def matmul_op(self, other):
        return matmul(self, other) if isinstance(other, Tensor) else NotImplemented

    for name, fn in (("mm", mm), ("bmm", bmm), ("matmul", matmul), ("mv", mv), ("dot", dot),
                     ("addmm", addmm), ("baddbmm", baddbmm), ("outer", outer),
                     ("addmm_", addmm_), ("baddbmm_", baddbmm_),
                     ("__matmul__", matmul_op), ("__rmatmul__", rmatmul)):
        setattr(Tensor, name, fn)


def install(namespace: dict) -> None:
    """Define this module's functions in `namespace` and its methods on Tensor."""
    from .einsum import einsum
    for fn in (mm, bmm, matmul, mv, dot, addmm, baddbmm, outer, einsum):
        namespace[fn.__name__] = fn
    _install_methods()
