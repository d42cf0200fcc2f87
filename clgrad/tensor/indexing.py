"""Indexing: basic indices give views; tensors, lists and masks index through index.cl.

An advanced index is planned as an iteration shape (the result's shape) with, per iteration
dim, a stride into the data (0 along the broadcast index dims) and, per index tensor, strides
into that tensor; the kernel adds index * stride of the indexed dim for each index tensor.
Indexing reads (``x[i]``, index_select, gather, take), writes (``x[i] = v``, index_put_,
scatter_, index_copy_) and accumulates (index_put_(accumulate=True), scatter_add_,
index_add_) all go through that one plan. Indices are bounds-checked on the device before
anything is written: one small flag read per op.
"""
from __future__ import annotations

import numbers
import weakref
from typing import NamedTuple

import numpy as np

from ..runtime import program
from . import dtype as dt
from .elementwise import _SCALAR_NP
from .scan import _IDX_NP, _fp_flags, cumsum, index_type
from .shape import broadcast_shapes, broadcast_strides, collapse
from .tensor import Tensor


def view_for_index(t: Tensor, index) -> Tensor:
    """The view `t[index]` (no copy)."""
    items = index if isinstance(index, tuple) else (index,)
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



# -- parsing an index ------------------------------------------------------------------------
_BASIC = (slice, numbers.Integral, type(None), type(Ellipsis))
_INDEX_DTYPES = (dt.int64, dt.int32)
_BAD_DTYPE = "tensors used as indices must be long, int, byte or bool tensors"


class IndexOutOfBoundsError(IndexError, RuntimeError):
    """An index outside [-size, size): an IndexError (PyTorch raises RuntimeError in gather)."""


def _normalize(t: Tensor, index) -> tuple:
    """(items, advanced): lists/bools become tensors; 0-d int tensors stay ints if all basic."""
    items = list(index) if isinstance(index, tuple) else [index]
    advanced = False
    for k, item in enumerate(items):
        if isinstance(item, (bool, list)):
            item = _as_tensor(item, t.device)
        elif isinstance(item, Tensor):
            if item.dtype is dt.uint8:
                item = item != 0                    # legacy byte masks
            elif item.dtype not in _INDEX_DTYPES + (dt.bool_,):
                raise IndexError(_BAD_DTYPE)
            if item.device is not t.device:
                item = item.to(t.device)
        elif not isinstance(item, _BASIC):
            raise IndexError(f"only integers, slices (`:`), ellipsis (`...`), None and long or "
                             f"byte Variables are valid indices (got {type(item).__name__})")
        items[k] = item
        advanced = advanced or isinstance(item, Tensor) and (item._shape or
                                                             item.dtype is dt.bool_)
    for k, item in enumerate(items):
        if isinstance(item, Tensor) and not advanced:
            items[k] = item.item()              # x[torch.tensor(1)] is x[1]
    return tuple(items), advanced


def _as_tensor(item, device) -> Tensor:
    from .creation import tensor
    try:
        result = tensor(item, device=device)
    except (TypeError, ValueError, RuntimeError):
        raise IndexError(f"could not convert the index {item!r} to an index tensor") from None
    if result.dtype not in _INDEX_DTYPES + (dt.bool_,):
        if result._numel:
            raise IndexError(_BAD_DTYPE)
        result = result.to(dt.int64)             # x[[]] indexes with an empty long tensor
    return result


def _consumed(item) -> int:
    if item is None or item is Ellipsis:
        return 0
    if isinstance(item, Tensor) and item.dtype is dt.bool_:
        return len(item._shape)
    return 1


