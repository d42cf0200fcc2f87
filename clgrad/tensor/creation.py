"""Tensor factories: tensor, as_tensor, from_numpy, empty/zeros/ones/full, ranges, eye, *_like."""
from __future__ import annotations

import math
import numbers
import warnings

import numpy as np

from ..runtime.device import cpu_device, default_device
from ..runtime.device import device as resolve_device
from . import dtype as dt
from .elementwise import Op, run
from .ops import copy
from .shape import check_options, check_requires_grad, factory_size, parse_size
from .storage import Storage
from .tensor import Tensor

# Generators: expressions over the linear output index i and scalar arguments.
_ARANGE = Op("arange", 2, "same", "a0 + i * a1", "a0 + i * a1")
_LINSPACE = Op("linspace", 5, "same", "i < a3 ? a0 + i * a2 : a1 - (a4 - i) * a2")
_EYE = Op("eye", 1, "same", None, "(i / a0) == (i % a0)")
_INT64 = np.iinfo(np.int64)


def _device(device):
    return default_device() if device is None else resolve_device(device)


def _finish(t: Tensor, requires_grad: bool) -> Tensor:
    """A new tensor as returned: version 0 (its fill is not an in-place write, as in
    PyTorch) and requiring grad if asked."""
    t._storage.version = 0
    check_requires_grad(requires_grad)
    if requires_grad:
        t.requires_grad_(True)
    return t


def empty(*size, dtype=None, device=None, requires_grad=False, **options):
    """An uninitialised tensor."""
    dt.check_argument(dtype, "empty")
    t = Tensor._empty(factory_size("empty", size, options), dtype or dt.get_default_dtype(),
                      _device(device))
    return _finish(t, requires_grad)


def full(size, fill_value, *, dtype=None, device=None, requires_grad=False, **options):
    """A tensor filled with `fill_value` (dtype inferred from it when not given)."""
    check_options("full", options)
    dt.check_argument(dtype, "full")
    if dtype is None:
        dtype = dt.scalar_dtype(fill_value)
    t = Tensor._empty(parse_size((size,) if isinstance(size, int) else size), dtype,
                      _device(device))
    return _finish(fill_(t, fill_value), requires_grad)


def fill_(t: Tensor, value) -> Tensor:
    """Set every element of `t` to `value` (a number or a one-element tensor)."""
    if isinstance(value, Tensor):
        if value._numel != 1:
            raise RuntimeError(f"fill_ only supports 0-dimension value tensor but got tensor "
                               f"with {value.dim()} dimensions")
        value = value.item()
    if not isinstance(value, (numbers.Number, np.number, np.bool_)):
        raise TypeError(f"fill value must be a number, got {type(value).__name__}")
    if t._numel:
        run(copy, (value,), out=t, unsafe=True, compute=t.dtype)
    return t


def zeros(*size, dtype=None, device=None, requires_grad=False, **options):
    return full(factory_size("zeros", size, options), 0, dtype=dtype or dt.get_default_dtype(), device=device,
                requires_grad=requires_grad)


def ones(*size, dtype=None, device=None, requires_grad=False, **options):
    return full(factory_size("ones", size, options), 1, dtype=dtype or dt.get_default_dtype(), device=device,
                requires_grad=requires_grad)


def _range_dtype(d: dt.dtype, device):
    """The dtype range arithmetic runs in: int64 for ints, double where the device has it."""
    if d.category != dt.FLOAT:
        return dt.int64
    return dt.float64 if device.fp64 else dt.float32


