"""Joining, splitting and rearranging: cat/stack, split/chunk, flip/roll, repeat/tile, tril/triu.

Splits are views. Joins and rearrangements are copies through the elementwise engine: each
input is copied into a narrowed view of the output (cat), or the output is copied from a view
that already has the wanted order (negative strides for flip, zero strides for repeat), so
no op here needs a kernel of its own.
"""
from __future__ import annotations

import functools
import numbers

from . import dtype as dt
from .elementwise import Op, resize_out, run
from .ops import OPS, copy
from .shape import dense_strides, normalize_dim
from .tensor import Tensor

# Generator of the tril mask of an (R, C) matrix: a0 = C, a1 = diagonal; i is the linear index.
_TRIL_MASK = Op("tril_mask", 2, "same", None, "(i % a0) - (i / a0) <= a1")


def _tensor_list(tensors, op: str) -> list:
    if isinstance(tensors, Tensor) or not isinstance(tensors, (list, tuple)):
        raise TypeError(f"{op}(): argument 'tensors' must be a tuple or list of Tensors, "
                        f"not {type(tensors).__name__}")
    if not tensors:
        # PyTorch's own split: cat raises ValueError, stack/hstack/vstack RuntimeError.
        error = ValueError if op == "cat" else RuntimeError
        raise error(f"{op}(): expected a non-empty list of Tensors")
    for i, t in enumerate(tensors):
        if not isinstance(t, Tensor):
            raise TypeError(f"{op}(): expected Tensor as element {i} in argument 0, but got "
                            f"{type(t).__name__}")
    return list(tensors)


def cat(tensors, dim: int = 0, *, out: Tensor | None = None) -> Tensor:
    """Concatenate along `dim` (dtypes promote; 1-D empty tensors are skipped, as PyTorch)."""
    tensors = _tensor_list(tensors, "cat")
    result = tensors[0].dtype
    for t in tensors[1:]:
        result = dt.promote_types(result, t.dtype)
    parts = [(i, t) for i, t in enumerate(tensors) if t._shape != (0,)]
    for i, t in enumerate(tensors):
        if not t._shape:
            raise RuntimeError(f"zero-dimensional tensor (at position {i}) cannot be "
                               "concatenated")
    if not parts:
        return _cat_out(out, (0,), result, tensors[0].device)
    first = parts[0][1]
    d = normalize_dim(dim, len(first._shape))
    total = 0
    for i, t in parts:
        _check_cat_part(first, t, d, i)
        total += t._shape[d]
    shape = first._shape[:d] + (total,) + first._shape[d + 1:]
    if out is not None:
        parts = [(i, _unaliased(t, out)) for i, t in parts]
    target = _cat_out(out, shape, result, first.device)
    start = 0
    for _, t in parts:
        n = t._shape[d]
        if n and t._numel:
            target.narrow(d, start, n).copy_(t)
        start += n
    return target


def _check_cat_part(first: Tensor, t: Tensor, d: int, position: int) -> None:
    if t.device is not first.device:
        raise RuntimeError(f"Expected all tensors to be on the same device, but found at least "
                           f"two devices, {first.device} and {t.device}!")
    if len(t._shape) != len(first._shape):
        raise RuntimeError(f"Tensors must have same number of dimensions: got "
                           f"{len(first._shape)} and {len(t._shape)}")
    for i, (a, b) in enumerate(zip(first._shape, t._shape)):
        if i != d and a != b:
            raise RuntimeError(f"Sizes of tensors must match except in dimension {d}. Expected "
                               f"size {a} but got size {b} for tensor number {position} in "
                               "the list.")


_OVERLAP = ("unsupported operation: some elements of the input tensor and the written-to tensor "
            "refer to a single memory location. Please clone() the tensor before performing the "
            "operation.")


def _unaliased(t: Tensor, out: Tensor) -> Tensor:
    """`t`, checked against the out= tensor it is copied into: PyTorch raises where it can tell
    that they overlap (both dense); other layouts that may overlap are copied first."""
    if t._storage is not out._storage or not (t._numel and out._numel):
        return t
    if t is out:
        raise RuntimeError(_OVERLAP)
    (a, b), (c, e) = _extent(t), _extent(out)
    if b <= c or e <= a:
        return t
    if all(dense_strides(x._shape, x._stride) is not None for x in (t, out)):
        raise RuntimeError(_OVERLAP)
    return t.clone()