def _split(t: Tensor, items) -> tuple:
    """The basic view of `t` and [(view dim, index tensor, dim of t or None)] to index it."""
    used = sum(_consumed(i) for i in items)
    if used > len(t._shape):
        raise IndexError(f"too many indices for tensor of dimension {len(t._shape)}")
    basic, adv = [], []
    vd = od = 0
    for item in items:
        if item is Ellipsis:
            basic.append(item)
            vd, od = vd + len(t._shape) - used, od + len(t._shape) - used
        elif item is None or isinstance(item, slice):
            basic.append(item)
            vd, od = vd + 1, od + (item is not None)
        elif not isinstance(item, Tensor):
            basic.append(item)
            od += 1
        elif item.dtype is not dt.bool_:
            basic.append(slice(None))
            adv.append((vd, item, od))
            vd, od = vd + 1, od + 1
        elif not item._shape:                    # 0-d mask: a new dim of size 1 or 0
            basic.append(None)
            adv.append((vd, _zeros_index(int(bool(item.item())), t.device), None))
            vd += 1
        else:
            _check_mask(t, item, od)
            for k, ix in enumerate(nonzero(item, as_tuple=True)):
                basic.append(slice(None))
                adv.append((vd + k, ix, od + k))
            vd, od = vd + len(item._shape), od + len(item._shape)
    return view_for_index(t, tuple(basic)), adv


def _zeros_index(n: int, device) -> Tensor:
    from .creation import zeros
    return zeros(n, dtype=dt.int64, device=device)


def _check_mask(t: Tensor, mask: Tensor, od: int) -> None:
    for k, size in enumerate(mask._shape):
        if od + k >= len(t._shape) or t._shape[od + k] != size:
            raise IndexError(f"The shape of the mask {list(mask._shape)} at index {k} does not "
                             f"match the shape of the indexed tensor {list(t._shape[od:])} at "
                             f"index {k}")


def _plan(view: Tensor, adv, wrap: bool = True) -> tuple:
    """(shape, data strides, entries) of `view` indexed by the advanced entries `adv`;
    `wrap`: negative indices count from the end (else they are out of bounds)."""
    bshape = broadcast_index_shapes([ix for _, ix, _ in adv])
    positions = [vd for vd, _, _ in adv]
    adjacent = positions == list(range(positions[0], positions[0] + len(positions)))
    rest = [d for d in range(len(view._shape)) if d not in positions]
    before = [d for d in rest if adjacent and d < positions[0]]
    after = [d for d in rest if d not in before]
    shape = tuple(view._shape[d] for d in before) + bshape + \
        tuple(view._shape[d] for d in after)
    dst = tuple(view._stride[d] for d in before) + (0,) * len(bshape) + \
        tuple(view._stride[d] for d in after)
    lead, tail = (0,) * len(before), (0,) * len(after)
    entries = [Entry(ix, lead + broadcast_strides(ix._shape, ix._stride, bshape) + tail,
                     view._shape[vd], view._stride[vd], od, wrap) for vd, ix, od in adv]
    return shape, dst, entries


def broadcast_index_shapes(indices) -> tuple:
    try:
        return broadcast_shapes(*[ix._shape for ix in indices])
    except RuntimeError:
        shapes = ", ".join(str(list(ix._shape)) for ix in indices)
        raise IndexError(f"shape mismatch: indexing tensors could not be broadcast together "
                         f"with shapes {shapes}") from None


# -- reading and writing through a plan --------------------------------------------------------
def _read(t: Tensor, items, wrap: bool = True) -> Tensor:
    view, adv = _split(t, items)
    shape, dst, entries = _plan(view, adv, wrap)
    check_bounds(entries)
    out = Tensor._empty(shape, t.dtype, t.device)
    launch(view, shape, dst, entries, "read", out, out._stride)
    return out


def _put(t: Tensor, items, value, accumulate: bool, wrap: bool = True) -> Tensor:
    items = tuple(i.clone() if isinstance(i, Tensor) and i._storage is t._storage else i
                  for i in items)
    if isinstance(value, Tensor) and value.dtype is not t.dtype:
        raise RuntimeError(f"Index put requires the source and destination dtypes match, got "
                           f"{dt.torch_name(t.dtype)} for the destination and "
                           f"{dt.torch_name(value.dtype)} for the source.")
    if accumulate and t.dtype not in _ATOMIC:
        return _widened(t, value, lambda wide, v: _put(wide, items, v, True, wrap))
    view, adv = _split(t, items)
    shape, dst, entries = _plan(view, adv, wrap)
    vst = None
    if isinstance(value, Tensor):
        value = _value_for(t, value)
        vst = _broadcast_value(value, shape)
    check_bounds(entries)
    t._written()
    launch(view, shape, dst, entries, "add" if accumulate else "write", value, vst)
    return t


