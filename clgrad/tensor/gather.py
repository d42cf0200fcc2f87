"""Dim-wise selection and scatter: index_select, gather, scatter(_add), take, index_copy_/
index_add_/index_fill_, masked_fill/masked_select and argwhere.

Each is an index plan for indexing.py's one index kernel (read, write or accumulate), with
the index checked on the device before anything is written.
"""
from __future__ import annotations

from . import dtype as dt
from .elementwise import run
from .indexing import (
    _ATOMIC,
    _INDEX_DTYPES,
    Entry,
    _put,
    _read,
    _value_for,
    _widened,
    check_bounds,
    launch,
    nonzero,
)
from .ops import OPS
from .shape import broadcast_shapes, normalize_dim
from .tensor import Tensor


def _dim_index(input: Tensor, dim, index, op: str) -> tuple:
    """(dim, 1-D index) for the *_select/_copy/_add/_fill family (0-d input as 1-D)."""
    d = normalize_dim(dim, len(input._shape))
    index = _index_arg(index, op, input)
    if len(index._shape) > 1:
        raise IndexError(f"{op}(): Index is supposed to be a vector")
    return d, index.reshape(-1)


def _index_arg(index, op: str, target: Tensor) -> Tensor:
    if not isinstance(index, Tensor):
        raise TypeError(f"{op}(): argument 'index' must be Tensor, not {type(index).__name__}")
    if index.dtype not in _INDEX_DTYPES:
        raise RuntimeError(f"{op}(): Expected dtype int32/int64 for index, got "
                           f"{index.dtype.name}")
    _same_device(op, target, index)
    return index


def _same_device(op: str, target: Tensor, other: Tensor) -> None:
    """Index and mask tensors are not moved: one on another device is an error, as PyTorch."""
    if other.device is not target.device:
        raise RuntimeError(f"{op}(): expected all tensors to be on the same device, but found "
                           f"at least two devices, {target.device} and {other.device}!")


def index_select(input: Tensor, dim: int, index: Tensor, *, out: Tensor | None = None):
    """The entries of `input` at `index` (a vector) along `dim`."""
    d, index = _dim_index(input, dim, index, "index_select")
    x = input if input._shape else input.view(1)
    result = _read(x, (slice(None),) * d + (index,), wrap=False)
    if not input._shape:
        result = result.view(())
    return _into(result, out)


def _into(result: Tensor, out):
    if out is None:
        return result
    if out._shape != result._shape:
        from .joins import _resize
        _resize(out, result._shape)
    return out.copy_(result)


def _dim_put(self, dim, index, value, accumulate, op, wrap=False) -> Tensor:
    d, index = _dim_index(self, dim, index, op)
    x = self if self._shape else self.view(1)
    if isinstance(value, Tensor) and not value._shape and x is not self:
        value = value.view(1)
    _put(x, (slice(None),) * d + (index,), value, accumulate, wrap)
    return self


def index_copy_(self: Tensor, dim: int, index: Tensor, source: Tensor) -> Tensor:
    """Copy the slices of `source` into `self` at `index` along `dim`."""
    _check_copy_source(self, dim, index, source)
    return _dim_put(self, dim, index, source, False, "index_copy_")


def index_add_(self: Tensor, dim: int, index: Tensor, source: Tensor, *, alpha=1) -> Tensor:
    """Add the slices of `alpha * source` into `self` at `index` along `dim`."""
    _check_add_source(self, dim, index, source)
    return _dim_put(self, dim, index, source if alpha == 1 else source * alpha, True,
                    "index_add_")


def _source_dim(self: Tensor, dim, index, source, op: str) -> int:
    """The dim of index_copy_/index_add_ (normalized), with `index` and `source` type-checked."""
    for position, (name, arg) in enumerate((("index", index), ("source", source)), 2):
        if not isinstance(arg, Tensor):
            raise TypeError(f"{op}(): argument '{name}' (position {position}) must be Tensor, "
                            f"not {type(arg).__name__}")
    return normalize_dim(dim, len(self._shape))