def _extent(t: Tensor) -> tuple:
    """[first, last + 1) storage elements of a non-empty tensor (strides are non-negative)."""
    return t._offset, t._offset + 1 + sum((n - 1) * st for n, st in zip(t._shape, t._stride))


def _cat_out(out, shape, result, device) -> Tensor:
    if out is None:
        return Tensor._empty(tuple(shape), result, device)
    if not dt.can_cast(result, out.dtype):
        raise RuntimeError(f"cat: result type {result.name} can't be cast to the desired "
                           f"output type {out.dtype.name}")
    if out._shape != tuple(shape):
        _resize(out, shape)
    return out


def _resize(out: Tensor, shape) -> None:
    resize_out(out, shape, stacklevel=5)


def stack(tensors, dim: int = 0, *, out: Tensor | None = None) -> Tensor:
    """Join same-shaped tensors along a new dimension `dim`."""
    tensors = _tensor_list(tensors, "stack")
    shape = tensors[0]._shape
    for i, t in enumerate(tensors):
        if t._shape != shape:
            raise RuntimeError(f"stack expects each tensor to be equal size, but got "
                               f"{list(shape)} at entry 0 and {list(t._shape)} at entry {i}")
    d = normalize_dim(dim, len(shape) + 1)
    return cat([t.unsqueeze(d) for t in tensors], d, out=out)


def hstack(tensors, *, out: Tensor | None = None) -> Tensor:
    """Concatenate column-wise (along dim 0 for 1-D inputs, else dim 1)."""
    tensors = [t.reshape(1) if not t._shape else t for t in _tensor_list(tensors, "hstack")]
    return cat(tensors, 0 if len(tensors[0]._shape) == 1 else 1, out=out)


def vstack(tensors, *, out: Tensor | None = None) -> Tensor:
    """Concatenate row-wise after making every input at least 2-D."""
    tensors = _tensor_list(tensors, "vstack")
    return cat([t.reshape(1, -1) if len(t._shape) < 2 else t for t in tensors], 0, out=out)