def _widened(t: Tensor, value, body) -> Tensor:
    """Run an accumulation `body(wide, value)` on a 32-bit copy of `t` and `value` (a tensor
    of t's dtype, or a number): there are no byte/short/half atomics."""
    wide = t.to(dt.float32 if t.dtype.is_floating_point else dt.int32)
    body(wide, value.to(wide.dtype) if isinstance(value, Tensor) else value)
    return t.copy_(wide)


def _value_for(t: Tensor, value: Tensor) -> Tensor:
    """`value` (of t's dtype) on t's device, copied if it shares memory with what is written."""
    if value.device is not t.device:
        value = value.to(t.device)
    return value.clone() if value._storage is t._storage else value


def _broadcast_value(value: Tensor, shape) -> tuple:
    """Strides that read `value` (broadcast, PyTorch's setitem rule) over `shape`."""
    vshape, vstride = value._shape, value._stride
    while len(vshape) > len(shape) and vshape[0] == 1:
        vshape, vstride = vshape[1:], vstride[1:]
    try:
        if broadcast_shapes(vshape, shape) != tuple(shape):
            raise RuntimeError
    except RuntimeError:
        raise RuntimeError(f"shape mismatch: value tensor of shape {list(value._shape)} cannot "
                           f"be broadcast to indexing result of shape {list(shape)}") from None
    return broadcast_strides(vshape, vstride, shape)


# -- kernels ----------------------------------------------------------------------------------
class Entry(NamedTuple):
    """One index tensor of a plan: its strides over the iteration shape and the dim it picks."""
    index: Tensor
    strides: tuple      # over the iteration shape (0 where the index does not vary)
    bound: int          # size of the indexed dim
    step: int           # stride of the indexed dim in the data
    dim: int | None     # that dim in the user's tensor, for error messages
    wrap: bool = True   # negative indices count from the end (else they are out of bounds)


_ATOMIC = {dt.int32: "int", dt.int64: "long", dt.float32: "float", dt.float64: "double"}
_flags: dict = {}       # device -> a one-int flag buffer, zero unless a check just failed


# Index storages clgrad computed and knows to hold only values in [0, bound): storage ->
# (bound, version). Indexing with them skips the bounds check and its wait for the device.
_VALID: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def mark_valid(index: Tensor, bound: int) -> None:
    """Record that every element of `index`'s storage lies in [0, bound) (until written)."""
    st = index._storage
    _VALID[st] = (bound, st.version + st.untracked)


def _known_valid(e: Entry) -> bool:
    storage = e.index._storage
    known = _VALID.get(storage)
    return (known is not None and known[0] <= e.bound
            and known[1] == storage.version + storage.untracked
            and not storage.shared)             # NumPy may have written a shared one


def check_bounds(entries) -> None:
    """Raise IndexOutOfBoundsError naming the first index outside its dim (one flag read)."""
    entries = [e for e in entries if e.dim is not None and e.index._numel
               and not _known_valid(e)]
    if entries and not _in_bounds(entries):
        _raise_out_of_bounds(entries)


def in_bounds(index: Tensor, bound: int) -> bool:
    """Whether every element of `index` lies in [0, bound) (one check kernel, one flag
    read); if so `index` is marked valid for later indexing."""
    entry = Entry(index, (), bound, 0, 0, False)
    if index._numel and not _known_valid(entry) and not _in_bounds([entry]):
        return False
    if index._storage.nbytes == index._numel * index.dtype.itemsize:
        mark_valid(index, bound)
    return True


def device_flag(device) -> Tensor:
    """The device's one-int check flag (kernels OR 1 into it when a check fails)."""
    flag = _flags.get(device)
    if flag is None:
        flag = _flags[device] = Tensor._from_host(np.zeros(1, np.int32), device)
    return flag


def flag_raised(flag: Tensor) -> bool:
    """Whether a check kernel set `flag` (waits for the device), leaving it clear."""
    if flag.item():
        flag.fill_(0)
        return True
    return False