def _without(shape: tuple, d: int) -> tuple:
    return shape[:d] + shape[d + 1:]


def _check_copy_source(self: Tensor, dim, index, source) -> None:
    """index_copy_'s checks of index and source against self, in PyTorch's order and words."""
    op = "index_copy_"
    d = _source_dim(self, dim, index, source, op)
    n = index._numel
    if len(index._shape) > 1:
        raise IndexError(f"{op}(): Index should have dimension 1 or 0 (got "
                         f"{len(index._shape)})")
    if not source._shape and n != 1:
        raise IndexError(f"{op}(): When source is scalar, index should have one element "
                         f"(got {n})")
    if source._shape and self._shape and len(source._shape) != len(self._shape):
        raise IndexError(f"{op}(): When source and destination are not scalars, their "
                         f"dimensionality must match. Source dimensionality "
                         f"({len(source._shape)}), destination dimensionality "
                         f"({len(self._shape)})")
    if index.dtype is not dt.int64:
        raise RuntimeError(f"{op}(): Expected a long tensor for index, but got "
                           f"{dt.torch_name(index.dtype)}")
    if source.dtype is not self.dtype:
        raise RuntimeError(f"{op}(): self and source expected to have the same dtype, but got "
                           f"(self) {dt.torch_name(self.dtype)} and (source) "
                           f"{dt.torch_name(source.dtype)}")
    mine, theirs = (_without(t._shape, d) for t in (self, source))
    if mine != theirs:
        raise RuntimeError(f"{op}(): Source/destination tensor must have same slice shapes. "
                           f"Destination slice shape: {' '.join(map(str, mine))} at dimension "
                           f"{d} and source slice shape: {' '.join(map(str, theirs))} at "
                           "dimension 0.")
    count = source._shape[d] if source._shape else 1
    if index._shape and n != count:
        raise IndexError(f"{op}(): Number of indices ({n}) should be equal to source.size(dim) "
                         f"({count})")


def _check_add_source(self: Tensor, dim, index, source) -> None:
    """index_add_'s checks of source against self and index, in PyTorch's order and words."""
    op = "index_add_"
    d, index = _dim_index(self, _source_dim(self, dim, index, source, op), index, op)
    if source.dtype is not self.dtype:
        raise RuntimeError(f"{op}(): self ({dt.torch_name(self.dtype)}) and source "
                           f"({dt.torch_name(source.dtype)}) must have the same scalar type")
    nd = len(source._shape)
    if d and d >= nd:
        raise RuntimeError(f"{op}(): Indexing dim {d} is out of bounds of the source tensor "
                           f"with dim {nd}")
    if not nd and index._numel != 1:
        raise IndexError("Dimension specified as 0 but tensor has no dimensions")
    if nd and index._numel != source._shape[d]:
        raise RuntimeError(f"{op}(): Number of indices ({index._numel}) should be equal to "
                           f"source.size(dim): ({source._shape[d]}), for dim: {d}")
    mine, theirs = self._shape, source._shape
    if mine and theirs:
        mine, theirs = _without(mine, d), _without(theirs, d)
    if mine != theirs:
        raise RuntimeError(f"source tensor shape must match self tensor shape, excluding the "
                           f"specified dimension. Got self.shape = {list(self._shape)} "
                           f"source.shape = {list(source._shape)}")


def index_fill_(self: Tensor, dim: int, index: Tensor, value) -> Tensor:
    """Set the slices of `self` at `index` along `dim` to `value`."""
    if isinstance(value, Tensor):
        if value._shape:
            raise RuntimeError(f"index_fill_ only supports a 0-dimensional value tensor, but "
                               f"got tensor with {len(value._shape)} dimension(s).")
        value = value.item()
    if isinstance(index, Tensor) and index.dtype is not dt.int64:
        raise IndexError(f"index_fill_(): Expected dtype int64 for index, got "
                         f"{index.dtype.name}")
    return _dim_put(self, dim, index, value, False, "index_fill_", wrap=True)