def arange(start=0, end=None, step=1, *, dtype=None, device=None, requires_grad=False,
           **options):
    """Values from start (inclusive) to end (exclusive) in steps of `step`."""
    check_options("arange", options)
    dt.check_argument(dtype, "arange")
    if end is None:
        start, end = 0, start
    start, end, step = (x.item() if isinstance(x, Tensor) else x for x in (start, end, step))
    if dtype is None:
        is_float = any(isinstance(x, (float, np.floating)) for x in (start, end, step))
        dtype = dt.get_default_dtype() if is_float else dt.int64
    if dtype.category != dt.FLOAT and all(math.isfinite(x) for x in (start, end, step)):
        start, end, step = int(start), int(end), int(step)   # PyTorch truncates first
    for x in (start, end, step):
        if isinstance(x, numbers.Integral) and not _INT64.min <= x <= _INT64.max:
            raise RuntimeError(f"arange: value {x} cannot be converted to type int64 without "
                               f"overflow")
    if not all(math.isfinite(x) for x in (start, end, step)):
        raise RuntimeError(f"arange: unsupported range: {start} -> {end} (step {step})")
    if step == 0:
        raise RuntimeError("arange: step must be nonzero")
    if not all(math.isfinite(x) for x in (start, end)):
        raise RuntimeError(f"arange: unsupported range: {start} -> {end}")
    if (step > 0 and end < start) or (step < 0 and end > start):
        raise RuntimeError(f"arange: upper bound and larger bound inconsistent with step sign "
                           f"(start={start}, end={end}, step={step})")
    if all(isinstance(x, (int, np.integer)) for x in (start, end, step)):
        n = -(-(end - start) // step)
    else:
        n = math.ceil((end - start) / step)
    t = Tensor._empty((int(n),), dtype, _device(device))
    if t._numel:
        run(_ARANGE, (start, step), out=t, result_dtype=dtype,
            compute=_range_dtype(dtype, t.device))
    return _finish(t, requires_grad)


def linspace(start, end, steps, *, dtype=None, device=None, requires_grad=False, **options):
    """`steps` evenly spaced values from start to end inclusive."""
    check_options("linspace", options)
    dt.check_argument(dtype, "linspace")
    start, end = (x.item() if isinstance(x, Tensor) else x for x in (start, end))
    if not isinstance(steps, numbers.Integral):
        raise TypeError(f"linspace(): argument 'steps' must be int, not {type(steps).__name__} "
                        f"({steps!r})")
    if steps < 0:
        raise RuntimeError(f"linspace: number of steps must be a non-negative int, got {steps!r}")
    dtype = dtype or dt.get_default_dtype()
    t = Tensor._empty((steps,), dtype, _device(device))
    if steps == 1:
        fill_(t, start)
    elif steps > 1:
        step = (end - start) / (steps - 1)
        compute = dt.float64 if t.device.fp64 else dt.float32
        run(_LINSPACE, (start, end, step, steps // 2, steps - 1), out=t, result_dtype=dtype,
            compute=compute)
    return _finish(t, requires_grad)


def eye(n, m=None, *, dtype=None, device=None, requires_grad=False, **options):
    """A 2-D tensor with ones on the diagonal."""
    check_options("eye", options)
    dt.check_argument(dtype, "eye")
    m = n if m is None else m
    for name, value in (("n", n), ("m", m)):
        if not isinstance(value, numbers.Integral) or value < 0:
            raise RuntimeError(f"eye: {name} must be greater or equal to 0, got {value}")
    t = Tensor._empty((n, m), dtype or dt.get_default_dtype(), _device(device))
    if t._numel:
        run(_EYE, (m,), out=t, result_dtype=t.dtype, compute=dt.int64)
    return _finish(t, requires_grad)


def _host_data(data, dtype):
    """`data` (nested sequences, scalars, arrays) as a NumPy array in clgrad's dtype."""
    if isinstance(data, np.generic):
        data = np.asarray(data)
    if isinstance(data, np.ndarray):
        array = data
        inferred = dt.from_numpy_dtype(array.dtype)
    else:
        try:
            array = np.array(data)
        except ValueError as exc:
            _check_numbers(data)
            raise ValueError(f"expected a rectangular nested sequence of numbers: {exc}") from None
        if array.dtype == object:
            _check_numbers(data)
        floats = dtype is not None and dtype.category == dt.FLOAT
        if array.dtype == object or array.dtype == np.uint64 or (
                array.dtype.kind == "f" and array.size and np.abs(array).max() >= 2.0**63):
            # integers beyond int64 (NumPy: uint64, object or float64 arrays) are floats
            # beside a float or for a float dtype; otherwise they overflow, as in PyTorch
            if floats or _has_float(data):
                array = np.array(data, dtype=np.float64)
            else:
                big = next((x for x in _leaves(data) if isinstance(x, int)
                            and not -2**63 <= x < 2**63), "an integer in the data")
                raise ValueError(f"Overflow when unpacking long long: {big} does not fit in "
                                 "int64")
        if array.dtype.kind not in "biuf":
            raise TypeError(f"new(): invalid data type '{array.dtype.name}'")
        kinds = {"b": dt.bool_, "f": dt.get_default_dtype()}
        inferred = kinds.get(array.dtype.kind, dt.int64)
        if dtype is not None:
            _check_fits(array, dtype)
    target = dtype or inferred
    return np.asarray(array, dtype=target.np, order="C"), target


def _leaves(data):
    """The non-sequence items of nested lists/tuples `data`, in order (no recursion)."""
    stack = [data]
    while stack:
        x = stack.pop()
        if isinstance(x, (list, tuple)):
            stack.extend(reversed(x))
        else:
            yield x


def _check_numbers(data) -> None:
    """PyTorch's error for nested data holding something other than numbers (None...)."""
    for x in _leaves(data):
        if not isinstance(x, (bool, int, float, np.number, np.bool_, np.ndarray)):
            raise RuntimeError(f"Could not infer dtype of {type(x).__name__}")  # noqa: TRY004


def _has_float(data) -> bool:
    """Whether nested sequences `data` hold a float anywhere (then PyTorch infers a float
    dtype, and big integers become floats; with none, they overflow)."""
    return any(isinstance(x, (float, np.floating))
               or isinstance(x, np.ndarray) and x.dtype.kind == "f" for x in _leaves(data))


def _check_fits(array: np.ndarray, target: dt.dtype) -> None:
    """PyTorch's overflow check when Python numbers become an integer dtype (NaN and inf
    never fit; negative numbers down to -max wrap into an unsigned type, as PyTorch lets them)."""
    if target.category != dt.INT or not array.size:
        return
    info = np.iinfo(target.np)
    low = -int(info.max) if info.min == 0 else int(info.min)
    bad = ~((array >= low) & (array <= info.max))
    if bad.any():
        raise RuntimeError(f"value {array[bad].flat[0]} cannot be converted to type "
                           f"{target.name} without overflow")


def tensor(data, *, dtype=None, device=None, requires_grad=False, pin_memory=False):
    """A new tensor holding a copy of `data` (lists, numbers, NumPy arrays, tensors)."""
    if isinstance(data, Tensor):
        warnings.warn("To copy construct from a tensor, it is recommended to use "
                      "sourceTensor.clone().detach() or "
                      "sourceTensor.clone().detach().requires_grad_(True), rather than "
                      "clgrad.tensor(sourceTensor).", UserWarning, stacklevel=2)
        t = data.detach().to(device or data.device, dtype or data.dtype, copy=True)
        return _finish(t, requires_grad)
    dt.check_argument(dtype, "tensor")
    if data is None:
        raise TypeError("Could not infer dtype of NoneType")
    array, dtype = _host_data(data, dtype)
    return _finish(Tensor._from_host(array, _device(device)), requires_grad)


def from_numpy(array: np.ndarray) -> Tensor:
    """A CPU-device tensor sharing `array`'s memory (writes show up on both sides)."""
    if not isinstance(array, np.ndarray):
        raise TypeError(f"expected np.ndarray (got {type(array).__name__})")
    dtype = dt.from_numpy_dtype(array.dtype)
    if not array.dtype.isnative:
        raise TypeError("given numpy array has byte order different from the native byte "
                        "order. Conversion between byte orders is currently not supported.")
    itemsize = array.itemsize
    if any(s < 0 for s in array.strides):
        raise ValueError("At least one stride in the given numpy array is negative, and tensors "
                         "with negative strides are not currently supported. (You can probably "
                         "work around this by making a copy of your array with array.copy().)")
    if any(s % itemsize for s in array.strides):
        raise ValueError("given numpy array strides not a multiple of the element byte size. "
                         "Copy the numpy array to reallocate the memory.")
    if not array.flags.writeable:
        warnings.warn("The given NumPy array is not writable; writing to the tensor will write "
                      "to read-only memory.", UserWarning, stacklevel=2)
    device = cpu_device()
    extent = 0
    if array.size:
        extent = sum((n - 1) * s for n, s in zip(array.shape, array.strides)) + itemsize
    storage = Storage.wrap_numpy(device, array, array.ctypes.data, extent)
    from .shape import Size
    return Tensor._make(storage, Size(array.shape), tuple(s // itemsize for s in array.strides),
                        0, dtype)


def as_tensor(data, dtype=None, device=None) -> Tensor:
    """`data` as a tensor, sharing memory when it already is one (or a CPU NumPy array)."""
    if isinstance(data, Tensor):
        return data.to(device or data.device, dtype or data.dtype)
    target = _device(device)
    if isinstance(data, np.ndarray) and target is cpu_device() and \
            (dtype is None or dtype.np == data.dtype) and all(s >= 0 for s in data.strides):
        return from_numpy(data)
    return tensor(data, dtype=dtype, device=target)


def _like(maker):
    def like(input, *args, dtype=None, device=None, requires_grad=False, **options):
        return maker(input.shape, *args, dtype=dtype or input.dtype,
                     device=device or input.device, requires_grad=requires_grad, **options)
    like.__name__ = maker.__name__ + "_like"
    return like


empty_like = _like(empty)
zeros_like = _like(zeros)
ones_like = _like(ones)
full_like = _like(full)


def _new(maker):
    def new(self, *args, dtype=None, device=None, requires_grad=False, **options):
        return maker(*args, dtype=dtype or self.dtype, device=device or self.device,
                     requires_grad=requires_grad, **options)
    new.__name__ = "new_" + maker.__name__
    return new


def new_tensor(self, data, dtype=None, device=None, requires_grad=False):
    return tensor(data, dtype=dtype or self.dtype, device=device or self.device,
                  requires_grad=requires_grad)


_RAW_COPY = Tensor.copy_          # taken before autograd wraps the methods


def _with_out(factory):
    """`factory` with PyTorch's out=: the result is written into `out` (resized), whose
    dtype and device are the defaults."""
    def make(*args, out=None, **kwargs):
        if out is None:
            return factory(*args, **kwargs)
        if not isinstance(out, Tensor):
            raise TypeError(f"{factory.__name__}(): argument 'out' must be Tensor, not "
                            f"{type(out).__name__}")
        if kwargs.get("dtype") is None:
            kwargs["dtype"] = out.dtype
        if kwargs.get("device") is None:
            kwargs["device"] = out.device
        requires_grad = kwargs.pop("requires_grad", False)
        result = factory(*args, **kwargs)
        if result.device is not out.device:
            raise RuntimeError(f"Expected out tensor to be on {result.device}, but got it on "
                               f"{out.device}")
        if result.dtype is not out.dtype:
            raise RuntimeError(f"dtype {dt.torch_name(result.dtype)} does not match dtype "
                               f"of out parameter ({dt.torch_name(out.dtype)})")
        if out._shape != result._shape:
            from .joins import _resize
            _resize(out, result._shape)
        _RAW_COPY(out, result)         # the tensor layer's copy: never recorded (as torch)
        return out.requires_grad_(requires_grad) if requires_grad else out
    make.__name__, make.__doc__ = factory.__name__, factory.__doc__
    make.__wrapped__ = factory
    return make


def install(namespace: dict) -> None:
    for f in (empty, full, zeros, ones, arange, linspace, eye):
        namespace[f.__name__] = _with_out(f)
    for f in (tensor, from_numpy, as_tensor, empty_like, zeros_like, ones_like, full_like):
        namespace[f.__name__] = f
    Tensor.fill_ = fill_
    Tensor.zero_ = lambda self: fill_(self, 0)
    Tensor.new_tensor = new_tensor
    for maker in (empty, zeros, ones, full):
        setattr(Tensor, "new_" + maker.__name__, _new(maker))