def _in_bounds(entries) -> bool:
    device = entries[0].index.device
    flag = device_flag(device)
    for e in entries:
        ix = e.index
        cshape, (ist,) = collapse(ix._shape, [ix._stride])
        key = ("index_check", ix.dtype, len(cshape), index_type(ix))
        kernel = device.kernels.get(key) or _compile_check(device, key)
        args = [ix._storage.buffer, ix._offset]
        for size, st in zip(cshape, ist):
            args += [size, st]
        program.launch(device, kernel, ix._numel, *args, -e.bound if e.wrap else 0, e.bound,
                       flag._storage.buffer, ix._numel)
    return not flag_raised(flag)


def _raise_out_of_bounds(entries):
    for e in entries:
        values = e.index._host_array().reshape(-1)
        bad = values[(values < (-e.bound if e.wrap else 0)) | (values >= e.bound)]
        if bad.size:
            raise IndexOutOfBoundsError(f"index {int(bad[0])} is out of bounds for dimension "
                                        f"{e.dim} with size {e.bound}")
    raise AssertionError("the device flagged an index that the host finds in bounds")


def _compile_check(device, key):
    _, itype, ndim, idx = key
    i = _IDX_NP[idx]
    scalars = [None, i] + [i, i] * ndim + [np.int64, np.int64, None, i]
    return _compile(device, key, f"index_check_{itype.name}_nd{ndim}_{idx}", scalars,
                    kind="check", itypes=[itype.ctype], ndim=ndim, idx=idx)


def _compile(device, key, name, scalars, **params):
    """Build an index.cl kernel; parameters another kind does not use default to None."""
    for param in ("data_type", "mode", "value", "atomic", "itypes"):
        params.setdefault(param, None)
    params.setdefault("fp64", False)
    params.setdefault("fp16", False)
    return program.compile_kernel(device, key, "index.cl", name, scalars, **params)


def launch(data: Tensor, shape, dst, entries, mode: str, value, vst) -> None:
    """Over `shape`: read data at the planned positions into `value` (mode "read"), or
    write / add (modes "write", "add") `value` there: a tensor read with strides `vst`, or a
    number."""
    n = 1
    for size in shape:
        n *= size
    if not n:
        return
    scalar = not isinstance(value, Tensor)
    lists = [vst if not scalar else (0,) * len(shape), dst] + [e.strides for e in entries]
    cshape, cstrides = collapse(shape, lists)
    tensors = [data] + [e.index for e in entries] + ([] if scalar else [value])
    device = data.device
    key = ("index", mode, data.dtype, scalar, tuple(e.index.dtype for e in entries),
           len(cshape), index_type(*tensors))
    kernel = device.kernels.get(key) or _compile_index(device, key)
    args = [data._storage.buffer, data._offset]
    args += [_scalar(value, data.dtype)] if scalar else [value._storage.buffer, value._offset]
    for e in entries:
        args += [e.index._storage.buffer, e.index._offset, e.bound, e.step]
    for d, size in enumerate(cshape):
        args += [size] + [st[d] for st in cstrides]
    program.launch(device, kernel, n, *args, n)
    if any(t._storage.shared for t in tensors):
        device.queue.finish()


def _scalar(value, d: dt.dtype):
    if d is dt.bool_:
        return 1 if value else 0
    if d.category == dt.INT:
        return dt.wrap_int(int(value), d)
    return dt.to_float(float(value), d)


def _compile_index(device, key):
    _, mode, dtype, scalar, itypes, ndim, idx = key
    i = _IDX_NP[idx]
    scalars = [None, i] + ([_SCALAR_NP[dtype.ctype]] if scalar else [None, i])
    scalars += [None, i, i, i] * len(itypes) + [i] * (ndim * (3 + len(itypes))) + [i]
    tag = "_".join(t.name for t in itypes)
    name = (f"index_{mode}_{dtype.name}_{'s' if scalar else 'buf'}_{tag}_nd{ndim}_{idx}")
    return _compile(
        device, key, name, scalars, kind="index", data_type=dtype.ctype,
        mode=mode, value="scalar" if scalar else "buf", atomic=_ATOMIC.get(dtype),
        itypes=[t.ctype for t in itypes], ndim=ndim, idx=idx, **_fp_flags(dtype))


