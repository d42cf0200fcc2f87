"""Basic indexing (ints, slices with steps, None, Ellipsis): views for reading, copies for writing."""
from __future__ import annotations

import numbers

from . import dtype as dt
from .tensor import Tensor

_ADVANCED = ("advanced indexing (with tensors, lists or boolean masks) is not implemented yet; "
             "basic indexing supports ints, slices, None and ...")


def _as_index_tuple(index) -> tuple:
    if not isinstance(index, tuple):
        index = (index,)
    out = []
    for item in index:
        if isinstance(item, Tensor):
            if item._shape or item.dtype.category != dt.INT:
                raise NotImplementedError(_ADVANCED)
            item = item.item()
        elif isinstance(item, (list, bool)) or not (
                item is None or item is Ellipsis or isinstance(item, (slice, numbers.Integral))):
            if isinstance(item, (list, bool)):
                raise NotImplementedError(_ADVANCED)
            raise IndexError(f"only integers, slices (`:`), ellipsis (`...`), None and integer "
                             f"or boolean tensors are valid indices (got {type(item).__name__})")
        out.append(item)
    return tuple(out)


def view_for_index(t: Tensor, index) -> Tensor:
    """The view `t[index]` (no copy)."""
    items = _as_index_tuple(index)
    if sum(1 for i in items if i is Ellipsis) > 1:
        raise IndexError("an index can only have a single ellipsis ('...')")
    used = sum(1 for i in items if i is not None and i is not Ellipsis)
    if used > len(t._shape):
        raise IndexError(f"too many indices for tensor of dimension {len(t._shape)}")
    shape, stride = [], []
    offset = t._offset
    dim = 0
    for item in items:
        if item is Ellipsis:
            for _ in range(len(t._shape) - used):
                shape.append(t._shape[dim])
                stride.append(t._stride[dim])
                dim += 1
        elif item is None:
            shape.append(1)
            stride.append(t._shape[dim] * t._stride[dim] if dim < len(t._shape) else 1)
        elif isinstance(item, slice):
            start, stop, step = _slice_bounds(item, t._shape[dim])
            shape.append(max(0, (stop - start + step - 1) // step))
            stride.append(t._stride[dim] * step)
            offset += start * t._stride[dim]
            dim += 1
        else:
            size = t._shape[dim]
            if not -size <= item < size:
                raise IndexError(f"index {item} is out of bounds for dimension {dim} with "
                                 f"size {size}")
            offset += (item + size if item < 0 else item) * t._stride[dim]
            dim += 1
    shape += t._shape[dim:]
    stride += t._stride[dim:]
    return t._view(shape, stride, offset)


def _slice_bounds(item: slice, size: int) -> tuple:
    step = 1 if item.step is None else int(item.step)
    if step <= 0:
        raise ValueError(f"step must be greater than zero (got {step})")
    start, stop, _ = slice(item.start, item.stop, 1).indices(size)
    return start, max(start, stop), step


def getitem(self: Tensor, index) -> Tensor:
    return view_for_index(self, index)


def setitem(self: Tensor, index, value) -> None:
    """`self[index] = value`: copy (broadcasting) into the view; writes through to self."""
    target = view_for_index(self, index)
    if isinstance(value, Tensor):
        if value._numel and value._shape != target._shape:
            value = _broadcast_value(value, target)
        target.copy_(value)
    elif target._numel:
        target.fill_(value)
    else:
        self._storage.version += 1


def _broadcast_value(value: Tensor, target: Tensor) -> Tensor:
    shape = value._shape
    while len(shape) > len(target._shape) and shape[0] == 1:
        shape = shape[1:]
    try:
        return value.reshape(shape).expand(target._shape)
    except RuntimeError:
        raise RuntimeError(f"shape mismatch: value tensor of shape {list(value._shape)} cannot "
                           f"be broadcast to indexing result of shape "
                           f"{list(target._shape)}") from None


def install(namespace: dict) -> None:
    Tensor.__getitem__ = getitem
    Tensor.__setitem__ = setitem


def nonzero(input: Tensor, *, as_tuple: bool = False):
    """(being written)"""
    raise NotImplementedError("nonzero is not implemented yet")