def _along_plan(target: Tensor, d: int, index: Tensor, op: str) -> tuple:
    """(shape, target strides, entries) of gather/scatter: index.shape picks along `d`."""
    if len(index._shape) != len(target._shape):
        raise RuntimeError(f"{op}(): Index tensor must have the same number of dimensions as "
                           f"{'input' if op == 'gather' else 'self'} tensor")
    for e, (a, b) in enumerate(zip(index._shape, target._shape)):
        if e != d and a > b:
            raise RuntimeError(f"{op}(): Size does not match at dimension {e} expected index "
                               f"{list(index._shape)} to be no larger than self "
                               f"{list(target._shape)} apart from dimension {d}")
    dst = tuple(0 if e == d else st for e, st in enumerate(target._stride))
    entry = Entry(index, index._stride, target._shape[d], target._stride[d], d, wrap=False)
    return index._shape, dst, [entry]


def _rows(t: Tensor) -> Tensor:
    return t if t._shape else t.view(1)


def gather(input: Tensor, dim: int, index: Tensor, *, sparse_grad: bool = False,
           out: Tensor | None = None) -> Tensor:
    """out[i][j][k] = input[i][index[i][j][k]][k] (for dim 1), of index's shape."""
    index = _index_arg(index, "gather", input)
    d = normalize_dim(dim, len(input._shape))
    x, ix = _rows(input), _rows(index)
    shape, dst, entries = _along_plan(x, d, ix, "gather")
    check_bounds(entries)
    result = Tensor._empty(shape, input.dtype, input.device)
    launch(x, shape, dst, entries, "read", result, result._stride)
    return _into(result.view(index._shape), out)


def scatter_(self: Tensor, dim: int, index: Tensor, src=None, *, value=None,
             reduce=None) -> Tensor:
    """self[i][index[i][j][k]][k] = src[i][j][k] (for dim 1); `src` may be a number."""
    if reduce is not None:
        raise NotImplementedError("scatter_ with reduce= is not implemented; use scatter_add_ "
                                  "or scatter_reduce")
    return _scatter(self, dim, index, value if src is None else src, False, "scatter_")


def scatter_add_(self: Tensor, dim: int, index: Tensor, src: Tensor) -> Tensor:
    """self[i][index[i][j][k]][k] += src[i][j][k] (for dim 1); duplicates all add."""
    return _scatter(self, dim, index, src, True, "scatter_add_")


def _scatter(self: Tensor, dim, index, src, accumulate: bool, op: str) -> Tensor:
    index = _index_arg(index, op, self)
    if isinstance(src, Tensor) and src.dtype is not self.dtype:
        raise RuntimeError("scatter(): Expected self.dtype to be equal to src.dtype")
    if accumulate and self.dtype not in _ATOMIC:
        return _widened(self, src, lambda wide, v: _scatter(wide, dim, index, v, True, op))
    if index._storage is self._storage:
        index = index.clone()           # the launch writes self while it reads the index
    d = normalize_dim(dim, len(self._shape))
    x, ix = _rows(self), _rows(index)
    shape, dst, entries = _along_plan(x, d, ix, op)
    vst = None
    if isinstance(src, Tensor):
        src = _rows(_value_for(self, src))
        if len(src._shape) != len(shape) or any(a > b for a, b in zip(shape, src._shape)):
            raise RuntimeError(f"{op}(): Expected index {list(index._shape)} to be no larger "
                               f"than src {list(src._shape)} in every dimension")
        vst = src._stride
    elif src is None:
        raise TypeError(f"{op}() needs `src` (a tensor) or `value` (a number)")
    check_bounds(entries)
    self._written()
    launch(x, shape, dst, entries, "add" if accumulate else "write", src, vst)
    return self