def split(tensor: Tensor, split_size_or_sections, dim: int = 0) -> tuple:
    """Views of `tensor` of `split_size` along `dim` (the last smaller), or of given sizes."""
    d = normalize_dim(dim, len(tensor._shape))
    if not tensor._shape:
        raise RuntimeError("split expects at least a 1-dimensional tensor")
    size = tensor._shape[d]
    if isinstance(split_size_or_sections, numbers.Integral):
        step = int(split_size_or_sections)
        if step < 0:
            raise RuntimeError(f"split expects split_size be non-negative, but got "
                               f"split_size={step}")
        if step == 0 and size:
            raise RuntimeError(f"split_size can only be 0 if dimension size is 0, but got "
                               f"dimension size of {size}")
        count = max(-(-size // step), 1) if step else 1      # an empty dim: one empty piece
        return _pieces(tensor, d, [min(step, size - k * step) for k in range(count)])
    sizes = [int(n) for n in split_size_or_sections]
    if sum(sizes) != size or any(n < 0 for n in sizes):
        raise RuntimeError(f"split_with_sizes expects split_sizes to sum exactly to {size} "
                           f"(input tensor's size at dimension {d}), but got "
                           f"split_sizes={sizes}")
    return _pieces(tensor, d, sizes)


def _pieces(tensor: Tensor, d: int, sizes) -> tuple:
    out, start = [], 0
    for n in sizes:
        out.append(tensor.narrow(d, start, n))
        start += n
    return tuple(out)


def chunk(input: Tensor, chunks: int, dim: int = 0) -> tuple:
    """At most `chunks` views of equal size (the last smaller) along `dim`."""
    if chunks <= 0:
        raise RuntimeError(f"chunk expects `chunks` to be greater than 0, got: {chunks}")
    if not input._shape:
        raise RuntimeError("chunk expects at least a 1-dimensional tensor")
    size = input._shape[normalize_dim(dim, len(input._shape))]
    if size == 0:
        return tuple(input for _ in range(chunks))
    return split(input, -(-size // chunks), dim)


def tensor_split(input: Tensor, indices_or_sections, dim: int = 0) -> tuple:
    """Views split into `sections` nearly equal parts, or at the given indices along `dim`."""
    if not input._shape:
        raise RuntimeError("tensor_split expected at least a 1-dimensional tensor, but got a "
                           "tensor with 0 dims")
    d = normalize_dim(dim, len(input._shape))
    size = input._shape[d]
    if isinstance(indices_or_sections, Tensor):
        indices_or_sections = indices_or_sections.tolist()
    if isinstance(indices_or_sections, numbers.Integral):
        sections = int(indices_or_sections)
        if sections <= 0:
            raise RuntimeError(f"number of sections must be larger than 0, got {sections}")
        small, extra = divmod(size, sections)
        return _pieces(input, d, [small + (i < extra) for i in range(sections)])
    bounds = [min(max(int(i) + size if i < 0 else int(i), 0), size)
              for i in indices_or_sections]
    starts = [0] + bounds
    ends = bounds + [size]
    return tuple(input.narrow(d, s, max(e - s, 0)) for s, e in zip(starts, ends))


def flip(input: Tensor, dims) -> Tensor:
    """A copy with the order of elements reversed along `dims`."""
    dims = [dims] if isinstance(dims, numbers.Integral) else list(dims)
    nd = len(input._shape)
    ds = [normalize_dim(d, nd) for d in dims]
    repeated = next((d for i, d in enumerate(ds) if d in ds[:i]), None)
    if repeated is not None:
        raise RuntimeError(f"dim {repeated} appears multiple times in the list of dims")
    stride, offset = list(input._stride), input._offset
    for d in ds:
        if d < nd and input._shape[d] > 1:      # a 0-d tensor takes dim 0 (or -1): no-op
            offset += (input._shape[d] - 1) * stride[d]
            stride[d] = -stride[d]
    # A negative-stride view exists only as the source of this copy, never for the user.
    return run(copy, (input._view(input._shape, stride, offset),))


def fliplr(input: Tensor) -> Tensor:
    """Flip the columns (dim 1) of a tensor of at least 2 dims."""
    if len(input._shape) < 2:
        raise RuntimeError("Input must be >= 2-d.")
    return flip(input, [1])


def flipud(input: Tensor) -> Tensor:
    """Flip the rows (dim 0) of a tensor of at least 1 dim."""
    if not input._shape:
        raise RuntimeError("Input must be >= 1-d.")
    return flip(input, [0])


def roll(input: Tensor, shifts, dims=None) -> Tensor:
    """Rotate elements by `shifts` along `dims` (no dims: the flattened tensor)."""
    shifts = [shifts] if isinstance(shifts, numbers.Integral) else list(shifts)
    if dims is None:
        if len(shifts) != 1:
            raise RuntimeError(f"roll: shifts and dimensions must align. shifts: "
                               f"{len(shifts)}, dims: 0")
        return roll(input.reshape(-1), shifts, 0).view(input._shape)
    dims = [dims] if isinstance(dims, numbers.Integral) else list(dims)
    if len(shifts) != len(dims):
        raise RuntimeError(f"roll: shifts and dimensions must align. shifts: {len(shifts)}, "
                           f"dims: {len(dims)}")
    result = input
    for shift, dim in zip(shifts, dims):
        result = _roll_one(result, int(shift), normalize_dim(dim, len(input._shape)))
    return result if result is not input else run(copy, (input,))


def _roll_one(x: Tensor, shift: int, d: int) -> Tensor:
    n = x._shape[d]
    shift = shift % n if n else 0
    if not shift:
        return x
    out = Tensor._empty(x._shape, x.dtype, x.device)
    out.narrow(d, shift, n - shift).copy_(x.narrow(d, 0, n - shift))
    out.narrow(d, 0, shift).copy_(x.narrow(d, n - shift, shift))
    return out


def repeat(input: Tensor, *sizes) -> Tensor:
    """A copy repeated `sizes[i]` times along each dim (leading new dims allowed)."""
    sizes = tuple(sizes[0]) if len(sizes) == 1 and isinstance(sizes[0], (tuple, list)) \
        else sizes
    nd = len(input._shape)
    if len(sizes) < nd:
        raise RuntimeError("Number of dimensions of repeat dims can not be smaller than "
                           "number of dimensions of tensor")
    if any(r < 0 for r in sizes):
        raise RuntimeError(f"Trying to create tensor with negative dimension: {list(sizes)}")
    shape = (1,) * (len(sizes) - nd) + tuple(input._shape)
    stride = (0,) * (len(sizes) - nd) + tuple(input._stride)
    # View as (r0, s0, r1, s1, ...) with zero strides on the repeats; copy; merge pairs.
    pairs_shape = [v for r, s in zip(sizes, shape) for v in (r, s)]
    pairs_stride = [v for st in stride for v in (0, st)]
    source = input._view(pairs_shape, pairs_stride)
    out = run(copy, (source,))
    return out.view([r * s for r, s in zip(sizes, shape)])


def tile(input: Tensor, dims) -> Tensor:
    """repeat() with `dims` padded with leading ones to the tensor's number of dims."""
    dims = (dims,) if isinstance(dims, numbers.Integral) else tuple(dims)
    return repeat(input, (1,) * (len(input._shape) - len(dims)) + dims)


def _triangle(input: Tensor, diagonal: int, lower: bool, out) -> Tensor:
    if len(input._shape) < 2:
        raise RuntimeError(f"{'tril' if lower else 'triu'}: input tensor must have at least 2 "
                           "dimensions")
    rows, cols = input._shape[-2:]
    mask = Tensor._empty((rows, cols), dt.bool_, input.device)
    if mask._numel:
        # tril keeps col - row <= diagonal; triu keeps col - row >= diagonal, i.e. not
        # (col - row <= diagonal - 1).
        run(_TRIL_MASK, (cols, diagonal if lower else diagonal - 1), out=mask,
            result_dtype=dt.bool_, compute=dt.int64)
    zero = False if input.dtype is dt.bool_ else 0
    if lower:
        return run(OPS["where"], (mask, input, zero), out=out)
    return run(OPS["where"], (mask, zero, input), out=out)


def tril(input: Tensor, diagonal: int = 0, *, out: Tensor | None = None) -> Tensor:
    """The lower triangle of the last two dims (col - row <= diagonal); the rest zeroed."""
    return _triangle(input, diagonal, True, out)


def triu(input: Tensor, diagonal: int = 0, *, out: Tensor | None = None) -> Tensor:
    """The upper triangle of the last two dims (col - row >= diagonal); the rest zeroed."""
    return _triangle(input, diagonal, False, out)


FUNCTIONS = {"cat": cat, "concat": cat, "concatenate": cat, "stack": stack, "hstack": hstack,
             "vstack": vstack, "split": split, "chunk": chunk, "tensor_split": tensor_split,
             "flip": flip, "fliplr": fliplr, "flipud": flipud, "roll": roll, "tile": tile,
             "tril": tril, "triu": triu}
METHODS = ("split", "chunk", "tensor_split", "fliplr", "flipud", "roll", "tril", "triu")


def _dims_method(function):
    """The Tensor method of `function(input, dims)`, which also takes dims as varargs (the
    method x.flip(0, 1), like x.flip((0, 1)), as PyTorch's methods do)."""
    @functools.wraps(function)
    def method(self, *dims, **kwargs):
        return function(self, *(dims if len(dims) < 2 else (dims,)), **kwargs)
    return method


def install(namespace: dict) -> None:
    """Define this module's functions in `namespace` and its methods on Tensor."""
    namespace.update(FUNCTIONS)
    for name in METHODS:
        setattr(Tensor, name, FUNCTIONS[name])
    Tensor.repeat = repeat
    Tensor.flip, Tensor.tile = _dims_method(flip), _dims_method(tile)
    Tensor.tril_ = lambda self, diagonal=0: tril(self, diagonal, out=self)
    Tensor.triu_ = lambda self, diagonal=0: triu(self, diagonal, out=self)