def nonzero(input: Tensor, *, as_tuple: bool = False, out: Tensor | None = None):
    """Coordinates of the non-zero elements: a (count, ndim) int64 tensor, or one 1-D tensor
    per dim with `as_tuple` (row-major order)."""
    shape = input._shape or (1,)
    flags = input != 0
    if not flags._contig:
        flags = flags.contiguous()
    count = 0
    positions = None
    if flags._numel:
        positions = cumsum(flags.view(-1), 0)
        count = int(positions[-1].item())
    ndim = len(shape)
    coords = Tensor._empty((ndim, count) if as_tuple else (count, len(input._shape)),
                           dt.int64, input.device)
    if count and input._shape:
        _compact(flags, positions, coords, shape, as_tuple)
    elif count:
        coords.fill_(0)
    if as_tuple:
        return tuple(coords[k] for k in range(ndim))
    if out is not None:
        from .joins import _resize
        if out._shape != coords._shape:
            _resize(out, coords._shape)
        return out.copy_(coords)
    return coords


def _compact(flags: Tensor, positions: Tensor, coords: Tensor, shape, as_tuple: bool) -> None:
    device = flags.device
    ndim, n = len(shape), flags._numel
    idx = index_type(flags, positions, coords)
    key = ("index_nonzero", ndim, idx)
    kernel = device.kernels.get(key)
    if kernel is None:
        i = _IDX_NP[idx]
        kernel = _compile(device, key, f"index_nonzero_nd{ndim}_{idx}",
                          [None, None, None, i, i] + [i] * ndim + [i], kind="nonzero",
                          ndim=ndim, idx=idx)
    count = coords._shape[-1] if as_tuple else coords._shape[0]
    pst, kst = (1, count) if as_tuple else (ndim, 1)
    program.launch(device, kernel, n, flags._storage.buffer, positions._storage.buffer,
                   coords._storage.buffer, pst, kst, *shape, n)


# -- the public ops ---------------------------------------------------------------------------
def getitem(self: Tensor, index) -> Tensor:
    """`self[index]`: a view for basic indices, a copy for advanced ones."""
    items, advanced = _normalize(self, index)
    if not advanced:
        return view_for_index(self, items)
    return _read(self, items)


def setitem(self: Tensor, index, value) -> None:
    """`self[index] = value` (a number or a tensor broadcast to the indexed shape)."""
    items, advanced = _normalize(self, index)
    if advanced:
        mask = items[0] if len(items) == 1 else None
        if (mask is not None and mask.dtype is dt.bool_ and mask._shape and
                (not isinstance(value, Tensor) or not value._shape)):
            _check_mask(self, mask, 0)       # x[mask] = scalar: one masked fill, no compaction
            mask = mask.view(mask._shape + (1,) * (len(self._shape) - len(mask._shape)))
            from .gather import masked_fill_
            masked_fill_(self, mask, value)
            return
        _put(self, items, value, False)
        return
    target = view_for_index(self, items)
    if isinstance(value, Tensor):
        vst = _broadcast_value(value, target._shape)
        target.copy_(value._view(target._shape, vst) if value._numel else value)
    elif target._numel:
        target.fill_(value)
    else:
        self._written()


def index_put_(self: Tensor, indices, values, accumulate: bool = False) -> Tensor:
    """`self[indices] = values`, or `+=` with duplicates summed when `accumulate`."""
    if not isinstance(indices, (tuple, list)):
        raise TypeError("index_put_(): argument 'indices' must be a tuple of Tensors")
    items, _ = _normalize(self, tuple(indices))
    return _put(self, items, values, accumulate)


def index_put(self: Tensor, indices, values, accumulate: bool = False) -> Tensor:
    """Out-of-place index_put_."""
    return index_put_(self.clone(), indices, values, accumulate)


def install(namespace: dict) -> None:
    """Define nonzero/index_put in `namespace` and the methods (and []) on Tensor."""
    Tensor.__getitem__ = getitem
    Tensor.__setitem__ = setitem
    for function in (nonzero, index_put):
        namespace[function.__name__] = function
        setattr(Tensor, function.__name__, function)
    Tensor.index_put_ = index_put_
    from . import gather
    gather.install(namespace)