def scatter(input: Tensor, dim: int, index: Tensor, src=None, *, value=None, reduce=None):
    """Out-of-place scatter_."""
    return scatter_(input.clone(), dim, index, src, value=value, reduce=reduce)


def scatter_add(input: Tensor, dim: int, index: Tensor, src: Tensor) -> Tensor:
    """Out-of-place scatter_add_."""
    return scatter_add_(input.clone(), dim, index, src)


def take(input: Tensor, index: Tensor) -> Tensor:
    """The elements of `input`, read as 1-D in row-major order, at `index` (index's shape)."""
    index = _index_arg(index, "take", input)
    flat = input.reshape(-1)
    entry = Entry(index, index._stride, flat._numel, flat._stride[0], 0)
    check_bounds([entry])
    out = Tensor._empty(index._shape, input.dtype, input.device)
    launch(flat, index._shape, (0,) * len(index._shape), [entry], "read", out, out._stride)
    return out


def _check_masked(op: str, mask, value) -> None:
    if not isinstance(mask, Tensor) or mask.dtype is not dt.bool_:
        got = mask.dtype.name if isinstance(mask, Tensor) else type(mask).__name__
        raise RuntimeError(f"{op} only supports boolean masks, but got mask with dtype {got}")
    if isinstance(value, Tensor) and value._shape:
        raise RuntimeError(f"{op} only supports a 0-dimensional value tensor, but got tensor "
                           f"with {len(value._shape)} dimension(s).")


def masked_fill_(self: Tensor, mask: Tensor, value) -> Tensor:
    """Set the elements of `self` where `mask` (broadcast to self) is True to `value`."""
    _check_masked("masked_fill_", mask, value)
    return run(OPS["where"], (mask, value, self), out=self, unsafe=True)


def masked_fill(input: Tensor, mask: Tensor, value) -> Tensor:
    """A copy of `input` with `value` where `mask` is True (one pass)."""
    _check_masked("masked_fill", mask, value)
    shape = input._shape if mask._shape == input._shape else \
        tuple(broadcast_shapes(input._shape, mask._shape))       # as PyTorch: both broadcast
    out = Tensor._empty(shape, input.dtype, input.device)
    return run(OPS["where"], (mask, value, input), out=out, unsafe=True)


def masked_select(input: Tensor, mask: Tensor, *, out: Tensor | None = None) -> Tensor:
    """The elements of `input` where `mask` is True, as a 1-D tensor (both broadcast)."""
    _check_masked("masked_select", mask, None)
    _same_device("masked_select", input, mask)
    shape = broadcast_shapes(input._shape, mask._shape)
    result = _read(input.expand(shape), (mask.expand(shape),)) if shape else \
        _read(input.view(1), (mask.view(1),))
    return _into(result, out)


def argwhere(input: Tensor) -> Tensor:
    """nonzero(input) as a (count, ndim) tensor."""
    return nonzero(input)


_FUNCTIONS = {f.__name__: f for f in (
    argwhere, index_select, gather, scatter, scatter_add, take, masked_fill, masked_select)}
_METHODS = {f.__name__: f for f in (
    argwhere, index_select, gather, scatter, scatter_add, take, masked_fill, masked_select,
    scatter_, scatter_add_, masked_fill_, index_copy_, index_add_, index_fill_)}


def _out_of_place(inplace):
    def method(self, *args, **kwargs):
        return inplace(self.clone(), *args, **kwargs)
    method.__name__ = inplace.__name__[:-1]
    return method


def install(namespace: dict) -> None:
    """Define the gather/scatter family in `namespace` and as Tensor methods."""
    namespace.update(_FUNCTIONS)
    for name, method in _METHODS.items():
        setattr(Tensor, name, method)
    for inplace in (index_copy_, index_add_, index_fill_):
        out_of_place = _out_of_place(inplace)
        namespace[out_of_place.__name__] = out_of_place
        setattr(Tensor, out_of_place.__name__, out_of_place)
